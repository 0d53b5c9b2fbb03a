"""A lead marks an area of a photo to blur by drawing a rectangle on it (issue #19): headless Chromium against
uvicorn with the demo, logged in as the demo's lead of the Bauhof Hameln, on a 360 × 740 phone.

The report comes in over the citizen API with a photo. On the ticket the lead opens "Blur an area", drags a
rectangle over the photo with the mouse; the script fills the four number inputs in pixels of the photo as taken,
and the form is sent as without the script. The page then says so and counts one area marked by hand, outlined
on the photo. Numbers typed in are drawn on the photo as well. axe-core finds nothing and the
Content-Security-Policy blocks nothing.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import DEMO_PASSWORD, REPO
from tests.live import assert_accessible, assert_accessible_on_phone, offline_site, wait_for_photos
from tests.personas import HAMELN_MARKET

PHOTO = REPO / "data" / "photos" / "02_jpeg_orient6_portrait_nogps.jpg"  # stored upright: 450 × 600
LEAD = "bauhof-hameln"  # the demo's lead of the Bauhof Hameln (reports.demo: named after the department)
PHONE = {"width": 360, "height": 740}
# The number inputs' labels (each followed by "(required)").
LABELS = {name: re.compile(rf"^{re.escape(label)}(\s|$)") for name, label in [
    ("x", "From the left (x)"), ("y", "From the top (y)"), ("width", "Width"), ("height", "Height")]}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("blur-area-server")
    with offline_site(directory) as base:
        yield base


@pytest.fixture
def report(server, browser) -> dict:
    context = browser.new_context(base_url=server)
    created = context.request.post("/api/v1/reports/", multipart={
        "category": "schlagloch", "lat": str(HAMELN_MARKET[0]), "lon": str(HAMELN_MARKET[1]),
        "description": "Loch vor dem Schaufenster",
        "photos": {"name": PHOTO.name, "mimeType": "image/jpeg", "buffer": PHOTO.read_bytes()},
    })
    assert created.status == 201, created.text()
    body = created.json()
    context.close()
    wait_for_photos(server, body["reference"])  # the worker makes the photo (and its rendition) from the upload
    return body


@pytest.fixture
def page(server, browser):
    context = browser.new_context(base_url=server, viewport=PHONE, locale="en-US", has_touch=True)
    blocked: list[str] = []
    context.on("page", lambda p: p.on(
        "console", lambda message: blocked.append(message.text) if "Content Security Policy" in message.text else None
    ))
    page = context.new_page()
    page.goto("/staff/login/")
    page.get_by_label("Username").fill(LEAD)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="My tasks")).to_be_visible()
    yield page
    context.close()
    assert blocked == []


def open_blurring(page, report: dict):
    page.goto(f"/staff/reports/{report['reference']}/")
    page.wait_for_load_state()  # blur.js runs once the page is parsed
    panel = page.locator("details.photo-blur").first
    panel.locator("summary").click()
    expect(panel).to_have_attribute("open", "")
    photo = panel.locator(".blur-editor img")
    expect(photo).to_be_visible()
    photo.scroll_into_view_if_needed()
    return panel, photo


def test_a_lead_drags_a_rectangle_over_the_photo_and_the_area_is_marked(page, report):
    panel, photo = open_blurring(page, report)
    state = page.locator(".rendition-state").first
    expect(state).to_contain_text(re.compile("Public version is being made|View public version"))
    expect(page.locator(".marked-count").first).to_have_text("0 areas marked by hand")
    expect(panel.get_by_text("Drag a rectangle on the photo to fill in the numbers.")).to_be_visible()
    assert_accessible_on_phone(page, PHONE["width"])

    box = photo.bounding_box()
    assert box is not None and box["width"] > 100
    # From a quarter to a half of the photo's width and height, as shown.
    start = (box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.25)
    end = (box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move((start[0] + end[0]) / 2, (start[1] + end[1]) / 2, steps=3)
    page.mouse.move(*end, steps=3)
    expect(panel.locator(".blur-selection")).to_be_visible()
    page.mouse.up()

    numbers = {name: int(panel.get_by_label(label).input_value()) for name, label in LABELS.items()}
    # In pixels of the photo as taken (450 × 600), whatever size it is shown at; a pixel on the screen is more.
    tolerance = 450 / box["width"] * 2
    for name, expected in {"x": 112.5, "y": 150, "width": 112.5, "height": 150}.items():
        assert abs(numbers[name] - expected) <= tolerance, (name, numbers)
    expect(panel.locator(".blur-status")).to_contain_text("Area chosen.")

    panel.get_by_role("button", name=re.compile("^Blur area")).click()

    expect(page.locator(".messages")).to_contain_text("The area will be blurred.")
    panel = page.locator("details.photo-blur").first
    expect(page.locator(".marked-count").first).to_have_text("1 area marked by hand")
    expect(page.locator(".rendition-state").first).to_contain_text("Public version is being made")
    expect(panel.locator(".blur-outline-manual")).to_have_count(1)
    panel.locator("summary").click()
    expect(panel.get_by_role("button", name=re.compile("^Remove areas marked by hand"))).to_be_visible()
    assert_accessible(page)


def test_numbers_typed_in_are_drawn_on_the_photo_and_a_wrong_one_is_refused_at_the_form(page, report):
    panel, _photo = open_blurring(page, report)
    selection = panel.locator(".blur-selection")
    expect(selection).to_be_hidden()
    panel.get_by_label(LABELS["x"]).fill("10")
    panel.get_by_label(LABELS["y"]).fill("20")
    panel.get_by_label(LABELS["width"]).fill("100")
    expect(selection).to_be_hidden()  # not yet an area
    panel.get_by_label(LABELS["height"]).fill("900")
    expect(selection).to_be_visible()

    panel.get_by_role("button", name=re.compile("^Blur area")).click()

    panel = page.locator("details.photo-blur").first
    expect(panel).to_have_attribute("open", "")
    expect(panel.get_by_role("alert")).to_contain_text("The area must lie within the photo (450 × 600 pixels).")
    expect(page.locator(".marked-count").first).to_have_text("0 areas marked by hand")
    expect(panel.get_by_label(LABELS["height"])).to_have_value("900")
    assert_accessible(page)
