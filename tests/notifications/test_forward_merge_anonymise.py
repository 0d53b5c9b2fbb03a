"""What happens to mails when a report is forwarded out of the platform, merged into another, or anonymised."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from notifications.models import Delivery, EmailAddress, Subscription
from tests.mobile_api.staff.conftest import staff_client
from tests.mobile_api.v1.test_submit import submit
from tests.notifications.delivery import change_status, links, run_worker

pytestmark = pytest.mark.django_db


def confirmed_report(client, email: str, description: str = "Tiefes Loch") -> dict:
    report = submit(client, {"email": email, "description": description}).json()
    run_worker()
    (path,) = links(mail.outbox[-1].body, "confirm")
    client.post(path, secure=True)
    return report


def test_an_external_body_gets_the_forwarded_report_by_mail_without_the_reporters_identity(client, personas):
    from geo.models import Authority, AuthorityKind

    Authority.objects.create(name="Landesstraßenbauverwaltung", slug="nlstbv", kind=AuthorityKind.EXTERNAL,
                             email="poststelle@nlstbv.example")
    report = confirmed_report(client, "anna@example.org")
    lead = staff_client(personas.hameln_lead)

    response = lead.post(f"/api/staff/reports/{report['id']}/forward/",
                         {"authority": "nlstbv", "message": "Landesstraße L 424, bitte übernehmen."}, format="json")
    run_worker()

    assert response.status_code == 200
    forwarded = [m for m in mail.outbox if m.to == ["poststelle@nlstbv.example"]]
    assert len(forwarded) == 1
    body = forwarded[0].body
    assert report["reference"] in forwarded[0].subject and "Landesstraße L 424" in body and "Tiefes Loch" in body
    assert (
        "52.103900, 9.357600" in body
        and "anna@example.org" not in body
        and "anna" not in forwarded[0].alternatives[0][0]
    )
    # The reporter hears that it was forwarded, as any status change.
    assert [m for m in mail.outbox if m.to == ["anna@example.org"]][-1].subject.endswith("Weitergeleitet")


def test_the_subscribers_of_a_duplicate_follow_the_original(client, personas):
    original = submit(client, {"description": "Loch vor der Sparkasse"}).json()
    duplicate = confirmed_report(client, "ben@example.org", "Loch schon wieder")
    worker = staff_client(personas.hameln_worker)

    worker.post(f"/api/staff/reports/{duplicate['id']}/duplicate/", {"original": original["reference"]}, format="json")
    change_status(original["id"], "fixed", actor=personas.hameln_worker, message="Verfüllt.")
    run_worker()

    to_ben = [m for m in mail.outbox if m.to == ["ben@example.org"]]
    assert [original["reference"] in m.subject for m in to_ben][-1]
    assert "Verfüllt." in to_ben[-1].body


def test_anonymising_a_report_drops_its_subscribers_and_their_pending_mails(client, personas):
    report = confirmed_report(client, "carla@example.org")
    change_status(report["id"], "fixed", actor=personas.hameln_worker, message="Erledigt.")
    run_worker()
    assert Delivery.objects.filter(kind="follow_up", target="carla@example.org", status="pending").exists()
    from reports.models import Report

    Report.objects.filter(public_id=report["id"]).update(closed_at=timezone.now() - timedelta(days=400))
    call_command("anonymise", "--days", "30", stdout=StringIO())
    run_worker()

    assert not Subscription.objects.filter(report__public_id=report["id"]).exists()
    assert not EmailAddress.objects.filter(address="carla@example.org").exists()
    assert not Delivery.objects.filter(target="carla@example.org").exists()
    assert [m.subject for m in mail.outbox if "behoben" in m.subject.lower() or "fixed?" in m.subject.lower()] == []
