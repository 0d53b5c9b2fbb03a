"""Subscribing to area alerts on a 360 × 740 phone in headless Chromium: the form is reached from the footer of the
public pages, filled in and sent with the touch screen and the keyboard; its errors and its answer are readable,
axe-core finds no WCAG 2.1 A/AA violation and the strict CSP blocks nothing."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE, csp_checked_page
from tests.live import assert_accessible_on_phone, offline_site


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("alert-server")
    with offline_site(directory, demo_reports=0) as base:
        yield base


@pytest.fixture
def phone(browser, server):
    with csp_checked_page(browser, base_url=server, locale="de-DE", **PHONE) as page:
        yield page


def test_a_citizen_subscribes_to_alerts_for_hameln_on_a_phone(phone):
    page = phone
    page.goto("/meldungen/")
    page.get_by_role("link", name="E-Mail-Benachrichtigungen für ein Gebiet").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("E-Mail-Benachrichtigungen für ein Gebiet")
    expect(page.locator("#alert-privacy")).to_contain_text("Wir speichern nur Ihre E-Mail-Adresse")
    assert_accessible_on_phone(page)

    page.get_by_label("Ihre E-Mail-Adresse").tap()
    page.keyboard.type("kein-adresse")
    page.get_by_role("button", name="Benachrichtigung anfordern").tap()
    expect(page.locator("#id_email_error")).to_contain_text("gültige E-Mail-Adresse")
    expect(page.get_by_label("Ihre E-Mail-Adresse")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_municipality_error")).to_contain_text("Wählen Sie eine Gemeinde.")
    assert_accessible_on_phone(page)

    page.get_by_label("Ihre E-Mail-Adresse").fill("bert@example.org")
    page.get_by_role("combobox", name="Gemeinde").select_option(label="Stadt Hameln")
    page.get_by_label("Statusänderungen von Meldungen").check()
    button = page.get_by_role("button", name="Benachrichtigung anfordern")
    box = button.bounding_box()
    assert box is not None and box["height"] >= 44 and box["x"] + box["width"] <= 360
    button.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#alert-result")).to_have_text(
        "Bitte bestätigen Sie Ihre Adresse: wir haben Ihnen eine E-Mail geschickt."
    )
    assert "bert@example.org" not in page.content()
    assert_accessible_on_phone(page)


def test_a_radius_out_of_range_is_explained_next_to_its_field(phone):
    page = phone
    page.goto("/mail/alerts/")
    page.get_by_label("Ihre E-Mail-Adresse").fill("bert@example.org")
    page.get_by_role("radio", name="Umkreis um einen Ort").check()
    page.get_by_label("Breitengrad").fill("52.1039")
    page.get_by_label("Längengrad").fill("9.3576")
    page.get_by_label("Umkreis in Metern").fill("20000")
    page.get_by_role("button", name="Benachrichtigung anfordern").tap()
    expect(page.locator("#id_radius_error")).to_contain_text("zwischen 50 m und 10 km")
    expect(page.get_by_label("Umkreis in Metern")).to_have_attribute("aria-invalid", "true")
    assert_accessible_on_phone(page)


def test_an_area_drawn_on_the_map_by_tapping_its_corners_is_sent_as_a_polygon(phone):
    page = phone
    page.goto("/mail/alerts/")
    page.get_by_label("Ihre E-Mail-Adresse").fill("bert@example.org")
    the_map = page.locator("#alert-map")
    expect(the_map).to_be_visible()
    the_map.scroll_into_view_if_needed()
    box = the_map.bounding_box()
    assert box is not None
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    for dx, dy in ((-40, -30), (40, -30), (40, 30), (-40, 30)):
        page.touchscreen.tap(cx + dx, cy + dy)
    expect(page.locator("#alert-map-status")).to_have_text("Ecken des Gebiets: 4.")
    expect(page.get_by_role("radio", name="Gezeichnetes Gebiet")).to_be_checked()
    drawn = page.locator("#id_area").input_value()
    assert '"type":"Polygon"' in drawn and drawn.count("],[") == 4, drawn
    page.get_by_role("button", name="Die letzte Ecke entfernen").tap()
    expect(page.locator("#alert-map-status")).to_have_text("Ecken des Gebiets: 3.")
    assert_accessible_on_phone(page)
    page.get_by_role("button", name="Benachrichtigung anfordern").tap()
    expect(page.locator("#alert-result")).to_have_text(
        "Bitte bestätigen Sie Ihre Adresse: wir haben Ihnen eine E-Mail geschickt."
    )
