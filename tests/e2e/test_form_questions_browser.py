"""The report form in headless Chromium: picking a category reveals its extra questions (and only its own), a
missing required answer is shown at its question, and the page passes axe-core (WCAG 2.1 A/AA) under the CSP."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import csp_checked_page
from tests.live import (
    assert_accessible,
    assert_accessible_on_phone,
    offline_site,
)

MARKET = (52.1039, 9.3576)  # Pferdemarkt, Hameln


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("questions-server")
    with offline_site(directory, demo_reports=0) as base:
        yield base


@pytest.fixture
def page(browser, server):
    with csp_checked_page(browser, base_url=server, locale="en-US") as page:
        yield page


def test_picking_a_category_reveals_its_questions_and_a_missing_answer_is_shown_there(page):
    page.goto("/melden/")
    waste = page.get_by_role("group", name="Questions about “Illegal dumping”")
    light = page.get_by_role("group", name="Questions about “Street light out”")
    expect(waste).to_be_hidden()
    expect(light).to_be_hidden()

    page.get_by_label("What is the problem?").select_option(label="Illegal dumping")
    expect(waste).to_be_visible()
    expect(light).to_be_hidden()
    expect(waste.get_by_role("checkbox", name="Bulky waste")).to_be_visible()
    expect(waste.get_by_role("group", name="Kind of waste (required)")).to_be_visible()
    assert_accessible(page)

    page.get_by_label("What is the problem?").select_option(label="Street light out")
    expect(waste).to_be_hidden()
    expect(light.get_by_label("Pole number (on a label on the pole)")).to_be_visible()

    page.get_by_label("What is the problem?").select_option(label="Illegal dumping")
    page.get_by_label("Latitude").fill(str(MARKET[0]))
    page.get_by_label("Longitude").fill(str(MARKET[1]))
    page.get_by_role("button", name="Send report").click()
    expect(page.locator("#error-summary")).to_contain_text("Kind of waste: This answer is required.")
    expect(waste).to_be_visible()
    expect(waste.locator(".field-errors")).to_have_text("This answer is required.")
    assert_accessible(page)

    waste.get_by_role("checkbox", name="Building rubble").check()
    page.get_by_role("button", name="Send report").click()
    expect(page).to_have_url(f"{page.url.split('/melden/')[0]}/melden/gesendet/")


def test_on_a_phone_each_option_is_a_thumb_sized_target(browser, server):
    context = browser.new_context(base_url=server, locale="de-DE", viewport={"width": 360, "height": 740},
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto("/melden/")
        page.get_by_label("Was ist das Problem?").select_option(label="Wilder Müll")
        waste = page.get_by_role("group", name="Fragen zu „Wilder Müll“")
        options = waste.get_by_role("checkbox")
        assert options.count() == 6
        for index in range(options.count()):
            row = options.nth(index).locator("xpath=..").bounding_box()
            assert row is not None and row["height"] >= 44, row
        waste.get_by_text("Bauschutt").tap()
        expect(waste.get_by_role("checkbox", name="Bauschutt")).to_be_checked()
        assert_accessible_on_phone(page)
    finally:
        context.close()
