"""One domain error, every kind of front end: what the domain refuses reaches the JSON APIs, Open311 and the
HTML forms each in its own shape, with the same words; and each input limit is the same wherever text arrives."""

from __future__ import annotations

import html
import re
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from mobile_api.models import Open311Client
from reports.models import EventKind, Report
from tests.personas import HAMELN_MARKET, PASSWORD

pytestmark = pytest.mark.django_db

NORTH_SEA = (54.5, 7.5)  # lat, lon: west of Heligoland, outside every authority of the demo
TOO_LONG = "Ensure this value has at most 4000 characters (it has 4001)."


class Browser(Client):
    """A browser (or app) speaking HTTPS, as production settings require, in English."""

    def __init__(self, **kwargs) -> None:
        super().__init__(HTTP_ACCEPT_LANGUAGE="en", **kwargs)

    def generic(self, method, path, data="", content_type="application/octet-stream", secure=True, **extra):
        return super().generic(method, path, data, content_type, secure=True, **extra)


class App(APIClient):
    def generic(self, method, path, data="", content_type="application/octet-stream", secure=True, **extra):
        return super().generic(method, path, data, content_type, secure=True, **extra)


def page_text(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode())))


def field_error(response, field_id: str) -> str:
    """The error shown next to a form field (public and staff templates mark it ``id="<field id>_error"``)."""
    match = re.search(rf'id="{field_id}_error">(.*?)</div>', response.content.decode(), re.S)
    assert match, f"no error next to {field_id}"
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1))).strip())


def staff_browser(user) -> Browser:
    browser = Browser()
    assert browser.post("/staff/login/", {"username": user.username, "password": PASSWORD}).status_code == 302
    return browser


def staff_app(user) -> App:
    app = App()
    response = app.post("/api/staff/auth/token/", {"username": user.username, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    app.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}", HTTP_ACCEPT_LANGUAGE="en")
    return app


@pytest.fixture
def api_key(demo) -> str:
    client = Open311Client(name="FixMyStreet")
    key = client.new_key()
    client.save()
    return key


def citizen_api(*, at=HAMELN_MARKET, files=(), **fields):
    data = {"category": "schlagloch", "lat": str(at[0]), "lon": str(at[1]), **fields}
    if files:
        data["photos"] = list(files)
    return App().post("/api/v1/reports/", data, format="multipart", HTTP_ACCEPT_LANGUAGE="en")


def open311(api_key: str, *, at=HAMELN_MARKET, files=(), **fields):
    data = {"api_key": api_key, "service_code": "schlagloch", "lat": str(at[0]), "long": str(at[1]), **fields}
    if files:
        data["media"] = list(files)
    return Browser().post("/open311/v2/requests.json", data)


def web_form(*, at=HAMELN_MARKET, files=(), **fields):
    data = {"category": "schlagloch", "lat": str(at[0]), "lon": str(at[1]), "description": "", "email": "",
            "submission": str(uuid.uuid4()), **fields}
    if files:
        data["photos"] = list(files)
    return Browser().post("/melden/", data)


def open311_descriptions(response, status: int) -> list[str]:
    assert response.status_code == status, response.content
    body = response.json()
    assert {error["code"] for error in body} == {status}
    return [error["description"] for error in body]


def junk(count: int) -> list[SimpleUploadedFile]:
    return [SimpleUploadedFile(f"photo{n}.jpg", b"not a photo", content_type="image/jpeg") for n in range(count)]


# --- A workflow conflict: the staff API and the staff web app --------------------------------

def test_a_transition_the_role_may_not_make_is_a_409_with_the_same_words_in_the_staff_api_and_pages(
    hameln_report, personas
):
    api = staff_app(personas.hameln_worker).post(
        f"/api/staff/reports/{hameln_report['id']}/transition/", {"to": "rejected", "message": "Privat"}, format="json"
    )
    assert api.status_code == 409, api.content
    body = api.json()
    [error] = body["errors"]
    assert (error["field"], error["code"]) == ("to", "not_permitted")
    assert error["message"].startswith("Your role may not set this status.")
    assert body["allowed_transitions"] == ["acknowledged", "in_progress", "fixed", "duplicate"]

    page = staff_browser(personas.hameln_worker).post(
        f"/staff/reports/{hameln_report['reference']}/transition/",
        {"transition-to": "rejected", "transition-message": "Privat"},
    )
    assert page.status_code == 409
    assert error["message"] in page_text(page)
    assert Report.objects.get(reference=hameln_report["reference"]).status == "new"


def test_a_transition_missing_what_it_needs_is_a_400_next_to_that_field_in_both(hameln_report, personas):
    api = staff_app(personas.hameln_lead).post(
        f"/api/staff/reports/{hameln_report['id']}/transition/", {"to": "rejected"}, format="json"
    )
    assert api.status_code == 400, api.content
    [error] = api.json()["errors"]
    assert (error["field"], error["code"]) == ("message", "required")
    assert "allowed_transitions" in api.json()

    page = staff_browser(personas.hameln_lead).post(
        f"/staff/reports/{hameln_report['reference']}/transition/", {"transition-to": "rejected"}
    )
    assert page.status_code == 400
    assert field_error(page, "id_transition-message") == error["message"]


# --- Outside the service area: citizen API, Open311, web form and the staff API --------------

def test_a_place_outside_the_service_area_is_refused_with_one_message_by_every_front_end(api_key, personas,
                                                                                          hameln_report):
    api = citizen_api(at=NORTH_SEA)
    assert api.status_code == 400, api.content
    [error] = api.json()["errors"]
    assert (error["field"], error["code"]) == ("location", "outside_service_area")
    message = error["message"]
    assert message.startswith("This place is outside the service area; the nearest authority is ")

    assert open311_descriptions(open311(api_key, at=NORTH_SEA), 400) == [message]

    form = web_form(at=NORTH_SEA)
    assert form.status_code == 400
    assert field_error(form, "id_address") == message

    staff = staff_app(personas.hameln_lead).patch(
        f"/api/staff/reports/{hameln_report['id']}/", {"lat": NORTH_SEA[0], "lon": NORTH_SEA[1]}, format="json"
    )
    assert staff.status_code == 400, staff.content
    assert staff.json()["errors"] == [{"field": "location", "code": "outside_service_area", "message": message}]
    assert Report.objects.count() == 1  # only hameln_report


def test_the_domain_message_is_in_the_language_of_the_request(demo):
    response = App().post("/api/v1/reports/", {"category": "schlagloch", "lat": "54.5", "lon": "7.5"},
                          format="multipart", HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 400
    assert "außerhalb des Zuständigkeitsgebiets" in response.json()["errors"][0]["message"]


def test_a_report_without_any_place_is_refused_by_each_front_end_in_its_words(api_key):
    api = App().post("/api/v1/reports/", {"category": "schlagloch"}, format="multipart", HTTP_ACCEPT_LANGUAGE="en")
    assert api.status_code == 400
    [error] = api.json()["errors"]
    assert (error["field"], error["code"]) == ("location", "required")
    assert open311_descriptions(
        Browser().post("/open311/v2/requests.json", {"api_key": api_key, "service_code": "schlagloch"}), 400
    ) == [error["message"]]
    form = web_form(lat="", lon="")
    assert form.status_code == 400
    assert field_error(form, "id_address").startswith("Choose the place")


# --- The text limit: the same everywhere text arrives ----------------------------------------

def test_4000_characters_are_accepted_and_4001_refused_with_the_same_message_everywhere(
    api_key, personas, hameln_report
):
    fits, too_long = "x" * 4000, "x" * 4001
    staff_api = staff_app(personas.hameln_worker)
    staff_pages = staff_browser(personas.hameln_worker)
    note_url = f"/api/staff/reports/{hameln_report['id']}/notes/"
    note_page = f"/staff/reports/{hameln_report['reference']}/note/"

    assert citizen_api(description=fits).status_code == 201
    assert web_form(description=fits).status_code == 302
    assert open311(api_key, description=fits).status_code == 201
    assert staff_api.post(note_url, {"note": fits}, format="json").status_code == 200
    assert staff_pages.post(note_page, {"note-note": fits}).status_code == 302
    assert Report.objects.count() == 4
    notes = Report.objects.get(reference=hameln_report["reference"]).events.filter(kind=EventKind.INTERNAL_NOTE)
    assert [len(note.message) for note in notes] == [4000, 4000]

    api = citizen_api(description=too_long)
    assert api.status_code == 400
    assert api.json()["errors"] == [{"field": "description", "code": "max_length", "message": TOO_LONG}]
    form = web_form(description=too_long)
    assert form.status_code == 400
    assert field_error(form, "id_description") == TOO_LONG
    assert open311_descriptions(open311(api_key, description=too_long), 400) == [f"description: {TOO_LONG}"]
    staff = staff_api.post(note_url, {"note": too_long}, format="json")
    assert staff.status_code == 400
    assert staff.json()["errors"] == [{"field": "note", "code": "max_length", "message": TOO_LONG}]
    page = staff_pages.post(note_page, {"note-note": too_long})
    assert page.status_code == 400
    assert field_error(page, "id_note-note") == TOO_LONG
    assert Report.objects.count() == 4
    assert notes.count() == 2


def test_control_characters_are_removed_from_what_citizens_write_in_every_front_end(api_key):
    text = "Loch\x00\x07 vor\tdem\nHaus\x1b\x7f"
    expected = "Loch vor\tdem\nHaus"
    api = citizen_api(description=text.replace("\x00", ""))  # NUL itself is refused before (test_nul_characters)
    assert api.status_code == 201, api.content
    assert api.json()["description"] == expected
    assert web_form(description=text.replace("\x00", "")).status_code == 302
    created = open311(api_key, description=text.replace("\x00", ""))
    assert created.status_code == 201, created.content
    assert list(Report.objects.order_by("pk").values_list("description", flat=True)) == [expected] * 3


# --- The photo limit ---------------------------------------------------------------------------

def test_five_photos_are_looked_at_and_a_sixth_is_refused_by_every_front_end(api_key, personas, hameln_report):
    # Five junk files pass the count and are refused by the photo pipeline (the first one: not an image);
    # six never reach it.
    five, six = junk(5), junk(6)
    first = citizen_api(files=five).json()["errors"]
    assert [(e["field"], e["code"]) for e in first] == [("photos.0", "not_an_image")]
    assert [e["field"] for e in citizen_api(files=six).json()["errors"]] == ["photos"]

    assert open311_descriptions(open311(api_key, files=junk(5)), 400) == [
        "media: not_an_image: The file is not an image."
    ]
    assert open311_descriptions(open311(api_key, files=junk(6)), 400) == ["At most 5 media files."]

    assert field_error(web_form(files=junk(5)), "id_photos") == "The file is not an image."
    assert field_error(web_form(files=junk(6)), "id_photos") == "At most 5 photos."

    staff_api = staff_app(personas.hameln_worker)
    url = f"/api/staff/reports/{hameln_report['id']}/photos/"
    assert staff_api.post(url, {"photos": junk(5)}, format="multipart").json()["errors"] == [
        {"field": "photos.0", "code": "not_an_image", "message": "The file is not an image."}
    ]
    assert [e["field"] for e in staff_api.post(url, {"photos": junk(6)}, format="multipart").json()["errors"]] == [
        "photos"
    ]
    staff_pages = staff_browser(personas.hameln_worker)
    page_url = f"/staff/reports/{hameln_report['reference']}/photos/"
    assert field_error(staff_pages.post(page_url, {"fix-photos": junk(5)}), "id_fix-photos") == (
        "The file is not an image."
    )
    assert field_error(staff_pages.post(page_url, {"fix-photos": junk(6)}), "id_fix-photos") == (
        "At most 5 photos at once."
    )
    assert Report.objects.count() == 1


def test_the_forms_announce_the_photo_limit_they_enforce(personas, hameln_report):
    assert "Up to 5 photos (JPEG, PNG, WebP or HEIC" in page_text(Browser().get("/melden/"))
    # The fix photo is taken in the step to "fixed".
    staff_page = staff_browser(personas.hameln_worker).get(f"/staff/reports/{hameln_report['reference']}/?to=fixed")
    assert "choose one or more images (at most 5)." in page_text(staff_page)
