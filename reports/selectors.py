"""Reads shared by the front ends: the reports a staff account may see, with what their pages show."""

from __future__ import annotations

import uuid
from typing import cast

from django.contrib.gis.db.models.functions import SnapToGrid
from django.contrib.gis.geos import Polygon
from django.db.models import Avg, Count, Prefetch, Q, QuerySet
from django.http import Http404

from geo.models import Authority
from reports.mapcells import POINTS_FROM_ZOOM, cell_size
from reports.models import Report, ReportEvent, ReportQuerySet
from reports.publicdata.lists import PointX, PointY


def staff_reports(user) -> ReportQuerySet:
    """The reports of the user's authorities, with category, places, photos and history loaded."""
    events = ReportEvent.objects.select_related("actor").order_by("id")
    return (
        Report.objects.for_staff(user)
        .select_related("category", "authority", "department", "duplicate_of", "boundary_version__authority")
        # Who routed where, and by which version of the boundaries: not the versions' polygons.
        .defer("boundary_version__boundary", "boundary_version__authority__boundary")
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


def staff_map_features(reports: QuerySet[Report], *, bbox: Polygon, zoom: int, max_points: int = 2000) -> dict:
    """The staff's tasks on a map, as the public map draws reports (reports.publicdata.map): below
    POINTS_FROM_ZOOM one cluster per cell of the same grid (cell_size(zoom), ST_SnapToGrid) at the mean position of
    its reports, from there one point per report. ``reports`` is what the user may see and has filtered; ``bbox``
    (checked by reports.filters) bounds it. Points carry what staff need to open the report: its reference."""
    reports = cast(ReportQuerySet, reports).in_area(bbox)
    properties = {"zoom": zoom, "clustered": zoom < POINTS_FROM_ZOOM, "truncated": False}
    if zoom < POINTS_FROM_ZOOM:
        size = cell_size(zoom)
        cells = (
            reports.annotate(cx=PointX(SnapToGrid("location", size)), cy=PointY(SnapToGrid("location", size)))
            .values("cx", "cy")
            .annotate(count=Count("pk"), lon=Avg(PointX("location")), lat=Avg(PointY("location")))
            .values_list("count", "lon", "lat")
            .order_by()
        )
        features = [_feature(lon, lat, {"cluster": True, "count": count}) for count, lon, lat in cells]
    else:
        rows = list(
            reports.annotate(lon=PointX("location"), lat=PointY("location"))
            .values_list("reference", "status", "lon", "lat")
            .order_by("-created_at", "-pk")[: max_points + 1]
        )
        features = [
            _feature(lon, lat, {"reference": reference, "status": status})
            for reference, status, lon, lat in rows[:max_points]
        ]
        properties["truncated"] = len(rows) > max_points
    return {"type": "FeatureCollection", "features": features, "properties": properties}


def _feature(lon: float, lat: float, properties: dict) -> dict:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
            "properties": properties}
