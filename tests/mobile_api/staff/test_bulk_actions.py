"""Staff act on several reports at once (POST /api/staff/reports/bulk/): each report as a single action would
change it — its own event, its own mails and pushes — and a report the user may not touch is refused on its own.

Personas (tests/personas.py): the Hameln Bauhof worker and lead, the Hildesheim clerk.
"""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client as DjangoClient
from rest_framework.authtoken.models import Token

from geo.models import Department
from notifications.models import Delivery
from reports.models import EventKind, Report, ReportEvent
from tests.mobile_api.staff.conftest import Client, staff_client, submit
from tests.notifications.delivery import links, mails_to, run_worker
from tests.notifications.sockets import hang_up

BULK = "/api/staff/reports/bulk/"


def bulk(client, action: str, reports: list, **body):
    return client.post(BULK, {"action": action, "reports": reports, **body}, format="json")


def confirmed_report(address: str) -> dict:
    """A citizen's report whose reporter confirmed their address (double opt-in): status changes are mailed."""
    report = submit(email=address)
    run_worker()
    (path,) = links(mails_to(address)[0].body, "confirm")
    assert DjangoClient().post(path, secure=True).status_code == 200
    return report


def status_events(report: dict) -> list[tuple[str, str]]:
    return [
        (e.from_status, e.to_status)
        for e in ReportEvent.objects.filter(report__public_id=report["id"], kind=EventKind.STATUS_CHANGED)
    ]


def deliveries_of_last_event(report: dict) -> list[tuple[str, str]]:
    event = ReportEvent.objects.filter(report__public_id=report["id"]).latest("pk")
    return sorted(Delivery.objects.filter(event=event).values_list("channel", "kind"))


@pytest.mark.django_db
class TestTheApi:
    def test_acknowledging_three_reports_makes_three_events_and_mails_as_three_single_actions(self, personas, worker):
        single = confirmed_report("single@example.org")
        reports = [confirmed_report(f"anna{n}@example.org") for n in range(3)]
        worker.post(f"/api/staff/reports/{single['id']}/transition/", {"to": "acknowledged", "message": "Danke!"},
                    format="json")

        response = bulk(worker, "acknowledge", [r["id"] for r in reports], message="Danke!")

        assert response.status_code == 200, response.content
        body = response.json()
        assert (body["succeeded"], body["failed"]) == (3, 0)
        assert [(r["report"], r["ok"], r["status"]) for r in body["results"]] == [
            (r["id"], True, "acknowledged") for r in reports
        ]
        for report in reports:
            assert status_events(report) == [("new", "acknowledged")]
            assert deliveries_of_last_event(report) == deliveries_of_last_event(single)
        run_worker()
        for n, report in enumerate(reports):
            confirmation, status_mail = mails_to(f"anna{n}@example.org")
            assert report["reference"] in status_mail.subject and "Danke!" in status_mail.body
        assert len(mails_to("single@example.org")) == 2

    def test_a_report_of_another_authority_is_refused_as_not_found_while_the_others_change(
        self, personas, worker, hildesheim_report
    ):
        hameln = [submit(), submit()]
        keys = [hameln[0]["reference"], hildesheim_report["id"], hameln[1]["id"], "HM-2026-999999"]

        response = bulk(worker, "in_progress", keys)

        assert response.status_code == 200
        results = response.json()["results"]
        assert [(r["report"], r["ok"]) for r in results] == [
            (keys[0], True), (keys[1], False), (keys[2], True), (keys[3], False)
        ]
        # The Hildesheim report reads exactly as one that does not exist: nothing of it is told.
        assert results[1] == {**results[3], "report": keys[1]}
        assert results[1]["errors"][0]["code"] == "not_found" and "reference" not in results[1]
        assert Report.objects.get(public_id=hildesheim_report["id"]).status == "new"
        assert status_events(hildesheim_report) == []
        assert [status_events(r) for r in hameln] == [[("new", "in_progress")]] * 2

    def test_a_report_the_workflow_refuses_is_refused_with_its_reason_and_the_others_change(self, personas, lead):
        first, second = submit(), submit()
        bulk(lead, "in_progress", [first["id"]])

        response = bulk(lead, "in_progress", [first["id"], second["id"]])

        first_result, second_result = response.json()["results"]
        assert first_result["ok"] is False and first_result["errors"][0]["field"] == "to"
        assert "acknowledged" in first_result["allowed_transitions"]
        assert second_result["ok"] is True
        assert status_events(first) == [("new", "in_progress")]

    def test_reassigning_hands_each_report_to_the_department_with_its_own_event(self, personas, lead):
        hameln = personas.bauhof_hameln.authority
        gardens = Department.objects.create(authority=hameln, slug="gruenflaechen-hameln", name="Grünflächen Hameln")
        reports = [submit(), submit()]

        response = bulk(lead, "reassign", [r["reference"] for r in reports], department=gardens.slug, note="Bäume")

        assert [r["department"] for r in response.json()["results"]] == [gardens.slug, gardens.slug]
        for report in reports:
            kinds = list(
                ReportEvent.objects.filter(report__public_id=report["id"], kind__in=[
                    EventKind.REASSIGNED, EventKind.INTERNAL_NOTE,
                ]).values_list("kind", flat=True)
            )
            assert kinds == [EventKind.REASSIGNED, EventKind.INTERNAL_NOTE]
            assert Report.objects.get(public_id=report["id"]).department == gardens

    def test_a_department_of_another_authority_is_a_400_and_nothing_changes(self, personas, lead):
        report = submit()

        response = bulk(lead, "reassign", [report["id"]], department=personas.hildesheim_department.slug)
        missing = bulk(lead, "reassign", [report["id"]])

        assert response.status_code == 400 and response.json()["errors"][0]["field"] == "department"
        assert missing.status_code == 400 and missing.json()["errors"][0]["code"] == "required"
        assert Report.objects.get(public_id=report["id"]).department == personas.bauhof_hameln

    @pytest.mark.parametrize("body", [
        {"action": "fix", "reports": ["HM-2026-000001"]},
        {"action": "acknowledge", "reports": []},
        {"action": "acknowledge", "reports": "HM-2026-000001"},
        {"action": "acknowledge", "reports": [f"HM-2026-{n:06d}" for n in range(201)]},
        {"action": "acknowledge", "reports": ["x" * 65]},
        {"action": "acknowledge"},
        {"reports": ["HM-2026-000001"]},
    ])
    def test_a_bad_action_or_list_is_a_400_in_the_json_error_shape(self, personas, worker, body):
        report = submit()

        response = worker.post(BULK, body, format="json")

        assert response.status_code == 400
        errors = response.json()["errors"]
        assert errors and {"field", "code", "message"} <= set(errors[0])
        assert status_events(report) == []

    def test_two_hundred_reports_are_allowed_and_a_report_named_twice_is_answered_once(self, personas, worker):
        report = submit()
        keys = [report["reference"], report["reference"].lower(), *[f"HM-2026-{n:06d}" for n in range(900, 1098)]]

        response = bulk(worker, "acknowledge", keys)

        assert response.status_code == 200
        results = response.json()["results"]
        assert len(results) == 199 and results[0]["ok"] is True
        assert [r["ok"] for r in results[1:]] == [False] * 198
        assert status_events(report) == [("new", "acknowledged")]

    def test_only_staff_may_act(self, personas, hameln_report):
        anonymous = bulk(Client(), "acknowledge", [hameln_report["id"]])

        assert anonymous.status_code in (401, 403)
        assert status_events(hameln_report) == []

    def test_the_hildesheim_clerk_changes_nothing_in_hameln(self, personas, clerk, hameln_report):
        response = bulk(clerk, "acknowledge", [hameln_report["id"], hameln_report["reference"]])

        assert [r["ok"] for r in response.json()["results"]] == [False, False]
        assert status_events(hameln_report) == []


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_staff_socket_hears_one_status_change_per_report(personas):
    from backend.asgi import application

    reports = [await database_sync_to_async(submit)() for _ in range(3)]
    token = await database_sync_to_async(Token.objects.create)(user=personas.hameln_lead)
    socket = WebsocketCommunicator(application, "/ws/staff/", headers=[(b"origin", b"http://localhost"),
                                                                        (b"host", b"localhost")])
    assert (await socket.connect())[0]
    await socket.send_json_to({"token": token.key})
    while (await socket.receive_json_from(timeout=5)).get("type") != "subscribed":
        pass

    lead = await database_sync_to_async(staff_client)(personas.hameln_lead)
    response = await database_sync_to_async(bulk)(lead, "acknowledge", [r["id"] for r in reports])
    assert response.status_code == 200

    messages = [await socket.receive_json_from(timeout=5) for _ in range(3)]
    assert [(m["kind"], m["to_status"], m["report"]["id"]) for m in messages] == [
        ("status_changed", "acknowledged", r["id"]) for r in reports
    ]
    assert await socket.receive_nothing(timeout=0.5)
    await hang_up(socket)


@pytest.mark.django_db
class TestTheWebApp:
    """The task list's checkboxes and action bar (/staff/), as a browser without JavaScript posts them."""

    def test_the_list_offers_a_labelled_checkbox_per_report_and_an_action_bar(self, personas, hameln_report):
        from tests.reports.staff.test_staff_pages import logged_in, text

        page = text(logged_in(personas.hameln_worker).get("/staff/"))

        assert '<form method="post" action="/staff/sammelaktion/" id="bulk-form"' in page
        assert (f'<input type="checkbox" name="reports" value="{hameln_report["reference"]}" form="bulk-form">'
                f'<span class="visually-hidden">Select {hameln_report["reference"]}</span>') in page
        assert '<label for="select-all">Select all reports on this page</label>' in page
        assert '<label for="bulk-action">Action</label>' in page and '<option value="in_progress">Start work' in page
        assert '<option value="bauhof-hameln">Bauhof Hameln' in page
        assert "Kreisbauhof Hildesheim" not in page

    def test_ticked_reports_change_each_with_its_event_and_the_list_says_what_happened(
        self, personas, hildesheim_report
    ):
        from tests.reports.staff.test_staff_pages import logged_in, text

        browser = logged_in(personas.hameln_worker)
        first, second = submit(), submit()
        ticked = [first["reference"], hildesheim_report["reference"], second["reference"]]

        response = browser.post("/staff/sammelaktion/", {
            "action": "acknowledge", "reports": ticked, "department": "", "next": "status=open&q=HM",
        })

        assert response.status_code == 302 and response["Location"] == "/staff/?status=open&q=HM"
        page = text(browser.get(response["Location"]))
        assert "2 reports changed." in page
        assert f"{hildesheim_report['reference']} was not changed: Not found." in page
        assert [status_events(r) for r in (first, second)] == [[("new", "acknowledged")]] * 2
        assert status_events(hildesheim_report) == []

        again = text(browser.post("/staff/sammelaktion/", {"action": "acknowledge", "reports": [first["reference"]]},
                                  follow=True))
        assert f"{first['reference']} was not changed:" in again and "reports changed" not in again

    def test_handing_over_needs_a_department_and_nothing_ticked_changes_nothing(self, personas, hameln_report):
        from tests.reports.staff.test_staff_pages import logged_in, text

        browser = logged_in(personas.hameln_lead)

        without_department = text(browser.post("/staff/sammelaktion/", {
            "action": "reassign", "reports": [hameln_report["reference"]], "department": "",
        }, follow=True))
        nothing_ticked = text(browser.post("/staff/sammelaktion/", {"action": "acknowledge"}, follow=True))
        foreign = text(browser.post("/staff/sammelaktion/", {
            "action": "reassign", "reports": [hameln_report["reference"]],
            "department": personas.hildesheim_department.slug,
        }, follow=True))

        assert "Choose the department to hand the reports to." in without_department
        assert "Select at least one report." in nothing_ticked
        assert "Select a valid choice." in foreign
        assert status_events(hameln_report) == []
        assert Report.objects.get(public_id=hameln_report["id"]).department == personas.bauhof_hameln

    def test_the_way_back_to_the_list_carries_only_query_parameters(self, personas, hameln_report):
        from tests.reports.staff.test_staff_pages import logged_in

        browser = logged_in(personas.hameln_worker)

        response = browser.post("/staff/sammelaktion/", {
            "action": "acknowledge", "reports": [hameln_report["reference"]],
            "next": "status=any\r\nSet-Cookie: x=1&//evil.example",
        })

        assert response.status_code == 302 and response["Location"].startswith("/staff/?")
        assert "\n" not in response["Location"] and "Set-Cookie" not in response.cookies
