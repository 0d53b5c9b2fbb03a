"""Which authority and department receive a report of a category at a point.

``route`` is pure and deterministic and reads only data (roads, responsibilities, boundaries):
0. road categories: a point near a road with an owner (Baulastträger) goes to that owner;
1. responsibilities for the category whose area covers the point → highest priority, then the
   smallest area (the most specific) wins;
2. none → the smallest authority covering the point that has a default department;
3. no authority → ``OutsideServiceArea``, naming the nearest authority.
Near a border between two authorities the decision says so and names both (``near_border``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.conf import settings
from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import Point, Polygon
from django.contrib.gis.measure import D
from django.db import connection
from django.db.models import F, Q
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import override

from geo.models import Authority, AuthorityKind, Category, Department, Responsibility, Road


@dataclass(frozen=True)
class NearBorder:
    """The point is this close to the area of another authority: an app may ask the citizen."""

    distance_m: float
    candidates: tuple[Authority, Authority]


@dataclass(frozen=True)
class Decision:
    authority: Authority
    department: Department | None
    reason: str
    near_border: NearBorder | None = None
    road: Road | None = None


class OutsideServiceArea(Exception):
    """No authority of this installation covers the point."""

    def __init__(self, point: Point, nearest: Authority | None, distance_m: float | None) -> None:
        self.point = point
        self.nearest = nearest
        self.distance_m = distance_m
        super().__init__(point, nearest, distance_m)

    def __str__(self) -> str:
        # Rendered when shown, so in the language of whoever reads it (an app user, an operator).
        if self.nearest is None:
            return _("This place is outside the service area.")
        return _("This place is outside the service area; the nearest authority is %(name)s, %(km)s km away.") % {
            "name": self.nearest,
            "km": number_format((self.distance_m or 0) / 1000, decimal_pos=1),
        }


def route(category: Category | None, point: Point) -> Decision:
    """Route a report of ``category`` at ``point``; without a category, only the area decides."""
    # The reason is stored and shown to staff: always in the installation's language, whatever
    # the language of the request that caused the routing.
    with override(settings.LANGUAGE_CODE):
        covering = list(covering_authorities(point))
        if not covering:
            raise OutsideServiceArea(point, *_nearest_authority(point))
        decision = None
        if category is not None and category.is_road_category:
            decision = _by_road(category, point)
        if decision is None and category is not None:
            decision = _by_responsibility(category, point, covering)
        if decision is None:
            decision = _by_area(category, covering)
        near_border = _near_border(point, covering)
        if near_border is None:
            return decision
        return Decision(decision.authority, decision.department, decision.reason, near_border, decision.road)


def covering_authorities(point: Point):
    """Authorities whose boundary covers the point, smallest first."""
    return (
        Authority.objects.filter(active=True)
        .filter(index_candidates(Authority, "boundary", point))
        .filter(boundary__covers=point)
        .select_related("default_department")
        .defer("boundary", "default_department__authority")
        .order_by("area_km2", "ars", "pk")
    )


def _by_road(category: Category, point: Point) -> Decision | None:
    distance = settings.OPENMELDER["ROAD_DISTANCE_M"]
    road = (
        Road.objects.filter(owner__isnull=False, owner__active=True)
        .filter(index_candidates(Road, "geometry", box := envelope(point, distance)))
        .filter(geometry__intersects=box)
        .filter(geometry__distance_lte=(point, D(m=distance)))
        .select_related("owner__default_department")
        .defer("owner__boundary")
        .annotate(distance=Distance("geometry", point))
        .order_by("distance", "pk")
        .first()
    )
    if road is None:
        return None
    owner = road.owner
    responsibility = _best_responsibility(category, point, authority=owner)
    department = responsibility.department if responsibility else owner.default_department
    return Decision(
        authority=owner,
        department=department,
        reason=_("%(road)s (%(road_class)s) is maintained by %(owner)s; %(target)s receives %(category)s here.") % {
            "road": road.ref,
            "road_class": road.get_road_class_display(),
            "owner": owner,
            "target": department.name if department else owner,
            "category": category.name,
        },
        road=road,
    )


def _by_responsibility(category: Category, point: Point, covering: list[Authority]) -> Decision | None:
    responsibility = _best_responsibility(category, point, covering=covering)
    if responsibility is None:
        return None
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


def _by_area(category: Category | None, covering: list[Authority]) -> Decision:
    # A gemeindefreies Gebiet (a forest, a lake) has no administration of its own: prefer the
    # smallest authority that can receive reports, then any that is not unincorporated.
    authority = (
        next((a for a in covering if a.default_department_id is not None), None)
        or next((a for a in covering if a.kind != AuthorityKind.UNINCORPORATED), None)
        or covering[0]
    )
    department = authority.default_department
    if category is None:
        reason = _("%(authority)s covers the place.") % {"authority": authority}
    else:
        reason = _(
            "No responsibility for %(category)s is configured here; %(target)s receives it as %(authority)s covers the place."
        ) % {"category": category.name, "target": department.name if department else authority, "authority": authority}
    return Decision(authority=authority, department=department, reason=reason)


def _best_responsibility(
    category: Category, point: Point, *, covering: list[Authority] = (), authority: Authority | None = None
) -> Responsibility | None:
    responsibilities = Responsibility.objects.filter(
        category=category, department__active=True, department__authority__active=True
    )
    own_area = Q(area__isnull=False, area__covers=point)
    if authority is not None:
        # Within a road owner's departments; an owner without a boundary (the Autobahn GmbH) covers its roads.
        responsibilities = responsibilities.filter(department__authority=authority).filter(own_area | Q(area__isnull=True))
    else:
        # The authorities covering the point are already known: no second point-in-polygon test
        # of their boundaries (and no join of them) is needed.
        authority_area = Q(area__isnull=True, department__authority__in=[a.pk for a in covering])
        responsibilities = responsibilities.filter(own_area | authority_area)
    return (
        responsibilities.select_related("department__authority")
        .defer("area", "department__authority__boundary")
        .annotate(effective_area=Coalesce(F("area_km2"), F("department__authority__area_km2")))
        .order_by("-priority", "effective_area", "pk")
        .first()
    )


def _near_border(point: Point, covering: list[Authority]) -> NearBorder | None:
    """Another authority within the border distance, other than the one here and those it belongs to.

    "Here" is the smallest covering authority; its parents (Landkreis, Samtgemeinde) are not
    neighbours. A point exactly on a border is covered by both sides: the other side is named.
    """
    distance = settings.OPENMELDER["BORDER_DISTANCE_M"]
    if distance <= 0:
        return None
    here = covering[0]
    not_neighbours = {here.pk}
    by_pk = {a.pk: a for a in covering}
    parent_id = here.parent_id
    while parent_id is not None and parent_id not in not_neighbours:
        not_neighbours.add(parent_id)
        parent = by_pk.get(parent_id)
        parent_id = parent.parent_id if parent is not None else None
    neighbour = (
        Authority.objects.filter(active=True, boundary__isnull=False)
        .exclude(pk__in=not_neighbours)
        # One filter() each: the database evaluates them in this order, the exact distance last.
        .filter(index_candidates(Authority, "boundary", box := envelope(point, distance)))
        .filter(boundary__intersects=box)
        .filter(boundary__distance_lte=(point, D(m=distance)))
        .defer("boundary")
        .annotate(distance=Distance("boundary", point))
        .order_by("area_km2", "ars", "pk")
        .first()
    )
    if neighbour is None:
        return None
    return NearBorder(distance_m=neighbour.distance.m, candidates=(here, neighbour))


def index_candidates(model, column: str, geometry) -> Q:
    """A filter to rows whose bounding box meets the geometry's, through the spatial index.

    PostGIS uses its GiST index for spatial lookups by itself. SpatiaLite never does (Django
    does not ask it to): there the R*Tree index is queried explicitly.
    """
    if connection.vendor != "sqlite":
        return Q()
    xmin, ymin, xmax, ymax = geometry.extent
    frame = RawSQL(
        "SELECT ROWID FROM SpatialIndex WHERE f_table_name = %s AND f_geometry_column = %s "
        "AND search_frame = BuildMbr(%s, %s, %s, %s, 4326)",
        (model._meta.db_table, column, xmin, ymin, xmax, ymax),
    )
    return Q(pk__in=frame)


def envelope(point: Point, metres: float) -> Polygon:
    """A box around the point at least ``metres`` wide on each side, for an index-friendly prefilter."""
    dlat = metres / 111_000 * 1.01
    dlon = dlat / max(math.cos(math.radians(point.y)), 0.01)
    box = Polygon.from_bbox((point.x - dlon, point.y - dlat, point.x + dlon, point.y + dlat))
    box.srid = 4326
    return box


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
