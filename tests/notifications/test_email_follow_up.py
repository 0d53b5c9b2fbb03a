"""After a report is fixed, its confirmed reporter is asked whether the defect is really gone, with a
link that reopens the report once."""

import pytest
from django.core import mail
from django.utils import timezone

from notifications.models import Delivery
from reports.models import Report
from tests.mobile_api.v1.test_submit import submit
from tests.notifications.delivery import change_status, links, mails_to, run_worker

pytestmark = pytest.mark.django_db


@pytest.fixture
def confirmed_report(client, personas):
    report = submit(client, {"email": "anna@example.org"}, HTTP_ACCEPT_LANGUAGE="en").json()
    run_worker()
    (path,) = links(mails_to("anna@example.org")[0].body, "confirm")
    client.post(path, secure=True)
    mail.outbox.clear()
    return report


def follow_up_now(settings):
    settings.NOTIFICATIONS = {**settings.NOTIFICATIONS, "FOLLOW_UP_DAYS": 0}


def test_the_follow_up_waits_the_configured_days_after_fixed(client, personas, confirmed_report, settings):
    settings.NOTIFICATIONS = {**settings.NOTIFICATIONS, "FOLLOW_UP_DAYS": 14}
    change_status(confirmed_report["id"], "fixed", actor=personas.hameln_worker, message="Erledigt.")
    run_worker()
    assert len(mail.outbox) == 1, "only the status mail, now"
    follow_up = Delivery.objects.get(kind="follow_up")
    assert follow_up.status == "pending"
    assert abs((follow_up.next_attempt_at - timezone.now()).total_seconds() - 14 * 86400) < 60


def test_the_reporter_reopens_the_report_once_from_the_follow_up_mail(client, personas, confirmed_report, settings):
    follow_up_now(settings)
    change_status(confirmed_report["id"], "fixed", actor=personas.hameln_worker, message="Erledigt.")
    run_worker()
    follow_up = next(m for m in mail.outbox if "Is the defect fixed?" in m.subject)
    assert follow_up.to == ["anna@example.org"], "in the reporter's language (English)"
    (path,) = links(follow_up.body, "reopen")
    assert links(follow_up.alternatives[0][0], "reopen") == [path]

    page = client.get(path, secure=True, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200 and b"Reopen the report" in page.content
    assert Report.objects.get(public_id=confirmed_report["id"]).status == "fixed", "opening the link changes nothing"
    reopened = client.post(path, secure=True, HTTP_ACCEPT_LANGUAGE="en")
    assert reopened.status_code == 200 and b"is open again" in reopened.content
    report = Report.objects.get(public_id=confirmed_report["id"])
    assert report.status == "reopened"
    event = report.events.order_by("-id").filter(kind="status_changed").first()
    assert event.to_status == "reopened" and event.actor is None

    again = client.post(path, secure=True, HTTP_ACCEPT_LANGUAGE="en")
    assert again.status_code == 410 and b"already used" in again.content
    assert Report.objects.get(public_id=confirmed_report["id"]).events.filter(to_status="reopened").count() == 1


def test_a_tampered_reopen_link_changes_nothing(client, personas, confirmed_report, settings):
    follow_up_now(settings)
    change_status(confirmed_report["id"], "fixed", actor=personas.hameln_worker, message="Erledigt.")
    run_worker()
    (path,) = links(next(m for m in mail.outbox if "fixed?" in m.subject).body, "reopen")
    response = client.post(path.replace(":", "x", 1), secure=True, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 410
    assert Report.objects.get(public_id=confirmed_report["id"]).status == "fixed"


def test_no_follow_up_goes_out_when_the_report_was_reopened_before_it_was_due(
    client, personas, confirmed_report, settings
):
    follow_up_now(settings)
    change_status(confirmed_report["id"], "fixed", actor=personas.hameln_worker, message="Erledigt.")
    change_status(confirmed_report["id"], "reopened", actor=personas.hameln_lead, message="Doch nicht.")
    run_worker()
    assert not any("fixed?" in m.subject for m in mail.outbox)
    assert Delivery.objects.get(kind="follow_up").status == "skipped"
    assert len(mail.outbox) == 2, "one mail per status change"
