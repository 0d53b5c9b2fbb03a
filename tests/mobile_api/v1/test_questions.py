"""The categories' extra questions in the citizen API: listed with each category, answered with a report, enforced,
stored, and shown to the reporter and staff only."""

import json
import uuid

import pytest

from geo.models import Category, CategoryQuestion, QuestionType
from reports.models import Report
from tests.mobile_api.v1.conftest import HAMELN_MARKET

pytestmark = pytest.mark.django_db

DUMPING = {"category": "wilder-muell", **HAMELN_MARKET, "description": "Sperrmüll am Waldrand."}


def submit(client, data, key=None, **extra):
    headers = {"HTTP_IDEMPOTENCY_KEY": str(key)} if key else {}
    return client.post("/api/v1/reports/", data, secure=True, **headers, **extra)


def submit_json(client, data, key=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": str(key)} if key else {}
    return client.post("/api/v1/reports/", data, content_type="application/json", secure=True, **headers)


@pytest.fixture
def lanes():
    """A pothole asks how many lanes are blocked (a number) and since when (a date and time)."""
    pothole = Category.objects.get(slug="schlagloch")
    CategoryQuestion.objects.create(category=pothole, code="lanes", question_de="Gesperrte Spuren",
                                    question_en="Blocked lanes", datatype=QuestionType.NUMBER, order=1)
    CategoryQuestion.objects.create(category=pothole, code="since", question_de="Seit wann?",
                                    question_en="Since when?", datatype=QuestionType.DATETIME, order=2)


def test_each_category_lists_its_questions_in_the_request_language(client, demo):
    german = {c["slug"]: c for c in client.get("/api/v1/categories/", secure=True).json()["categories"]}
    english = {
        c["slug"]: c
        for c in client.get("/api/v1/categories/", HTTP_ACCEPT_LANGUAGE="en", secure=True).json()["categories"]
    }

    [kind] = german["wilder-muell"]["questions"]
    assert kind["code"] == "muellart" and kind["question"] == "Art des Mülls"
    assert kind["datatype"] == "multivaluelist" and kind["required"] is True
    assert {"key": "sperrmuell", "name": "Sperrmüll"} in kind["options"]
    assert {"key": "sonderabfall", "name": "Sonderabfall/Chemikalien"} in kind["options"]
    [kind_en] = english["wilder-muell"]["questions"]
    assert kind_en["question"] == "Kind of waste"
    assert {"key": "sperrmuell", "name": "Bulky waste"} in kind_en["options"]

    [pole] = english["strassenbeleuchtung-defekt"]["questions"]
    assert pole["code"] == "mastnummer" and pole["datatype"] == "string" and pole["required"] is False
    assert pole["question"].startswith("Pole number") and pole["options"] == []
    assert german["schlagloch"]["questions"] == []


def test_a_missing_required_answer_is_refused_with_the_questions_field(client, demo):
    response = submit(client, DUMPING)

    assert response.status_code == 400
    assert response.json() == {"errors": [
        {"field": "answers.muellart", "code": "required", "message": "Art des Mülls ist erforderlich."}
    ]}
    assert not Report.objects.exists()


def test_answers_in_a_multipart_request_are_one_json_field_and_stored(client, demo):
    response = submit(client, {**DUMPING, "answers": json.dumps({"muellart": ["bauschutt", "sperrmuell"]})})

    assert response.status_code == 201, response.content
    report = Report.objects.get(public_id=response.json()["id"])
    assert report.answers == {"muellart": ["sperrmuell", "bauschutt"]}  # in the question's order
    assert response.json()["answers"] == {"muellart": ["sperrmuell", "bauschutt"]}


def test_answers_in_a_json_request_are_an_object(client, demo):
    response = submit_json(client, {**DUMPING, "answers": {"muellart": ["gruenschnitt"]}})

    assert response.status_code == 201, response.content
    assert Report.objects.get().answers == {"muellart": ["gruenschnitt"]}


def test_every_problem_is_answered_at_once_with_the_other_fields_errors(client, demo, lanes):
    response = submit_json(client, {
        "category": "schlagloch", "lat": "52.1039", "lon": "9.3576", "email": "no-address",
        "answers": {"lanes": "viele", "since": "gestern", "colour": "rot"},
    })

    assert response.status_code == 400
    errors = {error["field"]: error for error in response.json()["errors"]}
    assert set(errors) == {"email", "answers.lanes", "answers.since", "answers.colour"}
    assert errors["answers.lanes"]["message"] == "Gesperrte Spuren muss eine Zahl sein."
    assert errors["answers.since"]["code"] == "invalid"
    assert errors["answers.colour"]["code"] == "unknown"


def test_a_key_that_is_not_an_option_and_an_absurd_number_are_refused(client, demo, lanes):
    wrong_key = submit(client, {**DUMPING, "answers": json.dumps({"muellart": ["gold"]})}, HTTP_ACCEPT_LANGUAGE="en")
    huge = submit_json(client, {"category": "schlagloch", **HAMELN_MARKET, "answers": {"lanes": "1e300"}})
    infinite = submit_json(client, {"category": "schlagloch", **HAMELN_MARKET, "answers": {"lanes": "inf"}})
    far_future = submit_json(client, {"category": "schlagloch", **HAMELN_MARKET, "answers": {"since": "99999-01-01"}})

    assert wrong_key.status_code == 400
    [error] = wrong_key.json()["errors"]
    assert error["field"] == "answers.muellart" and error["code"] == "invalid_choice"
    assert error["message"].startswith("Kind of waste must be some of: bauschutt, gruenschnitt")
    assert huge.json()["errors"][0]["code"] == "out_of_range"
    assert infinite.json()["errors"][0]["code"] == "invalid"
    assert far_future.json()["errors"][0]["field"] == "answers.since"
    assert not Report.objects.exists()


def test_numbers_and_dates_are_stored_as_text(client, demo, lanes):
    response = submit_json(client, {
        "category": "schlagloch", **HAMELN_MARKET, "answers": {"lanes": 2, "since": "2026-12-01T08:00:00+01:00"},
    })

    assert response.status_code == 201, response.content
    assert Report.objects.get().answers == {"lanes": "2", "since": "2026-12-01T08:00:00+01:00"}


@pytest.mark.parametrize("answers", ['{"muellart": ', "[1, 2]", '{"muellart": {"a": 1}}', '{"muellart": true}'])
def test_answers_that_are_not_an_object_of_texts_are_a_clear_error(client, demo, answers):
    response = submit(client, {**DUMPING, "answers": answers})

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "answers"


def test_a_replay_with_the_same_answers_gives_the_same_report_other_answers_are_a_conflict(client, demo):
    key = uuid.uuid4()
    first = submit(client, {**DUMPING, "answers": json.dumps({"muellart": ["sperrmuell"]})}, key)
    again = submit(client, {**DUMPING, "answers": json.dumps({"muellart": ["sperrmuell"]})}, key)
    other = submit(client, {**DUMPING, "answers": json.dumps({"muellart": ["hausmuell"]})}, key)

    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert other.status_code == 409
    assert Report.objects.count() == 1


def test_the_reporter_sees_their_answers_the_public_never_does(client, demo):
    created = submit(client, {
        "category": "strassenbeleuchtung-defekt", **HAMELN_MARKET, "answers": json.dumps({"mastnummer": "HM 4711"}),
    }).json()
    own = client.get(f"/api/v1/reports/{created['id']}/", HTTP_AUTHORIZATION=f"Bearer {created['secret']}",
                     secure=True)
    public = client.get(f"/api/v1/reports/{created['id']}/", secure=True)
    listed = client.get("/api/v1/map/", {"bbox": "9.35,52.10,9.37,52.11", "zoom": 18}, secure=True)
    exported = client.get("/api/v1/export.geojson", secure=True)
    open311 = client.get("/open311/v2/requests.json", secure=True)

    assert own.json()["answers"] == {"mastnummer": "HM 4711"}
    assert public.status_code == 200 and "answers" not in public.json()
    assert listed.status_code == 200 and created["id"] in listed.content.decode()
    assert open311.status_code == 200 and created["reference"] in open311.content.decode()
    for response in (public, listed, exported, open311):
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert "HM 4711" not in body.decode()
