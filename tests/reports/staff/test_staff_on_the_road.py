"""What a Bauhof worker on the road needs from "Meine Aufgaben" and a ticket (issue #17): finding a report by a
part of its reference, a login that says what was wrong, knowing what their role may do, dates as they are
written here, a way to navigate to the place, the fix photo as part of "fixed", and a demo whose overdue
badges mean something."""

from __future__ import annotations

import re
from datetime import datetime
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from reports.models import Photo, Report
from reports.workflow import OPEN_STATUSES
from tests.conftest import DEMO_PASSWORD
from tests.mobile_api.staff.conftest import submit
from tests.reports.staff.test_staff_pages import PHOTO, Browser, logged_in, page, status_of, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def worker(personas) -> Browser:
    return logged_in(personas.hameln_worker)


def listed(response) -> list[str]:
    return re.findall(r'class="reference card-link">([A-Z]+-\d{4}-\d{6})<', response.content.decode())


# --- Search -------------------------------------------------------------------------------------

def test_a_part_of_the_reference_finds_the_report(personas, worker):
    reports = [submit() for _ in range(3)]
    second = reports[1]["reference"]
    number = str(int(second.rsplit("-", 1)[1]))  # "2" for HM-2026-000002

    assert listed(worker.get("/staff/", {"q": number})) == [second]
    assert listed(worker.get("/staff/", {"q": second.split("-", 1)[1]})) == [second]  # without the prefix
    assert listed(worker.get("/staff/", {"q": second.lower()})) == [second]
    assert listed(worker.get("/staff/", {"q": f"  {second}  "})) == [second]


def test_a_search_that_is_too_long_is_refused_with_a_message_not_an_error(personas, worker):
    response = worker.get("/staff/", {"q": "1" * 201})

    assert response.status_code == 400
    assert "Ensure this value has at most 200 characters" in text(response)


def test_the_staff_api_takes_a_part_of_the_reference_too(personas):
    from tests.mobile_api.staff.conftest import staff_client

    first, _second = submit(), submit()
    api = staff_client(personas.hameln_worker)
    found = api.get("/api/staff/reports/", {"q": str(int(first["reference"].rsplit("-", 1)[1]))}).json()

    assert [r["reference"] for r in found["results"]] == [first["reference"]]
    assert api.get("/api/staff/reports/", {"q": "9" * 300}).status_code == 400


# --- Login ----------------------------------------------------------------------------------------

def test_a_wrong_password_says_so(personas):
    response = Browser().post("/staff/login/", {"username": "hameln-worker", "password": "wrong"})

    assert response.status_code == 200
    assert "The username or password is wrong." in text(response)


def test_a_wrong_password_says_so_in_german(personas):
    response = Browser(language="de").post("/staff/login/", {"username": "hameln-worker", "password": "falsch"})

    assert "Benutzername oder Passwort ist falsch." in text(response)


# --- Role -----------------------------------------------------------------------------------------

def test_a_worker_is_told_what_their_role_may_and_may_not_do(personas, worker):
    report = submit()
    expected = ("Your role: Worker — may acknowledge, start work, mark fixed, mark as duplicate; "
                "may not reject, forward, reopen.")

    assert expected in text(worker.get("/staff/"))
    assert expected in text(worker.get(page(report)))


def test_a_lead_may_take_every_step(personas):
    lead = logged_in(personas.hameln_lead)

    assert ("Your role: Lead — may acknowledge, start work, mark fixed, mark as duplicate, reject, forward, reopen."
            in text(lead.get("/staff/")))


def test_the_role_is_explained_in_german(personas):
    worker = Browser(language="de")
    worker.post("/staff/login/", {"username": "hameln-worker", "password": personas.password})

    body = text(worker.get("/staff/"))

    assert "Ihre Rolle: Mitarbeiter/in — darf annehmen, bearbeiten, erledigen, als Duplikat markieren; " \
           "darf nicht ablehnen, weiterleiten, wieder öffnen." in body


# --- Dates and place ------------------------------------------------------------------------------

def test_dates_are_written_as_in_germany_and_unambiguously_in_english(personas, worker):
    report = submit()
    german = Browser(language="de")
    german.post("/staff/login/", {"username": "hameln-worker", "password": personas.password})

    assert re.search(r'<time datetime="[^"]+">\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}</time>', text(german.get(page(report))))
    assert re.search(r'Due <time datetime="[^"]+">\d{1,2} [A-Z][a-z]{2} \d{4}</time>', text(worker.get("/staff/")))
    english = text(worker.get(page(report)))
    stamps = re.findall(r'<time datetime="[^"]+">([^<]+)</time>', english)
    assert stamps and all(re.fullmatch(r"\d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}", stamp) for stamp in stamps)
    assert all(datetime.strptime(stamp, "%d %b %Y %H:%M") for stamp in stamps)
    assert "/" not in " ".join(stamps)


def test_the_place_opens_a_navigation_app_and_the_map(personas, worker):
    report = submit()

    body = text(worker.get(page(report)))

    assert re.search(r'href="geo:52\.103900,9\.357600\?q=52\.103900,9\.357600\([^)"]+\)"[^>]*>Navigate there</a>',
                     body)
    assert 'href="https://www.openstreetmap.org/?mlat=52.103900&amp;mlon=9.357600' in body


# --- The fix photo in the step to "fixed" --------------------------------------------------------

def test_the_fixed_step_takes_the_fix_photo_in_the_same_form(personas, worker):
    report = submit()

    form = text(worker.get(page(report), {"to": "fixed"}))
    assert re.search(r'<form method="post" action="[^"]+/transition/"[^>]*enctype="multipart/form-data"', form)
    assert 'name="fix-photos"' in form
    assert 'id="fix-heading"' not in form  # no separate section for it any more

    upload = SimpleUploadedFile("fix.jpg", PHOTO.read_bytes(), content_type="image/jpeg")
    done = worker.post(page(report) + "transition/", {
        "transition-to": "fixed", "transition-message": "Erledigt.", "fix-photos": [upload],
    }, follow=True)

    assert "Status set to “Fixed”. Photo added." in text(done)
    assert status_of(report) == "fixed"
    assert Photo.objects.filter(report__reference=report["reference"], kind="fix").count() == 1
    assert "Fix photo 1: The photo is being processed …" in text(done)


def test_fixed_without_a_photo_is_fine(personas, worker):
    report = submit()

    worker.post(page(report) + "transition/", {"transition-to": "fixed"})

    assert status_of(report) == "fixed"


def test_a_bad_fix_photo_changes_nothing_and_is_shown_at_the_field(personas, worker):
    report = submit()
    upload = SimpleUploadedFile("notes.jpg", b"not an image", content_type="image/jpeg")

    response = worker.post(page(report) + "transition/", {"transition-to": "fixed", "fix-photos": [upload]})

    assert response.status_code == 400
    assert 'id="id_fix-photos_error"' in text(response)
    assert status_of(report) == "new"
    assert not Photo.objects.filter(report__reference=report["reference"]).exists()


def test_other_steps_ignore_files(personas, worker):
    report = submit()
    upload = SimpleUploadedFile("fix.jpg", PHOTO.read_bytes(), content_type="image/jpeg")

    worker.post(page(report) + "transition/", {"transition-to": "in_progress", "fix-photos": [upload]})

    assert status_of(report) == "in_progress"
    assert not Photo.objects.filter(report__reference=report["reference"]).exists()


# --- Sorting keeps the list in view ----------------------------------------------------------------

def test_sorting_or_filtering_leaves_the_filter_panel_closed_and_its_summary_counts_the_filters(personas, worker):
    submit()
    near = {"near": "52.1039,9.3576", "ordering": "distance"}

    sorted_by_distance = text(worker.get("/staff/", {"scope": "mine", "status": "open", **near}))
    filtered = text(worker.get("/staff/", {"q": "Loch", "overdue": "on", **near}))
    mistyped = text(worker.get("/staff/", {"status": "nonsense"}))

    assert re.search(r'<details class="filters"\s*> <summary>Filter and sort</summary>', sorted_by_distance)
    assert re.search(r'<details class="filters"\s*> <summary>Filter and sort \(2 active\)</summary>', filtered)
    assert re.search(r'<details class="filters"\s*open>', mistyped)


# --- The demo's overdue badges mean something ------------------------------------------------------

def test_only_a_minority_of_the_demos_open_reports_is_overdue(demo):
    call_command("load_demo", "--reports", "300", stdout=StringIO())
    open_reports = [r for r in Report.objects.all() if r.status in OPEN_STATUSES]

    overdue = [r for r in open_reports if r.is_overdue]
    assert len(open_reports) >= 40  # a Bauhof has work to do
    assert 0 < len(overdue) <= 0.35 * len(open_reports)

    worker = Browser()
    login = worker.post("/staff/login/", {"username": "bauhof-hameln-worker", "password": DEMO_PASSWORD})
    assert login.status_code == 302
    first_page = worker.get("/staff/").content.decode()
    cards = first_page.count('<li class="report-row')
    badges = first_page.count("overdue-badge")
    assert cards >= 10 and badges < cards / 2


# --- The tasks on a map ------------------------------------------------------------------------------

HAMELN_BBOX = "9.0,51.9,9.7,52.3"


def test_the_map_shows_only_the_users_tasks_in_clusters_and_then_as_pins(personas, worker):
    from tests.personas import HILDESHEIM_MARKET

    mine = [submit(), submit(at=(52.0960, 9.3700))]
    submit(at=HILDESHEIM_MARKET)  # another authority's: never on this worker's map
    clerk = logged_in(personas.hildesheim_clerk)

    page_html = text(worker.get("/staff/karte/"))
    assert '<div id="tasks-map"' in page_html and "Show as a list" in page_html
    clusters = worker.get("/staff/karte/daten/", {"zoom": "10", "bbox": HAMELN_BBOX}).json()
    assert clusters["properties"]["clustered"] is True
    assert sum(f["properties"]["count"] for f in clusters["features"]) == 2
    assert all(f["properties"]["cluster"] for f in clusters["features"])

    pins = worker.get("/staff/karte/daten/", {"zoom": "15", "bbox": "9.30,52.05,9.42,52.13"}).json()
    assert sorted(f["properties"]["reference"] for f in pins["features"]) == sorted(r["reference"] for r in mine)
    assert {f["properties"]["url"] for f in pins["features"]} == {page(r) for r in mine}
    assert clerk.get("/staff/karte/daten/", {"zoom": "10", "bbox": HAMELN_BBOX}).json()["features"] == []


def test_the_map_follows_the_lists_filters(personas, worker):
    late = submit()
    submit(category="graffiti")

    found = worker.get("/staff/karte/daten/", {"zoom": "15", "bbox": "9.30,52.05,9.42,52.13", "category": "schlagloch"})

    assert [f["properties"]["reference"] for f in found.json()["features"]] == [late["reference"]]


@pytest.mark.parametrize(("params", "field"), [
    ({"zoom": "99", "bbox": HAMELN_BBOX}, "zoom"),
    ({"zoom": "1e3", "bbox": HAMELN_BBOX}, "zoom"),
    ({"bbox": HAMELN_BBOX}, "zoom"),
    ({"zoom": "10", "bbox": "9,52,1e200,53"}, "bbox"),
    ({"zoom": "10"}, "bbox"),
    ({"zoom": "15", "bbox": "0,40,20,60"}, "bbox"),  # far larger than a phone shows at that zoom
])
def test_bad_map_parameters_are_a_400_naming_the_parameter(personas, worker, params, field):
    response = worker.get("/staff/karte/daten/", params)

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [error["field"] for error in errors] == [field]
    assert all(error["message"] and error["code"] for error in errors)
