"""Which authority and department receive a report of a category at a point.

``route`` is pure and deterministic and reads only data (roads, responsibilities, boundaries):
0. road categories: a point near a road with an owner (Baulastträger) goes to that owner;
1. responsibilities for the category whose area covers the point → highest priority, then the
   smallest area (the most specific) wins;
2. none → the smallest authority covering the point that has a default department;
3. no authority → ``OutsideServiceArea`` (a domain error, geo.errors), naming the nearest authority.
Near a border between two authorities the decision says so and names both (``near_border``).

A decision is one SQL statement (``geo.routing_sql.places``; road categories add the road query):
this module holds the rules, ``geo.routing_sql`` the queries, ``geo.spatial_sql`` the backends' SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from django.conf import settings
from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import Point
from django.contrib.gis.measure import D
from django.utils.translation import gettext as _
from django.utils.translation import override

from geo import routing_sql
from geo.errors import OutsideServiceArea
from geo.models import Authority, AuthorityKind, Category, Department, Road
from geo.routing_reasons import BY_AREA, BY_AREA_WITHOUT_RESPONSIBILITY, BY_RESPONSIBILITY, BY_ROAD
from geo.spatial_sql import envelope, index_candidates


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


def route(category: Category | None, point: Point) -> Decision:
    """Route a report of ``category`` at ``point``; without a category, only the area decides."""
    # The reason is stored in the installation's language, whatever the language of the request that caused the
    # routing; geo.routing_reasons words it again for a reader of another language.
    with override(settings.LANGUAGE_CODE):
        by_road = category is not None and category.is_road_category
        # A road's owner may differ from the authorities here: for road categories the responsibility
        # is looked up once the road is known.
        places, responsible = routing_sql.places(point, None if by_road else category)
        covering = [place.authority for place in places if place.covers]
        if not covering:
            raise OutsideServiceArea(point, *_nearest_authority(point))
        decision = _by_road(category, point) if by_road and category is not None else None
        if decision is None and by_road and category is not None:
            responsible = routing_sql.responsible_department(category, point, covering=covering)
        if decision is None and responsible is not None and category is not None:  # a category found it
            decision = _by_responsibility(category, responsible)
        if decision is None:
            decision = _by_area(category, covering)
        _link_parents(decision.authority, covering)
        near_border = _near_border(point, places, covering)
        return decision if near_border is None else replace(decision, near_border=near_border)


def _link_parents(authority: Authority, covering: list[Authority]) -> None:
    """Hand the decision's authority its parents (a Gemeinde its Landkreis) from the covering authorities the query
    loaded, as far as they are among them: reading them again (a report's reference prefix may be its Landkreis')
    would cost a query each."""
    by_pk = {a.pk: a for a in covering}
    while authority.parent_id is not None and authority.parent_id in by_pk and authority.parent_id != authority.pk:
        authority.parent = by_pk[authority.parent_id]
        authority = authority.parent


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
    if road is None or road.owner is None:  # (owner__isnull=False above)
        return None
    owner = road.owner
    department = routing_sql.responsible_department(category, point, authority=owner) or owner.default_department
    return Decision(
        authority=owner,
        department=department,
        reason=_(BY_ROAD) % {
            "road": road.ref,
            "road_class": road.get_road_class_display(),
            "owner": owner,
            "target": department.name if department else owner,
            "category": category.name,
        },
        road=road,
    )


def _by_responsibility(category: Category, department: Department) -> Decision:
    return Decision(
        authority=department.authority,
        department=department,
        reason=_(BY_RESPONSIBILITY) % {
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
        reason = _(BY_AREA) % {"authority": authority}
    else:
        reason = _(BY_AREA_WITHOUT_RESPONSIBILITY) % {
            "category": category.name, "target": department.name if department else authority, "authority": authority,
        }
    return Decision(authority=authority, department=department, reason=reason)


def _near_border(point: Point, places: list[routing_sql.Place], covering: list[Authority]) -> NearBorder | None:
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
    candidates = [
        place
        for place in places
        if place.authority.pk not in not_neighbours and (place.covers or place.distance is not None)
    ]
    # Covering the point, yet neither here nor a parent: the other side of a border the point lies
    # on, or an overlapping authority. Rare, so their distances (not quite 0 on a sphere) come apart.
    metres_to = routing_sql.distances(point, [place.authority.pk for place in candidates if place.covers])
    # The places are ordered smallest first, as the neighbour is chosen.
    for place in candidates:
        metres = metres_to[place.authority.pk] if place.covers else place.distance
        if metres is not None and metres <= distance:  # (a candidate that does not cover has one)
            return NearBorder(distance_m=metres, candidates=(here, place.authority))
    return None


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
