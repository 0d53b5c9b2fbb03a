"""The staff web app (/staff/) as a browser without JavaScript meets it: server-rendered pages and form posts."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as DjangoClient
from django.utils import timezone

from reports.models import Report, ResponseTemplate
from tests.conftest import REPO
from tests.mobile_api.staff.conftest import Client as ApiClient
from tests.mobile_api.staff.conftest import submit
from tests.notifications.delivery import run_worker
from tests.personas import HAMELN_MARKET, PASSWORD

pytestmark = pytest.mark.django_db

PHOTO = REPO / "data" / "photos" / "02_jpeg_orient6_portrait_nogps.jpg"


class Browser(DjangoClient):
    """A browser speaking HTTPS (production settings redirect plain HTTP) and asking for English pages."""

    def __init__(self, language: str = "en", **kwargs) -> None:
        super().__init__(HTTP_ACCEPT_LANGUAGE=language, **kwargs)

    def generic(self, method, path, data="", content_type="application/octet-stream", secure=True, **extra):
        return super().generic(method, path, data, content_type, secure=True, **extra)



def logged_in(user) -> Browser:
    browser = Browser()
    response = browser.post("/staff/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, response.content
    return browser


def page(report: dict) -> str:
    return f"/staff/reports/{report['reference']}/"


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def public_events(report: dict) -> list[dict]:
    return ApiClient().get(f"/api/v1/reports/{report['id']}/events/").json()["events"]


def status_of(report: dict) -> str:
    return Report.objects.get(reference=report["reference"]).status


@pytest.fixture
def worker(personas) -> Browser:
    return logged_in(personas.hameln_worker)


@pytest.fixture
def lead(personas) -> Browser:
    return logged_in(personas.hameln_lead)


@pytest.fixture
def clerk(personas) -> Browser:
    return logged_in(personas.hildesheim_clerk)


@pytest.fixture
def templates(demo) -> dict[str, ResponseTemplate]:
    return {
        "in_progress": ResponseTemplate.objects.create(
            title="Scheduled",
            status="in_progress",
            text="Report {reference} is scheduled.",
            text_en="Report {reference} is scheduled.",
        ),
        "fixed": ResponseTemplate.objects.create(
            title="Done", status="fixed", text="Fixed, thanks.", text_en="Fixed, thanks."
        ),
    }


# --- Login -----------------------------------------------------------------------------------

def test_an_anonymous_visitor_is_sent_to_the_login_page(hameln_report):
    for path in ("/staff/", page(hameln_report)):
        response = Browser().get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/staff/login/?next=")


def test_a_staff_member_logs_in_and_lands_on_my_tasks(personas):
    browser = Browser()
    response = browser.post("/staff/login/", {"username": "hameln-worker", "password": PASSWORD}, follow=True)

    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == "/staff/"
    assert "<h1>My tasks</h1>" in text(response)


def test_a_wrong_password_keeps_the_login_page_with_a_message(personas):
    response = Browser().post("/staff/login/", {"username": "hameln-worker", "password": "wrong"})

    assert response.status_code == 200
    assert "The username or password is wrong." in text(response)


def test_a_citizen_account_without_a_department_is_told_why_it_cannot_log_in(personas):
    get_user_model().objects.create_user(username="citizen", password=PASSWORD)
    browser = Browser()

    response = browser.post("/staff/login/", {"username": "citizen", "password": PASSWORD})

    assert response.status_code == 200
    assert "does not work for any department" in text(response)
    assert browser.get("/staff/").status_code == 302  # still logged out


def test_a_session_of_an_account_without_a_department_gets_a_clear_403(personas):
    browser = Browser()
    browser.force_login(get_user_model().objects.create_user(username="citizen", password=PASSWORD))

    response = browser.get("/staff/")

    assert response.status_code == 403
    assert "does not work for any department" in text(response)


def test_logging_out_needs_a_post_and_ends_the_session(worker):
    assert worker.post("/staff/logout/").status_code == 302
    assert worker.get("/staff/").status_code == 302


def test_the_login_form_is_protected_against_cross_site_posts(personas):
    browser = Browser(enforce_csrf_checks=True)
    response = browser.post("/staff/login/", {"username": "hameln-worker", "password": PASSWORD})
    assert response.status_code == 403


# --- My tasks --------------------------------------------------------------------------------

def test_my_tasks_lists_my_departments_open_reports_with_due_date(hameln_report, worker):
    response = worker.get("/staff/")

    body = text(response)
    assert response.status_code == 200
    assert hameln_report["reference"] in body
    assert f'href="{page(hameln_report)}"' in body
    assert "Pothole" in body or "Schlagloch" in body
    assert "New" in body and "Due" in body


def test_a_hildesheim_clerk_does_not_see_hameln_reports_in_the_list(hameln_report, hildesheim_report, clerk):
    body = text(clerk.get("/staff/?scope=all&status=any"))

    assert hildesheim_report["reference"] in body
    assert hameln_report["reference"] not in body


def test_closed_reports_leave_my_tasks_but_can_be_filtered_for(hameln_report, lead):
    lead.post(page(hameln_report) + "transition/", {"transition-to": "fixed"})

    assert hameln_report["reference"] not in text(lead.get("/staff/"))
    assert hameln_report["reference"] in text(lead.get("/staff/?status=fixed"))


def test_the_overdue_filter_shows_only_overdue_reports_with_a_badge(personas, worker):
    late, in_time = submit(), submit()
    Report.objects.filter(reference=late["reference"]).update(due_at=timezone.now() - timedelta(days=2))

    body = text(worker.get("/staff/?overdue=on"))

    assert late["reference"] in body and in_time["reference"] not in body
    assert "overdue" in body


def test_near_sorts_by_distance_and_shows_it(personas, worker):
    far = submit(at=(52.0960, 9.3700))
    close = submit(at=HAMELN_MARKET)

    body = text(worker.get("/staff/", {"near": f"{HAMELN_MARKET[0]},{HAMELN_MARKET[1]}"}))

    assert body.index(close["reference"]) < body.index(far["reference"])
    assert "0 m away" in body


def test_due_date_sorting_puts_the_earliest_first(personas, worker):
    later, sooner = submit(), submit()
    Report.objects.filter(reference=sooner["reference"]).update(due_at=timezone.now() + timedelta(hours=1))

    body = text(worker.get("/staff/?ordering=due_at"))

    assert body.index(sooner["reference"]) < body.index(later["reference"])


def test_an_unusable_position_is_a_400_that_says_so(personas, worker):
    response = worker.get("/staff/?near=north")

    assert response.status_code == 400
    assert "Give lat,lon." in text(response)


def test_the_list_is_paginated(personas, worker, monkeypatch):
    monkeypatch.setattr("reports.staff.views.PAGE_SIZE", 2)
    for _ in range(3):
        submit()

    first, second = text(worker.get("/staff/")), text(worker.get("/staff/?page=2"))

    assert "Page 1 of 2" in first and 'rel="next"' in first
    assert "Page 2 of 2" in second and 'rel="prev"' in second


# --- A report --------------------------------------------------------------------------------

def test_a_hildesheim_clerk_gets_404_for_a_hameln_report(hameln_report, clerk):
    assert clerk.get(page(hameln_report)).status_code == 404
    response = clerk.post(page(hameln_report) + "transition/", {"transition-to": "in_progress"})
    assert response.status_code == 404
    assert clerk.post(page(hameln_report) + "note/", {"note-note": "Psst"}).status_code == 404
    assert status_of(hameln_report) == "new"


def test_the_detail_shows_reporter_contact_history_map_and_routing(hameln_report, worker):
    body = text(worker.get(page(hameln_report)))

    assert "Anna Beispiel" in body and 'href="mailto:anna@example.org"' in body
    assert "History" in body and "Created" in body and "Routed" in body
    assert 'id="report-map"' in body and 'data-lat="52.103900"' in body
    assert "openstreetmap.org/?mlat=52.103900" in body  # the place without the map


def test_a_worker_sees_only_the_transitions_a_worker_may_make(hameln_report, worker):
    body = text(worker.get(page(hameln_report)))
    buttons = re.findall(r'<button type="submit" name="to" value="([a-z_]+)"', body)

    assert buttons == ["acknowledged", "in_progress", "fixed", "duplicate"]


def test_a_lead_may_also_reject_and_forward(hameln_report, lead):
    body = text(lead.get(page(hameln_report)))
    buttons = re.findall(r'<button type="submit" name="to" value="([a-z_]+)"', body)

    assert buttons == ["acknowledged", "in_progress", "fixed", "rejected", "duplicate", "forwarded"]


def test_choosing_a_status_offers_its_templates_and_a_chosen_one_fills_the_answer(hameln_report, worker, templates):
    chosen = worker.get(page(hameln_report), {"to": "in_progress"})
    body = text(chosen)
    assert "Scheduled" in body and "Done" not in body

    filled = text(worker.get(page(hameln_report), {"to": "in_progress", "template": templates["in_progress"].pk}))

    assert f"Report {hameln_report['reference']} is scheduled.</textarea>" in filled


def test_a_worker_sets_a_report_in_progress_with_a_public_answer(hameln_report, worker):
    response = worker.post(page(hameln_report) + "transition/", {
        "transition-to": "in_progress", "transition-message": "Wir kommen morgen.", "transition-note": "Kolonne 2",
    }, follow=True)

    body = text(response)
    assert response.redirect_chain[-1] == (page(hameln_report), 302)
    assert "Status set to “In progress”." in body
    assert status_of(hameln_report) == "in_progress"
    changes = [(e["to_status"], e["message"]) for e in public_events(hameln_report) if e["kind"] == "status_changed"]
    assert changes == [("in_progress", "Wir kommen morgen.")]
    assert "Kolonne 2" not in str(public_events(hameln_report))


def test_rejecting_without_a_reason_shows_the_error_at_the_answer_field(hameln_report, lead):
    response = lead.post(page(hameln_report) + "transition/", {"transition-to": "rejected", "transition-message": " "})

    body = text(response)
    assert response.status_code == 400
    assert 'id="id_transition-message_error"' in body
    assert "A rejection needs a public reason" in body
    assert 'aria-invalid="true"' in body
    assert status_of(hameln_report) == "new"


def test_a_worker_posting_a_transition_of_leads_gets_409_naming_the_allowed_ones(hameln_report, worker):
    response = worker.post(
        page(hameln_report) + "transition/", {"transition-to": "rejected", "transition-message": "Privat"}
    )

    assert response.status_code == 409
    assert "Your role may not set this status" in text(response)
    assert status_of(hameln_report) == "new"


def test_marking_a_duplicate_needs_a_visible_original(hameln_report, hildesheim_report, worker):
    response = worker.post(page(hameln_report) + "transition/", {
        "transition-to": "duplicate", "transition-duplicate_of": hildesheim_report["reference"],
    })
    assert response.status_code == 400
    assert "No such report." in text(response)

    original = submit()
    done = worker.post(
        page(hameln_report) + "transition/",
        {"transition-to": "duplicate", "transition-duplicate_of": original["reference"]},
    )
    assert done.status_code == 302
    assert status_of(hameln_report) == "duplicate"


def test_a_lead_forwarding_a_report_to_another_authority_returns_to_my_tasks(hameln_report, lead, clerk):
    response = lead.post(page(hameln_report) + "transition/", {
        "transition-to": "forwarded", "transition-authority": "hildesheim", "transition-message": "Kreisstraße",
    }, follow=True)

    assert response.redirect_chain[-1] == ("/staff/", 302)
    assert "Forwarded to" in text(response)
    assert lead.get(page(hameln_report)).status_code == 404
    assert clerk.get(page(hameln_report)).status_code == 200


def test_an_internal_note_is_marked_internal_and_stays_off_the_public_report(hameln_report, worker):
    worker.post(page(hameln_report) + "note/", {"note-note": "Schlüssel beim Hausmeister"})

    body = text(worker.get(page(hameln_report)))
    assert re.search(r'class="event event-internal_note internal">.*?internal.*?Schlüssel beim Hausmeister', body)
    assert "Schlüssel" not in str(public_events(hameln_report))


def test_an_empty_note_is_refused_at_the_field(hameln_report, worker):
    response = worker.post(page(hameln_report) + "note/", {"note-note": ""})

    assert response.status_code == 400
    assert 'id="id_note-note_error"' in text(response)


def test_a_public_answer_appears_on_the_public_report(hameln_report, worker):
    worker.post(page(hameln_report) + "answer/", {"answer-message": "Danke für den Hinweis."})

    answers = [e["message"] for e in public_events(hameln_report) if e["kind"] == "public_answer"]
    assert answers == ["Danke für den Hinweis."]


def test_reassigning_offers_and_accepts_only_departments_of_the_same_authority(hameln_report, lead, personas):
    from geo.models import Department

    sibling = Department.objects.create(
        authority=personas.bauhof_hameln.authority, name="Stadtgrün Hameln", slug="stadtgruen-hameln"
    )
    body = text(lead.get(page(hameln_report)))
    assert "Stadtgrün Hameln" in body and "Kreisbauhof Hildesheim" not in body

    foreign = lead.post(page(hameln_report) + "reassign/", {"reassign-department": personas.hildesheim_department.pk})
    assert foreign.status_code == 400
    assert "belongs to another authority" in text(foreign)

    moved = lead.post(page(hameln_report) + "reassign/", {"reassign-department": sibling.pk}, follow=True)
    assert "Handed over to Stadtgrün Hameln." in text(moved)
    assert Report.objects.get(reference=hameln_report["reference"]).department == sibling


def test_the_fix_photo_field_opens_the_phone_camera(hameln_report, worker):
    body = text(worker.get(page(hameln_report), {"to": "fixed"}))  # part of the step to "fixed"

    assert re.search(
        r'<input type="file" name="fix-photos"[^>]*accept="image/\*"[^>]*capture="environment"[^>]*multiple', body
    )


def test_a_fix_photo_goes_through_the_photo_pipeline_and_is_public(hameln_report, worker):
    upload = SimpleUploadedFile("fix.jpg", PHOTO.read_bytes(), content_type="image/jpeg")

    response = worker.post(page(hameln_report) + "photos/", {"fix-photos": [upload]}, follow=True)

    body = text(response)
    assert "Photo added." in body
    assert "Fix photo 1: The photo is being processed …" in body  # until the worker made it from the upload
    run_worker()  # the photo made, faces and plates blurred: now public
    assert 'alt="Fix photo 1"' in text(worker.get(page(hameln_report)))
    public = ApiClient().get(f"/api/v1/reports/{hameln_report['id']}/").json()
    assert len(public["photos"]) == 1


def test_a_file_that_is_no_image_is_refused_at_the_photo_field(hameln_report, worker):
    upload = SimpleUploadedFile("notes.jpg", b"not an image", content_type="image/jpeg")

    response = worker.post(page(hameln_report) + "photos/", {"fix-photos": [upload]})

    assert response.status_code == 400
    assert 'id="id_fix-photos_error"' in text(response)
    assert ApiClient().get(f"/api/v1/reports/{hameln_report['id']}/").json()["photos"] == []


# --- Language and accessibility basics ---------------------------------------------------------

def test_pages_are_german_by_default_and_english_on_request(hameln_report, personas):
    german = Browser(language="de")
    german.post("/staff/login/", {"username": "hameln-worker", "password": PASSWORD})

    assert '<html lang="de">' in text(german.get(page(hameln_report)))
    assert '<html lang="en">' in text(logged_in(personas.hameln_worker).get(page(hameln_report)))


def test_the_language_can_be_switched_with_set_language(hameln_report, personas):
    browser = Browser(language="de")
    browser.post("/staff/login/", {"username": "hameln-worker", "password": PASSWORD})

    browser.post("/i18n/setlang/", {"language": "en", "next": "/staff/"})

    assert '<html lang="en">' in text(browser.get("/staff/"))


def test_every_page_has_a_skip_link_to_the_main_content(hameln_report, worker):
    for path in ("/staff/", page(hameln_report)):
        body = text(worker.get(path))
        assert '<a class="skip-link" href="#main">' in body and '<main id="main"' in body


def test_login_attempts_are_rate_limited_per_client_address(personas, settings):
    settings.API_RATES = {**settings.API_RATES, "login": "2/minute"}
    browser = Browser()

    answers = [browser.post("/staff/login/", {"username": "hameln-worker", "password": "guess"}) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert int(answers[-1]["Retry-After"]) > 0
    assert "Too many login attempts" in text(answers[-1])
