"""DSGVO: who wrote a comment (name, e-mail sent with a FixMyStreet update) is personal data. Staff see it
while the report is worked; the retention run removes it with the reporter's data, the comment text stays."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from reports.models import EventKind, Report
from tests.mobile_api.open311.conftest import post

pytestmark = pytest.mark.django_db


def comment(client, api_key: str, reference: str, update_id: str) -> None:
    response = post(client, "servicerequestupdates.json", {
        "api_key": api_key, "service_request_id": reference, "update_id": update_id, "status": "OPEN",
        "updated_datetime": timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ"), "description": "Das Loch ist noch da.",
        "first_name": "Erika", "last_name": "Mustermann", "email": "erika@example.org",
    })
    assert response.status_code == 201, response.content


def test_retention_removes_commenters_names_and_addresses_and_keeps_the_comments(
    client, make_report, personas, api_key, settings
):
    settings.OPENMELDER = {**settings.OPENMELDER, "RETENTION_DAYS": 30}
    old, recent = make_report(), make_report()
    comment(client, api_key, old.reference, "1")
    comment(client, api_key, recent.reference, "2")
    staff = Client()
    staff.force_login(personas.hameln_lead)
    page = staff.get(f"/staff/reports/{old.reference}/", secure=True).content.decode()
    assert "erika@example.org" in page and "Erika Mustermann" in page
    Report.objects.filter(pk__in=[old.pk, recent.pk]).update(status="fixed", closed_at=timezone.now())
    Report.objects.filter(pk=old.pk).update(closed_at=timezone.now() - timedelta(days=31))

    out = StringIO()
    call_command("anonymise", stdout=out)

    assert out.getvalue().startswith("1 reports")
    gone = Report.objects.get(pk=old.pk).events.get(kind=EventKind.COMMENT)
    assert gone.message == "Das Loch ist noch da." and gone.is_public
    assert "erika" not in str(gone.data).lower()
    page = staff.get(f"/staff/reports/{old.reference}/", secure=True).content.decode()
    assert "erika@example.org" not in page and "Das Loch ist noch da." in page
    kept = Report.objects.get(pk=recent.pk).events.get(kind=EventKind.COMMENT)
    assert kept.data["author_email"] == "erika@example.org"
