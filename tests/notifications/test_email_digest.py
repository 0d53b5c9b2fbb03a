"""Department leads get one mail a day listing their overdue reports."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from reports.models import Report
from tests.mobile_api.v1.test_submit import submit
from tests.notifications.delivery import run_worker
from tests.personas import PASSWORD

pytestmark = pytest.mark.django_db


def test_a_lead_gets_one_digest_a_day_of_the_overdue_reports_of_their_department(client, personas, settings):
    settings.NOTIFICATIONS = {**settings.NOTIFICATIONS, "DIGEST_HOUR": 0}
    personas.hameln_lead.email = "lead@hameln.example"
    personas.hameln_lead.save()
    personas.hameln_worker.email = "worker@hameln.example"
    personas.hameln_worker.save()
    overdue = submit(client).json()
    on_time = submit(client, {"description": "Noch Zeit."}).json()
    Report.objects.filter(public_id=overdue["id"]).update(due_at=timezone.now() - timedelta(days=2))
    Report.objects.filter(public_id=on_time["id"]).update(due_at=timezone.now() + timedelta(days=2))

    run_worker()  # the department's mails about the new reports
    mail.outbox.clear()

    call_command("schedule_notifications")
    run_worker()
    assert [m.to for m in mail.outbox] == [["lead@hameln.example"]]
    assert overdue["reference"] in mail.outbox[0].body and on_time["reference"] not in mail.outbox[0].body
    assert overdue["reference"] in mail.outbox[0].alternatives[0][0]

    call_command("schedule_notifications")
    run_worker()
    assert len(mail.outbox) == 1, "one digest a day"


def test_no_digest_when_nothing_is_overdue(client, personas, settings):
    settings.NOTIFICATIONS = {**settings.NOTIFICATIONS, "DIGEST_HOUR": 0}
    personas.hameln_lead.email = "lead@hameln.example"
    personas.hameln_lead.save()
    submit(client)
    run_worker()  # the department's mail about the new report
    mail.outbox.clear()
    call_command("schedule_notifications")
    run_worker()
    assert mail.outbox == []


def test_the_digest_links_to_the_staff_app_where_the_lead_can_log_in_not_to_the_admin(client, personas, settings):
    settings.NOTIFICATIONS = {**settings.NOTIFICATIONS, "DIGEST_HOUR": 0}
    personas.hameln_lead.email = "lead@hameln.example"
    personas.hameln_lead.save()
    overdue = submit(client).json()
    Report.objects.filter(public_id=overdue["id"]).update(due_at=timezone.now() - timedelta(days=2))

    call_command("schedule_notifications")
    run_worker()

    [digest] = [m for m in mail.outbox if m.to == ["lead@hameln.example"]]
    found = re.findall(re.escape(settings.PUBLIC_URL) + r"(/[^\s\"<]*)", digest.body + digest.alternatives[0][0])
    assert found and not any(path.startswith("/admin/") for path in found)
    assert f"/staff/reports/{overdue['reference']}/" in found and "/staff/?overdue=on" in found
    lead = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert lead.post("/staff/login/", {"username": "hameln-lead", "password": PASSWORD}, secure=True).status_code == 302
    for path in set(found):
        page = lead.get(path, secure=True)
        assert page.status_code == 200 and overdue["reference"] in page.content.decode(), path
