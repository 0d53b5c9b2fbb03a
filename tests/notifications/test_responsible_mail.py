"""Whoever must act on a report hears of it: a new report is mailed to its department (or to the external body
that owns the road), through the durable queue; so is a report handed to another department."""

from __future__ import annotations

import re

import pytest
from django.contrib.gis.geos import LineString, MultiLineString
from django.core import mail
from django.test import Client

from geo.models import Authority, AuthorityKind, Department, PublishingPolicy, Road, RoadClass
from notifications.models import Delivery
from tests.mobile_api.staff.conftest import staff_client
from tests.mobile_api.v1.conftest import HAMELN_MARKET
from tests.mobile_api.v1.test_submit import submit
from tests.notifications.delivery import run_worker
from tests.personas import PASSWORD

pytestmark = pytest.mark.django_db

REPORTER = {"name": "Anna Beispiel", "email": "anna.beispiel@example.org"}
AERZEN = (52.056278, 9.25317)  # lat, lon: a point inside the Gemeinde Aerzen


def mails_to(address: str) -> list:
    return [m for m in mail.outbox if m.to == [address]]


def staff_links(text: str, settings) -> list[str]:
    return re.findall(re.escape(settings.PUBLIC_URL) + r"(/staff/[^\s\"<]*)", text)


def assert_no_reporter(message) -> None:
    for part in (message.subject, message.body, message.alternatives[0][0]):
        assert "Anna" not in part and "anna.beispiel" not in part


def test_a_new_report_is_mailed_to_its_department_in_german_with_a_link_to_the_staff_app(client, personas, settings):
    report = submit(client, {**REPORTER, "description": "Tiefes Loch vor der Apotheke."}).json()
    # Queued in the report's own transaction, before any worker ran.
    assert Delivery.objects.filter(kind="responsible", target="bauhof@hameln.example").count() == 1

    run_worker()

    [message] = mails_to("bauhof@hameln.example")
    assert message.subject == f"Neue Meldung {report['reference']}: Schlagloch / Straßenschaden"
    body = message.body
    assert "Bauhof Hameln" in body and "Tiefes Loch vor der Apotheke." in body
    assert f"{float(HAMELN_MARKET['lat']):.6f}, {float(HAMELN_MARKET['lon']):.6f}" in body
    assert_no_reporter(message)
    [link] = set(staff_links(body, settings))
    assert staff_links(message.alternatives[0][0], settings) == [link] == [f"/staff/reports/{report['reference']}/"]

    # The link opens the ticket for the department's staff.
    browser = Client()
    assert (
        browser.post("/staff/login/", {"username": "hameln-worker", "password": PASSWORD}, secure=True).status_code
        == 302
    )
    page = browser.get(link, secure=True)
    assert page.status_code == 200 and report["reference"] in page.content.decode()


def test_a_report_awaiting_review_is_still_announced_to_staff(client, personas):
    Authority.objects.filter(slug="hameln").update(publishing_policy=PublishingPolicy.AFTER_REVIEW)

    report = submit(client, REPORTER).json()
    run_worker()

    [message] = mails_to("bauhof@hameln.example")
    assert report["reference"] in message.subject and "Freigabe" in message.body


def test_a_report_on_a_road_of_an_external_body_goes_to_its_address_without_the_reporters_identity(
    client, personas, settings
):
    body = Authority.objects.create(name="Niedersächsische Landesbehörde für Straßenbau und Verkehr", slug="nlstbv",
                                    kind=AuthorityKind.EXTERNAL, email="poststelle@nlstbv.example")
    lat, lon = float(HAMELN_MARKET["lat"]), float(HAMELN_MARKET["lon"])
    Road.objects.create(source="test", ref="L 424", road_class=RoadClass.STATE, owner=body,
                        geometry=MultiLineString(LineString((lon - 0.001, lat), (lon + 0.001, lat)), srid=4326))

    report = submit(client, REPORTER).json()
    run_worker()

    assert report["authority"]["name"] == str(body)
    [message] = mails_to("poststelle@nlstbv.example")
    assert report["reference"] in message.subject and "Schlagloch" in message.subject
    assert "Tiefes Loch" in message.body and f"{lat:.6f}, {lon:.6f}" in message.body
    assert "openstreetmap.org" in message.body
    assert_no_reporter(message)
    assert staff_links(message.body + message.alternatives[0][0], settings) == [], "the body has no staff login"
    assert mails_to("bauhof@hameln.example") == []


def test_a_report_moved_to_another_department_is_mailed_to_that_department(client, personas):
    report = submit(client, REPORTER).json()
    run_worker()
    mail.outbox.clear()
    lead = staff_client(personas.hameln_lead)

    moved = lead.patch(f"/api/staff/reports/{report['id']}/", {"lat": AERZEN[0], "lon": AERZEN[1]}, format="json")
    run_worker()

    assert moved.status_code == 200
    [message] = mails_to("bauhof@aerzen.example")
    assert report["reference"] in message.subject and "übergeben" in message.subject
    assert "Bauhof Aerzen" in message.body
    assert_no_reporter(message)
    assert mails_to("bauhof@hameln.example") == []


def test_a_report_reassigned_within_the_authority_is_mailed_to_the_new_department(client, personas):
    Department.objects.create(authority=personas.bauhof_hameln.authority, slug="stadtgruen-hameln",
                              name="Stadtgrün Hameln", email="stadtgruen@hameln.example")
    report = submit(client, REPORTER).json()
    lead = staff_client(personas.hameln_lead)

    response = lead.post(f"/api/staff/reports/{report['id']}/reassign/", {"department": "stadtgruen-hameln"},
                         format="json")
    run_worker()

    assert response.status_code == 200
    [message] = mails_to("stadtgruen@hameln.example")
    assert report["reference"] in message.subject and "Stadtgrün Hameln" in message.body
    assert mails_to("bauhof@hameln.example") == [], "it had left before its new-report mail went out"


def test_a_department_without_an_address_is_not_mailed_and_the_report_is_stored(client, personas):
    Department.objects.filter(slug="bauhof-hameln").update(email="")

    response = submit(client, REPORTER)
    run_worker()

    assert response.status_code == 201
    assert not Delivery.objects.filter(kind="responsible").exists()
    assert [m.to for m in mail.outbox] == [[REPORTER["email"]]], "only the reporter's confirmation"
