"""Spatial SQL as each database backend needs it: PostGIS and SpatiaLite side by side.

The statements are those Django writes for the lookups ``covers``, ``intersects`` and
``distance_lte`` and for ``Distance()``, so raw SQL (geo.routing_sql) decides as the ORM would.
One difference Django leaves to us: SpatiaLite uses its R*Tree index only when asked explicitly
(``frame``, ``index_candidates``); PostGIS uses its GiST index by itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.contrib.gis.geos import GEOSGeometry, Point, Polygon
from django.db import connection
from django.db.models import Model, Q
from django.db.models.expressions import RawSQL

from geo.models import Authority

# Rows whose bounding box meets a box (xmin, ymin, xmax, ymax), through SpatiaLite's R*Tree.
SPATIAL_INDEX_FRAME = (
    "SELECT ROWID FROM SpatialIndex WHERE f_table_name = %s AND f_geometry_column = %s "
    "AND search_frame = BuildMbr(%s, %s, %s, %s, 4326)"
)


@dataclass(frozen=True)
class Dialect:
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
        """Metres on the sphere."""
        return self.distance_sql.format(column, geometry)

    def frame(
        self, table: str, column: str, alias: str, geometry: GEOSGeometry, literal: tuple[str, list]
    ) -> tuple[str, list]:
        """A condition on ``alias``'s rows: their bounding box meets ``geometry``'s.

        ``literal``: the geometry's placeholder and parameters (``geometry_literal``).
        """
        if self.frame_by_extent:
            return self.frame_sql.format(alias=alias), [table, column, *geometry.extent]
        placeholder, params = literal
        return self.frame_sql.format(alias=alias, column=column, geometry=placeholder), params


DIALECTS = {
    "postgresql": Dialect(
        covers_sql="ST_Covers({}, {})",
        intersects_sql="ST_Intersects({}, {})",
        distance_sql="ST_DistanceSphere({}, {})",
        frame_sql="{alias}.{column} && {geometry}",
        frame_by_extent=False,
    ),
    "sqlite": Dialect(
        covers_sql="Covers({}, {}) > 0",
        intersects_sql="Intersects({}, {}) > 0",
        distance_sql="COALESCE(Distance({}, {}, 0), 0)",
        frame_sql="{alias}.id IN (" + SPATIAL_INDEX_FRAME + ")",
        frame_by_extent=True,
    ),
}


def dialect() -> Dialect:
    """The dialect of the default database."""
    return DIALECTS[connection.vendor]


def geometry_literal(geometry: GEOSGeometry) -> tuple[str, list]:
    """A placeholder and its parameter for a geometry literal (SRID 4326), as the ORM passes one."""
    # Any geometry field of SRID 4326 converts alike.
    field = Authority._meta.get_field("boundary")
    placeholder = connection.ops.get_geom_placeholder(field, geometry, None)  # type: ignore[attr-defined]  # spatial ops
    return placeholder, [field.get_db_prep_value(geometry, connection)]


def index_candidates(model: type[Model], column: str, geometry: GEOSGeometry) -> Q:
    """A filter to rows whose bounding box meets the geometry's, through the spatial index.

    PostGIS uses its GiST index for spatial lookups by itself. SpatiaLite never does (Django
    does not ask it to): there the R*Tree index is queried explicitly.
    """
    if connection.vendor != "sqlite":
        return Q()
    xmin, ymin, xmax, ymax = geometry.extent
    frame = RawSQL(SPATIAL_INDEX_FRAME, (model._meta.db_table, column, xmin, ymin, xmax, ymax))
    return Q(pk__in=frame)


def envelope(point: Point, metres: float) -> Polygon:
    """A box around the point at least ``metres`` wide on each side, for an index-friendly prefilter."""
    dlat = metres / 111_000 * 1.01
    dlon = dlat / max(math.cos(math.radians(point.y)), 0.01)
    box = Polygon.from_bbox((point.x - dlon, point.y - dlat, point.x + dlon, point.y + dlat))
    box.srid = 4326
    return box
