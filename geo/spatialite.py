"""SpatiaLite housekeeping that Django does not do.

When a migration rebuilds a table (SQLite's way to add or alter most columns), SpatiaLite keeps
the geometry column but disables its spatial index: the R*Tree stays behind, empty and no
longer maintained by triggers. Every index-assisted query (routing, nearby reports, bbox
filters) then silently finds nothing. After each migrate, indexes that were switched off are
rebuilt here.
"""

from __future__ import annotations

from django.db import connections


def repair_spatial_indexes(using: str = "default") -> list[tuple[str, str]]:
    """Re-enable and refill every disabled spatial index; returns the (table, column) pairs repaired."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        return []
    repaired = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT f_table_name, f_geometry_column FROM geometry_columns WHERE spatial_index_enabled = 0")
        for table, column in cursor.fetchall():
            # The stale R*Tree must go first, or SpatiaLite refuses to create the index again.
            cursor.execute(f'DROP TABLE IF EXISTS "idx_{table}_{column}"')
            cursor.execute("SELECT CreateSpatialIndex(%s, %s)", [table, column])
            repaired.append((table, column))
    return repaired


def repair_after_migrate(sender, using: str = "default", **kwargs) -> None:
    repair_spatial_indexes(using)
