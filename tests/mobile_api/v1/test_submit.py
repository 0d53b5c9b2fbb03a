"""POST /api/v1/reports/ and reading a report back: the contract the app team builds against."""

import uuid

import pytest

from reports.models import Report
from tests.mobile_api.v1.conftest import HAMELN_MARKET

pytestmark = pytest.mark.django_db


def submit(client, data=None, key=None, **headers):
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = str(key)
    payload = {
        "category": "schlagloch",
        **HAMELN_MARKET,
        "description": "Tiefes Loch vor der Apotheke.",
        **(data or {}),
    }
    return client.post("/api/v1/reports/", payload, secure=True, **headers)


def test_a_report_without_photos_is_created_and_routed(client, demo):
    response = submit(client, {"email": "anna@example.org", "name": "Anna Beispiel"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["reference"].startswith("HM-") and body["status"] == "new" and body["status_label"] == "Neu"
    assert body["category"] == {"slug": "schlagloch", "name": "Schlagloch / Straßenschaden"}
    assert body["location"] == {"lat": 52.1039, "lon": 9.3576}
    assert body["authority"] == {"name": "Stadt Hameln", "ags": "03252006"}
    assert body["department"] == {"name": "Bauhof Hameln"}
    assert body["reason"].startswith("Bauhof Hameln")
    assert body["photos"] == [] and body["near_border"] is None
    assert len(body["secret"]) >= 32
    assert body["links"]["self"].endswith(f"/api/v1/reports/{body['id']}/")
    assert body["links"]["events"].endswith(f"/api/v1/reports/{body['id']}/events/")
    assert body["links"]["websocket"].startswith("wss://")
    report = Report.objects.get(public_id=body["id"])
    assert report.reporter_email == "anna@example.org"
    assert body["secret"] not in report.secret_hash  # only a hash is stored


def test_the_public_view_never_shows_the_reporter_but_the_reporters_own_view_does(client, demo):
    body = submit(client, {"email": "anna@example.org", "name": "Anna Beispiel"}).json()
    public = client.get(f"/api/v1/reports/{body['id']}/", secure=True)
    assert public.status_code == 200
    assert "anna" not in public.content.decode().lower() and "secret" not in public.json()
    own = client.get(f"/api/v1/reports/{body['id']}/", secure=True, HTTP_AUTHORIZATION=f"Bearer {body['secret']}")
    assert own.json()["reporter"] == {"name": "Anna Beispiel", "email": "anna@example.org"}
    wrong = client.get(f"/api/v1/reports/{body['id']}/", secure=True, HTTP_AUTHORIZATION="Bearer nope")
    assert "reporter" not in wrong.json()


def test_a_report_in_a_non_public_category_is_visible_only_to_its_reporter(client, demo):
    body = submit(client, {"category": "tierkadaver"}).json()
    assert client.get(f"/api/v1/reports/{body['id']}/", secure=True).status_code == 404
    assert client.get(f"/api/v1/reports/{body['id']}/events/", secure=True).status_code == 404
    own = client.get(f"/api/v1/reports/{body['id']}/", secure=True, HTTP_AUTHORIZATION=f"Bearer {body['secret']}")
    assert own.status_code == 200


def test_the_history_can_be_caught_up_after_a_seq(client, demo):
    body = submit(client).json()
    events = client.get(f"/api/v1/reports/{body['id']}/events/", secure=True).json()["events"]
    assert [e["kind"] for e in events] == ["created", "routed"]
    assert events[0]["seq"] < events[1]["seq"]
    later = client.get(f"/api/v1/reports/{body['id']}/events/", {"after": events[0]["seq"]}, secure=True).json()
    assert [e["seq"] for e in later["events"]] == [events[1]["seq"]]
    bad = client.get(f"/api/v1/reports/{body['id']}/events/", {"after": "x"}, secure=True)
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "after"


def test_an_unknown_report_is_404(client, demo):
    assert client.get(f"/api/v1/reports/{uuid.uuid4()}/", secure=True).status_code == 404


def test_the_same_idempotency_key_returns_the_same_body_and_creates_nothing(client, demo):
    key = uuid.uuid4()
    first = submit(client, key=key)
    again = submit(client, key=key)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json() == first.json()
    assert Report.objects.count() == 1


def test_the_same_idempotency_key_with_another_body_is_a_conflict(client, demo):
    key = uuid.uuid4()
    submit(client, key=key)
    response = submit(client, {"description": "Etwas anderes."}, key=key)
    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    assert Report.objects.count() == 1


@pytest.mark.parametrize(
    ("data", "headers", "field"),
    [
        ({"category": "gibt-es-nicht"}, {}, "category"),
        ({"lat": "abc"}, {}, "lat"),
        ({"lat": "54.5", "lon": "7.5"}, {}, "location"),
        ({"description": "x" * 4001}, {}, "description"),
        ({"email": "keine-adresse"}, {}, "email"),
        ({}, {"HTTP_IDEMPOTENCY_KEY": "not-a-uuid"}, "Idempotency-Key"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_stores_nothing(client, demo, data, headers, field):
    response = submit(client, data, **headers)
    assert response.status_code == 400, response.content
    assert field in [e["field"] for e in response.json()["errors"]]
    assert Report.objects.count() == 0


def test_without_a_place_and_without_a_photo_position_the_location_is_missing(client, demo):
    response = client.post("/api/v1/reports/", {"category": "schlagloch"}, secure=True)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "location"


def test_errors_come_in_english_when_asked(client, demo):
    response = submit(client, {"lat": "54.5", "lon": "7.5"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "outside the service area" in response.json()["errors"][0]["message"]


def test_control_characters_are_removed_and_html_is_kept_as_text(client, demo):
    body = submit(client, {"description": "Loch\x07\x1b <script>alert(1)</script>\nZweite Zeile"}).json()
    assert body["description"] == "Loch <script>alert(1)</script>\nZweite Zeile"


def test_a_null_character_is_rejected(client, demo):
    response = submit(client, {"description": "Loch\x00"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "description"
