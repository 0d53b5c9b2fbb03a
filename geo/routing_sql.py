"""The queries of ``geo.routing.route``, written as SQL: a decision is one statement.

Through the ORM, building these queries took ten times as long as running them (bench/README.md).
The spatial expressions come from ``geo.spatial_sql`` (those the ORM would write, per backend), so
PostGIS and SpatiaLite decide as the ORM did. PostgreSQL plans every query anew, and a join costs
about as much to plan as these queries take to run: authorities and departments are joined once each.
Rows come back as model instances (``Columns``); boundaries are never loaded (a MultiPolygon from
the database costs more than the whole query).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar, cast

from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import connection
from django.db.models import Model

from geo.models import Authority, Category, Department
from geo.spatial_sql import dialect, envelope, geometry_literal

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class Place:
    """An authority whose boundary's bounding box meets the border-check box around the point."""

    authority: Authority
    covers: bool
    # Metres from the point, for those near it that do not cover it; else None.
    distance: float | None


def places(point: Point, category: Category | None) -> tuple[list[Place], Department | None]:
    """The authorities covering the point and those near it, smallest first; and, for a category,
    the department of its best responsibility there (``_best_responsibility_sql``). One query.

    The covering authorities decide, the near ones are the border check's candidates. Each comes
    with its default department.
    """
    spatial = dialect()
    distance = settings.OPENMELDER["BORDER_DISTANCE_M"]
    on_point, point_params = geometry_literal(point)
    if distance > 0:
        box = envelope(point, distance)
        on_box, box_params = geometry_literal(box)
        # The distance costs more than the rest of the query for a large boundary around the point:
        # only for those that do not cover it (of those that do, see geo.routing._near_border).
        near = (
            f"CASE WHEN NOT {spatial.covers('a.boundary', on_point)} AND {spatial.intersects('a.boundary', on_box)} "
            f"THEN {spatial.distance('a.boundary', on_point)} END"
        )
        near_params = [*point_params, *box_params, *point_params]
        frame, frame_params = spatial.frame("geo_authority", "boundary", "a", box, (on_box, box_params))
    else:
        near, near_params = "NULL", []
        frame, frame_params = spatial.frame("geo_authority", "boundary", "a", point, (on_point, point_params))
    found = (
        f"SELECT {AUTHORITY.select()}, {spatial.covers('a.boundary', on_point)} AS covers, {near} AS distance "
        f"FROM geo_authority a WHERE a.active AND {frame}"
    )
    params = [*point_params, *near_params, *frame_params]
    columns = f"{AUTHORITY.select('places')}, {DEPARTMENT.select()}, places.covers, places.distance"
    default_department = "LEFT JOIN geo_department d ON d.id = places.default_department_id"
    if category is None:
        sql = f"WITH places AS ({found}) SELECT {columns} FROM places {default_department}"
    else:
        # The best responsibility, the same on every row.
        best, best_params = _best_responsibility_sql(
            category, point, "SELECT id FROM places WHERE covers", [], on_point=(on_point, point_params)
        )
        params += best_params
        sql = (
            f"WITH places AS ({found}), best AS ({best}) "
            f"SELECT {columns}, best.* FROM places {default_department} LEFT JOIN best ON 1 = 1"
        )
    sql += " ORDER BY places.area_km2, places.ars, places.id"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    result = []
    authority_end = len(AUTHORITY)
    department_end = authority_end + len(DEPARTMENT)
    for row in rows:
        authority = AUTHORITY.instance(row[:authority_end])
        department = None
        if row[authority_end] is not None:
            department = DEPARTMENT.instance(row[authority_end:department_end])
            if department.authority_id == authority.pk:
                department.authority = authority
        authority.default_department = department
        result.append(Place(authority, bool(row[department_end]), row[department_end + 1]))
    responsible = None
    if rows and category is not None and rows[0][department_end + 2] is not None:
        responsible = _department_with_authority(rows[0][department_end + 2 :])
    return result, responsible


def responsible_department(
    category: Category, point: Point, *, covering: Sequence[Authority] = (), authority: Authority | None = None
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


def distances(point: Point, authority_ids: list[int]) -> dict[int, float]:
    """Metres from the point to these authorities' boundaries, as the border check measures them."""
    if not authority_ids:
        return {}
    on_point, point_params = geometry_literal(point)
    sql = (
        f"SELECT a.id, {dialect().distance('a.boundary', on_point)} FROM geo_authority a "
        f"WHERE a.id IN ({', '.join(['%s'] * len(authority_ids))})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*point_params, *authority_ids])
        return dict(cursor.fetchall())


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
    spatial = dialect()
    on_point_sql, point_params = on_point or geometry_literal(point)
    frame, frame_params = spatial.frame("geo_responsibility", "area", "r", point, (on_point_sql, point_params))
    only_owner, only_owner_params = ("AND d.authority_id = %s", [owner.pk]) if owner is not None else ("", [])
    candidates = (
        "SELECT r.id, r.department_id, r.priority, r.area_km2 FROM geo_responsibility r WHERE r.category_id = %s"
    )
    sql = (
        # Named apart: the row may also hold the authorities and departments of the places.
        f"SELECT c.id AS responsibility_id, {DEPARTMENT.select(prefix='responsible_d_')}, "
        f"{AUTHORITY.select(prefix='responsible_a_')} FROM ("
        f"{candidates} AND r.area IS NOT NULL AND {frame} AND {spatial.covers('r.area', on_point_sql)} "
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
    department = DEPARTMENT.instance(values[: len(DEPARTMENT)])
    department.authority = AUTHORITY.instance(values[len(DEPARTMENT) : len(DEPARTMENT) + len(AUTHORITY)])
    return department


class Columns(Generic[M]):
    """A model's columns (but the skipped ones) under a table alias, and instances made from their values.

    Keeps the column lists of the SQL and the conversion of values in step with the models.
    """

    def __init__(self, model: type[M], alias: str, skip: tuple[str, ...] = ()) -> None:
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
            columns = [cast(str, f.column) for f in self.fields]  # concrete fields: never None
            self._selects[key] = ", ".join(
                f"{alias or self.alias}.{quote(column)}" + (f" AS {quote(prefix + column)}" if prefix else "")
                for column in columns
            )
        return self._selects[key]

    def instance(self, values: Sequence) -> M:
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


AUTHORITY = Columns(Authority, "a", skip=("boundary",))
DEPARTMENT = Columns(Department, "d")
