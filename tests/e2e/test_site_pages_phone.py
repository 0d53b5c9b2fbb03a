"""The statistics page and the error pages on a 360 × 740 phone in headless Chromium, under the site's CSP: nothing
wider than the screen, every table readable (fits, or scrolls in its own focusable region), the monthly chart
drawn, the favicon served, and axe-core finds no WCAG 2.1 A/AA violation."""

from __future__ import annotations

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from reports.demo import SAMPLE_REPORTS
from tests.e2e.conftest import csp_checked_page
from tests.live import assert_accessible, assert_fits_the_phone, offline_site

PHONE = {"width": 360, "height": 740}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """uvicorn with DEBUG on (as `make run`), the demo and its sample reports."""
    directory = tmp_path_factory.mktemp("site-pages-server")
    with offline_site(directory, demo_reports=SAMPLE_REPORTS) as base:
        yield base


@pytest.fixture(params=["de-DE", "en-US"])
def phone(request, browser, server):
    with csp_checked_page(browser, base_url=server, locale=request.param, viewport=PHONE, is_mobile=True,
                          has_touch=True) as page:
        yield page


def _scrolled_by_arrow_keys(page, region) -> None:
    """The arrow key scrolls the focused region. On a loaded machine Chromium may take the first key press before
    the region's scroller is ready, so a user's second or third press counts too; a region that never scrolls fails."""
    for _ in range(3):
        page.keyboard.press("ArrowRight")
        try:
            page.wait_for_function("r => r.scrollLeft > 0", arg=region.element_handle(), timeout=2000)
            return
        except PlaywrightTimeoutError:
            continue
    raise AssertionError("three presses of the right arrow key did not scroll the focused table region")


def test_the_statistics_are_readable_on_a_phone(phone):
    page = phone
    page.goto("/statistik/")
    expect(page.locator("#by-category")).to_be_visible()
    assert_fits_the_phone(page)
    # The chart is drawn with its bars, as wide as the screen allows.
    chart = page.locator("svg.trend-chart")
    expect(chart).to_be_visible()
    assert page.locator("svg.trend-chart rect.bar-in").count() == 12
    box = chart.bounding_box()
    assert box and 250 < box["width"] <= PHONE["width"] and box["height"] > 100
    for table_id in ("monthly", "by-category", "by-authority", "backlog"):
        table = page.locator(f"#{table_id}")
        region = page.locator(f".table-wrap:has(#{table_id})")
        expect(region).to_be_visible()
        # The caption is on screen, and every column either fits or can be scrolled to in the region.
        caption_box = table.locator("caption").bounding_box()
        assert caption_box and caption_box["width"] > 0 and caption_box["x"] >= 0
        widths = region.evaluate("r => [r.scrollWidth, r.clientWidth]")
        region_box = region.bounding_box()
        assert region_box and region_box["x"] >= 0 and region_box["x"] + region_box["width"] <= PHONE["width"]
        if widths[0] > widths[1]:
            # Wider than the screen: the region takes the keyboard's focus, and the arrow keys scroll it.
            region.focus()
            expect(region).to_be_focused()
            _scrolled_by_arrow_keys(page, region)
            region.evaluate("r => { r.scrollLeft = r.scrollWidth; }")
            last = table.locator("thead th").last
            last_box = last.bounding_box()
            assert last_box and last_box["x"] + last_box["width"] <= PHONE["width"] + 1
    # The number column heads are whole words, not cut off: the last column of a count table is visible.
    expect(page.locator("#by-category thead th").nth(4)).to_be_visible()
    assert_accessible(page)


def test_an_unknown_address_shows_the_designed_404_page(phone):
    page = phone
    response = page.goto("/gibt-es-nicht/")
    assert response and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Seite nicht gefunden" if page.evaluate("document.documentElement.lang") == "de" else "Page not found"
    )
    expect(page.get_by_role("link", name="OpenMelder")).to_be_visible()
    assert_fits_the_phone(page)
    assert_accessible(page)


def test_the_favicon_is_served(phone):
    page = phone
    page.goto("/statistik/")
    icon = page.locator('link[rel="icon"][type="image/svg+xml"]').get_attribute("href")
    assert icon and page.request.get(icon).status == 200
    assert page.request.get("/favicon.ico").status == 200
