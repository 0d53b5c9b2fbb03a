"""Reporting a problem on a 360 × 740 phone in headless Chromium, against uvicorn with the demo configuration.

The place comes from the device (or a clear fallback when it may not), a chosen photo survives a mistake
and is filed, the page says that it is sending and takes no second tap, open reports nearby can be
supported instead, swapped coordinates are offered the right way round, and the form is compact. Every
page passes axe-core (WCAG 2.1 A/AA) under the strict Content-Security-Policy.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import REPO
from tests.live import (
    assert_accessible_on_phone,
    offline_site,
    wait_for_photos,
)

PHOTO = REPO / "data" / "photos" / "02_jpeg_orient6_portrait_nogps.jpg"
LOADED_WIDTH = """image => image.complete ? image.naturalWidth : new Promise(done => {
    image.addEventListener("load", () => done(image.naturalWidth));
    image.addEventListener("error", () => done(0));
})"""
PHONE = {"width": 360, "height": 740}
MARKET = (52.1039, 9.3576)  # Pferdemarkt, Hameln


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("form-server")
    with offline_site(directory, demo_reports=0) as base:
        yield base


@pytest.fixture
def phone(browser, server):
    """A phone-sized browser; pass geolocation options through ``phone(...)``."""
    contexts = []
    blocked: list[str] = []

    def open_context(**options):
        context = browser.new_context(base_url=server, locale="en-US", viewport=PHONE, **options)
        context.on("page", lambda page: page.on(
            "console",
            lambda message: blocked.append(message.text) if "Content Security Policy" in message.text else None,
        ))
        contexts.append(context)
        return context

    yield open_context
    for context in contexts:
        context.close()
    assert blocked == []


def test_use_my_location_fills_the_place_and_moves_the_pin(phone):
    context = phone(geolocation={"latitude": MARKET[0], "longitude": MARKET[1]}, permissions=["geolocation"])
    page = context.new_page()
    page.goto("/melden/")
    page.get_by_role("button", name="Use my location").click()
    expect(page.get_by_label("Latitude")).to_have_value("52.103900")
    expect(page.get_by_label("Longitude")).to_have_value("9.357600")
    expect(page.locator("#map .leaflet-marker-icon")).to_have_count(1)
    expect(page.locator("#locate-status")).to_have_text("Place chosen from your location: 52.10390, 9.35760")
    assert_accessible_on_phone(page)


def test_a_denied_location_says_how_else_to_give_the_place(phone):
    context = phone(geolocation={"latitude": MARKET[0], "longitude": MARKET[1]})  # but no permission
    page = context.new_page()
    page.goto("/melden/")
    page.get_by_role("button", name="Use my location").click()
    expect(page.locator("#locate-status")).to_contain_text("Your location is not available")
    expect(page.locator("#locate-status")).to_contain_text("tap the map, search for an address or enter the")
    expect(page.get_by_label("Latitude")).to_have_value("")
    # The other ways still work: a tap on the map chooses the place.
    page.locator("#map").click()
    expect(page.get_by_label("Latitude")).not_to_have_value("")
    assert_accessible_on_phone(page)


def test_a_chosen_photo_survives_a_mistake_and_is_filed_with_the_report(phone):
    page = phone().new_page()
    page.goto("/melden/")
    page.get_by_label("Description").fill("Loch mit Foto")
    page.get_by_label("Photos").set_input_files(PHOTO)
    preview = page.locator("#photo-previews img")
    expect(preview).to_have_count(1)
    expect(preview).to_have_attribute("src", re.compile(r"^blob:"))
    expect(preview).to_have_attribute("alt", "Preview of chosen photo 1")

    # Sent without a category and without a place: both mistakes at once, the photo still there.
    held = []
    page.route("**/melden/", lambda route: held.append(route), times=1)  # the next request there, the POST, waits
    page.get_by_role("button", name="Send report").click()
    expect(page.get_by_role("button", name="Send report")).to_be_disabled()  # a second tap sends nothing
    expect(page.locator("#sending")).to_be_visible()
    expect(page.locator("#sending-label")).to_contain_text("Sending your report")
    assert len(held) == 1
    held[0].continue_()

    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text(re.compile(r"What is the problem\?:? This field is required."))
    expect(summary).to_contain_text("Address or place: Choose the place: use your location")
    kept = page.get_by_role("img", name="Chosen photo 1")
    expect(kept).to_be_visible()
    # Drawn (not a broken image): its width once it has loaded, or 0 if it fails to.
    assert kept.evaluate(LOADED_WIDTH) > 0
    expect(page.get_by_label("Description")).to_have_value("Loch mit Foto")
    assert_accessible_on_phone(page)

    page.get_by_label("What is the problem?").select_option("schlagloch")
    page.get_by_label("Latitude").fill(str(MARKET[0]))
    page.get_by_label("Longitude").fill(str(MARKET[1]))
    page.get_by_role("button", name="Send report").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you for your report")
    reference = page.locator("#reference").inner_text()
    page.get_by_role("link", name="Show the report").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(reference)
    preparing = page.locator(".photos-preparing")
    if preparing.count():  # the worker has not blurred faces and plates yet: the page says so
        expect(preparing).to_contain_text("One photo is being prepared for publication")
    wait_for_photos(page.url.split("/meldungen/")[0], reference)
    page.reload()
    expect(page.get_by_alt_text("Photo 1 of the report")).to_be_visible()
    expect(preparing).to_have_count(0)


def test_a_kept_photo_can_be_removed_before_sending(phone):
    page = phone().new_page()
    page.goto("/melden/")
    page.get_by_label("Photos").set_input_files(PHOTO)
    page.get_by_role("button", name="Send report").click()
    expect(page.get_by_role("img", name="Chosen photo 1")).to_be_visible()
    page.get_by_label("Remove").check()
    page.get_by_label("What is the problem?").select_option("schlagloch")
    page.get_by_label("Latitude").fill(str(MARKET[0]))
    page.get_by_label("Longitude").fill(str(MARKET[1]))
    page.get_by_role("button", name="Send report").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you for your report")
    page.get_by_role("link", name="Show the report").click()
    expect(page.get_by_alt_text("Photo 1 of the report")).to_have_count(0)


def test_an_open_report_nearby_is_offered_and_supporting_it_raises_its_count(phone):
    context = phone()
    filed = context.request.post("/api/v1/reports/", multipart={
        "category": "schlagloch", "lat": "52.10395", "lon": "9.35765", "description": "Schlagloch am Pferdemarkt",
    })
    assert filed.status == 201, filed.text()
    report = filed.json()
    page = context.new_page()
    page.goto("/melden/")
    page.get_by_label("What is the problem?").select_option("schlagloch")
    page.get_by_label("Latitude").fill(str(MARKET[0]))
    page.get_by_label("Longitude").fill(str(MARKET[1]))
    page.get_by_label("Longitude").press("Tab")  # a typed place counts when the field is left
    nearby = page.locator(f'#nearby-list li[data-id="{report["id"]}"]')
    expect(nearby).to_contain_text(report["reference"])
    expect(nearby).to_contain_text("Schlagloch am Pferdemarkt")
    expect(nearby).to_contain_text("Supporters: 0")
    assert_accessible_on_phone(page)
    nearby.get_by_role("button", name="This is my concern — support it").click()
    expect(nearby).to_contain_text("Supporters: 1")
    expect(nearby.get_by_role("button", name="Supported")).to_be_disabled()
    expect(page.locator("#nearby-status")).to_have_text(
        f"Thank you: you support {report['reference']}, now 1 supporters."
    )
    assert context.request.get(f"/api/v1/reports/{report['id']}/").json()["support_count"] == 1

    # Another category there has nothing to offer.
    page.get_by_label("What is the problem?").select_option("graffiti")
    expect(page.locator("#nearby")).to_be_hidden()


def test_swapped_coordinates_are_offered_the_right_way_round(phone):
    page = phone().new_page()
    page.goto("/melden/")
    page.get_by_label("What is the problem?").select_option("schlagloch")
    page.get_by_label("Latitude").fill(str(MARKET[1]))
    page.get_by_label("Longitude").fill(str(MARKET[0]))
    page.get_by_role("button", name="Send report").click()
    expect(page.locator("#error-summary")).to_contain_text(f"Did you mean {MARKET[0]}, {MARKET[1]}")
    page.get_by_role("button", name=f"Use {MARKET[0]}, {MARKET[1]}").click()
    expect(page.get_by_label("Latitude")).to_have_value("52.103900")
    expect(page.get_by_label("Longitude")).to_have_value("9.357600")
    page.get_by_role("button", name="Send report").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you for your report")


def test_the_form_is_compact_on_a_phone_and_the_send_button_always_in_reach(phone):
    page = phone().new_page()
    page.goto("/melden/")
    height = page.evaluate("document.documentElement.scrollHeight")
    map_box = page.locator("#map").bounding_box()
    print(f"\n/melden/ at 360 px: {height} px tall = {height / PHONE['height']:.1f} screens; "
          f"map {map_box['height']:.0f} px high, {map_box['y']:.0f} px down")
    assert height <= 2.6 * PHONE["height"]  # it was 3.6 screens
    assert map_box["height"] <= 300
    send = page.get_by_role("button", name="Send report")
    for _ in range(3):  # at the top, in the middle, at the end of the form
        box = send.bounding_box()
        assert 0 <= box["y"] and box["y"] + box["height"] <= PHONE["height"], "the send button is off screen"
        page.mouse.wheel(0, height / 3)
    assert_accessible_on_phone(page)
