"""CPU per report submission in one process: ``POST /api/v1/reports/`` through Django's test client, its websocket
push after commit included, without and with the 2 MB photo of ``bench.submit``.

Prints, for each, the queries of one submission and the CPU time per submission (the median of rounds of 10, and
the best); with ``--profile`` instead the cProfile totals and the functions that take the most. Needs a migrated
database (``DATABASE_URL``); loads the demo's configuration into it. Not part of ``make bench``: a tool for #21.

    DATABASE_URL=spatialite:///tmp/om.sqlite3 SECRET_KEY=… DEBUG=false .venv/bin/python -m bench.submit_cpu
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import random
import time

# As bench.server runs the server: no HTTPS redirect, no submission limit, no geocoder.
for name, value in {"HTTPS": "false", "API_RATE_SUBMIT": "100000/second", "GEOCODER": "none",
                    "LOG_LEVEL": "WARNING", "DJANGO_SETTINGS_MODULE": "backend.settings"}.items():
    os.environ.setdefault(name, value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=100)
    parser.add_argument("--profile", action="store_true", help="cProfile (CPU time) instead of timing")
    parser.add_argument("--lines", type=int, default=30, help="functions listed with --profile")
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bench.submit import PHOTO, POINTS, _multipart
    from reports.demo import load_demo

    load_demo(password="bench-only", reports=0)
    photo = PHOTO.read_bytes()
    rng = random.Random(2026)
    points = [f["geometry"]["coordinates"] for f in json.loads(POINTS.read_text())["features"]
              if f["properties"]["ars"].startswith("03252")]

    def body(number: int, with_photo: bool) -> tuple[bytes, str]:
        lon, lat = rng.choice(points)
        fields = {"category": rng.choice(["schlagloch", "wilder-muell", "strassenbeleuchtung-defekt"]),
                  "lat": f"{lat + rng.uniform(-0.002, 0.002):.6f}", "lon": f"{lon + rng.uniform(-0.002, 0.002):.6f}",
                  "description": f"Benchmark-Meldung {number}"}
        if fields["category"] == "wilder-muell":
            fields["answers"] = json.dumps({"muellart": ["sperrmuell"]})
        return _multipart(fields, photo if with_photo else None)

    client = Client(HTTP_HOST="127.0.0.1")

    def send(item: tuple[bytes, str]) -> None:
        content, content_type = item
        response = client.generic("POST", "/api/v1/reports/", content, content_type=content_type)
        if response.status_code != 201:
            raise SystemExit(f"{response.status_code}: {response.content[:300]!r}")

    for with_photo in (False, True):
        label = "with the photo" if with_photo else "without a photo"
        items = [body(n, with_photo) for n in range(args.submissions)]
        for n in range(5):  # warm-up: imports, caches, the database's first queries
            send(body(n, with_photo))
        with CaptureQueriesContext(connection) as queries:
            send(body(0, with_photo))
        queried = len(queries.captured_queries)
        if args.profile:
            profile = cProfile.Profile(time.process_time)
            profile.enable()
            for item in items:
                send(item)
            profile.disable()
            stats = pstats.Stats(profile)
            print(f"{label}: {queried} queries; {args.submissions} submissions, {stats.total_calls:,} function "
                  f"calls, {stats.total_tt:.2f} s CPU under the profiler")
            stats.sort_stats("cumulative").print_stats(args.lines)
            continue
        rounds = []
        for start in range(0, len(items), 10):
            batch = items[start:start + 10]
            started = time.process_time()
            for item in batch:
                send(item)
            rounds.append((time.process_time() - started) / len(batch) * 1000)
        rounds.sort()
        print(f"{label}: {queried} queries (one submission, category at random), CPU per submission "
              f"{rounds[len(rounds) // 2]:.1f} ms (median of {len(rounds)} rounds of 10; best {rounds[0]:.1f} ms)")


if __name__ == "__main__":
    main()
