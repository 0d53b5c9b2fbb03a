"""Web Push in real headless Chromium: the report page's script registers the service worker /push/sw.js
(scope /push/) and asks the browser's push service for a subscription. Headless Chromium here has no push
service to reach, so the subscription itself cannot be made; the test checks what the citizen sees then
(an error message in a status region, the button usable again), and nothing is faked. That a subscription a
browser sends is stored and used is tested over HTTP in tests/notifications/test_web_push.py."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from playwright.sync_api import expect

from tests.e2e.conftest import csp_checked_page
from tests.live import assert_accessible, migrated_database, offline_env, uvicorn


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("push-server")
    key = ec.generate_private_key(ec.SECP256R1())
    vapid = {
        "VAPID_PUBLIC_KEY": _b64url(key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)),
        "VAPID_PRIVATE_KEY": _b64url(key.private_numbers().private_value.to_bytes(32, "big")),
        "VAPID_SUBJECT": "mailto:it@hameln.example",
    }
    with migrated_database(directory, demo_reports=5) as database, uvicorn(
        offline_env(directory, database, **vapid)
    ) as base:
        yield base


@pytest.fixture
def page(browser, server):
    with csp_checked_page(browser, base_url=server, locale="de-DE", permissions=["notifications"]) as page:
        yield page


def test_the_button_registers_the_service_worker_and_says_what_happened(page):
    page.goto("/meldungen/")
    page.locator("table.reports tbody a").first.click()
    section = page.locator("#push")
    expect(section.get_by_role("heading", name="Push-Benachrichtigungen in diesem Browser")).to_be_visible()
    button = page.get_by_role("button", name="Push-Benachrichtigungen einschalten")
    expect(button).to_have_attribute("aria-pressed", "false")
    assert_accessible(page)
    button.focus()
    page.keyboard.press("Enter")
    status = page.get_by_role("status").filter(has_text="Push")
    # No push service is reachable from this headless Chromium: the subscription fails, and the page says so.
    expect(status).to_have_text(
        "Die Push-Benachrichtigungen konnten nicht geändert werden. Bitte versuchen Sie es später noch einmal.",
        timeout=30_000,
    )
    expect(button).to_be_enabled()
    expect(button).to_have_attribute("aria-pressed", "false")
    registration = page.evaluate(
        "navigator.serviceWorker.getRegistration('/push/').then(r => r && r.active && [r.scope, r.active.scriptURL])"
    )
    assert registration is not None, "the service worker is registered and active"
    scope, script = registration
    assert scope.endswith("/push/") and script.endswith("/push/sw.js")
    assert page.evaluate("navigator.serviceWorker.controller") is None, "it controls no page"
    assert_accessible(page)
