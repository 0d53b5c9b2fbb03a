"""A category's extra questions are its Open311 attributes: listed in the service definition, checked on POST."""

import pytest

from geo.models import Category, CategoryQuestion, QuestionType
from reports.models import EventKind, Report
from tests.mobile_api.open311.conftest import HAMELN_MARKET, errors_of, get, post, validate, xml

pytestmark = pytest.mark.django_db


@pytest.fixture
def questions(demo):
    pothole = Category.objects.get(slug="schlagloch")
    CategoryQuestion.objects.create(
        category=pothole, code="depth", question_de="Wie tief?", question_en="How deep?",
        datatype=QuestionType.SINGLE_CHOICE, required=True, order=1,
        options=[
            {"key": "shallow", "name_de": "flach", "name_en": "shallow"},
            {"key": "deep", "name_de": "tief", "name_en": "deep"},
        ],
    )
    CategoryQuestion.objects.create(
        category=pothole, code="lanes", question_de="Wie viele Spuren?", question_en="How many lanes?",
        datatype=QuestionType.NUMBER, order=2,
    )


def test_the_service_definition_lists_the_questions_with_their_values(client, questions):
    definition = get(client, "services/schlagloch.json").json()
    validate("service_definition", definition)
    depth, lanes = definition["attributes"]
    assert depth == {
        "variable": True, "code": "depth", "datatype": "singlevaluelist", "required": True,
        "datatype_description": None, "order": 1, "description": "How deep?",
        "values": [{"key": "shallow", "name": "shallow"}, {"key": "deep", "name": "deep"}],
    }
    assert (lanes["code"], lanes["datatype"], lanes["required"]) == ("lanes", "number", False)
    root = xml(get(client, "services/schlagloch.xml"))
    assert [a.findtext("code") for a in root.find("attributes")] == ["depth", "lanes"]
    assert [v.findtext("key") for v in root.find("attributes/attribute/values")] == ["shallow", "deep"]
    services = {s["service_code"]: s for s in get(client, "services.json").json()}
    assert services["schlagloch"]["metadata"] is True and services["gully-verstopft"]["metadata"] is False


def _post(client, key, **attributes):
    lat, lon = HAMELN_MARKET
    data = {"api_key": key, "service_code": "schlagloch", "lat": lat, "long": lon}
    data.update({f"attribute[{code}]": value for code, value in attributes.items()})
    return post(client, "requests.json", data)


def test_answers_are_checked_and_kept_for_staff(client, questions, api_key):
    assert errors_of(_post(client, api_key), 400) == ["attribute[depth] is required."]
    assert errors_of(_post(client, api_key, depth="bottomless"), 400) == [
        "attribute[depth] must be one of: deep, shallow."
    ]
    assert errors_of(_post(client, api_key, depth="deep", lanes="two"), 400) == ["attribute[lanes] must be a number."]
    assert not Report.objects.exists()
    response = _post(client, api_key, depth="deep", lanes="2", fixmystreet_id="99")
    assert response.status_code == 201, response.content
    report = Report.objects.get(reference=response.json()[0]["service_request_id"])
    note = report.events.get(kind=EventKind.INTERNAL_NOTE)
    assert note.data["attributes"] == {"depth": "deep", "lanes": "2", "fixmystreet_id": "99"}
    assert report.answers == {"depth": "deep", "lanes": "2", "fixmystreet_id": "99"}


def test_the_demo_questions_are_asked_and_answered_through_open311(client, demo, api_key):
    """A FixMyStreet-style POST to the demo's illegal-dumping service: the required "Art des Mülls" must be
    answered with keys from the service definition, several with attribute[code][]; the answers reach staff."""
    definition = get(client, "services/wilder-muell.json").json()
    validate("service_definition", definition)
    [kinds] = [a for a in definition["attributes"] if a["code"] == "muellart"]
    assert kinds["required"] is True and kinds["datatype"] == "multivaluelist"
    keys = [value["key"] for value in kinds["values"]]
    lat, lon = HAMELN_MARKET
    base = {"api_key": api_key, "service_code": "wilder-muell", "lat": lat, "long": lon}
    assert errors_of(post(client, "requests.xml", base), 400) == ["attribute[muellart] is required."]
    response = post(client, "requests.json", {**base, "attribute[muellart][]": keys[:2], "attribute[title]": "Sofa"})
    assert response.status_code == 201, response.content
    report = Report.objects.get(reference=response.json()[0]["service_request_id"])
    assert report.answers == {"muellart": keys[:2], "title": "Sofa"}
    # Answers are for staff: the public request does not carry them.
    public = get(client, f"requests/{report.reference}.json", extensions="true").content.decode()
    assert "Sofa" not in public


def test_a_flood_of_attributes_is_refused_and_nothing_is_stored(client, demo, api_key):
    lat, lon = HAMELN_MARKET
    base = {"api_key": api_key, "service_code": "schlagloch", "lat": lat, "long": lon}
    many = {f"attribute[extra{n}]": "x" * 1000 for n in range(51)}
    assert errors_of(post(client, "requests.json", {**base, **many}), 400) == [
        "At most 50 attributes with 50 values each."
    ]
    assert errors_of(post(client, "requests.xml", {**base, "attribute[tags][]": ["x"] * 51}), 400)
    assert not Report.objects.exists()
    # Up to the limit a client's own attributes are kept.
    kept = {f"attribute[extra{n}]": "x" for n in range(50)}
    assert post(client, "requests.json", {**base, **kept}).status_code == 201
