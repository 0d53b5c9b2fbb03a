"""servicerequestupdates both ways, in the shapes FixMyStreet's Open311 client uses (perllib/Open311.pm):

- GET servicerequestupdates.xml?start_date=…&end_date=…&api_key=…&jurisdiction_id=… (bin/fetch-comments):
  a <service_requests_updates> document of <request_update> elements with update_id, service_request_id,
  status (extended, upper case), description, updated_datetime, media_url and external_status_code.
- POST servicerequestupdates.xml, form-encoded or multipart with photo1…photoN (bin/send-comments): the
  answer's <request_update><update_id> is the id FixMyStreet stores for the comment.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from geo.models import Authority, Category, PublishingPolicy
from reports import services
from reports.models import EventKind, Moderation, Photo, PhotoKind, Report, ReportEvent
from reports.photos import inspected_photos
from reports.workflow import Status
from tests.conftest import REPO
from tests.mobile_api.open311.conftest import errors_of, get, post, validate, xml
from tests.mobile_api.staff.conftest import staff_client
from tests.notifications.delivery import run_worker

pytestmark = pytest.mark.django_db

PHOTO = REPO / "data" / "photos" / "05_jpeg_iphone6_o1_gps-madrid.jpg"
FIELDS = ("update_id", "service_request_id", "status", "description", "updated_datetime", "media_url",
          "external_status_code")


def w3c(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def window(hours: int = 2) -> dict:
    """The window FixMyStreet asks for by default: the last two hours, in UTC (DateTime::Format::W3CDTF)."""
    now = timezone.now()
    return {"start_date": w3c(now - timedelta(hours=hours)), "end_date": w3c(now + timedelta(minutes=1))}


def updates_xml(client, **params) -> list[dict[str, str]]:
    response = get(client, "servicerequestupdates.xml", **params)
    assert response.status_code == 200, response.content
    root = xml(response)
    assert root.tag == "service_requests_updates"
    assert all(child.tag == "request_update" for child in root)
    return [{field.tag: field.text or "" for field in update} for update in root]


def updates_json(client, **params) -> list[dict]:
    response = get(client, "servicerequestupdates.json", **params)
    assert response.status_code == 200, response.content
    body = response.json()
    validate("servicerequestupdates", body)
    return body


def fms_comment(api_key: str, reference: str, **extra) -> dict:
    """The parameters Open311::_populate_service_request_update_params sends for a citizen's comment."""
    return {
        "api_key": api_key, "jurisdiction_id": "hameln", "service_request_id": reference, "update_id": "4711",
        "updated_datetime": w3c(timezone.now()), "status": "OPEN", "description": "Das Loch ist noch da.",
        "first_name": "Erika", "last_name": "Mustermann", "email": "erika@example.org", "title": "Frau",
        "phone": "+49 5151 0000", **extra,
    }


@pytest.fixture
def worked_report(make_report, personas):
    """A Hameln report staff worked on: public steps, an internal note, a fix photo, fixed."""
    report = make_report(description="Schlagloch am Markt", reporter_name="Anna Beispiel",
                         reporter_email="anna@example.org")
    lead = personas.hameln_lead
    services.report_transition(report=report, to=Status.IN_PROGRESS, actor=lead, message="Wir kümmern uns.")
    services.report_note(report=report, actor=lead, note="Intern: Bauhof Kolonne 3")
    services.report_answer(report=report, actor=lead, message="Material ist bestellt.")
    with open(PHOTO, "rb") as photo:
        services.report_add_photos(report=report, actor=lead, photos=inspected_photos([photo]))
    services.report_transition(report=report, to=Status.FIXED, actor=lead)
    run_worker()  # the fix photo's public rendition
    return Report.objects.get(pk=report.pk)


# --- GET --------------------------------------------------------------------------------------------

def test_fixmystreet_reads_public_steps_as_request_updates_with_extended_statuses(client, worked_report, api_key):
    found = updates_xml(client, api_key="", jurisdiction_id="hameln", **window())
    mine = [u for u in found if u["service_request_id"] == worked_report.reference]
    assert [(u["status"], u["external_status_code"]) for u in mine] == [
        ("IN_PROGRESS", "in_progress"), ("IN_PROGRESS", "in_progress"), ("IN_PROGRESS", "in_progress"),
        ("FIXED", "fixed"),
    ]
    assert [u["description"] for u in mine] == [
        "Wir kümmern uns.", "Material ist bestellt.", "Photo of the fix added.", "Status changed to “Fixed”.",
    ]
    assert all(set(u) == set(FIELDS) for u in mine)
    ids = [int(u["update_id"]) for u in found]
    assert ids == sorted(ids)
    fix = Photo.objects.get(report=worked_report, kind=PhotoKind.FIX)
    assert mine[2]["media_url"] == f"https://testserver{fix.public_image.url}"
    assert [u["media_url"] for u in mine if u is not mine[2]] == ["", "", ""]
    text = str(found)
    for private in ("Intern", "Kolonne", "Anna", "anna@example.org"):
        assert private not in text


def test_the_json_form_has_the_same_updates_and_its_schema(client, worked_report):
    as_json = updates_json(client, **window())
    as_xml = updates_xml(client, **window())
    assert [u["update_id"] for u in as_json] == [u["update_id"] for u in as_xml]
    assert [u["status"] for u in as_json] == [u["status"] for u in as_xml]
    fixed = as_json[-1]
    assert fixed["service_request_id"] == worked_report.reference and fixed["media_url"] is None


def test_descriptions_follow_the_readers_language(client, worked_report):
    response = client.get("/open311/v2/servicerequestupdates.json", window(), secure=True,
                          HTTP_ACCEPT_LANGUAGE="de")
    assert response.json()[-1]["description"] == "Status geändert zu „Erledigt“."


def test_reports_the_public_does_not_see_never_appear(client, make_report, personas):
    lead = personas.hameln_lead
    hidden = make_report(description="versteckt")
    services.report_answer(report=hidden, actor=lead, message="Antwort A")
    services.report_moderate(report=hidden, actor=lead, moderation=Moderation.HIDDEN)
    private = make_report(description="privat")
    services.report_answer(report=private, actor=lead, message="Antwort B")
    Category.objects.filter(pk=private.category_id).update(is_public=False)
    assert Report.objects.published().filter(pk__in=[hidden.pk, private.pk]).count() == 0
    assert updates_json(client, **window()) == []


def test_old_events_fall_outside_the_window_and_a_window_can_be_asked_for(client, make_report):
    report = make_report()
    long_ago = timezone.now() - timedelta(days=30)
    ReportEvent.objects.create(report=report, kind=EventKind.PUBLIC_ANSWER, message="Vor einem Monat",
                               created_at=long_ago)
    assert updates_json(client, **window()) == []
    asked = {"start_date": w3c(long_ago - timedelta(hours=1)), "end_date": w3c(long_ago + timedelta(hours=1))}
    [update] = updates_json(client, **asked)
    assert update["description"] == "Vor einem Monat" and update["status"] == "OPEN"
    assert update["external_status_code"] == "new"


@pytest.mark.parametrize(("params", "expected"), [
    ({"start_date": "2026-03-02T00:00:00Z", "end_date": "2026-03-01T00:00:00Z"},
     "end_date must not be before start_date."),
    ({"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"},
     "start_date and end_date may be at most 90 days apart."),
    ({"start_date": "gestern"}, "start_date must be a W3C date-time such as 2026-01-01T00:00:00Z."),
    ({"end_date": "9999-99-99"}, "end_date must be a W3C date-time such as 2026-01-01T00:00:00Z."),
    ({"page_size": "1001"}, "page_size must be a whole number (1–1000)."),
    ({"page": "0"}, "page must be a whole number (1–1000000)."),
    ({"jurisdiction_id": "atlantis"}, "jurisdiction_id atlantis was not found."),
    ({"service_request_id": ",".join(["HM-2026-000001"] * 1001)}, "service_request_id lists at most 1000 values."),
])
@pytest.mark.parametrize("suffix", ["xml", "json"])
def test_bad_parameters_are_refused_in_the_open311_error_format(client, demo, params, expected, suffix):
    assert errors_of(get(client, f"servicerequestupdates.{suffix}", **params), 400 if "jurisdiction" not in
                     str(params) else 404) == [expected]


def test_pages_are_capped_and_follow_update_ids(client, make_report, personas):
    report = make_report()
    for number in range(5):
        services.report_answer(report=report, actor=personas.hameln_worker, message=f"Antwort {number}")
    everything = updates_json(client, **window())
    assert len(everything) == 5
    first = updates_json(client, page_size="2", **window())
    second = updates_json(client, page_size="2", page="2", **window())
    assert [u["update_id"] for u in first + second] == [u["update_id"] for u in everything[:4]]


def test_updates_of_one_request_and_a_fixed_number_of_queries(client, worked_report, make_report, personas,
                                                             django_assert_max_num_queries):
    other = make_report()
    services.report_answer(report=other, actor=personas.hameln_worker, message="Anderes")
    with django_assert_max_num_queries(6):
        mine = updates_json(client, service_request_id=worked_report.reference, **window())
    assert {u["service_request_id"] for u in mine} == {worked_report.reference} and len(mine) == 4


def test_merged_duplicates_and_forwards_read_as_updates(client, make_report, personas):
    lead = personas.hameln_lead
    original, duplicate = make_report(), make_report()
    services.report_mark_duplicate(report=duplicate, original=original, actor=lead)
    found = {u["service_request_id"]: u for u in updates_json(client, **window())}
    assert found[duplicate.reference]["status"] == "DUPLICATE"
    assert found[duplicate.reference]["description"] == f"Marked as a duplicate of {original.reference}."
    assert found[original.reference]["description"] == (
        f"Report {duplicate.reference} was merged into this one as a duplicate."
    )


# --- POST -------------------------------------------------------------------------------------------

def test_a_comment_as_fixmystreet_sends_it_becomes_a_public_comment(client, make_report, api_key):
    report = make_report()
    response = post(client, "servicerequestupdates.xml", fms_comment(api_key, report.reference))
    assert response.status_code == 201, response.content
    root = xml(response)
    assert root.tag == "service_request_updates"
    update_id = root.findtext("request_update/update_id")
    comment = ReportEvent.objects.get(pk=int(update_id))
    assert (comment.report_id, comment.kind, comment.is_public) == (report.pk, EventKind.COMMENT, True)
    assert comment.message == "Das Loch ist noch da."
    assert comment.data["author_name"] == "Frau Erika Mustermann"
    assert comment.data["author_email"] == "erika@example.org"
    # Another client (or the public) reads it as an update; the author stays private.
    [update] = updates_json(client, **window())
    assert update["update_id"] == update_id and update["description"] == "Das Loch ist noch da."
    assert "Erika" not in str(update) and "erika" not in str(update)
    public = client.get(f"/api/v1/reports/{report.public_id}/events/", secure=True).content.decode()
    assert "Das Loch ist noch da." in public and "Erika" not in public and "erika@" not in public


def test_the_sender_does_not_get_its_own_comments_back(client, make_report, api_key):
    report = make_report()
    assert post(client, "servicerequestupdates.json", fms_comment(api_key, report.reference)).status_code == 201
    assert updates_json(client, api_key=api_key, **window()) == []
    assert len(updates_json(client, api_key="", **window())) == 1


def test_the_same_update_id_again_gets_the_same_answer_and_nothing_twice(client, make_report, api_key):
    report = make_report()
    first = post(client, "servicerequestupdates.json", fms_comment(api_key, report.reference))
    again = post(client, "servicerequestupdates.json", fms_comment(api_key, report.reference))
    assert first.status_code == again.status_code == 201
    validate("servicerequestupdates_post_response", first.json())
    assert first.json() == again.json()
    assert report.events.filter(kind=EventKind.COMMENT).count() == 1
    other = post(client, "servicerequestupdates.json", fms_comment(api_key, report.reference, update_id="4712"))
    assert other.json()[0]["update_id"] != first.json()[0]["update_id"]


def test_open_on_a_fixed_report_reopens_it_as_the_reporter_may(client, worked_report, api_key):
    response = post(client, "servicerequestupdates.xml", fms_comment(api_key, worked_report.reference,
                                                                     status="open"))
    assert response.status_code == 201, response.content
    worked_report.refresh_from_db()
    assert worked_report.status == Status.REOPENED
    last = updates_json(client, **window())[-2:]
    assert [(u["status"], u["external_status_code"]) for u in last] == [("FIXED", "fixed"), ("OPEN", "reopened")]


def test_a_reopen_the_workflow_refuses_keeps_the_comment_and_tells_staff(client, make_report, personas, api_key):
    report = make_report()
    services.report_transition(report=report, to=Status.REJECTED, actor=personas.hameln_lead, message="Privatgrund")
    response = post(client, "servicerequestupdates.json", fms_comment(api_key, report.reference, status="REOPEN"))
    assert response.status_code == 201, response.content
    report.refresh_from_db()
    assert report.status == Status.REJECTED
    assert report.events.filter(kind=EventKind.COMMENT, is_public=True).count() == 1
    note = report.events.get(kind=EventKind.INTERNAL_NOTE)
    assert note.is_public is False and "refused" in note.message


def test_open_written_before_the_fix_does_not_reopen(client, worked_report, api_key):
    """FixMyStreet sends OPEN with any comment on a report it still believes open: a comment written before
    the fix it had not fetched yet is no request to reopen."""
    earlier = w3c(worked_report.closed_at - timedelta(minutes=5))
    response = post(client, "servicerequestupdates.json",
                    fms_comment(api_key, worked_report.reference, status="OPEN", updated_datetime=earlier))
    assert response.status_code == 201, response.content
    worked_report.refresh_from_db()
    assert worked_report.status == Status.FIXED
    note = worked_report.events.filter(kind=EventKind.INTERNAL_NOTE).last()
    assert note.data == {"reopen_refused": "written_before_closing"}
    assert worked_report.events.filter(kind=EventKind.COMMENT, is_public=True).count() == 1


def test_closed_on_an_open_report_changes_nothing(client, make_report, api_key):
    report = make_report()
    post(client, "servicerequestupdates.json", fms_comment(api_key, report.reference, status="CLOSED"))
    report.refresh_from_db()
    assert report.status == Status.NEW


def test_where_the_authority_reviews_first_a_comment_waits_for_staff(client, make_report, personas, api_key):
    report = make_report()
    Authority.objects.filter(pk=report.authority_id).update(publishing_policy=PublishingPolicy.AFTER_REVIEW)
    with open(PHOTO, "rb") as photo:
        response = post(client, "servicerequestupdates.json", fms_comment(api_key, report.reference, photo1=photo))
    assert response.status_code == 201, response.content
    run_worker()
    body = response.json()
    validate("servicerequestupdates_post_response", body)
    assert body[0]["service_notice"] == "The comment will be published after review."
    held = ReportEvent.objects.get(pk=int(body[0]["update_id"]))
    assert held.is_public is False and held.data["pending_review"] is True
    assert Photo.objects.get(report=report).is_public is False
    assert updates_json(client, **window()) == []
    public = client.get(f"/api/v1/reports/{report.public_id}/events/", secure=True).content.decode()
    assert "Das Loch" not in public

    published = staff_client(personas.hameln_worker).post(
        f"/api/staff/reports/{report.reference}/comments/{held.pk}/publish/")
    assert published.status_code == 200, published.content
    [update] = updates_json(client, **window())
    assert update["description"] == "Das Loch ist noch da." and int(update["update_id"]) != held.pk
    assert update["media_url"].startswith("https://testserver/")
    assert ReportEvent.objects.get(pk=int(update["update_id"])).data["published_from"] == held.pk


def test_photo_uploads_and_media_urls_are_kept_with_the_comment(client, make_report, api_key):
    report = make_report()
    with open(PHOTO, "rb") as one, open(PHOTO, "rb") as two:
        response = post(client, "servicerequestupdates.json", fms_comment(
            api_key, report.reference, description="", photo1=one, photo2=two,
            media_url=["https://fixmystreet.example/c/1.0.full.jpeg", "https://fixmystreet.example/c/1.1.full.jpeg"],
        ))
    assert response.status_code == 201, response.content
    run_worker()
    comment = ReportEvent.objects.get(pk=int(response.json()[0]["update_id"]))
    assert comment.data["media_url"] == [
        "https://fixmystreet.example/c/1.0.full.jpeg", "https://fixmystreet.example/c/1.1.full.jpeg",
    ]
    stored = list(Photo.objects.filter(report=report, kind=PhotoKind.REPORT).order_by("pk"))
    assert comment.data["photos"] == [p.pk for p in stored] and len(stored) == 2
    [update] = updates_json(client, **window())
    assert update["media_url"] == f"https://testserver{stored[0].public_image.url}"
    assert "media_url" not in str(update["description"])


def test_a_comment_needs_a_valid_api_key(client, make_report):
    report = make_report()
    for key in ("", "wrong"):
        assert errors_of(post(client, "servicerequestupdates.xml", fms_comment(key, report.reference)), 403) == [
            "api_key is missing or not valid."]
    assert not report.events.filter(kind=EventKind.COMMENT).exists()


def test_an_unknown_or_invisible_request_is_404(client, make_report, personas, api_key):
    hidden = make_report()
    services.report_moderate(report=hidden, actor=personas.hameln_lead, moderation=Moderation.HIDDEN)
    for reference in ("HM-1999-000001", hidden.reference):
        assert errors_of(post(client, "servicerequestupdates.json", fms_comment(api_key, reference)), 404) == [
            f"service_request_id {reference} was not found."]
    assert not ReportEvent.objects.filter(kind=EventKind.COMMENT).exists()


@pytest.mark.parametrize(("extra", "expected"), [
    ({"description": "x" * 4001}, "description: Ensure this value has at most 4000 characters (it has 4001)."),
    ({"description": "\x01\x02\x1b"}, "description is required unless a photo or media_url is sent."),
    ({"description": "Loch\x00"}, "description: Text must not contain NUL characters."),
    ({"description": ""}, "description is required unless a photo or media_url is sent."),
    ({"updated_datetime": "morgen"}, "updated_datetime must be a W3C date-time such as 2026-01-01T00:00:00Z."),
    ({"status": "VERSCHOBEN"}, "status: status must be one of: ACTION_SCHEDULED, CANCELLED, CLOSED, DUPLICATE, "
                               "FIXED, FOR_TRIAGE, INTERNAL_REFERRAL, INVESTIGATING, IN_PROGRESS, "
                               "NOT_COUNCILS_RESPONSIBILITY, NO_FURTHER_ACTION, OPEN, REOPEN."),
    ({"email": "keine-adresse"}, "email: Enter a valid email address."),
    ({"media_url": "ftp://example.org/a.jpg"}, "media_url must be an http or https address."),
    ({"media_url": "keine url"}, "media_url: Enter a valid URL."),
    ({"service_request_id": ""}, "service_request_id: This field may not be blank."),
    ({"jurisdiction_id": "atlantis"}, "jurisdiction_id atlantis was not found."),
])
def test_bad_input_is_a_clear_4xx_and_stores_nothing(client, make_report, api_key, extra, expected):
    report = make_report()
    response = post(client, "servicerequestupdates.json", fms_comment(api_key, report.reference, **extra))
    assert errors_of(response, 404 if "jurisdiction_id" in extra else 400) == [expected]
    assert not ReportEvent.objects.filter(kind=EventKind.COMMENT).exists()


def test_control_characters_are_removed_from_the_stored_comment(client, make_report, api_key):
    report = make_report()
    response = post(client, "servicerequestupdates.json",
                    fms_comment(api_key, report.reference, description="Loch\x1b noch\x07 da"))
    assert response.status_code == 201, response.content
    assert report.events.get(kind=EventKind.COMMENT).message == "Loch noch da"


def test_files_under_other_names_and_broken_photos_are_refused(client, make_report, api_key):
    report = make_report()
    with open(PHOTO, "rb") as photo:
        response = post(client, "servicerequestupdates.json", fms_comment(api_key, report.reference, picture=photo))
    assert errors_of(response, 400) == ["picture: unknown file field; send photos as media or photo1, photo2, …"]
    broken = SimpleUploadedFile("1.0.full.jpeg", b"\xff\xd8\xff\xe0 no jpeg", content_type="image/jpeg")
    [description] = errors_of(post(client, "servicerequestupdates.xml",
                                   fms_comment(api_key, report.reference, photo1=broken)), 400)
    assert description.startswith("media: ")
    assert not ReportEvent.objects.filter(kind=EventKind.COMMENT).exists() and not Photo.objects.exists()


def test_other_methods_are_405_in_the_open311_format(client, demo):
    response = client.put("/open311/v2/servicerequestupdates.xml", secure=True)
    assert errors_of(response, 405)


def test_the_public_report_page_shows_published_comments_without_their_authors(client, make_report, api_key):
    report = make_report()
    response = post(client, "servicerequestupdates.json", fms_comment(api_key, report.reference))
    assert response.status_code == 201, response.content
    page = client.get(f"/meldungen/{report.reference}/", secure=True, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    history = page[page.index('id="history-heading"'):]
    assert "Kommentar" in history and "Das Loch ist noch da." in history
    assert "Erika" not in page and "erika@" not in page


def test_a_body_the_parsers_refuse_is_answered_in_the_format_the_url_asked_for(client, demo, api_key):
    for resource in ("servicerequestupdates", "requests"):
        response = client.post(f"/open311/v2/{resource}.json", '{"api_key": "x"}', content_type="application/json",
                               secure=True, HTTP_ACCEPT_LANGUAGE="en")
        assert errors_of(response, 415)
        assert response["Content-Type"].startswith("application/json")
