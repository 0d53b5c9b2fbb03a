"""Which authority and department receive a report of a category at a point.

``route`` is pure and deterministic and reads only data (roads, responsibilities, boundaries):
0. road categories: a point near a road with an owner (Baulastträger) goes to that owner;
1. responsibilities for the category whose area covers the point → highest priority, then the
   smallest area (the most specific) wins;
2. none → the smallest authority covering the point that has a default department;
3. no authority → ``OutsideServiceArea``, naming the nearest authority.
Near a border between two authorities the decision says so and names both (``near_border``).

A decision is one SQL statement (``_places``; road categories add the road query): through the
ORM, building the queries took ten times as long as running them. The SQL uses the spatial
functions and orderings the ORM would, so PostGIS and SpatiaLite decide as the ORM did.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import Point, Polygon
from django.contrib.gis.measure import D
from django.db import connection
from django.db.models import Model, Q
from django.db.models.expressions import RawSQL
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import override

from geo.models import Authority, AuthorityKind, Category, Department, Road


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
        by_road = category is not None and category.is_road_category
        # A road's owner may differ from the authorities here: for road categories the responsibility
        # is looked up once the road is known.
        places, responsible = _places(point, None if by_road else category)
        covering = [place.authority for place in places if place.covers]
        if not covering:
            raise OutsideServiceArea(point, *_nearest_authority(point))
        decision = None
        if by_road:
            decision = _by_road(category, point)
            if decision is None:
                responsible = _responsible_department(category, point, covering=covering)
        if decision is None and responsible is not None:
            decision = _by_responsibility(category, responsible)
        if decision is None:
            decision = _by_area(category, covering)
        near_border = _near_border(point, places, covering)
        if near_border is None:
            return decision
        return Decision(decision.authority, decision.department, decision.reason, near_border, decision.road)


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
    department = _responsible_department(category, point, authority=owner) or owner.default_department
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


def _by_responsibility(category: Category, department: Department) -> Decision:
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


def _responsible_department(
    category: Category, point: Point, *, covering: list[Authority] = (), authority: Authority | None = None
) -> Department | None:
    """The department of the best responsibility for ``category`` at ``point``, with its authority.

    Among the responsibilities of the authorities covering the point or, for a road, of its owner
    (see ``_best_responsibility_sql``).
    """
    owner_ids = [authority.pk] if authority is not None else [a.pk for a in covering]
    owners = ", ".join(["%s"] * len(owner_ids))
    sql, params = _best_responsibility_sql(category, point, owners, owner_ids, owner=authority)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return _department_with_authority(row) if row is not None else None


def _best_responsibility_sql(
    category: Category,
    point: Point,
    owners: str,
    owner_params: list,
    *,
    owner: Authority | None = None,
    on_point: tuple[str, list] | None = None,
) -> tuple[str, list]:
    """SQL for the best responsibility's id, then its department's and authority's columns.

    The best: the highest priority, then the smallest area, the responsibility's own or else its
    authority's. Candidates: those with an area of their own that covers the point, and those
    without one (the authority's boundary applies) of the authorities ``owners`` lists (SQL for
    ``IN (…)``): those covering the point, whose point-in-polygon test is done already. For a road's
    ``owner`` only its own count (an owner without a boundary, the Autobahn GmbH, covers its roads).
    As one OR over both kinds of area the planner joins every department and authority; as a UNION
    ALL each part uses an index (bench/README.md). Departments and authorities are joined once, to
    the few candidates: each join costs PostgreSQL about as much to plan as the query takes to run.
    """
    dialect = _dialect()
    on_point, point_params = on_point or _geometry(point)
    frame, frame_params = dialect.frame("geo_responsibility", "area", "r", point, (on_point, point_params))
    only_owner, only_owner_params = ("AND d.authority_id = %s", [owner.pk]) if owner is not None else ("", [])
    candidates = (
        "SELECT r.id, r.department_id, r.priority, r.area_km2 FROM geo_responsibility r WHERE r.category_id = %s"
    )
    sql = (
        # Named apart: the row may also hold the authorities and departments of the places.
        f"SELECT c.id AS responsibility_id, {_DEPARTMENT.select(prefix='responsible_d_')}, "
        f"{_AUTHORITY.select(prefix='responsible_a_')} FROM ("
        f"{candidates} AND r.area IS NOT NULL AND {frame} AND {dialect.covers('r.area', on_point)} "
        "UNION ALL "
        f"{candidates} AND r.area IS NULL "
        f"AND r.department_id IN (SELECT id FROM geo_department WHERE authority_id IN ({owners}))"
        ") c JOIN geo_department d ON d.id = c.department_id JOIN geo_authority a ON a.id = d.authority_id "
        f"WHERE d.active AND a.active {only_owner} "
        "ORDER BY c.priority DESC, COALESCE(c.area_km2, a.area_km2), c.id LIMIT 1"
    )
    params = [category.pk, *frame_params, *point_params, category.pk, *owner_params, *only_owner_params]
    return sql, params


def _department_with_authority(values: Sequence) -> Department:
    """The department and its authority from a row of ``_best_responsibility_sql``."""
    values = values[1:]
    department = _DEPARTMENT.instance(values[: len(_DEPARTMENT)])
    department.authority = _AUTHORITY.instance(values[len(_DEPARTMENT) : len(_DEPARTMENT) + len(_AUTHORITY)])
    return department


@dataclass(frozen=True)
class _Place:
    """An authority whose boundary's bounding box meets the border-check box around the point."""

    authority: Authority
    covers: bool
    # Metres from the point, for those near it that do not cover it; else None.
    distance: float | None


def _places(point: Point, category: Category | None) -> tuple[list[_Place], Department | None]:
    """The authorities covering the point and those near it, smallest first; and, for a category,
    the department of its best responsibility there. One query, one round trip.

    The covering authorities decide (steps 1 and 2), the near ones are the border check's
    candidates. Each comes with its default department; its boundary is not loaded (a MultiPolygon
    from the database costs more than the whole query). The spatial expressions are those Django
    writes for the lookups ``covers``, ``intersects`` and ``distance_lte`` and for ``Distance()``:
    the same decisions as through the ORM, in a fraction of the time (bench/README.md). PostgreSQL
    plans every query anew, and a join costs about as much to plan as this query takes to run: the
    authorities and departments are joined once each.
    """
    dialect = _dialect()
    distance = settings.OPENMELDER["BORDER_DISTANCE_M"]
    on_point, point_params = _geometry(point)
    if distance > 0:
        box = envelope(point, distance)
        on_box, box_params = _geometry(box)
        # The distance costs more than the rest of the query for a large boundary around the point:
        # only for those that do not cover it (of those that do, see _near_border).
        near = (
            f"CASE WHEN NOT {dialect.covers('a.boundary', on_point)} AND {dialect.intersects('a.boundary', on_box)} "
            f"THEN {dialect.distance('a.boundary', on_point)} END"
        )
        near_params = [*point_params, *box_params, *point_params]
    else:
        box, near, near_params = point, "NULL", []
    frame, frame_params = dialect.frame(
        "geo_authority", "boundary", "a", box, (on_box, box_params) if distance > 0 else (on_point, point_params)
    )
    places = (
        f"SELECT {_AUTHORITY.select()}, {dialect.covers('a.boundary', on_point)} AS covers, {near} AS distance "
        f"FROM geo_authority a WHERE a.active AND {frame}"
    )
    params = [*point_params, *near_params, *frame_params]
    columns = f"{_AUTHORITY.select('places')}, {_DEPARTMENT.select()}, places.covers, places.distance"
    default_department = "LEFT JOIN geo_department d ON d.id = places.default_department_id"
    if category is None:
        sql = f"WITH places AS ({places}) SELECT {columns} FROM places {default_department}"
    else:
        # The best responsibility, the same on every row.
        best, best_params = _best_responsibility_sql(
            category, point, "SELECT id FROM places WHERE covers", [], on_point=(on_point, point_params)
        )
        params += best_params
        sql = (
            f"WITH places AS ({places}), best AS ({best}) "
            f"SELECT {columns}, best.* FROM places {default_department} LEFT JOIN best ON 1 = 1"
        )
    sql += " ORDER BY places.area_km2, places.ars, places.id"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    result = []
    authority_end = len(_AUTHORITY)
    department_end = authority_end + len(_DEPARTMENT)
    for row in rows:
        authority = _AUTHORITY.instance(row[:authority_end])
        default_department = None
        if row[authority_end] is not None:
            default_department = _DEPARTMENT.instance(row[authority_end:department_end])
            if default_department.authority_id == authority.pk:
                default_department.authority = authority
        authority.default_department = default_department
        result.append(_Place(authority, bool(row[department_end]), row[department_end + 1]))
    responsible = None
    if rows and category is not None and rows[0][department_end + 2] is not None:
        responsible = _department_with_authority(rows[0][department_end + 2 :])
    return result, responsible


def _near_border(point: Point, places: list[_Place], covering: list[Authority]) -> NearBorder | None:
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
    distances = _distances(point, [place.authority.pk for place in candidates if place.covers])
    # The places are ordered smallest first, as the neighbour is chosen.
    for place in candidates:
        metres = distances[place.authority.pk] if place.covers else place.distance
        if metres <= distance:
            return NearBorder(distance_m=metres, candidates=(here, place.authority))
    return None


def _distances(point: Point, authority_ids: list[int]) -> dict[int, float]:
    """Metres from the point to these authorities' boundaries, as the border check measures them."""
    if not authority_ids:
        return {}
    on_point, point_params = _geometry(point)
    sql = (
        f"SELECT a.id, {_dialect().distance('a.boundary', on_point)} FROM geo_authority a "
        f"WHERE a.id IN ({', '.join(['%s'] * len(authority_ids))})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*point_params, *authority_ids])
        return dict(cursor.fetchall())


class _Columns:
    """A model's columns (but the geometry) under a table alias, and instances made from their values.

    route()'s queries are written as SQL (building them through the ORM took ten times as long as
    running them); this keeps their column lists and the conversion of values in step with the models.
    """

    def __init__(self, model: type[Model], alias: str, skip: tuple[str, ...] = ()) -> None:
        self.model = model
        self.alias = alias
        self.fields = [f for f in model._meta.concrete_fields if f.name not in skip]
        self.attnames = {f.attname for f in self.fields}
        self._converters: dict[str, list] = {}
        self._selects: dict[tuple, str] = {}

    def __len__(self) -> int:
        return len(self.fields)

    def select(self, alias: str | None = None, prefix: str = "") -> str:
        """The columns, or with ``prefix`` the columns renamed (``d.name AS responsible_d_name``)."""
        key = (connection.vendor, alias, prefix)
        if key not in self._selects:
            quote = connection.ops.quote_name
            self._selects[key] = ", ".join(
                f"{alias or self.alias}.{quote(f.column)}" + (f" AS {quote(prefix + f.column)}" if prefix else "")
                for f in self.fields
            )
        return self._selects[key]

    def instance(self, values: Sequence) -> Model:
        values = list(values)
        for n, functions, column in self._converters_for_connection():
            for function in functions:
                values[n] = function(values[n], column, connection)
        return self.model.from_db(connection.alias, self.attnames, values)

    def _converters_for_connection(self) -> list:
        # As the ORM converts values (e.g. SQLite's text timestamps), once per database backend.
        converters = self._converters.get(connection.vendor)
        if converters is None:
            converters = []
            for n, field in enumerate(self.fields):
                column = field.get_col(self.alias)
                functions = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
                if functions:
                    converters.append((n, functions, column))
            self._converters[connection.vendor] = converters
        return converters


_AUTHORITY = _Columns(Authority, "a", skip=("boundary",))
_DEPARTMENT = _Columns(Department, "d")



@dataclass(frozen=True)
class _Dialect:
    """The spatial SQL of a backend, as Django writes it for the same lookups."""

    covers_sql: str
    intersects_sql: str
    distance_sql: str
    # Rows of the table whose bounding box meets the geometry's: {alias}, then parameters (table, column, extent).
    frame_sql: str
    frame_by_extent: bool

    def covers(self, column: str, geometry: str) -> str:
        return self.covers_sql.format(column, geometry)

    def intersects(self, column: str, geometry: str) -> str:
        return self.intersects_sql.format(column, geometry)

    def distance(self, column: str, geometry: str) -> str:
        return self.distance_sql.format(column, geometry)

    def frame(self, table: str, column: str, alias: str, geometry, literal: tuple[str, list]) -> tuple[str, list]:
        """``literal``: the geometry's placeholder and parameters (``_geometry``)."""
        if self.frame_by_extent:
            return self.frame_sql.format(alias=alias), [table, column, *geometry.extent]
        placeholder, params = literal
        return self.frame_sql.format(alias=alias, column=column, geometry=placeholder), params


_SPATIAL_INDEX_FRAME = (
    "SELECT ROWID FROM SpatialIndex WHERE f_table_name = %s AND f_geometry_column = %s "
    "AND search_frame = BuildMbr(%s, %s, %s, %s, 4326)"
)

_DIALECTS = {
    "postgresql": _Dialect(
        covers_sql="ST_Covers({}, {})",
        intersects_sql="ST_Intersects({}, {})",
        distance_sql="ST_DistanceSphere({}, {})",
        frame_sql="{alias}.{column} && {geometry}",
        frame_by_extent=False,
    ),
    # SpatiaLite uses its R*Tree only when asked like this (Django never does).
    "sqlite": _Dialect(
        covers_sql="Covers({}, {}) > 0",
        intersects_sql="Intersects({}, {}) > 0",
        distance_sql="COALESCE(Distance({}, {}, 0), 0)",
        frame_sql="{alias}.id IN (" + _SPATIAL_INDEX_FRAME + ")",
        frame_by_extent=True,
    ),
}


def _dialect() -> _Dialect:
    return _DIALECTS[connection.vendor]


def _geometry(geometry) -> tuple[str, list]:
    """A placeholder and its parameter for a geometry literal, as the ORM passes one."""
    field = Authority._meta.get_field("boundary")
    return connection.ops.get_geom_placeholder(field, geometry, None), [field.get_db_prep_value(geometry, connection)]


def index_candidates(model, column: str, geometry) -> Q:
    """A filter to rows whose bounding box meets the geometry's, through the spatial index.

    PostGIS uses its GiST index for spatial lookups by itself. SpatiaLite never does (Django
    does not ask it to): there the R*Tree index is queried explicitly.
    """
    if connection.vendor != "sqlite":
        return Q()
    xmin, ymin, xmax, ymax = geometry.extent
    frame = RawSQL(_SPATIAL_INDEX_FRAME, (model._meta.db_table, column, xmin, ymin, xmax, ymax))
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
