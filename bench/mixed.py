"""Mixed load on loopback: 90 % public map and list reads, 10 % report submissions, for 5 minutes.

    python -m bench.mixed [--duration 300] [--rate 300] [--workers 2] [--reports 1000000] [--photo PATH|none]
                          [--admission both|on|off]

Against uvicorn with ``--workers`` processes on 127.0.0.1, configured as in production (Redis for the
channel layer and the rate-limit cache when ``REDIS_URL`` is set, which ``make bench`` does). The load
comes from locust (headless, one process, ``bench/locustfile.py``) at a constant offered rate of
``--rate`` requests per second: 60 % ``GET /api/v1/map/`` (seeded viewports at zoom 8–16 near towns),
30 % ``GET /meldungen/`` (the public list, pages 1–5, with and without filters), 10 % ``POST
/api/v1/reports/`` with a phone photo (the 8 MP iPhone JPEG sized down to 1600 px, as apps send it; the
2 MB original is workload 2's) in Landkreis Hameln-Pyrmont. On PostGIS the database first gets
``--reports`` generated reports (bench.map's data, a Land's worth) besides the demo; on SpatiaLite the
demo's few hundred (the embedded default is for one Landkreis).

Runs the load twice (``--admission both``): first with admission at the door turned off
(``WEB_CONCURRENCY_LIMIT=0``, the baseline: every request waits for its turn however long), then as
configured (fast 503 beyond the queue, writes first). Prints req/s, p50/p95/p99 and errors (503s
included), overall and per kind, and records them for make bench's table.
Target (for reference): ≥ 300 req/s, 0 errors, p95 ≤ 200 ms. It stops by itself after ``--duration``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
django.setup()

from django.db import connection  # noqa: E402
from PIL import Image  # noqa: E402

from bench import map as map_bench  # noqa: E402
from bench.results import record  # noqa: E402
from bench.server import REPO, free_port, start_server, stop_server  # noqa: E402
from geo.models import Authority, AuthorityKind, Category  # noqa: E402

PHOTO = REPO / "data" / "photos" / "05_jpeg_iphone6_o1_gps-madrid.jpg"
POINTS = REPO / "data" / "boundaries" / "gemeinde_points_on_surface_vg5000_2021.geojson"
ZOOMS = (8, 10, 12, 13, 14, 15, 16)
TARGET_RATE, TARGET_P95_MS = 300, 200


def _prepare(reports: int, seed: int) -> str:
    from reports.demo import load_demo

    load_demo(password="bench-only", reports=300)
    if connection.vendor == "postgresql" and reports:
        total = map_bench.ensure_data(reports, seed)
        return f"{total:,} generated reports over Niedersachsen plus the demo's"
    return "the demo's reports (Landkreis Hameln-Pyrmont)"


def _photo(path: str, workdir: Path) -> str:
    if path == "none":
        return ""
    with Image.open(path) as im:
        im.thumbnail((1600, 1600))
        target = workdir / "photo-1600.jpg"
        im.convert("RGB").save(target, "JPEG", quality=85, exif=im.getexif())  # EXIF kept, as a phone sends it
    return str(target)


def _plan(seed: int, photo: str) -> dict:
    rng = random.Random(seed)
    map_urls = []
    for zoom in ZOOMS:
        for min_lon, min_lat, max_lon, max_lat in map_bench.viewports(zoom, 200, seed):
            map_urls.append(f"/api/v1/map/?bbox={min_lon},{min_lat},{max_lon},{max_lat}&zoom={zoom}")
    # The demo's Gemeinden and public categories: list filters as people click them.
    gemeinden = list(Authority.objects.filter(kind=AuthorityKind.MUNICIPALITY).exclude(
        slug__startswith="bench-").values_list("slug", flat=True)[:20])
    categories = list(
        Category.objects.filter(is_public=True).exclude(slug__startswith="bench-").values_list("slug", flat=True)
    )
    list_urls = []
    for _ in range(1000):
        query = {}
        choice = rng.random()
        if choice < 0.2 and categories:
            query["category"] = rng.choice(categories)
        elif choice < 0.4:
            query["status"] = rng.choice(["open", "fixed"])
        elif choice < 0.55 and gemeinden:
            query["gemeinde"] = rng.choice(gemeinden)
        elif choice < 0.65:
            query["period"] = rng.choice(["7", "30"])
        page = rng.choice([1, 1, 1, 2, 3, 5])
        if page > 1:
            query["page"] = str(page)
        list_urls.append("/meldungen/" + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""))
    points = [
        f["geometry"]["coordinates"]
        for f in json.loads(POINTS.read_text())["features"]
        if f["properties"]["ars"].startswith("03252")
    ]
    submit = []
    for number in range(500):
        lon, lat = rng.choice(points)
        submit.append({
            "category": rng.choice(["schlagloch", "wilder-muell", "strassenbeleuchtung-defekt"]),
            "lat": f"{lat + rng.uniform(-0.002, 0.002):.6f}", "lon": f"{lon + rng.uniform(-0.002, 0.002):.6f}",
            "description": f"Lastprobe {number}",
        })
        if submit[-1]["category"] == "wilder-muell":  # the demo's category asks which kind of waste (required)
            submit[-1]["answers"] = json.dumps({"muellart": ["sperrmuell"]})
    return {"map": map_urls, "list": list_urls, "submit": submit, "photo": photo}


def _locust(port: int, plan_path: Path, prefix: Path, users: int, user_rate: float, duration: int) -> int:
    env = {**os.environ, "BENCH_MIXED_PLAN": str(plan_path), "BENCH_MIXED_USER_RATE": str(user_rate)}
    command = [
        str(REPO / ".venv" / "bin" / "locust"), "-f", str(REPO / "bench" / "locustfile.py"), "--headless",
        "--host", f"http://127.0.0.1:{port}", "-u", str(users), "-r", str(users), "-t", f"{duration}s",
        "--csv", str(prefix), "--only-summary", "--stop-timeout", "10", "--loglevel", "WARNING",
        "--exit-code-on-error", "0",
    ]
    return subprocess.run(command, cwd=REPO, env=env, stdout=sys.stderr).returncode


def _stats(prefix: Path) -> list[dict]:
    text = Path(f"{prefix}_stats.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _failures(prefix: Path) -> list[dict]:
    path = Path(f"{prefix}_failures.csv")
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8")))) if path.exists() else []


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=300, help="seconds of load per run (default 300)")
    parser.add_argument("--rate", type=float, default=TARGET_RATE, help="offered requests per second")
    parser.add_argument("--user-rate", type=float, default=3.0, help="requests per second per simulated user")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn processes")
    parser.add_argument("--reports", type=int, default=1_000_000, help="generated reports (PostGIS only; 0: none)")
    parser.add_argument("--photo", default=str(PHOTO), help="photo to send (sized down to 1600 px), or 'none'")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--admission", choices=("both", "on", "off"), default="both",
                        help="admission at the door (backend.admission) as configured ('on'), turned off "
                             "(WEB_CONCURRENCY_LIMIT=0, the baseline), or both one after the other (default)")
    args = parser.parse_args()

    data = _prepare(args.reports, args.seed)
    users = max(1, round(args.rate / args.user_rate))
    runs = {"off": {"WEB_CONCURRENCY_LIMIT": "0"}, "on": {}}
    results = {}
    for name in ("off", "on"):
        if args.admission in (name, "both"):
            results[name] = _run(args, users, data, runs[name], name)
    for name, (stats, failures) in results.items():
        baseline = results.get("off") if name == "on" else None
        _report(stats, failures, args, users, data, name, baseline[0] if baseline else None)


def _run(args, users: int, data: str, extra_env: dict[str, str], name: str) -> tuple[list[dict], list[dict]]:
    with tempfile.TemporaryDirectory(prefix="bench-mixed-") as directory:
        workdir = Path(directory)
        plan_path = workdir / "plan.json"
        plan_path.write_text(json.dumps(_plan(args.seed, _photo(args.photo, workdir))), encoding="utf-8")
        port = free_port()
        # One client address sends everything: the per-address read limit would throttle the load itself
        # (per second for the reason given in bench/server.py).
        # DATABASE_CONN_MAX_AGE=0: the connection pool, as in production (importing bench.map sets 60 for
        # its in-process client; persistent connections under ASGI would be one per request thread).
        server = start_server(port, "--workers", str(args.workers), "--backlog", "4096",
                              extra_env={"API_RATE_READ": "100000/second", "DATABASE_CONN_MAX_AGE": "0",
                                         **extra_env})
        try:
            print(f"[mixed] admission {name}: {users} users × {args.user_rate:g} req/s for {args.duration} s "
                  f"against {args.workers} uvicorn processes; data: {data}", file=sys.stderr, flush=True)
            code = _locust(port, plan_path, workdir / "locust", users, args.user_rate, args.duration)
            stats, failures = _stats(workdir / "locust"), _failures(workdir / "locust")
        finally:
            stop_server(server)
    if code not in (0, 1):
        raise SystemExit(f"locust failed (exit {code})")
    return stats, failures


def _refused(failures: list[dict], kind: str = "") -> int:
    return sum(int(f.get("Occurrences") or 0) for f in failures
               if "503" in str(f.get("Error")) and kind in str(f.get("Name")))


def _report(stats: list[dict], failures: list[dict], args, users: int, data: str, name: str,
            baseline: list[dict] | None) -> None:
    database = os.environ.get("DATABASE_URL", "").split(":")[0]
    print(f"\nMixed load, admission {name}: {args.duration} s, offered {users} users × {args.user_rate:g} req/s = "
          f"{users * args.user_rate:g} req/s; uvicorn with {args.workers} processes on 127.0.0.1, "
          f"database {database}; {data}")
    print(f"{'requests':28} {'count':>8} {'errors':>7} {'req/s':>8} "
          f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7}")
    print("-" * 84)
    for row in stats:
        print(f"{row['Name'] if row['Name'] != 'Aggregated' else 'all':28} {int(row['Request Count']):8d} "
              f"{int(row['Failure Count']):7d} {float(row['Requests/s']):8.1f} {row['50%']:>7} {row['95%']:>7} "
              f"{row['99%']:>7} {float(row['Max Response Time']):7.0f}")
    for failure in failures[:10]:
        print(f"error: {failure.get('Occurrences')}× {failure.get('Method')} {failure.get('Name')}: "
              f"{failure.get('Error')}")
    print(f"refused with 503: {_refused(failures)} (submissions: {_refused(failures, '/api/v1/reports/')})")
    answered = {row["Name"]: (int(row["Request Count"]) - int(row["Failure Count"])) / args.duration for row in stats}
    accepted = next((rate for name, rate in answered.items() if name.startswith("submit")), 0.0)
    print(f"answered without error: {answered['Aggregated']:.1f} req/s; reports accepted: {accepted:.1f}/s")
    total = next(row for row in stats if row["Name"] == "Aggregated")
    rate, errors, p95 = float(total["Requests/s"]), int(total["Failure Count"]), float(total["95%"])
    print(f"\nTargets (for reference): ≥ {TARGET_RATE} req/s, 0 errors, p95 ≤ {TARGET_P95_MS} ms. "
          f"Percentiles are locust's (rounded to two significant digits above 100 ms). Errors include the "
          f"503s of admission at the door.")
    sys.stdout.flush()
    workload = f"6 mixed load, {args.duration / 60:g} min (90 % reads), admission {name}"
    before = {row["Name"]: row for row in baseline or []}
    base = before.get("Aggregated")
    extra = {"baseline_name": "admission off"} if base else {}
    record(workload, "req/s", rate, unit="/s", target=f"≥ {TARGET_RATE}/s", met=rate >= TARGET_RATE,
           **({"baseline": float(base["Requests/s"])} if base else {}), **extra)
    record(workload, "p95 ms", p95, unit="ms", target=f"≤ {TARGET_P95_MS} ms", met=p95 <= TARGET_P95_MS,
           **({"baseline": float(base["95%"])} if base else {}), **extra)
    record(workload, "errors (503 included)", errors, unit="count", target="0", met=errors == 0,
           **({"baseline": float(base["Failure Count"])} if base else {}), **extra)
    old_answered = {row["Name"]: (int(row["Request Count"]) - int(row["Failure Count"])) / args.duration
                    for row in baseline or []}
    old_accepted = next((rate for name, rate in old_answered.items() if name.startswith("submit")), None)
    record(workload, "answered without error req/s", answered["Aggregated"], unit="/s",
           **({"baseline": old_answered["Aggregated"]} if base else {}), **extra)
    record(workload, "reports accepted /s", accepted, unit="/s",
           **({"baseline": old_accepted} if old_accepted is not None else {}), **extra)
    for row in stats:
        if row["Name"] != "Aggregated":
            old = before.get(row["Name"])
            record(workload, f"{row['Name'].split()[0]} p95 ms", float(row["95%"]), unit="ms",
                   **({"baseline": float(old["95%"])} if old else {}), **(extra if old else {}))

if __name__ == "__main__":
    main()
