"""Reads shared by the front ends: the reports a staff account may see, with what their pages show."""

from __future__ import annotations

import uuid

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from geo.models import Authority
from reports.models import Report, ReportEvent, ReportQuerySet


def staff_reports(user) -> ReportQuerySet:
    """The reports of the user's authorities, with category, places, photos and history loaded."""
    events = ReportEvent.objects.select_related("actor").order_by("id")
    return (
        Report.objects.for_staff(user)
        .select_related("category", "authority", "department", "duplicate_of")
        .prefetch_related("photos", Prefetch("events", queryset=events))
    )


def get_staff_report(user, key: str) -> Report:
    """By public id or by reference (HM-2026-000123); Http404 for reports of other authorities.

    Both the staff API and the staff web app answer 404, so that another authority's reports do not even
    show that they exist.
    """
    try:
        lookup = Q(public_id=uuid.UUID(str(key)))
    except ValueError:
        lookup = Q(reference=str(key).upper())
    report = staff_reports(user).filter(lookup).first()
    if report is None:
        raise Http404
    return report


def forward_targets() -> QuerySet[Authority]:
    """Authorities a report can be forwarded to: in the platform (with a department) or by e-mail."""
    return (
        Authority.objects.filter(active=True)
        .filter(Q(default_department__isnull=False) | ~Q(email=""))
        .order_by("name")
    )
