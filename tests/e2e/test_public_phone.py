"""The public pages as a citizen reads them on a 360 × 740 phone in headless Chromium: the map starts on the
first screen with a legend of its pins, reports at the same spot fan out and each opens a popup with date and
address, the list shows every report's status and place without cutting, and "Me too" raises the count.
axe-core finds no WCAG 2.1 A/AA violation and the strict Content-Security-Policy blocks nothing."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from reports.demo import SAMPLE_REPORTS
from tests.conftest import REPO, manage
from tests.live import (
    assert_accessible_on_phone,
    map_loaded,
    migrated_database,
    offline_env,
    run_worker_batch,
    uvicorn,
)

PHONE = {"width": 360, "height": 740}
SPOT = (52.10124, 9.35571)  # lat, lon: a spot in Hameln's old town
ADDRESS = "Osterstraße 9, 31785 Hameln"
# Two reports at exactly the same coordinates, with the address the geocoding worker would have found.
SEED = f"""
from django.contrib.gis.geos import Point
from geo.models import Category
from reports.models import Report
from reports.photos import inspect_photo
from reports.services import report_submit

photo = inspect_photo(open({str(REPO / "data" / "photos" / "02_jpeg_orient6_portrait_nogps.jpg")!r}, "rb").read())
for number in (1, 2):
    report = report_submit(
        category=Category.objects.get(slug="schlagloch"), device_location=Point({SPOT[1]}, {SPOT[0]}, srid=4326),
        description=f"Loch Nummer {{number}}", photos=[photo] if number == 1 else [],
    ).report
    Report.objects.filter(pk=report.pk).update(address={ADDRESS!r})
    print(report.reference, report.public_id)
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("phone-server")
    with migrated_database(directory, demo_reports=SAMPLE_REPORTS) as database:
        env = offline_env(directory, database)
        seeded = manage("shell", "-c", SEED, env=env)
        assert seeded.returncode == 0, seeded.stderr
        reports = re.findall(r"^([A-Z]+-\d{4}-\d{6}) ([0-9a-f-]{36})$", seeded.stdout, re.MULTILINE)
        assert len(reports) == 2, seeded.stdout
        run_worker_batch(env)  # the photo's public rendition
        with uvicorn(env) as base:
            yield base, reports


@pytest.fixture
def page(browser, server):
    context = browser.new_context(base_url=server[0], locale="en-US", viewport=PHONE)
    blocked: list[str] = []
    context.on("page", lambda page: page.on(
        "console", lambda message: blocked.append(message.text) if "Content Security Policy" in message.text else None
    ))
    yield context.new_page()
    context.close()
    assert blocked == []


def _within_screen_width(locator) -> None:
    box = locator.bounding_box()
    assert box is not None and box["width"] > 0, "not shown"
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], f"cut off: {box}"


def test_the_map_starts_on_the_first_screen_with_a_legend_of_the_pins(page):
    page.goto("/")
    map_loaded(page)
    top = page.locator("#map").bounding_box()["y"]
    assert top + 250 <= PHONE["height"], f"the map starts {top} px down"
    legend = page.get_by_role("list", name="Legend")
    expect(legend).to_be_visible()
    expect(legend.locator(".legend-label")).to_have_text(["Open", "In progress", "Fixed", "Closed without a fix"])
    # The filters fold away on a phone and open with one tap.
    expect(page.get_by_label("Category")).to_be_hidden()
    page.get_by_text("Filter the map").click()
    expect(page.get_by_label("Category")).to_be_visible()
    assert_accessible_on_phone(page)


def test_reports_at_the_same_spot_fan_out_and_each_popup_shows_date_address_and_photo(page, server):
    (first, first_id), (second, second_id) = server[1]
    page.goto("/")
    seen = map_loaded(page)
    page.evaluate(f"openMelderMap.setView([{SPOT[0]}, {SPOT[1]}], 19)")
    map_loaded(page, seen)
    markers = [page.locator(f'.report-marker[data-report-id="{key}"]') for key in (first_id, second_id)]
    boxes = [marker.bounding_box() for marker in markers]
    assert boxes[0] != boxes[1], "the two reports lie on top of each other"
    expect(markers[0]).to_have_attribute("aria-label", "Report: Pothole / road damage, New")
    expect(markers[0]).to_have_attribute("data-kind", "open")

    for marker, reference, photo in ((markers[0], first, True), (markers[1], second, False)):
        expect(marker).to_be_visible()
        marker.click()
        popup = page.locator(".leaflet-popup")
        expect(popup.locator(".popup-address")).to_have_text(f"{ADDRESS}, Stadt Hameln")
        expect(popup.locator(".popup-date")).to_contain_text("Reported on")
        expect(popup.get_by_role("link", name=f"Show report {reference}")).to_be_visible()
        expect(popup.get_by_alt_text("Photo of the report")).to_have_count(1 if photo else 0)
        expect(popup).to_have_css("opacity", "1")  # faded in
        assert_accessible_on_phone(page)
        if reference == second:
            break
        popup.locator(".leaflet-popup-close-button").click()
        expect(popup).to_have_count(0)
        # A popup pans the map to fit on the screen; back to the spot for the next one, and wait until the map has
        # drawn it (a click on a marker that is just being replaced would open nothing).
        seen = int(page.locator("#map").get_attribute("data-loaded") or 0)
        panned = page.evaluate(
            f"Math.abs(openMelderMap.getCenter().lat - {SPOT[0]}) + Math.abs(openMelderMap.getCenter().lng - {SPOT[1]})"
        ) > 1e-7
        page.evaluate(f"openMelderMap.setView([{SPOT[0]}, {SPOT[1]}], 19)")
        if panned:
            map_loaded(page, seen)

    # The second report's popup is still open: its link opens the report's page.
    page.locator(".leaflet-popup").get_by_role("link", name=f"Show report {second}").click()
    expect(page).to_have_url(re.compile(rf"/meldungen/{second}/$"))


def test_the_list_shows_status_and_place_of_every_report_within_a_phone_screen(page, server):
    page.goto("/meldungen/")
    rows = page.locator("table.reports tbody tr")
    expect(rows).to_have_count(25)
    for index in range(rows.count()):
        row = rows.nth(index)
        _within_screen_width(row.locator(".status"))
        _within_screen_width(row.locator(".place-cell"))
        expect(row.locator(".place-cell")).to_contain_text(re.compile(r"\w"))
    first = rows.filter(has_text=server[1][1][0])
    expect(first.locator(".place-cell")).to_have_text(f"{ADDRESS}Stadt Hameln")
    # Each value is read with its label, as the column header is no longer above it.
    expect(first.get_by_role("cell", name="Status: New", exact=True)).to_be_visible()
    assert_accessible_on_phone(page)


def test_me_too_on_a_report_page_raises_the_count_once(page, server):
    reference = server[1][0][0]
    page.goto(f"/meldungen/{reference}/")
    count = page.locator("#support-count")
    before = int(count.inner_text())
    assert_accessible_on_phone(page)
    page.get_by_role("button", name="Me too").click()
    expect(count).to_have_text(str(before + 1))
    expect(page.locator("#support-status")).to_have_text("Thank you: you support this report.")
    expect(page.get_by_role("button", name="Me too")).to_be_disabled()
    assert_accessible_on_phone(page)
    page.reload()
    expect(page.locator("#support-count")).to_have_text(str(before + 1))
    # The same device again: thanked, not counted twice.
    page.get_by_role("button", name="Me too").click()
    expect(page.locator("#support-status")).to_have_text("Thank you: you support this report.")
    expect(page.locator("#support-count")).to_have_text(str(before + 1))
