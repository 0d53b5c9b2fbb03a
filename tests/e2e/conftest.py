"""Shared by the browser tests: one headless Chromium per test module (pages and contexts are per test)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Page, sync_playwright

from tests.live import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


PHONE = {"viewport": {"width": 360, "height": 740}, "has_touch": True, "is_mobile": True}


@contextmanager
def csp_checked_page(browser, **context_options) -> Iterator[Page]:
    """A page in a new browser context; when the test is done, nothing may have been blocked by the site's
    Content-Security-Policy (Chromium says so on the console)."""
    context = browser.new_context(**context_options)
    blocked: list[str] = []
    context.on("page", lambda page: page.on(
        "console", lambda message: blocked.append(message.text) if "Content Security Policy" in message.text else None,
    ))
    yield context.new_page()
    context.close()
    assert blocked == []
