"""Which authority and department receive a report of a category at a point.

``route`` is pure and deterministic and reads only data (responsibilities, boundaries):
1. responsibilities for the category whose area covers the point → highest priority, then the
   smallest area (the most specific) wins;
2. none → the smallest authority whose boundary covers the point, its default department;
3. no authority → ``OutsideServiceArea``, naming the nearest authority.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import Point
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import override

from geo.models import Authority, Category, Department, Responsibility


@dataclass(frozen=True)
class Decision:
    authority: Authority
    department: Department | None
    reason: str


class OutsideServiceArea(Exception):
    """No authority of this installation covers the point."""

    def __init__(self, point: Point, nearest: Authority | None, distance_m: float | None) -> None:
        self.point = point
        self.nearest = nearest
        self.distance_m = distance_m
        if nearest is None:
            message = _("This place is outside the service area.")
        else:
            message = _("This place is outside the service area; the nearest authority is %(name)s, %(km)s km away.") % {
                "name": nearest,
                "km": number_format((distance_m or 0) / 1000, decimal_pos=1),
            }
        super().__init__(message)


def route(category: Category, point: Point) -> Decision:
    # The reason is stored and shown to staff: always in the installation's language, whatever
    # the language of the request that caused the routing.
    with override(settings.LANGUAGE_CODE):
        return _route(category, point)


def _route(category: Category, point: Point) -> Decision:
    responsibility = _best_responsibility(category, point)
    if responsibility is not None:
        department = responsibility.department
        return Decision(
            authority=department.authority,
            department=department,
            reason=_("%(department)s: %(category)s in the area of %(authority)s") % {
                "department": department.name,
                "category": category.name,
                "authority": department.authority,
            },
        )
    authority = covering_authorities(point).first()
    if authority is None:
        raise OutsideServiceArea(point, *_nearest_authority(point))
    department = authority.default_department
    return Decision(
        authority=authority,
        department=department,
        reason=_("No responsibility for %(category)s is configured here; %(target)s receives it as %(authority)s covers the place.")
        % {
            "category": category.name,
            "target": department.name if department else authority,
            "authority": authority,
        },
    )


def covering_authorities(point: Point):
    """Authorities whose boundary covers the point, smallest first."""
    return (
        Authority.objects.filter(active=True, boundary__covers=point)
        .select_related("default_department")
        .defer("boundary")
        .order_by("area_km2", "ars", "pk")
    )


def _best_responsibility(category: Category, point: Point) -> Responsibility | None:
    own_area = Q(area__isnull=False, area__covers=point)
    authority_area = Q(area__isnull=True, department__authority__boundary__covers=point)
    return (
        Responsibility.objects.filter(own_area | authority_area)
        .filter(category=category, department__active=True, department__authority__active=True)
        .select_related("department__authority")
        .defer("area", "department__authority__boundary")
        .annotate(effective_area=Coalesce(F("area_km2"), F("department__authority__area_km2")))
        .order_by("-priority", "effective_area", "pk")
        .first()
    )


def _nearest_authority(point: Point) -> tuple[Authority | None, float | None]:
    """The nearest authority; among those as near (a Gemeinde and its Landkreis share borders), the smallest."""
    nearest = list(
        Authority.objects.filter(active=True, boundary__isnull=False)
        .defer("boundary")
        .annotate(distance=Distance("boundary", point))
        .order_by("distance")[:10]
    )
    if not nearest:
        return None, None
    closest = nearest[0].distance.m
    as_near = [a for a in nearest if a.distance.m <= closest + 1.0]
    best = min(as_near, key=lambda a: (a.area_km2 or 0, a.ars or "", a.pk))
    return best, best.distance.m
