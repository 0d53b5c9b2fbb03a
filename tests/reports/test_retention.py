"""DSGVO retention: personal data of long-closed reports goes, the reports and the statistics stay;
a reporter sees and deletes their own data with the report's secret."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from tests.mobile_api.staff.conftest import Client, submit

pytestmark = pytest.mark.django_db

PHOTO_WITH_GPS = "data/photos/05_jpeg_iphone6_o1_gps-madrid.jpg"


def closed_days_ago(report: dict, days: int) -> None:
    from reports.models import Report

    Report.objects.filter(public_id=report["id"]).update(
        status="fixed", closed_at=timezone.now() - timedelta(days=days)
    )


def anonymise(*args: str) -> str:
    out = StringIO()
    call_command("anonymise", *args, stdout=out)
    return out.getvalue()


def with_photo(**extra) -> dict:
    with open(PHOTO_WITH_GPS, "rb") as photo:
        return submit(photos=[photo], email="anna@example.org", name="Anna Beispiel", **extra)


def test_reports_closed_longer_than_the_retention_period_lose_their_personal_data(demo, settings):
    from reports.models import Report

    settings.OPENMELDER = {**settings.OPENMELDER, "RETENTION_DAYS": 30}
    old, recent, still_open = with_photo(), with_photo(), with_photo()
    closed_days_ago(old, 31)
    closed_days_ago(recent, 29)

    counted = anonymise("--dry-run")
    output = anonymise()

    assert counted.startswith("1 reports") and output.startswith("1 reports")
    gone = Report.objects.get(public_id=old["id"])
    assert (gone.reporter_name, gone.reporter_email, gone.reporter_phone) == ("", "", "")
    assert [(p.captured_at, p.exif_location) for p in gone.photos.all()] == [(None, None)]
    assert gone.events.last().kind == "anonymised" and not gone.events.last().is_public
    for kept in (recent, still_open):
        report = Report.objects.get(public_id=kept["id"])
        assert report.reporter_email == "anna@example.org" and report.photos.get().exif_location is not None
    # The report itself stays: the public record and the statistics do not change.
    assert Report.objects.count() == 3 and gone.category.slug == "schlagloch" and gone.description == "Tiefes Loch"
    assert anonymise().startswith("0 reports")


def test_the_retention_period_can_be_given_per_run_and_must_be_positive(demo):
    report = with_photo()
    closed_days_ago(report, 10)

    assert anonymise("--days", "11").startswith("0 reports")
    assert anonymise("--days", "9").startswith("1 reports")
    with pytest.raises(SystemExit):
        call_command("anonymise", "--days", "0", stdout=StringIO(), stderr=StringIO())


def test_the_daily_run_is_queued_once(demo):
    from django_tasks_db.models import DBTaskResult

    anonymise("--schedule")
    anonymise("--schedule")

    assert DBTaskResult.objects.filter(task_path="reports.tasks.anonymise_daily", status="READY").count() == 1


def test_a_reporter_sees_their_data_with_the_secret_and_nobody_else_does(demo):
    report = with_photo()
    own = Client()
    own.credentials(HTTP_AUTHORIZATION=f"Bearer {report['secret']}")
    stranger = Client()
    wrong = Client()
    wrong.credentials(HTTP_AUTHORIZATION="Bearer not-the-secret")

    data = own.get(f"/api/v1/reports/{report['id']}/personal-data/")

    assert data.status_code == 200
    body = data.json()
    assert (body["name"], body["email"]) == ("Anna Beispiel", "anna@example.org")
    assert body["photos"][0]["position_in_photo"]["lat"] == pytest.approx(40.4, abs=0.2)  # Madrid
    assert stranger.get(f"/api/v1/reports/{report['id']}/personal-data/").status_code == 404
    assert wrong.get(f"/api/v1/reports/{report['id']}/personal-data/").status_code == 404
    assert wrong.delete(f"/api/v1/reports/{report['id']}/personal-data/").status_code == 404


def test_a_reporter_deletes_their_data_and_the_report_stays(demo):
    report = with_photo()
    own = Client()
    own.credentials(HTTP_AUTHORIZATION=f"Bearer {report['secret']}")

    deleted = own.delete(f"/api/v1/reports/{report['id']}/personal-data/")
    after = own.get(f"/api/v1/reports/{report['id']}/personal-data/").json()

    assert deleted.status_code == 204
    assert (after["name"], after["email"], after["photos"][0]["position_in_photo"]) == ("", "", None)
    assert Client().get(f"/api/v1/reports/{report['id']}/").json()["description"] == "Tiefes Loch"
