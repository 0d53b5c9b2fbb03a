"""Routing benchmark: decisions per second and latency of ``geo.routing.route`` with 10,000 polygons,
next to hand-written SQL for the same points.

    python -m bench.routing [--points N] [--warmup N] [--budget SECONDS] [--seed S] [--no-explain]

Run it through ``make bench`` (``scripts/bench.sh``), which provides a throw-away database. The data
is generated reproducibly (seeded) into the configured database unless it is already there:

- 10,000 municipalities: a 100 × 100 grid of irregular polygons (16–48 vertices, jittered corners,
  zig-zag borders shared exactly with the neighbours) covering lon 6–15, lat 47.5–55, each with a
  Bauhof as default department;
- 100 counties (10 × 10 municipalities each, their union) over them, each with a Straßenmeisterei;
  every point is covered by a municipality and its county, as in reality;
- category ``bench-schlagloch`` without responsibilities: routing falls through to the smallest
  covering authority (step 2);
- category ``bench-schlagloch-zustaendig`` with 400 responsibilities (step 1): every county's
  Straßenmeisterei (its boundary), 200 municipalities' Bauhöfe (their boundary, overriding the
  county), and per county one explicit area of higher priority.

It prints figures and exits 0 whatever they are; only errors (e.g. a decision that differs from
the raw SQL's) are reported as such, in the output.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import platform
import random
import re
import sys
import time
from dataclasses import dataclass

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
django.setup()

from django.contrib.gis.geos import MultiPolygon, Point, Polygon  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from bench.results import record  # noqa: E402
from geo.models import Authority, AuthorityKind, Category, Department, Responsibility, boundary_area_km2  # noqa: E402
from geo.routing import OutsideServiceArea, route  # noqa: E402

# --- the generated area -------------------------------------------------------------------------
LON0, LON1, LAT0, LAT1 = 6.0, 15.0, 47.5, 55.0
GRID = 100  # municipalities per side: 10,000
BLOCK = 10  # municipalities per county side: 100 counties
COUNTIES = (GRID // BLOCK) ** 2
MUNICIPALITIES = GRID * GRID
AREA_RESPONSIBILITIES = COUNTIES  # one explicit area per county
MUNICIPAL_RESPONSIBILITIES = 200
RESPONSIBILITIES = COUNTIES + MUNICIPAL_RESPONSIBILITIES + AREA_RESPONSIBILITIES
# Land "99" does not exist: the generated keys cannot collide with imported ones.
LAND = "99"
PLAIN_CATEGORY = "bench-schlagloch"
CONFIGURED_CATEGORY = "bench-schlagloch-zustaendig"
P99_TARGET_MS = 2.0


def _municipality_slug(n: int) -> str:
    return f"bench-g-{n:05d}"


def _county_slug(n: int) -> str:
    return f"bench-k-{n:03d}"


# --- generation ---------------------------------------------------------------------------------


def _grid_polygons(rng: random.Random) -> dict[tuple[int, int], Polygon]:
    """Cell (i, j) → an irregular polygon; neighbours share their border points exactly (no gaps, no overlaps)."""
    dx = (LON1 - LON0) / GRID
    dy = (LAT1 - LAT0) / GRID
    corners = {}
    for i in range(GRID + 1):
        for j in range(GRID + 1):
            x = LON0 + i * dx
            y = LAT0 + j * dy
            # Corners on the outer border move only along it, so the whole grid stays a rectangle.
            if 0 < i < GRID:
                x += rng.uniform(-0.15, 0.15) * dx
            if 0 < j < GRID:
                y += rng.uniform(-0.15, 0.15) * dy
            corners[i, j] = (round(x, 6), round(y, 6))

    def border(a, b, outer: bool) -> list[tuple[float, float]]:
        # 3–11 points between two corners, one per stratum (so they are well apart), pushed off the
        # chord by at most 0.3 × the distance to the nearer corner: the zig-zag stays inside a
        # ±17° wedge at each corner, so no two borders of a cell can cross.
        k = rng.randint(3, 11)
        (ax, ay), (bx, by) = a, b
        cx, cy = bx - ax, by - ay
        points = []
        for m in range(k):
            t = 0.05 + (m + rng.uniform(0.15, 0.85)) * 0.9 / k
            s = 0.0 if outer else rng.uniform(-0.3, 0.3) * min(t, 1 - t)
            points.append((round(ax + t * cx - s * cy, 6), round(ay + t * cy + s * cx, 6)))
        return points

    horizontal = {
        (i, j): border(corners[i, j], corners[i + 1, j], j in (0, GRID)) for j in range(GRID + 1) for i in range(GRID)
    }
    vertical = {
        (i, j): border(corners[i, j], corners[i, j + 1], i in (0, GRID)) for i in range(GRID + 1) for j in range(GRID)
    }
    polygons = {}
    for i in range(GRID):
        for j in range(GRID):
            ring = [
                corners[i, j],
                *horizontal[i, j],
                corners[i + 1, j],
                *vertical[i + 1, j],
                corners[i + 1, j + 1],
                *reversed(horizontal[i, j + 1]),
                corners[i, j + 1],
                *reversed(vertical[i, j]),
                corners[i, j],
            ]
            polygons[i, j] = Polygon(ring, srid=4326)
    return polygons


def _area_polygon(rng: random.Random, centre: Point, rx: float, ry: float) -> Polygon:
    """A jittered 12-gon around centre, e.g. an Ortsdurchfahrt or an industrial estate."""
    ring = []
    for m in range(12):
        angle = 2 * math.pi * m / 12
        f = rng.uniform(0.7, 1.0)
        ring.append((round(centre.x + f * rx * math.cos(angle), 6), round(centre.y + f * ry * math.sin(angle), 6)))
    ring.append(ring[0])
    return Polygon(ring, srid=4326)


def _multi(polygon: Polygon) -> MultiPolygon:
    return MultiPolygon(polygon, srid=4326)


def present() -> bool:
    municipalities = Authority.objects.filter(slug__startswith="bench-g-").count()
    counties = Authority.objects.filter(slug__startswith="bench-k-").count()
    responsibilities = Responsibility.objects.filter(category__slug=CONFIGURED_CATEGORY).count()
    complete = (municipalities, counties, responsibilities) == (MUNICIPALITIES, COUNTIES, RESPONSIBILITIES)
    if not complete and (municipalities or counties or responsibilities):
        sys.exit(
            f"bench.routing: the database holds an incomplete or different benchmark data set "
            f"({municipalities} municipalities, {counties} counties, {responsibilities} responsibilities); "
            "use a fresh database (make bench does)."
        )
    return complete


@transaction.atomic
def generate(seed: int) -> None:
    rng = random.Random(seed)
    polygons = _grid_polygons(rng)
    invalid = [cell for cell, polygon in polygons.items() if not polygon.valid]
    if invalid:
        raise SystemExit(f"bench.routing: generated {len(invalid)} invalid polygons, e.g. cell {invalid[0]}")

    def county_of(i: int, j: int) -> int:
        return (i // BLOCK) * (GRID // BLOCK) + j // BLOCK

    counties = []
    for c in range(COUNTIES):
        ci, cj = divmod(c, GRID // BLOCK)
        block_i, block_j = range(ci * BLOCK, (ci + 1) * BLOCK), range(cj * BLOCK, (cj + 1) * BLOCK)
        cells = [polygons[i, j] for i in block_i for j in block_j]
        union = MultiPolygon(cells, srid=4326).unary_union
        if union.geom_type != "Polygon":
            raise SystemExit(f"bench.routing: county {c} is a {union.geom_type}, not one polygon")
        boundary = _multi(union)
        counties.append(
            Authority(
                name=f"Benchkreis {c:03d}",
                slug=_county_slug(c),
                kind=AuthorityKind.COUNTY,
                designation="Landkreis",
                ars=f"{LAND}{c:03d}",
                boundary=boundary,
                area_km2=boundary_area_km2(boundary),
            )
        )
    counties = Authority.objects.bulk_create(counties, batch_size=100)

    municipalities = []
    for i in range(GRID):
        for j in range(GRID):
            n = i * GRID + j
            c = county_of(i, j)
            m = (i % BLOCK) * BLOCK + j % BLOCK
            boundary = _multi(polygons[i, j])
            municipalities.append(
                Authority(
                    name=f"Benchdorf {n:05d}",
                    slug=_municipality_slug(n),
                    kind=AuthorityKind.MUNICIPALITY,
                    designation="Gemeinde",
                    # ARS: Land (2) + Regierungsbezirk and Kreis (3) + Verband (4) + Gemeinde (3).
                    ars=f"{LAND}{c:03d}0000{m:03d}",
                    ags=f"{LAND}{c:03d}{m:03d}",
                    parent=counties[c],
                    boundary=boundary,
                    area_km2=boundary_area_km2(boundary),
                )
            )
    municipalities = Authority.objects.bulk_create(municipalities, batch_size=500)

    road_offices = Department.objects.bulk_create(
        [
            Department(authority=county, name=f"Straßenmeisterei {county.name}", slug=f"bench-sm-{c:03d}")
            for c, county in enumerate(counties)
        ],
        batch_size=500,
    )
    depots = Department.objects.bulk_create(
        [
            Department(authority=municipality, name=f"Bauhof {municipality.name}", slug=f"bench-bauhof-{n:05d}")
            for n, municipality in enumerate(municipalities)
        ],
        batch_size=500,
    )
    for authority, department in zip([*counties, *municipalities], [*road_offices, *depots], strict=True):
        authority.default_department = department
    Authority.objects.bulk_update([*counties, *municipalities], ["default_department"], batch_size=500)

    Category.objects.create(
        slug=PLAIN_CATEGORY, name_de="Schlagloch (Benchmark)", name_en="Pothole (benchmark)", sort_order=900
    )
    configured = Category.objects.create(
        slug=CONFIGURED_CATEGORY,
        name_de="Schlagloch, zuständig konfiguriert (Benchmark)",
        name_en="Pothole, with responsibilities (benchmark)",
        sort_order=901,
    )
    responsibilities = [Responsibility(department=office, category=configured) for office in road_offices]
    responsibilities += [
        Responsibility(department=depots[n], category=configured)
        for n in sorted(rng.sample(range(MUNICIPALITIES), MUNICIPAL_RESPONSIBILITIES))
    ]
    dx = (LON1 - LON0) / GRID
    dy = (LAT1 - LAT0) / GRID
    for c, office in enumerate(road_offices):
        ci, cj = divmod(c, GRID // BLOCK)
        i = ci * BLOCK + rng.randrange(1, BLOCK - 1)
        j = cj * BLOCK + rng.randrange(1, BLOCK - 1)
        area = _multi(_area_polygon(rng, polygons[i, j].centroid, 1.2 * dx, 1.2 * dy))
        responsibilities.append(
            Responsibility(
                department=office, category=configured, area=area, area_km2=boundary_area_km2(area), priority=1
            )
        )
    Responsibility.objects.bulk_create(responsibilities, batch_size=500)


# --- the raw SQL baseline -----------------------------------------------------------------------


@dataclass
class RawSQL:
    """Hand-written SQL for the same decision; parameters %(x)s, %(y)s (WGS84) and %(category)s."""

    smallest_authority: str  # step 2: the smallest authority covering the point
    best_responsibility: str  # step 1, index-friendly: own areas UNION ALL the covering authorities' ones
    best_responsibility_orm_shape: str  # step 1 as route()'s ORM query has it: one OR over both kinds of area


def raw_sql() -> RawSQL:
    postgis = connection.vendor == "postgresql"
    point = "ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), 4326)" if postgis else "MakePoint(%(x)s, %(y)s, 4326)"

    def covers(column: str, *, index: tuple[str, str, str] | None = None) -> str:
        if postgis:
            return f"ST_Covers({column}, {point})"  # ST_Covers uses the GiST index by itself
        test = f"Covers({column}, {point}) > 0"  # as Django writes it
        if index is None:
            return test
        # SpatiaLite uses its R*Tree only when asked to, through the SpatialIndex virtual table.
        alias, table, geometry = index
        return (
            f"{test} AND {alias}.ROWID IN (SELECT ROWID FROM SpatialIndex WHERE f_table_name = '{table}'"
            f" AND f_geometry_column = '{geometry}' AND search_frame = {point})"
        )

    joins = " JOIN geo_department d ON d.id = r.department_id JOIN geo_authority a ON a.id = d.authority_id"
    order = " ORDER BY r.priority DESC, COALESCE(r.area_km2, a.area_km2), r.id LIMIT 1"
    return RawSQL(
        smallest_authority=(
            "SELECT id, default_department_id FROM geo_authority"
            f" WHERE active AND {covers('boundary', index=('geo_authority', 'geo_authority', 'boundary'))}"
            " ORDER BY area_km2, ars, id LIMIT 1"
        ),
        best_responsibility=(
            "SELECT authority_id, department_id, own_area FROM ("
            " SELECT d.authority_id, r.department_id, 1 AS own_area, r.priority,"
            " COALESCE(r.area_km2, a.area_km2) AS effective_area, r.id"
            f" FROM geo_responsibility r{joins}"
            " WHERE r.category_id = %(category)s AND d.active AND a.active AND r.area IS NOT NULL"
            f" AND {covers('r.area', index=('r', 'geo_responsibility', 'area'))}"
            " UNION ALL"
            " SELECT d.authority_id, r.department_id, 0, r.priority, COALESCE(r.area_km2, a.area_km2), r.id"
            " FROM geo_authority a JOIN geo_department d ON d.authority_id = a.id"
            " JOIN geo_responsibility r ON r.department_id = d.id"
            f" WHERE a.active AND {covers('a.boundary', index=('a', 'geo_authority', 'boundary'))}"
            " AND d.active AND r.category_id = %(category)s AND r.area IS NULL"
            ") candidates ORDER BY priority DESC, effective_area, id LIMIT 1"
        ),
        best_responsibility_orm_shape=(
            f"SELECT d.authority_id, r.department_id, r.area IS NOT NULL FROM geo_responsibility r{joins}"
            " WHERE r.category_id = %(category)s AND d.active AND a.active"
            f" AND ((r.area IS NOT NULL AND {covers('r.area')}) OR (r.area IS NULL AND {covers('a.boundary')}))"
            f"{order}"
        ),
    )


# --- measuring ----------------------------------------------------------------------------------


@dataclass
class Run:
    latencies_ns: list[int]
    wall_ns: int
    results: list
    queries: float  # per decision, counted on a sample
    planned: int  # points offered; fewer are timed when the time budget ran out

    @property
    def count(self) -> int:
        return len(self.latencies_ns)

    @property
    def per_second(self) -> float:
        return self.count / (self.wall_ns / 1e9)

    def percentile_ms(self, p: float) -> float:
        ordered = sorted(self.latencies_ns)
        rank = max(1, math.ceil(p / 100 * len(ordered)))  # nearest rank
        return ordered[rank - 1] / 1e6


def measure(decide, points: list[Point], warmup: list[Point], budget_s: float) -> Run:
    """Warm up, count queries on a sample, then time each decision until the points or the budget end."""
    clock = time.perf_counter_ns
    budget_ns = int(budget_s * 1e9) if budget_s > 0 else None
    start = clock()
    for point in warmup:
        decide(point)
        if budget_ns and clock() - start > budget_ns // 4:
            break
    sample = points[:20]
    executed = getattr(decide, "executed", 0)
    with CaptureQueriesContext(connection) as captured:
        for point in sample:
            decide(point)
    queries = (len(captured.captured_queries) + getattr(decide, "executed", 0) - executed) / len(sample)
    gc.collect()
    latencies = []
    results = []
    start = clock()
    for point in points:
        t0 = clock()
        result = decide(point)
        t1 = clock()
        latencies.append(t1 - t0)
        results.append(result)
        if budget_ns and t1 - start > budget_ns:
            break
    return Run(latencies, clock() - start, results, queries, len(points))


def route_decider(category: Category):
    def decide(point: Point):
        try:
            decision = route(category, point)
        except OutsideServiceArea:
            return None, None, False
        department = decision.department
        near_border = getattr(decision, "near_border", None) is not None
        return decision.authority.pk, department.pk if department else None, near_border

    return decide


class RawDecider:
    """(authority id, department id, how) by hand-written SQL on one cursor; counts its queries."""

    def __init__(self, sql: RawSQL, category: Category | None, responsibility_sql: str | None = None) -> None:
        self.sql = sql
        self.category = category
        self.responsibility_sql = responsibility_sql or sql.best_responsibility
        self.cursor = connection.cursor()
        self.executed = 0

    def __call__(self, point: Point):
        params = {"x": point.x, "y": point.y, "category": self.category.pk if self.category else None}
        if self.category is not None:
            self.executed += 1
            self.cursor.execute(self.responsibility_sql, params)
            row = self.cursor.fetchone()
            if row:
                return row[0], row[1], "explicit area" if row[2] else "authority's boundary"
        self.executed += 1
        self.cursor.execute(self.sql.smallest_authority, params)
        row = self.cursor.fetchone()
        return (row[0], row[1], "smallest authority") if row else (None, None, "outside")


# --- plans --------------------------------------------------------------------------------------


def _plan(sql: str, params=None) -> list[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("EXPLAIN (ANALYZE, COSTS OFF) " + sql, params)
            return [row[0] for row in cursor.fetchall()]
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return [row[-1] for row in cursor.fetchall()]


def _spatial_access(plan: list[str]) -> str:
    text = "\n".join(plan)
    if connection.vendor == "postgresql":
        used = sorted(set(re.findall(r"(?:Index Scan|Index Only Scan|Bitmap Index Scan) (?:using|on) (\S+)", text)))
        gist = [name for name in used if re.search(r"boundary|area|geometry", name)]
        seq = sorted(set(re.findall(r"Seq Scan on (\S+)", text)))
        parts = [f"GiST {', '.join(gist)}" if gist else "no spatial index"]
        if seq:
            parts.append(f"sequential scan of {', '.join(seq)}")
        parts += [line.strip() for line in plan if line.startswith(("Planning Time", "Execution Time"))]
        return "; ".join(parts)
    # Scans of the queries' own intermediate rows (a UNION, route()'s WITH clauses) are not table scans.
    scans = sorted(set(re.findall(r"\bSCAN (\w+)\b(?! VIRTUAL)", text)) - {"candidates", "places", "best"})
    parts = ["R*Tree (SpatialIndex)" if "SpatialIndex" in text else "no spatial index"]
    if scans:
        parts.append(f"full scan of {', '.join(scans)}")
    return "; ".join(parts)


def _trim(line: str, width: int = 150) -> str:
    line = re.sub(r"'\\x[0-9a-fA-F]+'::bytea|'[0-9a-fA-F]{40,}'::geometry", "<geometry>", line)
    line = re.sub(r"GeomFromText\('[^']*'", "GeomFromText(<wkt>", line)
    return line if len(line) <= width else line[: width - 1] + "…"


def _condensed_sql(sql: str) -> str:
    return _trim(re.sub(r"SELECT .*? FROM ", "SELECT … FROM ", sql, flags=re.S), 140)


def _plan_lines(plan: list[str]) -> list[str]:
    return [f"       {_trim(line)}" for line in plan if not line.startswith(("Planning", "Execution"))]


def explain(plain: Category, configured: Category, sql: RawSQL, point: Point) -> list[str]:
    label = "EXPLAIN ANALYZE" if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN"
    out = [f"{label} for one point ({point.x:.5f}, {point.y:.5f}); <geometry> stands for a literal"]
    for category in (plain, configured):
        with CaptureQueriesContext(connection) as captured:
            route(category, point)
        out.append("")
        out.append(f"route({category.slug}): {len(captured.captured_queries)} queries")
        for n, query in enumerate(captured.captured_queries, start=1):
            try:
                plan = _plan(query["sql"])
            except Exception as exc:  # noqa: BLE001 - a plan is information, not a reason to stop
                plan = [f"(no plan: {exc})"]
            out.append(f"  {n}. {_condensed_sql(query['sql'])}")
            out.append(f"     → {_spatial_access(plan)}")
            out.extend(_plan_lines(plan))
    params = {"x": point.x, "y": point.y, "category": configured.pk}
    for title, text in (
        ("raw SQL, step 2 (smallest covering authority)", sql.smallest_authority),
        ("raw SQL, step 1 (best responsibility, index-friendly)", sql.best_responsibility),
        ("raw SQL, step 1 in route()'s shape (one OR over both kinds of area)", sql.best_responsibility_orm_shape),
    ):
        plan = _plan(text, params)
        out.append("")
        out.append(f"{title}:")
        out.append(f"  {text}")
        out.append(f"     → {_spatial_access(plan)}")
        out.extend(_plan_lines(plan))
    return out


# --- report -------------------------------------------------------------------------------------


def machine() -> list[tuple[str, str]]:
    model = "unknown"
    memory = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), model)
        with open("/proc/meminfo", encoding="utf-8") as meminfo:
            kb = next((int(line.split()[1]) for line in meminfo if line.startswith("MemTotal")), 0)
            memory = f"{kb / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT current_setting('server_version'), postgis_lib_version(), postgis_geos_version()")
            server, postgis, db_geos = cursor.fetchone()
            backend = f"PostGIS: PostgreSQL {server.split()[0]}, PostGIS {postgis}, GEOS {db_geos.split('-')[0]}"
        else:
            cursor.execute("SELECT sqlite_version(), spatialite_version(), geos_version()")
            server, spatialite, db_geos = cursor.fetchone()
            backend = f"SpatiaLite: SQLite {server}, SpatiaLite {spatialite}, GEOS {db_geos.split('-')[0]}"
    return [
        ("date", time.strftime("%Y-%m-%d %H:%M %Z")),
        ("machine", f"{cpus} CPUs (nproc), {model}, {memory} RAM, load {os.getloadavg()[0]:.2f}"),
        ("software", f"Python {platform.python_version()}, Django {django.get_version()}"),
        ("backend", backend),
    ]


@dataclass
class Row:
    workload: list[str]
    route: Run
    raw: Run
    mismatches: int


def table(rows: list[Row]) -> list[str]:
    header = ("workload", "figure", "route()", "raw SQL", "ratio")
    lines: list[tuple[str, ...] | None] = [header]
    for row in rows:
        route_run, raw_run = row.route, row.raw
        figures = [
            ("decisions/s", f"{route_run.per_second:,.0f}", f"{raw_run.per_second:,.0f}",
             f"{raw_run.per_second / route_run.per_second:.1f}×"),
        ]
        for p in (50, 95, 99):
            a, b = route_run.percentile_ms(p), raw_run.percentile_ms(p)
            figures.append((f"p{p} ms", f"{a:.3f}", f"{b:.3f}", f"{a / b:.1f}×"))
        figures.append(("queries/decision", f"{route_run.queries:g}", f"{raw_run.queries:g}", ""))
        figures.append(("points timed", f"{route_run.count:,}", f"{raw_run.count:,}", ""))
        figures.append(("mismatches", "", f"{row.mismatches}", ""))
        for n, figure in enumerate(figures):
            lines.append((row.workload[n] if n < len(row.workload) else "", *figure))
        lines.append(None)
    lines.pop()
    widths = [max(len(line[k]) for line in lines if line) for k in range(5)]
    out = []
    for line in lines:
        if line is None:
            out.append("")
            continue
        out.append(
            f"{line[0]:<{widths[0]}}  {line[1]:<{widths[1]}}  {line[2]:>{widths[2]}}  {line[3]:>{widths[3]}}  "
            f"{line[4]:>{widths[4]}}".rstrip()
        )
        if line is header:
            out.append("-" * len(out[-1]))
    return out


def _same(a: Run, b: Run) -> int:
    """Points (of those both timed) where the two decided on a different authority or department."""
    return sum(1 for x, y in zip(a.results, b.results, strict=False) if x[:2] != y[:2])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.routing", description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=2000, help="timed decisions per workload (default 2000)")
    parser.add_argument("--warmup", type=int, default=200, help="untimed decisions first (default 200)")
    parser.add_argument(
        "--budget", type=float, default=60, metavar="SECONDS",
        help="stop timing a loop after this many seconds, reporting the points timed (default 60; 0: no limit)",
    )
    parser.add_argument("--seed", type=int, default=20260101, help="seed of the generated data and points")
    parser.add_argument("--no-explain", action="store_true", help="do not print query plans")
    args = parser.parse_args(argv)
    if args.points < 1 or args.warmup < 0 or args.budget < 0:
        parser.error("--points must be at least 1, --warmup and --budget at least 0")

    started = time.perf_counter()
    if present():
        setup = "already present"
    else:
        print("generating 10,000 municipalities and 100 counties …", file=sys.stderr, flush=True)
        generate(args.seed)
        setup = f"generated in {time.perf_counter() - started:.1f} s"
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # as autovacuum would have by now in production
            cursor.execute("ANALYZE geo_authority; ANALYZE geo_department; ANALYZE geo_responsibility")

    plain = Category.objects.get(slug=PLAIN_CATEGORY)
    configured = Category.objects.get(slug=CONFIGURED_CATEGORY)
    rng = random.Random(args.seed + 1)

    def draw(n: int) -> list[Point]:
        return [Point(rng.uniform(LON0, LON1), rng.uniform(LAT0, LAT1), srid=4326) for _ in range(n)]

    points = draw(args.points)
    warmup = draw(args.warmup)
    sql = raw_sql()

    rows = []
    for category, workload in (
        (plain, ["step 2: smallest covering", "authority (no responsibility", "for the category)"]),
        (configured, ["step 1: best responsibility", f"({RESPONSIBILITIES} responsibilities", "for the category)"]),
    ):
        print(f"timing {category.slug} …", file=sys.stderr, flush=True)
        routed = measure(route_decider(category), points, warmup, args.budget)
        raw = measure(RawDecider(sql, None if category is plain else category), points, warmup, args.budget)
        rows.append(Row(workload, routed, raw, _same(routed, raw)))
    orm_shape = measure(
        RawDecider(sql, configured, sql.best_responsibility_orm_shape), points, warmup, args.budget
    )

    def vertex_counts(prefix: str) -> list[int]:
        boundaries = Authority.objects.filter(slug__startswith=prefix).values_list("boundary", flat=True)
        return [boundary.num_points - 1 for boundary in boundaries]  # a closed ring repeats its first point

    vertices = vertex_counts("bench-g-")
    county_vertices = vertex_counts("bench-k-")
    print()
    print("Routing benchmark (python -m bench.routing)")
    for name, value in machine():
        print(f"  {name:<9} {value}")
    print(
        f"  data      {len(vertices):,} municipalities ({min(vertices)}–{max(vertices)} vertices, mean "
        f"{sum(vertices) / len(vertices):.0f}) and {len(county_vertices)} counties over them (mean "
        f"{sum(county_vertices) / len(county_vertices):.0f} vertices); {Authority.objects.count():,} authorities, "
        f"{Department.objects.count():,} departments, {Responsibility.objects.count():,} responsibilities in all; "
        f"{setup}"
    )
    print(
        f"  points    {args.points:,} per workload (seed {args.seed}), after up to {args.warmup} warm-up decisions; "
        f"budget {args.budget:g} s per timed loop"
    )
    print()
    for line in table(rows):
        print(line)
    print()
    print("ratio: route()'s time ÷ the raw SQL's (for decisions/s: raw ÷ route()); 1.0× would be no overhead.")
    print("raw SQL: hand-written queries on one cursor that decide the same authority and department; step 2 is")
    print("the covering query alone, step 1 the responsibility query (index-friendly UNION ALL) and, where none")
    print("matches, the covering query. route() does more (e.g. its border check): its queries are listed with")
    print("their plans at the end (unless --no-explain).")
    print(
        "step 1 raw SQL in route()'s shape (one OR over both kinds of area, no ORM): "
        f"p50 {orm_shape.percentile_ms(50):.3f} ms, p99 {orm_shape.percentile_ms(99):.3f} ms, "
        f"{orm_shape.per_second:,.0f} decisions/s, mismatches {_same(orm_shape, rows[1].raw)}"
    )
    slugs = dict(Department.objects.filter(slug__startswith="bench-").values_list("pk", "slug"))
    mix: dict[str, int] = {}
    for _authority, department, how in rows[1].raw.results:
        key = f"{'Straßenmeisterei' if slugs.get(department, '').startswith('bench-sm-') else 'Bauhof'} by {how}"
        mix[key] = mix.get(key, 0) + 1
    print(f"step 1 decisions: {', '.join(f'{v} {k}' for k, v in sorted(mix.items(), key=lambda kv: -kv[1]))}")
    near = sum(1 for result in rows[0].route.results if result[2])
    print(f"near a border (route() names a neighbour): {near} of {rows[0].route.count} points")
    for row in rows:
        p99 = row.route.percentile_ms(99)
        verdict = "met" if p99 <= P99_TARGET_MS else "NOT met"
        print(f"target route() p99 ≤ {P99_TARGET_MS:g} ms, {row.workload[0]}: {p99:.3f} ms, {verdict}")
    for row, name in zip(rows, ("step 2 (smallest covering authority)", "step 1 (400 responsibilities)"), strict=False):
        workload = f"4 routing, 10,000 polygons: {name}"
        record(workload, "decisions/s", row.route.per_second, unit="/s", baseline=row.raw.per_second,
               baseline_name="raw ST_Covers SQL")
        p99 = row.route.percentile_ms(99)
        record(workload, "p99 ms", p99, unit="ms", baseline=row.raw.percentile_ms(99),
               baseline_name="raw ST_Covers SQL", target=f"≤ {P99_TARGET_MS:g} ms", met=p99 <= P99_TARGET_MS)
        record(workload, "mismatches", row.mismatches, unit="count", target="0", met=row.mismatches == 0)
    if any(row.route.count < row.route.planned for row in rows):
        print(f"note: the {args.budget:g} s budget ended some loops early (see 'points timed'); --budget 0 times all.")
    if any(row.mismatches for row in rows):
        print("MISMATCH: route() and the raw SQL decided differently for some points (see the table).")
    if not args.no_explain:
        print()
        for line in explain(plain, configured, sql, points[0]):
            print(line)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
