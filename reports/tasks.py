"""Background tasks of reports (Django's tasks API, run by ``manage.py db_worker``)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_tasks import TaskResultStatus, task

from geo import geocoding
from reports.models import EventKind, Report, ReportEvent
from reports.services import anonymise_expired, report_set_address
from reports.services.renditions import render_public_photo

# Events after which a report's location has no address yet.
_NEEDS_ADDRESS = {EventKind.CREATED, EventKind.LOCATION_CHANGED}


def queue_geocoding(sender, events: list[ReportEvent], **kwargs) -> None:
    """Receiver of ``events_recorded``: look up the address of new and moved reports in the worker.

    The task row is written in the report's transaction (durable, gone with a rollback); the
    lookup itself never runs in the request, so a slow or absent geocoder cannot delay a submission.
    """
    if not geocoding.enabled():
        return
    for report_id in sorted({event.report_id for event in events if event.kind in _NEEDS_ADDRESS}):
        geocode_report.enqueue(report_id)


@task()
def geocode_report(report_id: int) -> str:
    report = Report.objects.filter(pk=report_id).only("pk", "location", "address").first()
    if report is None:
        return "gone"
    location = report.location
    address = geocoding.reverse(location.y, location.x)
    if address is None:
        return "unresolved"
    current = Report.objects.filter(pk=report_id).values_list("location", flat=True).first()
    if current is None or not current.equals_exact(location, tolerance=1e-9):
        # Moved meanwhile: the move queued a lookup of its own.
        return "moved"
    report_set_address(report=report, address=address)
    return "resolved"


@task()
def render_photo(photo_id: int) -> str:
    """A photo's public rendition: faces and number plates blurred (reports.services.renditions)."""
    return render_public_photo(photo_id)


@task()
def anonymise_daily() -> int:
    """Runs once a day in the worker and schedules its next run."""
    count = anonymise_expired()
    schedule_daily()
    return count


def schedule_daily(delay: timedelta = timedelta(days=1)) -> bool:
    """Keep exactly one daily run waiting."""
    from django_tasks_db.models import DBTaskResult

    if DBTaskResult.objects.filter(task_path=anonymise_daily.module_path, status=TaskResultStatus.READY).exists():
        return False
    anonymise_daily.using(run_after=timezone.now() + delay).enqueue()
    return True
