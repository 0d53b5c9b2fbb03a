"""Following a report by e-mail on a 360 × 740 phone in headless Chromium: the form on a published report's
page can be reached, filled in and sent with the keyboard and the touch screen, its errors and its answer are
readable, axe-core finds no WCAG 2.1 A/AA violation and the strict CSP blocks nothing."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE, csp_checked_page
from tests.live import (
    assert_accessible_on_phone,
    offline_site,
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("follow-server")
    with offline_site(directory, demo_reports=20) as base:
        yield base


@pytest.fixture
def phone(browser, server):
    with csp_checked_page(browser, base_url=server, locale="de-DE", **PHONE) as page:
        yield page


def test_a_citizen_follows_a_published_report_by_email_on_a_phone(phone):
    page = phone
    page.goto("/meldungen/")
    page.locator("table.reports tbody a").first.click()
    form = page.locator("#follow")
    expect(form.get_by_role("heading", name="Per E-Mail folgen")).to_be_visible()
    assert_accessible_on_phone(page)

    field = page.get_by_label("Ihre E-Mail-Adresse")
    field.tap()
    page.keyboard.type("kein-adresse")
    page.keyboard.press("Enter")
    expect(page.locator("#follow-email-error")).to_contain_text("gültige E-Mail-Adresse")
    expect(page.get_by_label("Ihre E-Mail-Adresse")).to_have_attribute("aria-invalid", "true")
    assert_accessible_on_phone(page)

    page.get_by_label("Ihre E-Mail-Adresse").fill("bert@example.org")
    button = page.get_by_role("button", name="Folgen", exact=True)
    box = button.bounding_box()
    assert box is not None and box["height"] >= 44 and box["x"] + box["width"] <= 360
    button.tap()
    expect(page.locator("#follow-result")).to_have_text(
        "Bitte bestätigen Sie Ihre Adresse: wir haben Ihnen eine E-Mail geschickt."
    )
    assert "bert@example.org" not in page.content()
    assert_accessible_on_phone(page)
    page.get_by_role("link", name="Zurück zur Meldung").click()
    expect(page.locator("#follow")).to_be_visible()
