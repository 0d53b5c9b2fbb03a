"""A Bauhof worker on a 360 × 740 phone works through the demo's tasks (issue #17, "Staff app").

Headless Chromium against uvicorn with the demo and its 300 sample reports, logged in as the demo's
``bauhof-hameln-worker``: a wrong password says so; the list says what the role may do; sorting by distance
keeps the first card in view; a tap anywhere on a card opens it; the ticket offers a navigation app; the fix
photo is taken in the step to "fixed". axe-core finds nothing and the Content-Security-Policy blocks nothing.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect, sync_playwright

from reports.demo import SAMPLE_REPORTS
from tests.conftest import DEMO_PASSWORD, REPO
from tests.live import CHROMIUM, CHROMIUM_ARGS, assert_accessible, assert_fits_the_phone, offline_site
from tests.personas import HAMELN_MARKET

PHOTO = REPO / "data" / "photos" / "02_jpeg_orient6_portrait_nogps.jpg"
WORKER = "bauhof-hameln-worker"
PHONE = {"width": 360, "height": 740}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("staff-phone-server")
    with offline_site(directory, demo_reports=SAMPLE_REPORTS) as base:
        yield base


@pytest.fixture
def page(server):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(
            base_url=server, viewport=PHONE, locale="en-US", has_touch=True,
            geolocation={"latitude": HAMELN_MARKET[0], "longitude": HAMELN_MARKET[1]}, permissions=["geolocation"],
        )
        blocked: list[str] = []
        def watch(message) -> None:
            if "Content Security Policy" in message.text:
                blocked.append(message.text)

        context.on("page", lambda p: p.on("console", watch))
        yield context.new_page()
        browser.close()
        assert blocked == []


def log_in(page, password: str = DEMO_PASSWORD) -> None:
    page.goto("/staff/login/")
    page.get_by_label("Username").fill(WORKER)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def in_first_screen(locator) -> bool:
    box = locator.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"]


def test_a_wrong_password_says_so(page):
    log_in(page, password="not-the-password")

    expect(page.get_by_role("alert")).to_have_text("The username or password is wrong. Both are case-sensitive.")
    assert_accessible(page)


def test_sorting_by_distance_keeps_the_first_task_in_the_first_screen(page):
    log_in(page)
    expect(page.get_by_role("heading", name="My tasks")).to_be_visible()
    expect(page.locator(".role-summary")).to_have_text(
        "Your role: Worker — may acknowledge, start work, mark fixed, mark as duplicate; "
        "may not reject, forward, reopen."
    )
    assert_accessible(page)
    # As after "Apply" in the filter panel: a filter narrows the list, and sorting must not push it down either.
    page.locator("details.filters summary").click()
    page.get_by_label("Category").select_option(label="Illegal dumping")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("details.filters summary")).to_have_text("Filter and sort (1 active)")

    page.get_by_role("button", name="Sort by distance from my position").click()

    expect(page).to_have_url(re.compile(r"category=wilder-muell.*near=52\.103900%2C9\.357600&ordering=distance"))
    expect(page.locator("details.filters")).not_to_have_attribute("open", "")
    first = page.locator(".report-row").first
    expect(first).to_contain_text("m away")
    assert in_first_screen(first)
    assert_fits_the_phone(page)
    assert_accessible(page)


def test_a_tap_anywhere_on_a_card_opens_its_report(page):
    log_in(page)
    cards = page.locator(".report-row")
    expect(cards.first).to_be_visible()
    # One link per card, named by the reference alone, and nothing interactive inside it.
    for card in cards.all()[:5]:
        assert card.locator("a, button, input, select, textarea").count() == 1
        assert re.fullmatch(r"[A-Z]+-\d{4}-\d{6}", card.get_by_role("link").inner_text())
    card = cards.nth(1)
    reference = card.get_by_role("link").inner_text()
    card.scroll_into_view_if_needed()
    box = card.bounding_box()
    assert box is not None and box["height"] >= 44 and box["width"] >= 300

    # Far from the reference: the bottom right corner, over the department's name.
    page.touchscreen.tap(box["x"] + box["width"] - 8, box["y"] + box["height"] - 6)

    expect(page.get_by_role("heading", level=1)).to_contain_text(reference)


def test_a_worker_navigates_to_the_place_and_closes_the_report_with_a_fix_photo(page):
    log_in(page)
    page.get_by_role("button", name="Sort by distance from my position").click()
    expect(page).to_have_url(re.compile(r"ordering=distance"))
    link = page.locator(".report-row").first.get_by_role("link")
    reference = link.inner_text()
    link.click()

    expect(page.get_by_role("heading", level=1)).to_contain_text(reference)
    navigate = page.get_by_role("link", name="Navigate there")
    expect(navigate).to_have_attribute("href", re.compile(r"^geo:5[12]\.\d{6},9\.\d{6}\?q=5[12]\.\d{6},9\.\d{6}\("))
    expect(page.get_by_role("link", name=re.compile(r"^5[12]\.\d{6}, 9\.\d{6}$"))).to_have_attribute(
        "href", re.compile(r"^https://www\.openstreetmap\.org/")
    )
    expect(page.locator(".role-summary")).to_contain_text("Your role: Worker")
    assert page.locator("#id_fix-photos").count() == 0  # no separate photo section: it is part of "fixed"
    assert_fits_the_phone(page)
    assert_accessible(page)

    page.locator('button[name="to"][value="fixed"]').click()
    panel = page.locator("#transition")
    expect(panel.get_by_role("heading", name="Set to “Fixed”")).to_be_visible()
    panel.get_by_label(re.compile("^Fix photo")).set_input_files(PHOTO)
    panel.get_by_label("Public answer").fill("Das Loch ist verfüllt.")
    assert_accessible(page)
    panel.get_by_role("button", name="Set to “Fixed”").click()

    expect(page.get_by_role("status")).to_contain_text("Status set to “Fixed”. Photo added.")
    expect(page.locator("#current-status")).to_have_attribute("data-status", "fixed")
    # No worker runs here: the photo waits as sent, and the page says so in its place.
    expect(page.locator(".fix-photos .photo-placeholder")).to_have_text("Fix photo 1: The photo is being processed …")
    assert_fits_the_phone(page)
    assert_accessible(page)


def test_the_tasks_map_shows_the_same_tasks_in_clusters_and_opens_a_report_from_its_pin(page):
    log_in(page)
    tasks = int(re.match(r"\d+", page.locator(".count").inner_text()).group())
    page.get_by_role("link", name="Show on a map").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("My tasks on a map")
    the_map = page.locator("#tasks-map")
    expect(the_map).to_have_attribute("data-loaded", re.compile(r"^\d+$"))
    expect(page.locator("#map-status")).to_have_text(f"{tasks} tasks in this map section.")
    counts = page.locator(".task-cluster").evaluate_all("els => els.map(e => e.dataset.count)")
    assert sum(int(c) for c in counts) == tasks
    assert_fits_the_phone(page)
    assert_accessible(page)

    for _ in range(6):  # a cluster zooms in on itself, until single tasks show as pins
        if page.locator(".task-pin").count():
            break
        seen = the_map.get_attribute("data-loaded")
        page.locator(".task-cluster").first.focus()  # with the keyboard: the map's controls may cover it
        page.keyboard.press("Enter")
        expect(the_map).not_to_have_attribute("data-loaded", seen or "")
    pin = page.locator(".task-pin").first
    reference = re.match(r"[A-Z]+-\d{4}-\d{6}", pin.get_attribute("title") or "").group()
    pin.focus()
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_contain_text(reference)

