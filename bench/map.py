"""Benchmark of the public map endpoint (GET /api/v1/map/) with 1,000,000 reports on PostGIS.

Generates the reports reproducibly (setseed; one INSERT … SELECT generate_series) unless a run
already did, then times the endpoint through Django's test client at three zoom levels over
seeded random viewports of 1280 × 800 px, next to the same query in hand-written SQL on one
cursor. Prints p50/p95 and the ratio; exits 0 whatever the figures (see bench/README.md).

    python -m bench.map [--reports 1000000] [--requests 200] [--warmup 20] [--seed 7] [--no-explain]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
# Persistent connections, as a production deployment configures them: otherwise every request of the
# endpoint would also pay for a new PostgreSQL connection, which the raw SQL on one cursor does not.
os.environ.setdefault("DATABASE_CONN_MAX_AGE", "60")
django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

import reports.publicdata.map  # noqa: E402,F401
from bench.results import record  # noqa: E402
from geo.models import Authority, AuthorityKind, Category  # noqa: E402
from reports import mapcells, publicdata  # noqa: E402

# Niedersachsen, roughly: where the generated reports lie.
EXTENT = (6.65, 51.30, 11.60, 53.90)
TOWNS = 60  # centres of higher density, like the towns of a Land
SCREEN = (1280, 800)  # viewport in px
ZOOMS = (8, 12, 16)  # the whole Land, a town, a few streets (points)
CATEGORIES = 12
REF_PREFIX = "BENCH-"


def towns(seed: int) -> list[tuple[float, float, float]]:
    rng = random.Random(seed)
    min_lon, min_lat, max_lon, max_lat = EXTENT
    # (lon, lat, spread in degrees): a few large towns, many small ones.
    return [
        (
            rng.uniform(min_lon + 0.3, max_lon - 0.3), rng.uniform(min_lat + 0.2, max_lat - 0.2),
            rng.choice([0.03, 0.05, 0.08, 0.12]),
        )
        for _ in range(TOWNS)
    ]


def ensure_data(count: int, seed: int) -> int:
    """Generate ``count`` reports once (kept between runs on the same database); returns how many exist."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM reports_report WHERE reference LIKE %s", [REF_PREFIX + "%"])
        existing = cursor.fetchone()[0]
    if existing >= count:
        return existing
    authority, _ = Authority.objects.get_or_create(
        slug="bench-map-land", defaults={"name": "Bench-Land", "kind": AuthorityKind.COUNTY}
    )
    category_ids = [
        Category.objects.get_or_create(
            slug=f"bench-map-{i}", defaults={"name_de": f"Bench {i}", "name_en": f"Bench {i}", "is_public": i != 0}
        )[0].pk
        for i in range(CATEGORIES)
    ]
    centres = towns(seed)
    started = time.perf_counter()
    # A million trigger calls would take far longer than counting the cells once afterwards.
    mapcells.drop_triggers()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM reports_report WHERE reference LIKE %s", [REF_PREFIX + "%"])
        cursor.execute("CREATE TEMP TABLE bench_towns (n int, lon float8, lat float8, spread float8)")
        cursor.executemany("INSERT INTO bench_towns VALUES (%s, %s, %s, %s)", [(i, *t) for i, t in enumerate(centres)])
        cursor.execute("SELECT setseed(%s)", [(seed % 1000) / 1000])
        # 70 % around towns (Box-Muller normal), 30 % spread evenly; statuses and moderation in
        # realistic shares; created over the last two years; fixed reports closed 1–60 days later.
        cursor.execute(
            """
            INSERT INTO reports_report (
                public_id, reference, location, address, description, status, routing_reason,
                reporter_name, reporter_email, reporter_phone, secret_hash, source, moderation,
                support_count, idempotency_fingerprint, created_at, updated_at, closed_at,
                authority_id, category_id, language, public_description, answers)
            SELECT md5('bench-map-' || g.i)::uuid, %(prefix)s || g.i,
                   ST_SetSRID(ST_MakePoint(
                       CASE WHEN g.r1 < 0.7 THEN t.lon + t.spread * g.z1
                            ELSE %(min_lon)s + g.r2 * (%(max_lon)s - %(min_lon)s) END,
                       CASE WHEN g.r1 < 0.7 THEN t.lat + t.spread * 0.6 * g.z2
                            ELSE %(min_lat)s + g.r3 * (%(max_lat)s - %(min_lat)s) END
                   ), 4326),
                   '', '', g.status, '', '', '', '', '', 'app',
                   CASE WHEN g.r4 < 0.95 THEN 'published' WHEN g.r4 < 0.98 THEN 'pending' ELSE 'hidden' END,
                   0, '', g.created, g.created,
                   CASE WHEN g.status IN ('fixed', 'rejected') THEN g.created + g.r5 * interval '60 days' END,
                   %(authority)s, (%(categories)s::bigint[])[1 + floor(g.r6 * %(n_categories)s)::int], 'de',
                   '', '{}'::jsonb
            FROM (
                SELECT i, r1, r2, r3, r4, r5, r6,
                       sqrt(-2 * ln(1 - u1)) * cos(2 * pi() * u2) AS z1,
                       sqrt(-2 * ln(1 - u1)) * sin(2 * pi() * u2) AS z2,
                       CASE WHEN r7 < 0.55 THEN 'fixed' WHEN r7 < 0.65 THEN 'rejected' WHEN r7 < 0.8 THEN 'new'
                            WHEN r7 < 0.9 THEN 'in_progress' ELSE 'acknowledged' END AS status,
                       now() - r8 * interval '730 days' AS created,
                       floor(r9 * %(towns)s)::int AS town
                FROM (SELECT i, random() r1, random() r2, random() r3, random() r4, random() r5, random() r6,
                             random() r7, random() r8, random() r9, random() u1, random() u2
                      FROM generate_series(1, %(count)s) AS i) AS draws
            ) AS g JOIN bench_towns t ON t.n = g.town
            """,
            {
                "prefix": REF_PREFIX, "min_lon": EXTENT[0], "min_lat": EXTENT[1], "max_lon": EXTENT[2],
                "max_lat": EXTENT[3], "authority": authority.pk, "categories": category_ids,
                "n_categories": CATEGORIES, "towns": TOWNS, "count": count,
            },
        )
        cursor.execute("DROP TABLE bench_towns")
    inserted = time.perf_counter()
    mapcells.rebuild()
    mapcells.install_triggers()
    with connection.cursor() as cursor:
        # Fresh statistics and visibility map, as autovacuum would leave them on a live system.
        cursor.execute("VACUUM ANALYZE reports_report")
        cursor.execute("VACUUM ANALYZE reports_mapcell")
    print(f"generated {count:,} reports in {inserted - started:.1f} s, counted the map cells in "
          f"{time.perf_counter() - inserted:.1f} s", file=sys.stderr)
    return count


def viewports(zoom: int, n: int, seed: int) -> list[tuple[float, float, float, float]]:
    """Seeded viewports of SCREEN px at a zoom, centred near towns (where people look)."""
    rng = random.Random(seed * 100 + zoom)
    centres = towns(seed)
    width = SCREEN[0] / 256 * 360 / 2**zoom
    result = []
    for _ in range(n):
        lon, lat, spread = rng.choice(centres)
        lon, lat = lon + rng.gauss(0, spread), lat + rng.gauss(0, spread * 0.6)
        height = width * SCREEN[1] / SCREEN[0] * 0.62  # Mercator at 52° N
        # Rounded as the endpoint's query string carries them, so both sides ask for the same box.
        corners = (lon - width / 2, lat - height / 2, lon + width / 2, lat + height / 2)
        result.append(tuple(round(v, 6) for v in corners))
    return result


# The endpoint's queries, by hand: the same cells, the same visibility rules, no ORM and no JSON.
# ST_Intersects, not a bare &&: the index compares float4-rounded boxes and lets points just outside in.
RAW_CLUSTERS = """
SELECT sum(m.count), sum(m.sum_lon) / sum(m.count), sum(m.sum_lat) / sum(m.count)
FROM reports_mapcell m
WHERE m.zoom = %s AND m.cell_lon = ANY(%s) AND m.cell_lat BETWEEN %s AND %s
  AND m.category_id IN (SELECT id FROM geo_category WHERE is_public)
GROUP BY m.cell_lon, m.cell_lat HAVING sum(m.count) > 0
"""
RAW_POINTS = """
SELECT r.public_id, c.slug, r.status, ST_X(r.location), ST_Y(r.location)
FROM reports_report r JOIN geo_category c ON c.id = r.category_id
WHERE r.moderation IN ('published', 'pending') AND c.is_public
  AND ST_Intersects(r.location, ST_MakeEnvelope(%s, %s, %s, %s, 4326))
ORDER BY r.created_at DESC, r.id DESC LIMIT %s
"""
# For comparison: counting the reports themselves per request, as without reports_mapcell.
NAIVE_CLUSTERS = """
SELECT count(*), avg(ST_X(r.location)), avg(ST_Y(r.location))
FROM reports_report r JOIN geo_category c ON c.id = r.category_id
WHERE r.moderation IN ('published', 'pending') AND c.is_public
  AND ST_Intersects(r.location, ST_MakeEnvelope(%s, %s, %s, %s, 4326))
GROUP BY ST_X(ST_SnapToGrid(r.location, %s)), ST_Y(ST_SnapToGrid(r.location, %s))
"""


def raw_params(zoom: int, bbox) -> tuple[str, list]:
    if zoom >= mapcells.POINTS_FROM_ZOOM:
        return RAW_POINTS, [*bbox, publicdata.MAX_POINTS]
    size = mapcells.cell_size(zoom)
    lon_from, lon_to = publicdata.map._cell_range(bbox[0], bbox[2], size)
    lat_from, lat_to = publicdata.map._cell_range(bbox[1], bbox[3], size)
    margin = size / 4
    return RAW_CLUSTERS, [zoom, [k * size for k in range(lon_from, lon_to + 1)],
                          lat_from * size - margin, lat_to * size + margin]


def raw(cursor, zoom: int, bbox) -> int:
    sql, params = raw_params(zoom, bbox)
    cursor.execute(sql, params)
    return len(cursor.fetchall())


def endpoint(client: Client, zoom: int, bbox):
    """The response; its features are counted after the clock stops (parsing is the client's work)."""
    response = client.get("/api/v1/map/", {"bbox": ",".join(f"{v:.6f}" for v in bbox), "zoom": zoom}, secure=True)
    if response.status_code != 200:
        raise SystemExit(f"map endpoint answered {response.status_code}: {response.content[:300]!r}")
    return response


def size(result) -> int:
    return result if isinstance(result, int) else len(json.loads(result.content)["features"])


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))]


def timed(fn, boxes, zoom) -> tuple[list[float], list[int]]:
    times, sizes = [], []
    for bbox in boxes:
        start = time.perf_counter_ns()
        result = fn(zoom, bbox)
        times.append((time.perf_counter_ns() - start) / 1e6)
        sizes.append(size(result))
    return times, sizes


def explain(sql: str, params: list) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def naive(cursor, zoom: int, boxes, n: int) -> list[float]:
    times = []
    for bbox in boxes[:n]:
        size = mapcells.cell_size(zoom)
        start = time.perf_counter_ns()
        cursor.execute(NAIVE_CLUSTERS, [*bbox, size, size])
        cursor.fetchall()
        times.append((time.perf_counter_ns() - start) / 1e6)
    return times


def repeated(client: Client, total: int, args) -> None:
    """The same viewports again, as a phone that pans back or a second visitor asks them: answered from the
    shared cache, and with If-None-Match (the client has the answer already) as 304, next to the first time."""
    print(f"\nRepeated viewports (issue #21 part 1: the version of the public data, the shared cache, ETag): "
          f"{args.requests} viewports per zoom, each asked once before")
    print(f"{'zoom':>4}  {'first p50':>9} {'p95':>8}  {'again p50':>9} {'p95':>8}  {'304 p50':>9} {'p95':>8}")
    for zoom in ZOOMS:
        boxes = viewports(zoom, args.requests, args.seed + 1)
        first, etags = [], []
        for bbox in boxes:
            start = time.perf_counter_ns()
            response = endpoint(client, zoom, bbox)
            first.append((time.perf_counter_ns() - start) / 1e6)
            etags.append(response["ETag"])
        again, _ = timed(lambda z, b: endpoint(client, z, b), boxes, zoom)
        revalidated = []
        for bbox, etag in zip(boxes, etags, strict=True):
            start = time.perf_counter_ns()
            response = client.get("/api/v1/map/", {"bbox": ",".join(f"{v:.6f}" for v in bbox), "zoom": zoom},
                                  secure=True, HTTP_IF_NONE_MATCH=etag)
            revalidated.append((time.perf_counter_ns() - start) / 1e6)
            if response.status_code != 304:
                raise SystemExit(f"a repeated viewport with its ETag answered {response.status_code}")
        print(f"{zoom:>4}  {percentile(first, 50):>6.1f} ms {percentile(first, 95):>5.1f} ms  "
              f"{percentile(again, 50):>6.2f} ms {percentile(again, 95):>5.2f} ms  "
              f"{percentile(revalidated, 50):>6.2f} ms {percentile(revalidated, 95):>5.2f} ms")
        workload = f"3 map, {total / 1e6:g} M reports: zoom {zoom}, repeated viewport"
        record(workload, "from the cache p50 ms", percentile(again, 50), unit="ms",
               baseline=percentile(first, 50), baseline_name="first time")
        record(workload, "304 p50 ms", percentile(revalidated, 50), unit="ms", baseline=percentile(first, 50),
               baseline_name="first time", target="≤ 1 ms", met=percentile(revalidated, 50) <= 1)
    print("Server time in this process (Django's test client: every middleware, no network). Target: ≤ 1 ms.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200, help="timed requests per zoom level")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-explain", action="store_true")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print("bench.map measures PostGIS (1,000,000 reports); skipped on", connection.vendor, file=sys.stderr)
        return
    total = ensure_data(args.reports, args.seed)
    # Rate limits would throttle the benchmark itself.
    from django.conf import settings

    settings.API_RATES = {**settings.API_RATES, "read": "100000000/minute"}
    client = Client(HTTP_HOST="localhost")
    print(f"\nMap endpoint (Django test client, DATABASE_CONN_MAX_AGE={os.environ['DATABASE_CONN_MAX_AGE']}), "
          f"{total:,} reports, viewports {SCREEN[0]}×{SCREEN[1]} px near towns, "
          f"{args.requests} requests per zoom (after {args.warmup} warm-up)\n")
    print(f"{'zoom':>4}  {'kind':<8} {'features (median)':>17}  {'endpoint p50':>12} {'p95':>8}  "
          f"{'raw SQL p50':>11} {'p95':>8}  {'p95 ratio':>9}")
    with connection.cursor() as cursor:
        for zoom in ZOOMS:
            boxes = viewports(zoom, args.warmup + args.requests, args.seed)
            warm, boxes = boxes[: args.warmup], boxes[args.warmup:]
            timed(lambda z, b: endpoint(client, z, b), warm, zoom)
            # Both read the same pages: warm PostgreSQL's cache for all viewports first, so that neither
            # side pays for reading them from disk the first time (1,000,000 reports fit in memory).
            timed(lambda z, b: raw(cursor, z, b), warm + boxes, zoom)
            api_times, sizes = timed(lambda z, b: endpoint(client, z, b), boxes, zoom)
            raw_times, raw_sizes = timed(lambda z, b: raw(cursor, z, b), boxes, zoom)
            if sizes != raw_sizes:
                differ = sum(a != b for a, b in zip(sizes, raw_sizes, strict=True))
                print(f"  zoom {zoom}: endpoint and raw SQL disagree on {differ} viewports")
            kind = "clusters" if zoom < mapcells.POINTS_FROM_ZOOM else "points"
            api95, raw95 = percentile(api_times, 95), percentile(raw_times, 95)
            print(f"{zoom:>4}  {kind:<8} {statistics.median(sizes):>17.0f}  {percentile(api_times, 50):>9.1f} ms "
                  f"{api95:>5.1f} ms  {percentile(raw_times, 50):>8.1f} ms {raw95:>5.1f} ms  {api95 / raw95:>8.2f}×")
            workload = f"3 map, {total / 1e6:g} M reports: zoom {zoom} ({kind})"
            record(workload, "p50 ms", percentile(api_times, 50), unit="ms", baseline=percentile(raw_times, 50),
                   baseline_name="raw SQL")
            record(workload, "p95 ms", api95, unit="ms", baseline=raw95, baseline_name="raw SQL",
                   target="≤ 50 ms, ≤ 1.5× raw", met=api95 <= 50 and api95 <= 1.5 * raw95)
    print("\nTargets (for reference): endpoint p95 ≤ 50 ms, ≤ 1.5× raw SQL.")
    repeated(client, total, args)
    with connection.cursor() as cursor:
        for zoom in ZOOMS:
            if zoom < mapcells.POINTS_FROM_ZOOM:
                times = naive(cursor, zoom, viewports(zoom, 10, args.seed), 10)
                print(f"Without pre-counted cells (counting the reports per request), zoom {zoom}, 10 viewports: "
                      f"p50 {percentile(times, 50):.0f} ms, max {max(times):.0f} ms")
    if not args.no_explain:
        for zoom in ZOOMS:
            print(f"\nEXPLAIN ANALYZE of the raw query, zoom {zoom}, first viewport:")
            print(explain(*raw_params(zoom, viewports(zoom, args.warmup + 1, args.seed)[args.warmup])))


if __name__ == "__main__":
    main()
