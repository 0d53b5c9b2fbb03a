"""A Bauhof worker closes a ticket on a phone: headless Chromium against uvicorn with a real database.

The report comes in over HTTP through the citizen API; the worker logs in on a 360×740 viewport,
sets it in progress with a template answer and closes it as fixed with a fix photo. The public
API then shows the answer and the fix photo.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.conftest import REPO, manage
from tests.live import (
    CHROMIUM,
    CHROMIUM_ARGS,
    assert_accessible,
    assert_fits_the_phone,
    migrated_database,
    uvicorn,
    wait_for_photos,
    worker,
)
from tests.personas import HAMELN_MARKET

PHOTO = REPO / "data" / "photos" / "02_jpeg_orient6_portrait_nogps.jpg"
WORKER, PASSWORD = "bauhof-worker", "Worker-Pass-2026"
CREATE_WORKER = f"""
from django.contrib.auth import get_user_model
from geo.models import Department, Membership, StaffRole
user = get_user_model().objects.create_user(username={WORKER!r}, password={PASSWORD!r}, first_name="Bauhof-Mitarbeiter")
Membership.objects.create(user=user, department=Department.objects.get(slug="bauhof-hameln"), role=StaffRole.WORKER)
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """uvicorn on this run's database backend, with the demo configuration and one worker account."""
    directory = tmp_path_factory.mktemp("staff-server")
    with migrated_database(directory) as database:
        env = {"DEBUG": "true", "DATA_DIR": str(directory), "DATABASE_URL": database}
        result = manage("shell", "-c", CREATE_WORKER, env=env, timeout=300)
        assert result.returncode == 0, result.stderr
        with uvicorn(env) as base, worker(env):
            yield base


def test_a_bauhof_worker_closes_a_report_on_a_phone_and_the_public_sees_answer_and_fix_photo(server):
    with sync_playwright() as playwright:
        api = playwright.request.new_context(base_url=server)
        created = api.post("/api/v1/reports/", multipart={
            "category": "schlagloch", "lat": str(HAMELN_MARKET[0]), "lon": str(HAMELN_MARKET[1]),
            "description": "Tiefes Loch vor der Apotheke",
        })
        assert created.status == 201, created.text()
        report = created.json()

        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(
            base_url=server, viewport={"width": 360, "height": 740}, locale="en-US",
            geolocation={"latitude": HAMELN_MARKET[0], "longitude": HAMELN_MARKET[1]}, permissions=["geolocation"],
        )
        page = context.new_page()

        page.goto("/staff/")
        expect(page).to_have_url(f"{server}/staff/login/?next=/staff/")
        assert_accessible(page)
        page.get_by_label("Username").fill(WORKER)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="My tasks")).to_be_visible()
        page.keyboard.press("Tab")
        expect(page.locator(".skip-link")).to_be_focused()
        page.get_by_text("Filter and sort").click()
        assert_fits_the_phone(page)
        assert_accessible(page)

        page.get_by_role("button", name="Sort by distance from my position").click()
        expect(page).to_have_url(re.compile(r"near=52\.103900%2C9\.357600&ordering=distance"))
        expect(page.locator(".report-row").first).to_contain_text("0 m away")

        page.get_by_role("link", name=report["reference"]).click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(report["reference"])
        assert page.locator('button[name="to"][value="rejected"]').count() == 0  # leads only
        assert_fits_the_phone(page)
        assert_accessible(page)

        page.locator('button[name="to"][value="in_progress"]').click()
        page.wait_for_load_state()  # the script that fills in templates runs on load
        page.locator("#transition").get_by_label("Response template").select_option(label="Work scheduled")
        answer = page.locator("#id_transition-message")
        # The reporter wrote in German: the answer is offered in German, placeholders filled in.
        expect(answer).to_have_value(re.compile(rf"^Ihre Meldung {report['reference']} \(.+\) ist eingeplant"))
        scheduled = answer.input_value()
        page.locator("#transition button.primary").click()
        expect(page.get_by_role("status")).to_contain_text("Status set to")
        expect(page.locator("#current-status")).to_have_attribute("data-status", "in_progress")

        page.locator('button[name="to"][value="fixed"]').click()
        page.wait_for_load_state()  # the script that fills in templates runs on load
        page.locator("#transition").get_by_label("Response template").select_option(label="Problem fixed")
        expect(answer).to_have_value(re.compile("^Der gemeldete Mangel"))
        fixed = answer.input_value()
        page.locator("#id_fix-photos").set_input_files(PHOTO)  # the fix photo is part of the step to "fixed"
        page.locator("#transition button.primary").click()
        expect(page.get_by_role("status")).to_contain_text("Photo added.")
        # The worker makes the photo from the upload: a placeholder until then (it may be quicker than this page).
        expect(page.locator('.fix-photos img[alt="Fix photo 1"], .fix-photos .photo-placeholder')).to_have_count(1)
        expect(page.locator("#current-status")).to_have_attribute("data-status", "fixed")
        wait_for_photos(server, report["reference"])  # the worker blurs faces and plates first
        page.reload()
        expect(page.get_by_alt_text("Fix photo 1")).to_be_visible()
        assert_fits_the_phone(page)
        assert_accessible(page)
        browser.close()

        public = api.get(f"/api/v1/reports/{report['id']}/").json()
        events = api.get(f"/api/v1/reports/{report['id']}/events/").json()["events"]
        assert public["status"] == "fixed"
        assert len(public["photos"]) == 1
        photo = api.get(public["photos"][0]["url"])
        assert photo.status == 200 and photo.headers["content-type"] == "image/jpeg"
        changes = [(e["to_status"], e["message"]) for e in events if e["kind"] == "status_changed"]
        assert changes == [
            ("in_progress", scheduled),
            ("fixed", fixed),
        ]
        assert "photo_added" in [e["kind"] for e in events]
        api.dispose()

