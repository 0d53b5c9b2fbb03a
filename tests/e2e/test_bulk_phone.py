"""A Bauhof worker on a 360 × 740 phone acknowledges several tasks at once and downloads the list.

Headless Chromium against uvicorn with the demo (no sample reports) and three reports citizens sent through the
API: each card has a labelled checkbox, "select all" ticks the page, the number selected and then the result are
announced, axe-core finds nothing, and the CSV link downloads the list as shown.
"""

from __future__ import annotations

import csv
import io
import json
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.conftest import DEMO_PASSWORD
from tests.live import assert_accessible_on_phone, offline_site
from tests.personas import HAMELN_MARKET

PHONE = {"width": 360, "height": 740}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with offline_site(tmp_path_factory.mktemp("bulk-phone-server")) as base:
        yield base


def submit(base: str, description: str) -> str:
    body = json.dumps({"category": "schlagloch", "lat": HAMELN_MARKET[0], "lon": HAMELN_MARKET[1],
                       "description": description}).encode()
    request = urllib.request.Request(f"{base}/api/v1/reports/", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["reference"]


def test_a_worker_acknowledges_two_of_three_tasks_at_once_and_downloads_the_list(server, browser):
    references = [submit(server, f"Schlagloch Nummer {n}") for n in range(3)]
    context = browser.new_context(base_url=server, viewport=PHONE, locale="en-US", has_touch=True)
    page = context.new_page()
    page.goto("/staff/login/")
    page.get_by_label("Username").fill("bauhof-hameln-worker")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="My tasks")).to_be_visible()

    page.get_by_label("Select all reports on this page").check()
    expect(page.locator("#bulk-count")).to_have_text("3 reports selected.")
    page.get_by_label(f"Select {references[1]}").uncheck()
    expect(page.locator("#bulk-count")).to_have_text("2 reports selected.")
    expect(page.get_by_label("Select all reports on this page")).not_to_be_checked()
    assert_accessible_on_phone(page)
    page.get_by_label("Action").select_option("acknowledge")
    page.get_by_role("button", name="Carry out for the selected reports").click()

    result = page.get_by_role("status").filter(has_text="2 reports changed.")
    expect(result).to_be_visible()
    expect(result).to_be_focused()
    for reference, status in zip(references, ["Acknowledged", "New", "Acknowledged"], strict=True):
        card = page.locator(".report-row", has=page.get_by_role("link", name=reference, exact=True))
        expect(card.locator(".status")).to_have_text(status)
    assert_accessible_on_phone(page)

    with page.expect_download() as download:
        page.get_by_role("link", name="CSV", exact=True).click()
    with open(download.value.path(), encoding="utf-8-sig") as file:
        rows = list(csv.reader(io.StringIO(file.read())))
    assert rows[0][0] == "Reference number" and sorted(row[0] for row in rows[1:]) == sorted(references)
    context.close()
