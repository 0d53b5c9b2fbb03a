"""A NUL character in any input is refused with a 400 in the API's own format, on both backends
(PostgreSQL cannot even compare text that holds one), and nothing is stored."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest

from tests.mobile_api.staff.conftest import Client, staff_client, submit

pytestmark = pytest.mark.django_db


def test_a_nul_in_a_query_parameter_is_a_400_naming_it(demo):
    response = Client().get("/api/v1/reports/nearby/?lat=52.1&lon=9.35&category=%00schlagloch")

    assert response.status_code == 400
    assert response.json()["errors"][0] == {
        "field": "category", "code": "null_characters", "message": "Text darf keine NUL-Zeichen enthalten.",
    }


def test_a_nul_in_a_submitted_form_stores_nothing(demo):
    from reports.models import Report

    response = Client().post("/api/v1/reports/", {"category": "schlag\x00loch", "lat": "52.1039", "lon": "9.3576"},
                             format="multipart", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "category"
    assert response.json()["errors"][0]["message"] == "Text must not contain NUL characters."
    assert Report.objects.count() == 0


def test_a_nul_in_a_json_body_is_refused_and_the_report_stays_as_it_was(personas):
    report = submit()
    lead = staff_client(personas.hameln_lead)

    response = lead.post(f"/api/staff/reports/{report['id']}/forward/", {"authority": "hildesheim\x00"}, format="json")

    assert response.status_code == 400
    assert lead.get(f"/api/staff/reports/{report['id']}/").json()["authority"]["slug"] == "hameln"


def test_open311_clients_get_the_error_in_the_specs_format(demo):
    xml = Client().get("/open311/v2/requests.xml?service_code=%00")
    json = Client().get("/open311/v2/requests.json?service_code=%00")

    assert xml.status_code == 400 and ElementTree.fromstring(xml.content).find("error/code").text == "400"
    assert json.status_code == 400 and json.json()[0]["code"] == 400


def test_public_pages_answer_a_plain_400(demo):
    response = Client().get("/meldungen/?category=%00")

    assert response.status_code == 400
