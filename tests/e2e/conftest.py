"""Shared by the browser tests: one headless Chromium per test module (pages and contexts are per test)."""

from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright

from tests.live import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
