"""The public pages in headless Chromium against uvicorn with the demo data and no reachable tile server.

The server runs on the backend of the test run (its own PostGIS database, or SpatiaLite) and, when
REDIS_URL is set, with the Redis channel layer, so the live map is tested on the production path too.

The map shows clusters and markers, the list is filtered with the keyboard alone, the web form files a
report with a photo that appears on a map already open in another tab, and axe-core finds no WCAG 2.1
A/AA violation on any public page.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from reports.demo import SAMPLE_REPORTS
from tests.conftest import REPO
from tests.live import (
    assert_accessible_on_phone,
    map_loaded,
    offline_site,
    wait_for_photos,
)

PHOTO = REPO / "data" / "photos" / "02_jpeg_orient6_portrait_nogps.jpg"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """uvicorn with the demo (configuration and sample reports), on this run's database backend and channel layer."""
    directory = tmp_path_factory.mktemp("public-server")
    with offline_site(directory, demo_reports=SAMPLE_REPORTS) as base:
        yield base


@pytest.fixture
def context(browser, server):
    context = browser.new_context(base_url=server, locale="en-US", viewport={"width": 1024, "height": 768})
    # The pages run under a strict Content-Security-Policy: anything it blocks is a failure.
    blocked: list[str] = []
    context.on("page", lambda page: page.on(
        "console", lambda message: blocked.append(message.text) if "Content Security Policy" in message.text else None
    ))
    yield context
    context.close()
    assert blocked == []


def _cluster_total(page) -> int:
    return sum(int(c) for c in page.locator(".cluster").evaluate_all("els => els.map(e => e.dataset.count)"))


def test_the_map_shows_clusters_and_then_markers_of_the_demo_reports_without_a_tile_server(context):
    page = context.new_page()
    page.goto("/")
    map_loaded(page)
    clusters = page.locator(".cluster")
    expect(clusters.first).to_be_visible()
    total = _cluster_total(page)
    assert total > 50  # most of the 300 demo reports lie in the default view
    expect(page.locator("#map-status")).to_have_text(f"{total} reports in this map section.")
    assert page.locator(".leaflet-tile-loaded").count() == 0  # no tile came, the map works anyway
    expect(page.locator(".leaflet-control-attribution")).to_contain_text("OpenStreetMap")
    expect(page.locator(".leaflet-control-attribution")).to_contain_text("BKG")

    # A cluster is a button: Enter zooms in on it, until single reports show.
    for _ in range(4):
        if page.locator(".report-marker").count():
            break
        seen = map_loaded(page)
        page.locator(".cluster").first.focus()
        page.keyboard.press("Enter")
        map_loaded(page, seen)
    marker = page.locator(".report-marker").first
    expect(marker).to_have_attribute("aria-label", re.compile(r"^Report: .+, .+$"))
    marker.click()
    page.locator(".leaflet-popup").get_by_role("link", name="Show report").click()
    expect(page).to_have_url(re.compile(r"/meldungen/[A-Z]+-\d{4}-\d{6}/$"))
    expect(page.get_by_role("heading", level=1)).to_be_visible()

    # The filters redraw the map and carry over to the list.
    page.goto("/")
    seen = map_loaded(page)
    page.get_by_label("Category").select_option("graffiti")
    map_loaded(page, seen)
    assert 0 < _cluster_total(page) < total
    expect(page.locator("#list-link")).to_have_attribute("href", "/meldungen/?category=graffiti")


def test_the_list_can_be_filtered_with_the_keyboard_alone(context):
    page = context.new_page()
    page.goto("/meldungen/")
    everything = int(re.match(r"\d+", page.locator("#results-heading").inner_text()).group())
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    _tab_to(page, "#id_category")
    page.keyboard.type("Graffiti")
    _tab_to(page, "#id_status")
    page.keyboard.press("ArrowDown")  # "All open"
    _tab_to(page, "#list-filters button[type=submit]")
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/meldungen/\?category=graffiti&status=open"))
    heading = page.locator("#results-heading")
    expect(heading).to_have_text(re.compile(r"^\d+ reports? found$"))
    found = int(re.match(r"\d+", heading.inner_text()).group())
    assert 0 < found < everything
    expect(page).to_have_title(re.compile(rf"^{found} reports? – List of reports"))
    categories = page.locator("table.reports tbody tr td:nth-child(2)").all_inner_texts()
    assert categories and set(categories) == {"Graffiti"}
    statuses = set(page.locator("table.reports tbody tr .status").all_inner_texts())
    assert statuses <= {"New", "Acknowledged", "In progress", "Reopened"}


def _tab_to(page, selector: str, limit: int = 40) -> None:
    target = page.locator(selector)
    for _ in range(limit):
        if target.evaluate("element => element === document.activeElement"):
            return
        page.keyboard.press("Tab")
    pytest.fail(f"{selector} cannot be reached with Tab")


def test_a_report_from_the_web_form_appears_on_a_map_already_open_in_another_tab(context):
    form = context.new_page()
    form.goto("/melden/")
    form.get_by_label("What is the problem?").select_option("papierkorb")
    # The geocoder is unreachable: the search says so, and a click on the map gives the place.
    form.get_by_label("Address or place").fill("Pferdemarkt Hameln")
    form.get_by_role("button", name="Search address").click()
    expect(form.locator("#address-results")).to_contain_text("not available at the moment")
    # With the keyboard: the focused map's centre is chosen with Enter; a click chooses a point.
    form.locator("#map").focus()
    form.keyboard.press("Enter")
    expect(form.get_by_label("Latitude")).not_to_have_value("")
    centre = form.get_by_label("Longitude").input_value()
    box = form.locator("#map").bounding_box()
    form.locator("#map").click(position={"x": box["width"] / 2 + 30, "y": box["height"] / 2})
    expect(form.get_by_label("Longitude")).not_to_have_value(centre)
    lat, lon = float(form.get_by_label("Latitude").input_value()), float(form.get_by_label("Longitude").input_value())
    expect(form.locator("#map-status")).to_contain_text("Place chosen")

    watcher = context.new_page()
    watcher.goto("/")
    seen = map_loaded(watcher)
    expect(watcher.locator("#map")).to_have_attribute("data-live", "connected")
    watcher.evaluate(f"openMelderMap.setView([{lat}, {lon}], 18)")
    seen = map_loaded(watcher, seen)
    before = watcher.locator(".report-marker").count()
    watcher.evaluate("window.stillTheSamePage = true")

    form.get_by_label("Description").fill("Papierkorb quillt über")
    form.get_by_label("Photos").set_input_files(PHOTO)
    form.get_by_role("button", name="Send report").click()
    expect(form.get_by_role("heading", level=1)).to_have_text("Thank you for your report")
    reference = form.locator("#reference").inner_text()

    expect(watcher.locator(".report-marker")).to_have_count(before + 1)
    expect(watcher.locator("#map-status")).to_contain_text("New report on the map.")
    assert watcher.evaluate("window.stillTheSamePage") is True

    form.get_by_role("link", name="Show the report").click()
    expect(form.get_by_role("heading", level=1)).to_contain_text(reference)
    wait_for_photos(form.url.split("/meldungen/")[0], reference)  # the worker blurs faces and plates first
    form.reload()
    expect(form.get_by_alt_text("Photo 1 of the report")).to_be_visible()
    expect(form.locator(".description")).to_have_text("Papierkorb quillt über")


def test_axe_finds_no_wcag_21_aa_violations_and_every_page_fits_a_phone(browser, server):
    context = browser.new_context(base_url=server, locale="en-US", viewport={"width": 360, "height": 740})
    page = context.new_page()
    page.goto("/")
    map_loaded(page)
    assert_accessible_on_phone(page)
    page.goto("/meldungen/?status=open")
    assert_accessible_on_phone(page)
    page.locator("table.reports tbody a").first.click()
    expect(page.locator("#map .leaflet-marker-icon")).to_have_count(1)
    assert_accessible_on_phone(page)
    page.goto("/melden/")
    assert_accessible_on_phone(page)
    page.get_by_role("button", name="Send report").click()  # nothing filled in: errors next to the fields
    expect(page.locator("#error-summary")).to_be_visible()
    assert_accessible_on_phone(page)
    page.goto("/statistik/")
    expect(page.locator("#by-category")).to_be_visible()
    assert_accessible_on_phone(page)
    context.close()
