"""Staff correct a report's category or location: routing decides anew, and the history says why."""

from __future__ import annotations

import pytest

from tests.mobile_api.staff.conftest import Client, submit

pytestmark = pytest.mark.django_db

AERZEN = (52.056278, 9.25317)  # lat, lon: a point inside the Gemeinde Aerzen
NORTH_SEA = (54.5, 6.5)


def change(client, report: dict, **body):
    return client.patch(f"/api/staff/reports/{report['id']}/", body, format="json")


def test_a_new_category_routes_the_report_to_the_department_responsible_for_it(personas, lead):
    # Dead animals are the Landkreis' waste department's everywhere, also in Stadt Hameln.
    report = submit(category="graffiti")

    response = change(lead, report, category="tierkadaver", note="Ist ein totes Reh, kein Graffiti.")

    assert response.status_code == 200
    assert response.json()["moved"] is True and response.json()["authority"] == "Landkreis Hameln-Pyrmont"
    from reports.models import Report

    stored = Report.objects.get(public_id=report["id"])
    assert list(stored.events.values_list("kind", flat=True))[-3:] == ["category_changed", "routed", "internal_note"]
    assert stored.department.slug == "abfallwirtschaft-hameln-pyrmont"
    assert stored.routing_reason.startswith("Abfallwirtschaft des Landkreises Hameln-Pyrmont")
    routed = stored.events.filter(kind="routed").last()
    assert routed.data["previous_department"] == "bauhof-hameln" and routed.actor == personas.hameln_lead


def test_a_corrected_location_in_another_gemeinde_routes_the_report_there(personas, lead):
    report = submit()

    response = change(lead, report, lat=AERZEN[0], lon=AERZEN[1])

    assert response.status_code == 200 and response.json()["moved"] is True
    public = Client().get(f"/api/v1/reports/{report['id']}/").json()
    assert public["authority"]["name"] == "Gemeinde Aerzen"
    assert public["department"]["name"] == "Bauhof Aerzen"
    assert public["location"] == {"lat": AERZEN[0], "lon": AERZEN[1]}


@pytest.mark.parametrize(
    ("body", "field"),
    [({"lat": AERZEN[0], "lon": AERZEN[1]}, "location"), ({"category": "tierkadaver"}, "category")],
)
def test_a_worker_may_not_move_a_report_to_another_authority_which_forwarding_forbids_them(
    personas, worker, body, field
):
    report = submit()

    response = change(worker, report, **body)

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == field and error["code"] == "not_permitted"
    assert "lead" in error["message"]
    after = worker.get(f"/api/staff/reports/{report['id']}/").json()
    assert after["authority"]["slug"] == "hameln" and after["location"] == report["location"]
    assert [e["kind"] for e in after["events"]] == ["created", "routed"]


def test_a_small_correction_within_the_same_gemeinde_keeps_the_report_with_its_staff(personas, worker):
    report = submit()

    response = change(worker, report, lat=52.1041, lon=9.3580)

    assert response.status_code == 200
    body = response.json()
    assert body["authority"]["slug"] == "hameln"
    assert [e["kind"] for e in body["events"]][-2:] == ["location_changed", "routed"]
    assert body["events"][-2]["data"]["distance_m"] > 0


def test_a_location_outside_the_service_area_is_refused_and_nothing_changes(personas, worker):
    report = submit()

    response = change(worker, report, lat=NORTH_SEA[0], lon=NORTH_SEA[1])

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "location"
    after = worker.get(f"/api/staff/reports/{report['id']}/").json()
    assert after["location"] == report["location"] and after["events"][-1]["kind"] == "routed"
    assert len(after["events"]) == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "category"),
        ({"category": "gibt-es-nicht"}, "category"),
        ({"lat": 52.1}, "lon"),
        ({"lat": 91, "lon": 9}, "lat"),
        ({"category": "schlagloch"}, "category"),
    ],
)
def test_bad_changes_are_a_400_naming_the_field(personas, worker, body, field):
    report = submit()

    response = change(worker, report, **body)

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field
