"""DSGVO retention: personal data of closed reports is removed after a configurable period.

What goes: the reporter's name, e-mail address and phone, the photos' private metadata (capture time and
position), free-text answers to the category's questions (they may name people; choices, numbers and dates
stay) and the names and e-mail addresses of those who commented. What stays: the report itself (category,
place, description, photos, history), so statistics and the public record are unchanged. Each removal is an
event, so notifications drop their subscriptions too.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from geo.models import CategoryQuestion
from reports.answers import FREE_TEXT, without_free_text
from reports.models import EventKind, Photo, Report, ReportEvent
from reports.services.common import publish_after_commit
from reports.workflow import CLOSED_STATUSES

# Who wrote a citizen's comment (reports.services.comments), kept in the COMMENT event's data for staff.
COMMENT_AUTHOR = ("author_name", "author_email")

_PERSONAL = Q(reporter_name__gt="") | Q(reporter_email__gt="") | Q(reporter_phone__gt="") | Q(
    photos__captured_at__isnull=False
) | Q(photos__exif_location__isnull=False) | Q(
    events__kind=EventKind.COMMENT, events__data__has_any_keys=COMMENT_AUTHOR
)


def expired(now: datetime | None = None, days: int | None = None):
    """Closed reports past the retention period that still hold personal data."""
    days = days or settings.OPENMELDER["RETENTION_DAYS"]
    cutoff = (now or timezone.now()) - timedelta(days=days)
    free_text = list(
        CategoryQuestion.objects.filter(datatype__in=FREE_TEXT).values_list("code", flat=True).distinct()
    )
    personal = _PERSONAL | Q(answers__has_any_keys=free_text) if free_text else _PERSONAL
    return Report.objects.filter(status__in=CLOSED_STATUSES, closed_at__lt=cutoff).filter(personal).distinct()


def personal_data(report: Report) -> dict:
    """Everything personal the platform holds about the reporter of this report."""
    return {
        "report": {
            "id": str(report.public_id), "reference": report.reference, "created_at": report.created_at.isoformat(),
        },
        "name": report.reporter_name,
        "email": report.reporter_email,
        "phone": report.reporter_phone,
        "language": report.language,
        "description": report.description,
        "answers": report.answers,
        "location": {"lat": report.location.y, "lon": report.location.x},
        "photos": [
            {
                "url": photo.image.url if photo.image else None,
                "captured_at": photo.captured_at.isoformat() if photo.captured_at else None,
                "position_in_photo": (
                    {"lat": photo.exif_location.y, "lon": photo.exif_location.x} if photo.exif_location else None
                ),
            }
            for photo in report.photos.filter(kind="report")
        ],
        "retention_days": settings.OPENMELDER["RETENTION_DAYS"],
    }


def report_anonymise(*, report: Report, reason: str) -> bool:
    """Remove the report's personal data now; False if there was none."""
    with transaction.atomic():
        report = Report.objects.select_for_update().get(pk=report.pk)
        photos = Photo.objects.filter(report=report).filter(
            Q(captured_at__isnull=False) | Q(exif_location__isnull=False)
        )
        answers = without_free_text(report.category.questions.all(), report.answers)
        commented = list(
            report.events.filter(kind=EventKind.COMMENT, data__has_any_keys=COMMENT_AUTHOR).only("pk", "data")
        )
        had = bool(report.reporter_name or report.reporter_email or report.reporter_phone) or photos.exists()
        if not had and answers == report.answers and not commented:
            return False
        photos.update(captured_at=None, exif_location=None)
        for comment in commented:
            # The one change an event ever gets (past ReportEvent.save's guard): erasure outranks an unchanged history.
            ReportEvent.objects.filter(pk=comment.pk).update(
                data={key: value for key, value in comment.data.items() if key not in COMMENT_AUTHOR}
            )
        report.reporter_name = report.reporter_email = report.reporter_phone = ""
        report.answers = answers
        report.updated_at = timezone.now()
        report.save(update_fields=["reporter_name", "reporter_email", "reporter_phone", "answers", "updated_at"])
        event = ReportEvent.objects.create(
            report=report, kind=EventKind.ANONYMISED, is_public=False, created_at=report.updated_at,
            data={"reason": reason},
        )
        publish_after_commit([event])
    return True


def anonymise_expired(now: datetime | None = None, days: int | None = None) -> int:
    count = 0
    for report in expired(now, days).only("pk").iterator():
        count += report_anonymise(report=report, reason="retention")
    return count
