"""The public map's cluster counts (reports.MapCell), kept exact by database triggers.

Counting a million reports per map request takes seconds; reading a few thousand pre-counted
cells takes milliseconds. Triggers (PL/pgSQL on PostGIS, SQL triggers on SpatiaLite, same
arithmetic: ST_SnapToGrid) add a report to its cell at every cluster zoom level when it becomes
visible and take it out of the old cell when its location, category, status or moderation
changes or it is deleted. Every writer — services, the admin, a bulk ``update()`` — is covered.

SQLite drops a table's triggers when a migration rebuilds the table, so they are installed again
after every ``migrate`` (post_migrate), as geo.spatialite does for spatial indexes.
"""

from __future__ import annotations

from django.db import connections

# Below this zoom the map shows clusters; from it on single reports.
POINTS_FROM_ZOOM = 14
CLUSTER_ZOOMS = range(POINTS_FROM_ZOOM)
# Cluster cells are a quarter of a 256 px map tile: about 64 px on screen at every zoom.
CELLS_PER_TILE = 4
# Moderation states whose reports are on the public map (see reports.publicdata).
VISIBLE = ("published", "pending")


def cell_size(zoom: int) -> float:
    """Grid cell size in degrees at a zoom level (a power-of-two fraction of 90°, exact in floating point)."""
    return 360.0 / (2**zoom) / CELLS_PER_TILE


def _visible_sql(row: str) -> str:
    return f"{row}.moderation IN ({', '.join(repr(m) for m in VISIBLE)})"


def _add_sql(zoom: int, row: str = "NEW") -> str:
    size = repr(cell_size(zoom))
    return (
        "INSERT INTO reports_mapcell (zoom, cell_lon, cell_lat, category_id, status, count, sum_lon, sum_lat) "
        f"SELECT {zoom}, ST_X(ST_SnapToGrid({row}.location, {size})), ST_Y(ST_SnapToGrid({row}.location, {size})), "
        f"{row}.category_id, {row}.status, 1, ST_X({row}.location), ST_Y({row}.location) WHERE {_visible_sql(row)} "
        "ON CONFLICT (zoom, cell_lon, cell_lat, category_id, status) DO UPDATE SET "
        "count = reports_mapcell.count + 1, sum_lon = reports_mapcell.sum_lon + excluded.sum_lon, "
        "sum_lat = reports_mapcell.sum_lat + excluded.sum_lat"
    )


def _remove_sql(zoom: int, row: str = "OLD") -> str:
    size = repr(cell_size(zoom))
    return (
        f"UPDATE reports_mapcell SET count = count - 1, sum_lon = sum_lon - ST_X({row}.location), "
        f"sum_lat = sum_lat - ST_Y({row}.location) "
        f"WHERE zoom = {zoom} AND cell_lon = ST_X(ST_SnapToGrid({row}.location, {size})) "
        f"AND cell_lat = ST_Y(ST_SnapToGrid({row}.location, {size})) "
        f"AND category_id = {row}.category_id AND status = {row}.status AND {_visible_sql(row)}"
    )


_TRACKED = "location, category_id, status, moderation"


def _postgres_sql() -> list[str]:
    remove = ";\n".join(_remove_sql(z) for z in CLUSTER_ZOOMS)
    add = ";\n".join(_add_sql(z) for z in CLUSTER_ZOOMS)
    return [
        f"""CREATE OR REPLACE FUNCTION reports_mapcell_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        {remove};
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        {add};
    END IF;
    RETURN NULL;
END $$""",
        "DROP TRIGGER IF EXISTS reports_mapcell_track ON reports_report",
        f"CREATE TRIGGER reports_mapcell_track AFTER INSERT OR DELETE OR UPDATE OF {_TRACKED} ON reports_report "
        "FOR EACH ROW EXECUTE FUNCTION reports_mapcell_track()",
    ]


def _sqlite_sql() -> list[str]:
    remove = "".join(_remove_sql(z) + ";\n" for z in CLUSTER_ZOOMS)
    add = "".join(_add_sql(z) + ";\n" for z in CLUSTER_ZOOMS)
    return [
        f"CREATE TRIGGER IF NOT EXISTS reports_mapcell_insert AFTER INSERT ON reports_report BEGIN\n{add}END",
        f"CREATE TRIGGER IF NOT EXISTS reports_mapcell_delete AFTER DELETE ON reports_report BEGIN\n{remove}END",
        f"CREATE TRIGGER IF NOT EXISTS reports_mapcell_update AFTER UPDATE OF {_TRACKED} ON reports_report "
        f"BEGIN\n{remove}{add}END",
    ]


def install_triggers(using: str = "default") -> None:
    connection = connections[using]
    if "reports_mapcell" not in connection.introspection.table_names():
        return  # migrated back before the table existed
    statements = _postgres_sql() if connection.vendor == "postgresql" else _sqlite_sql()
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def drop_triggers(using: str = "default") -> None:
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP TRIGGER IF EXISTS reports_mapcell_track ON reports_report")
            cursor.execute("DROP FUNCTION IF EXISTS reports_mapcell_track()")
        else:
            for name in ("insert", "delete", "update"):
                cursor.execute(f"DROP TRIGGER IF EXISTS reports_mapcell_{name}")


def rebuild(using: str = "default") -> None:
    """Count every cell anew from the reports (after a bulk load with the triggers off)."""
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM reports_mapcell")
        for zoom in CLUSTER_ZOOMS:
            size = repr(cell_size(zoom))
            cursor.execute(
                "INSERT INTO reports_mapcell (zoom, cell_lon, cell_lat, category_id, status, count, sum_lon, sum_lat) "
                f"SELECT {zoom}, ST_X(ST_SnapToGrid(location, {size})), ST_Y(ST_SnapToGrid(location, {size})), "
                "category_id, status, COUNT(*), SUM(ST_X(location)), SUM(ST_Y(location)) "
                f"FROM reports_report r WHERE {_visible_sql('r')} "
                f"GROUP BY ST_X(ST_SnapToGrid(location, {size})), ST_Y(ST_SnapToGrid(location, {size})), "
                "category_id, status"
            )


def install_after_migrate(sender, using: str = "default", **kwargs) -> None:
    install_triggers(using)
