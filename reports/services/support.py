"""Citizens support a report ("me too") and find open reports nearby before reporting the same again."""

from __future__ import annotations

import hashlib

from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import Point
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from geo.models import Category
from reports.models import EventKind, Report, ReportEvent, Support
from reports.services.common import publish_after_commit


def report_support(*, report: Report, supporter: str) -> tuple[int, bool]:
    """Count a "me too" once per supporter (a device id or an e-mail address); returns (count, new)."""
    supporter_hash = hashlib.sha256(f"{report.pk}:{supporter.strip().lower()}".encode()).hexdigest()
    try:
        with transaction.atomic():
            Support.objects.create(report=report, supporter_hash=supporter_hash)
            Report.objects.filter(pk=report.pk).update(support_count=F("support_count") + 1, updated_at=timezone.now())
            count = Report.objects.values_list("support_count", flat=True).get(pk=report.pk)
            event = ReportEvent.objects.create(
                report=report, kind=EventKind.SUPPORTED, created_at=timezone.now(), data={"support_count": count}
            )
            publish_after_commit([event])
    except IntegrityError:
        return Report.objects.values_list("support_count", flat=True).get(pk=report.pk), False
    return count, True


def reports_nearby(*, category: Category, point: Point, radius_m: int):
    """Open, published reports of the category within the radius, nearest first."""
    return (
        Report.objects.open()
        .published()
        .filter(category=category)
        .near(point, radius_m)
        .annotate(distance=Distance("location", point))
        .order_by("distance", "pk")
    )
