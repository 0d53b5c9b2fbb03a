"""Staff moderate what the public sees of a report: one photo hidden (and shown again), the description redacted.

A hidden photo is gone from every public output that shows photos (citizen API, public page, map popup,
Open311 media_url and media_urls) and its files are a 404 for the public, while staff still get them. A redacted
description is what every public output reads (citizen API, nearby, public page, CSV and GeoJSON export,
Open311); staff see both texts and the reporter their own. Only leads (and authority admins) may do either; a
photo held back with a comment that awaits review cannot be shown this way.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from geo.models import Authority, PublishingPolicy
from reports import services
from reports.models import Photo, Report, Source
from reports.photos import inspected_photos
from reports.validation import TEXT_MAX_LENGTH
from tests.mobile_api.open311.conftest import get as open311_get
from tests.mobile_api.staff.conftest import Client, staff_client, submit, submit_rendered
from tests.notifications.delivery import committed
from tests.notifications.delivery import run_worker_committed as run_worker
from tests.personas import HAMELN_MARKET
from tests.reports.staff.test_staff_pages import Browser, logged_in
from tests.reports.test_photo_pipeline import PHOTOS

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("serve_media")]

FIRST, SECOND = PHOTOS / "02_jpeg_orient6_portrait_nogps.jpg", PHOTOS / "03_jpeg_orient8_portrait_nogps.jpg"
ORIGINAL = "Tiefes Loch vor Nummer 5. Ruft mich an: 0151 2345678, Zacharias Quellmalz"
REDACTED = "Tiefes Loch vor Nummer 5."
SECRET_WORDS = ("2345678", "Zacharias", "Quellmalz")



def _upload(path) -> SimpleUploadedFile:
    return SimpleUploadedFile(path.name, path.read_bytes(), content_type="image/jpeg")


@pytest.fixture
def report(personas) -> dict:
    """A citizen's report with two photos and a description that names the reporter."""
    return submit_rendered(photos=[_upload(FIRST), _upload(SECOND)], description=ORIGINAL)


def _path(url: str) -> str:
    return url.removeprefix("https://testserver")


def _photo_ids(report: dict) -> list[int]:
    return list(Photo.objects.filter(report__public_id=report["id"]).order_by("id").values_list("pk", flat=True))


def _fetch(url: str, client=None, **headers) -> int:
    response = (client or Client()).get(_path(url), **headers)
    if response.streaming:
        b"".join(response.streaming_content)
    return response.status_code


def _body(response) -> str:
    assert response.status_code == 200, response
    return b"".join(response.streaming_content if response.streaming else [response.content]).decode()


def _flat(html: bytes) -> str:
    return re.sub(r"\s+", " ", html.decode())


def public_photo_urls(report: dict) -> dict[str, list[str]]:
    """The photo URLs each public output shows of the report."""
    client = Client()
    detail = client.get(f"/api/v1/reports/{report['id']}/").json()
    page = client.get(f"/meldungen/{report['reference']}/").content.decode()
    popup = client.get(f"/meldungen/{report['id']}/vorschau/").json()
    [request] = open311_get(client, f"requests/{report['reference']}.json", extensions="true").json()
    listed = [r for r in open311_get(client, "requests.json", extensions="true").json()
              if r["service_request_id"] == report["reference"]]
    return {
        "api": [_path(p["url"]) for p in detail["photos"]] + [_path(p["thumbnail_url"]) for p in detail["photos"]],
        "page": sorted(set(re.findall(r"/media/photos/[^\"']+\.jpg", page))),
        "popup": [popup["thumbnail"]] if popup["thumbnail"] else [],
        "open311": [_path(request["media_url"])] + [_path(u) for u in request["extended_attributes"]["media_urls"]],
        "open311_list": [_path(u) for u in listed[0]["extended_attributes"]["media_urls"]],
    }


def _hide(client, report: dict, photo_id: int, action: str = "hide", **data):
    return committed(client.post, f"/api/staff/reports/{report['reference']}/photos/{photo_id}/{action}/", data,
                     format="json")


def test_a_hidden_photo_is_gone_from_every_public_output_and_its_files_are_a_404_for_the_public(personas, report):
    lead = staff_client(personas.hameln_lead)
    first, second = report["photos"]
    hidden_urls = {_path(first["url"]), _path(first["thumbnail_url"])}
    before = public_photo_urls(report)
    for name in ("api", "page", "open311", "open311_list"):
        assert _path(first["url"]) in before[name], name
    assert before["popup"] == [_path(first["thumbnail_url"])]

    response = _hide(lead, report, _photo_ids(report)[0], note="Gesicht eines Passanten")
    assert response.status_code == 200, response.content
    body = response.json()
    assert [p["is_public"] for p in body["photos"]] == [False, True]  # staff still see it, marked
    moderated = [e for e in body["events"] if e["kind"] == "moderated"]
    assert [(e["is_public"], e["data"]) for e in moderated] == [
        (False, {"photo": _photo_ids(report)[0], "from": "public", "to": "hidden"})]
    assert [e["message"] for e in body["events"] if e["kind"] == "internal_note"] == ["Gesicht eines Passanten"]

    after = public_photo_urls(report)
    for name, urls in after.items():
        assert not hidden_urls & set(urls), name
        assert urls, name  # the other photo is still shown
    assert after["popup"] == [_path(second["thumbnail_url"])]
    assert after["open311"][0] == _path(second["url"])
    events = Client().get(f"/api/v1/reports/{report['id']}/events/").json()["events"]
    assert "moderated" not in [e["kind"] for e in events]

    for url in hidden_urls:
        assert _fetch(url) == 404
        assert _fetch(url, HTTP_AUTHORIZATION=f"Bearer {report['secret']}") == 404
        assert _fetch(url, lead) == 200
    assert _fetch(second["url"]) == 200

    shown = _hide(lead, report, _photo_ids(report)[0], "show")
    assert shown.status_code == 200, shown.content
    assert [e["data"] for e in shown.json()["events"] if e["kind"] == "moderated"][-1] == {
        "photo": _photo_ids(report)[0], "from": "hidden", "to": "public"}
    assert public_photo_urls(report) == before
    assert all(_fetch(url) == 200 for url in hidden_urls)


def test_a_staff_app_hides_a_photo_by_what_the_staff_api_tells_it(personas, report):
    """No database look-ups here: the app reads the photo's id and its public URL from the API, as a phone would."""
    lead = staff_client(personas.hameln_lead)
    detail = lead.get(f"/api/staff/reports/{report['reference']}/").json()
    photo = detail["photos"][0]
    assert _fetch(photo["public_url"]) == 200
    assert _fetch(photo["url"]) == 404 and _fetch(photo["url"], lead) == 200  # as taken: staff only, always
    assert _hide(lead, report, photo["id"]).status_code == 200
    after = lead.get(f"/api/staff/reports/{report['reference']}/").json()
    assert [p["is_public"] for p in after["photos"] if p["id"] == photo["id"]] == [False]
    assert _fetch(photo["public_url"]) == 404


def test_fix_photos_are_hidden_the_same_way(personas, report):
    lead = staff_client(personas.hameln_lead)
    with open(FIRST, "rb") as photo:
        added = lead.post(f"/api/staff/reports/{report['reference']}/photos/", {"photos": [photo]}, format="multipart")
    assert added.status_code == 200, added.content
    run_worker()
    fix = Photo.objects.get(report__public_id=report["id"], kind="fix")
    assert _path(fix.public_image.url) in public_photo_urls(report)["api"]
    assert _hide(lead, report, fix.pk).status_code == 200
    assert _fetch(fix.public_image.url) == 404 and _fetch(fix.public_thumbnail.url) == 404
    assert _path(fix.public_image.url) not in public_photo_urls(report)["api"]


def test_a_worker_may_not_hide_a_photo_nor_staff_of_another_authority(personas, report):
    photo_id = _photo_ids(report)[0]
    refused = _hide(staff_client(personas.hameln_worker), report, photo_id)
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["field"] == "photo"
    assert refused.json()["errors"][0]["code"] == "not_permitted"
    assert _hide(staff_client(personas.hildesheim_clerk), report, photo_id).status_code == 404
    assert Photo.objects.get(pk=photo_id).is_public is True
    assert _fetch(report["photos"][0]["url"]) == 200


@pytest.mark.parametrize("photo", ["unknown", "other_report", "huge"])
def test_a_photo_that_is_not_the_reports_is_refused_with_a_message(personas, report, photo):
    other = submit(photos=[_upload(FIRST)])
    photo_id = {"unknown": 987654321, "other_report": _photo_ids(other)[0], "huge": 10**30}[photo]
    response = _hide(staff_client(personas.hameln_lead), report, photo_id)
    assert response.status_code == 400, response.content
    [error] = response.json()["errors"]
    assert (error["field"], error["code"]) == ("photo", "not_found") and error["message"]
    assert Photo.objects.filter(is_public=False).count() == 0


def test_hiding_a_hidden_photo_again_is_refused(personas, report):
    lead = staff_client(personas.hameln_lead)
    photo_id = _photo_ids(report)[0]
    assert _hide(lead, report, photo_id).status_code == 200
    again = _hide(lead, report, photo_id)
    assert again.status_code == 400
    assert again.json()["errors"][0]["field"] == "photo"
    assert _hide(lead, report, _photo_ids(report)[1], "show").status_code == 400  # public already


def test_a_photo_held_with_a_comment_for_review_cannot_be_shown_by_hand(personas, report):
    stored = Report.objects.get(public_id=report["id"])
    Authority.objects.filter(pk=stored.authority_id).update(publishing_policy=PublishingPolicy.AFTER_REVIEW)
    comment = services.report_comment(
        report=stored, message="Noch da", photos=inspected_photos([FIRST.read_bytes()]), source=Source.OPEN311,
        sender="test", client_ref="1",
    ).event
    run_worker()
    held = Photo.objects.get(pk=comment.data["photos"][0])
    assert held.public_image  # made, but not shown while the comment awaits review
    lead = staff_client(personas.hameln_lead)

    refused = _hide(lead, report, held.pk, "show")
    assert refused.status_code == 400, refused.content
    assert refused.json()["errors"][0]["code"] == "awaits_review"
    assert _fetch(held.public_image.url) == 404
    staff_page = _flat(logged_in(personas.hameln_lead).get(f"/staff/reports/{report['reference']}/").content)
    assert f"/photos/{held.pk}/show/" not in staff_page and f"/photos/{_photo_ids(report)[0]}/hide/" in staff_page

    services.report_publish_comment(report=stored, event=comment, actor=personas.hameln_lead)
    assert _fetch(held.public_image.url) == 200
    staff_page = _flat(logged_in(personas.hameln_lead).get(f"/staff/reports/{report['reference']}/").content)
    assert f"/photos/{held.pk}/hide/" in staff_page
    assert _hide(lead, report, held.pk).status_code == 200  # once published, it is a photo like any other
    assert _hide(lead, report, held.pk, "show").status_code == 200


def test_the_staff_page_offers_hide_and_show_again_to_leads_only(personas, report):
    photo_id = _photo_ids(report)[0]
    hide = f"/staff/reports/{report['reference']}/photos/{photo_id}/hide/"
    show = f"/staff/reports/{report['reference']}/photos/{photo_id}/show/"
    assert hide not in _flat(logged_in(personas.hameln_worker).get(f"/staff/reports/{report['reference']}/").content)
    assert logged_in(personas.hameln_worker).post(hide).status_code == 400

    browser = logged_in(personas.hameln_lead)
    page = _flat(browser.get(f"/staff/reports/{report['reference']}/").content)
    assert f'action="{hide}"' in page and 'aria-label="Hide Report photo 1"' in page
    response = browser.post(hide, follow=True)
    assert response.status_code == 200
    page = _flat(response.content)
    assert "The photo is hidden from the public." in page
    assert f'action="{show}"' in page and 'aria-label="Show Report photo 1 again"' in page
    assert _fetch(report["photos"][0]["url"]) == 404
    assert browser.post(show).status_code == 302
    assert _fetch(report["photos"][0]["url"]) == 200

    german = logged_in(personas.hameln_lead)
    german.defaults["HTTP_ACCEPT_LANGUAGE"] = "de"
    german_page = _flat(german.get(f"/staff/reports/{report['reference']}/").content)
    assert 'aria-label="Foto der Meldung 1 verbergen">Verbergen</button>' in german_page
    assert "Beschreibung für die Öffentlichkeit kürzen" in german_page


# --- The description ------------------------------------------------------------------------------

def _redact(client, report: dict, **data):
    return committed(client.post, f"/api/staff/reports/{report['reference']}/redact/", data, format="json")


def public_texts(report: dict) -> dict[str, str]:
    """Everything the public gets that may carry the description."""
    client = Client()
    lat, lon = HAMELN_MARKET
    nearby = client.get("/api/v1/reports/nearby/", {"category": "schlagloch", "lat": lat, "lon": lon}).json()
    return {
        "api": client.get(f"/api/v1/reports/{report['id']}/").content.decode(),
        "nearby": str([r["description"] for r in nearby["reports"] if r["id"] == report["id"]]),
        "page": client.get(f"/meldungen/{report['reference']}/").content.decode(),
        "popup": client.get(f"/meldungen/{report['id']}/vorschau/").content.decode(),
        "csv": _body(client.get("/api/v1/export.csv")),
        "geojson": _body(client.get("/api/v1/export.geojson")),
        "open311": open311_get(client, f"requests/{report['reference']}.json").content.decode(),
        "open311_list": open311_get(client, "requests.json", extensions="true").content.decode(),
    }


def test_a_redacted_description_is_what_every_public_output_reads(personas, report):
    assert all(ORIGINAL in text or name == "popup" for name, text in public_texts(report).items())
    lead = staff_client(personas.hameln_lead)

    response = _redact(lead, report, text=REDACTED, note="Telefonnummer und Name entfernt")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["description"], body["public_description"]) == (ORIGINAL, REDACTED)
    assert [(e["is_public"], e["data"]) for e in body["events"] if e["kind"] == "moderated"] == [
        (False, {"description": "redacted"})]

    texts = public_texts(report)
    for name, text in texts.items():
        for word in SECRET_WORDS:
            assert word not in text, (name, word)
        assert REDACTED in text or name == "popup", name
    exported = [row for row in csv.DictReader(io.StringIO(texts["csv"])) if row["reference"] == report["reference"]]
    assert [row["description"] for row in exported] == [REDACTED]

    own = Client().get(f"/api/v1/reports/{report['id']}/", HTTP_AUTHORIZATION=f"Bearer {report['secret']}").json()
    assert own["description"] == ORIGINAL  # the reporter reads what they wrote

    staff_page = _flat(logged_in(personas.hameln_lead).get(f"/staff/reports/{report['reference']}/").content)
    assert ORIGINAL in staff_page and "What the public reads" in staff_page and REDACTED in staff_page


def test_giving_the_original_text_again_ends_the_redaction(personas, report):
    lead = staff_client(personas.hameln_lead)
    assert _redact(lead, report, text=REDACTED).status_code == 200
    restored = _redact(lead, report, text=ORIGINAL)
    assert restored.status_code == 200, restored.content
    assert restored.json()["public_description"] == ORIGINAL
    assert [e["data"] for e in restored.json()["events"] if e["kind"] == "moderated"][-1] == {
        "description": "restored"}
    assert ORIGINAL in public_texts(report)["api"]


@pytest.mark.parametrize(("text", "field", "code"), [
    ("", "text", "blank"), ("   ", "text", "blank"), ("x" * (TEXT_MAX_LENGTH + 1), "text", "max_length"),
    ("Loch\x07", "text", "invalid"), (ORIGINAL, "text", "invalid"), (None, "text", "null"),
    (["a"], "text", "invalid"),
    ("Loch\x00", None, "null_characters"),  # refused for every JSON body before any view reads it
])
def test_a_redaction_that_cannot_be_used_is_refused_with_a_message(personas, report, text, field, code):
    response = _redact(staff_client(personas.hameln_lead), report, text=text)
    assert response.status_code == 400, response.content
    [error] = response.json()["errors"]
    assert (error["field"], error["code"]) == (field, code) and error["message"]
    assert Report.objects.get(public_id=report["id"]).public_description == ""


def test_only_leads_redact(personas, report):
    refused = _redact(staff_client(personas.hameln_worker), report, text=REDACTED)
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["code"] == "not_permitted"
    assert _redact(staff_client(personas.hildesheim_clerk), report, text=REDACTED).status_code == 404
    assert ORIGINAL in public_texts(report)["page"]


def test_the_staff_page_redacts_the_public_description(personas, report):
    url = f"/staff/reports/{report['reference']}/redact/"
    worker_page = _flat(logged_in(personas.hameln_worker).get(f"/staff/reports/{report['reference']}/").content)
    assert f'action="{url}"' not in worker_page

    browser = logged_in(personas.hameln_lead)
    assert f'action="{url}"' in _flat(browser.get(f"/staff/reports/{report['reference']}/").content)
    empty = browser.post(url, {"redact-text": " ", "redact-note": ""})
    assert empty.status_code == 400
    assert "This field is required." in _flat(empty.content)
    # Browsers send a textarea's line breaks as CRLF.
    response = browser.post(url, {"redact-text": "Tiefes Loch\r\nvor Nummer 5.", "redact-note": ""}, follow=True)
    assert response.status_code == 200
    assert "The public description was changed." in _flat(response.content)
    assert Report.objects.get(public_id=report["id"]).public_description == "Tiefes Loch\nvor Nummer 5."
    public = _flat(Browser().get(f"/meldungen/{report['reference']}/").content)
    assert "Tiefes Loch<br>vor Nummer 5." in public and "Quellmalz" not in public


def test_a_webhook_posts_the_redacted_text_with_later_events(personas, report):
    from notifications.models import Webhook
    from tests.notifications.delivery import Receiver, change_status

    receiver = Receiver()
    try:
        Webhook.objects.create(authority=Authority.objects.get(ags="03252006"), url=receiver.start(), secret="s3cr3t")
        assert _redact(staff_client(personas.hameln_lead), report, text=REDACTED).status_code == 200
        change_status(report["id"], "in_progress", actor=personas.hameln_worker)
        run_worker()
        [call] = [c.json for c in receiver.delivered() if c.json["kind"] == "status_changed"]
        assert call["report"]["description"] == REDACTED
        assert "moderated" not in [c.json["kind"] for c in receiver.delivered()]  # internal: not posted
    finally:
        receiver.stop()
