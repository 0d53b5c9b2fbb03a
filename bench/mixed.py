"""Mixed load on loopback: 90 % public map and list reads, 10 % report submissions, at a fixed rate and swept.

    python -m bench.mixed [--duration 120] [--rate 300] [--workers 2] [--reports 1000000] [--photo PATH|none]
                          [--admission both|on|off] [--sweep 20,40,60,80,100,150,200,300|none]
                          [--sweep-step-seconds 30] [--profile [RATE]] [--profile-raw PATH]

Against uvicorn with ``--workers`` processes on 127.0.0.1, configured as in production (Redis for the
channel layer and the rate-limit cache when ``REDIS_URL`` is set, which ``make bench`` does). The load
comes from locust (headless, one process, ``bench/locustfile.py``) at a constant offered rate of
``--rate`` requests per second: 60 % ``GET /api/v1/map/`` (seeded viewports at zoom 8–16 near towns),
30 % ``GET /meldungen/`` (the public list, pages 1–5, with and without filters), 10 % ``POST
/api/v1/reports/`` with a phone photo (the 8 MP iPhone JPEG sized down to 1600 px, as apps send it; the
2 MB original is workload 2's) in Landkreis Hameln-Pyrmont. On PostGIS the database first gets
``--reports`` generated reports (bench.map's data, a Land's worth) besides the demo; on SpatiaLite the
demo's few hundred (the embedded default is for one Landkreis).

Runs the load twice for ``--duration`` seconds each (``--admission both``): first with admission at the
door turned off (``WEB_CONCURRENCY_LIMIT=0``, the baseline: every request waits for its turn however long),
then as configured (fast 503 beyond the queue, writes first). Prints req/s, p50/p95/p99 and errors (503s
included), overall and per kind, and records them for make bench's table.

Then the rate sweep (``--sweep``): the offered rates one after the other, ``--sweep-step-seconds`` each,
against one server with admission on (off with ``--admission off``), after a few seconds of warm-up; each
step prints the requests answered without error per second, errors, p95 overall and per kind. It stops
after a step that misses clearly (over 1 % errors, p95 over twice the target, or under 90 % of the offered
rate answered). The result, recorded for the table, is the highest offered rate with 0 errors and p95 ≤
200 ms before the first step that missed; its baseline is the most answered per second at any step (what
the machine serves at all, latency aside). ``--profile`` adds one step with py-spy attached to the server
processes (bench/pyspy.py) and prints where their CPU time goes.

Target (for reference): ≥ 300 req/s, 0 errors, p95 ≤ 200 ms. It stops by itself: with the defaults about
8–9 minutes on 2 cores, after the data.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import math
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
django.setup()

from django.db import connection  # noqa: E402
from PIL import Image  # noqa: E402

from bench import map as map_bench  # noqa: E402
from bench import pyspy  # noqa: E402
from bench.results import record  # noqa: E402
from bench.server import REPO, free_port, start_server, stop_server  # noqa: E402
from geo.models import Authority, AuthorityKind, Category  # noqa: E402

PHOTO = REPO / "data" / "photos" / "05_jpeg_iphone6_o1_gps-madrid.jpg"
POINTS = REPO / "data" / "boundaries" / "gemeinde_points_on_surface_vg5000_2021.geojson"
ZOOMS = (8, 10, 12, 13, 14, 15, 16)
TARGET_RATE, TARGET_P95_MS = 300, 200
SWEEP_RATES = "20,40,60,80,100,150,200,300"
SWEEP_WARMUP_SECONDS = 10


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


def _locust(port: int, plan_path: Path, prefix: Path, users: int, user_rate: float, duration: int,
            quiet: bool = False) -> int:
    """Run locust for ``duration`` s; ``quiet`` keeps its summary in a log file beside the CSVs (printed if
    locust fails)."""
    env = {**os.environ, "BENCH_MIXED_PLAN": str(plan_path), "BENCH_MIXED_USER_RATE": str(user_rate)}
    command = [
        str(REPO / ".venv" / "bin" / "locust"), "-f", str(REPO / "bench" / "locustfile.py"), "--headless",
        "--host", f"http://127.0.0.1:{port}", "-u", str(users), "-r", str(users), "-t", f"{duration}s",
        "--csv", str(prefix), "--only-summary", "--stop-timeout", "10", "--loglevel", "WARNING",
        "--exit-code-on-error", "0",
    ]
    if not quiet:
        return subprocess.run(command, cwd=REPO, env=env, stdout=sys.stderr).returncode
    log = Path(f"{prefix}.log")
    with log.open("w", encoding="utf-8") as output:
        code = subprocess.run(command, cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT).returncode
    if code not in (0, 1):
        sys.stderr.write(log.read_text(encoding="utf-8")[-4000:])
    return code


def _stats(prefix: Path) -> list[dict]:
    text = Path(f"{prefix}_stats.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _failures(prefix: Path) -> list[dict]:
    path = Path(f"{prefix}_failures.csv")
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8")))) if path.exists() else []


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=120,
                        help="seconds of load per fixed-rate run (default 120; 0: no fixed-rate runs)")
    parser.add_argument("--rate", type=float, default=TARGET_RATE, help="offered requests per second")
    parser.add_argument("--user-rate", type=float, default=3.0, help="requests per second per simulated user")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn processes")
    parser.add_argument("--reports", type=int, default=1_000_000, help="generated reports (PostGIS only; 0: none)")
    parser.add_argument("--photo", default=str(PHOTO), help="photo to send (sized down to 1600 px), or 'none'")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--admission", choices=("both", "on", "off"), default="both",
                        help="admission at the door (backend.admission) as configured ('on'), turned off "
                             "(WEB_CONCURRENCY_LIMIT=0, the baseline), or both one after the other (default); "
                             "the sweep runs with it on unless this is 'off'")
    parser.add_argument("--sweep", type=_rates, default=_rates(SWEEP_RATES), metavar="RATES",
                        help=f"offered rates (req/s, comma-separated, rising) of the rate sweep (default "
                             f"{SWEEP_RATES}; 'none': no sweep)")
    parser.add_argument("--sweep-step-seconds", type=int, default=30, help="seconds of load per step (default 30)")
    parser.add_argument("--profile", nargs="?", type=_profile_rate, const="auto", default=None, metavar="RATE",
                        help="after the sweep, one more step with py-spy sampling the server processes, at RATE "
                             "(default: the sweep's result, or its first rate if none passed); prints a summary")
    parser.add_argument("--profile-raw", type=Path, default=None, metavar="PATH",
                        help="keep py-spy's raw (folded) stacks of --profile there, e.g. for a flame graph")
    args = parser.parse_args()
    if args.profile and not args.sweep:
        parser.error("--profile samples one more step of the sweep: give --sweep rates, not none")

    data = _prepare(args.reports, args.seed)
    users = max(1, round(args.rate / args.user_rate))
    runs = {"off": {"WEB_CONCURRENCY_LIMIT": "0"}, "on": {}}
    results = {}
    for name in ("off", "on"):
        if args.admission in (name, "both") and args.duration > 0:
            results[name] = _run(args, users, data, runs[name], name)
    for name, (stats, failures) in results.items():
        baseline = results.get("off") if name == "on" else None
        _report(stats, failures, args, users, data, name, baseline[0] if baseline else None)
    if args.sweep:
        admission = "off" if args.admission == "off" else "on"
        _sweep(args, data, runs[admission], admission)


# --- The rate sweep ----------------------------------------------------------------------------------------
# Offered rates rising, one locust run of --sweep-step-seconds each against the same server: the highest
# offered rate answered with 0 errors and p95 ≤ 200 ms is what this machine can sustain within the target.


def _rates(text: str) -> list[float]:
    if text.strip().lower() in ("", "none", "0"):
        return []
    try:
        rates = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of rates: {text!r}") from None
    if any(rate <= 0 for rate in rates) or rates != sorted(rates):
        raise argparse.ArgumentTypeError(f"rates must be positive and rising: {text!r}")
    return rates


def _profile_rate(text: str) -> float | str:
    if text == "auto":  # the sweep's result (argparse passes the const through this, too)
        return text
    rates = _rates(text)
    if len(rates) != 1:
        raise argparse.ArgumentTypeError(f"one rate (req/s): {text!r}")
    return rates[0]


def _number(value: str | None) -> float:
    try:
        return float(value or "nan")
    except ValueError:  # locust's "N/A" for a kind without requests
        return float("nan")


@dataclass
class Step:
    offered: float
    seconds: int
    requests: int = 0
    errors: int = 0
    p95_ms: float = float("nan")
    p95_by_kind: dict[str, float] = field(default_factory=dict)

    @property
    def answered(self) -> float:
        """Requests answered without error per second."""
        return (self.requests - self.errors) / self.seconds

    @property
    def passed(self) -> bool:
        return self.requests > 0 and self.errors == 0 and self.p95_ms <= TARGET_P95_MS

    @property
    def clearly_failed(self) -> bool:
        """Far enough off that a higher rate cannot pass: the sweep stops here. (The clients' requests come at random
        moments: the number offered in a step varies by about √(rate × seconds), which is allowed three times.)"""
        noise = 3 * math.sqrt(self.offered * self.seconds) / self.seconds
        return (self.requests == 0 or self.errors > 0.01 * self.requests or not self.p95_ms <= 2 * TARGET_P95_MS
                or self.answered < 0.9 * self.offered - noise)


def _step(args, port: int, plan_path: Path, prefix: Path, rate: float, seconds: int) -> Step:
    # The offered rate exactly: as many users as --user-rate gives, each at rate ÷ users requests per second.
    users = max(1, round(rate / args.user_rate))
    code = _locust(port, plan_path, prefix, users, rate / users, seconds, quiet=True)
    if code not in (0, 1):
        raise SystemExit(f"locust failed (exit {code})")
    step = Step(offered=rate, seconds=seconds)
    for row in _stats(prefix):
        if row["Name"] == "Aggregated":
            step.requests, step.errors = int(row["Request Count"]), int(row["Failure Count"])
            step.p95_ms = _number(row["95%"])
        else:
            step.p95_by_kind[row["Name"].split()[0]] = _number(row["95%"])
    return step


def _step_line(step: Step, verdict: str) -> str:
    kinds = "".join(f"{step.p95_by_kind.get(kind, float('nan')):>8.0f}" for kind in ("map", "list", "submit"))
    return (f"{step.offered:>7g}/s {step.answered:>9.1f}/s {step.requests:>8,d} {step.errors:>7,d} "
            f"{step.p95_ms:>8.0f}{kinds}  {verdict}")


def _sweep(args, data: str, extra_env: dict[str, str], name: str) -> None:
    seconds = args.sweep_step_seconds
    steps: list[Step] = []
    profile: list[str] = []
    print(f"\nMixed load, rate sweep, admission {name}: {seconds} s per offered rate "
          f"({', '.join(f'{rate:g}' for rate in args.sweep)} req/s, stopping after a clear miss); uvicorn with "
          f"{args.workers} processes on 127.0.0.1, database {os.environ.get('DATABASE_URL', '').split(':')[0]}; "
          f"{data}", flush=True)
    header = (f"{'offered':>9} {'answered':>11} {'requests':>8} {'errors':>7} {'p95 ms':>8}{'map':>8}{'list':>8}"
              f"{'submit':>8}  result")
    print(header)
    print("-" * len(header), flush=True)
    with _serving(args, extra_env) as (server, port, plan_path, workdir):
        # A few seconds at the first rate first, not counted: imports, the pools' connections, first caches.
        _step(args, port, plan_path, workdir / "warmup", args.sweep[0], SWEEP_WARMUP_SECONDS)
        for rate in args.sweep:
            step = _step(args, port, plan_path, workdir / f"step-{rate:g}", rate, seconds)
            steps.append(step)
            verdict = ("ok" if step.passed else "missed, stopping" if step.clearly_failed else "missed")
            print(_step_line(step, verdict), flush=True)
            if step.clearly_failed:
                break
            time.sleep(2)  # what the last step left queued is answered or dropped before the next
        if args.profile:
            profile = _profiled_step(args, server.pid, port, plan_path, workdir, steps)
    best = _result(steps)
    capacity = max((step.answered for step in steps), default=0.0)
    print(f"\nSustained with 0 errors and p95 ≤ {TARGET_P95_MS} ms: {best:g} req/s offered (the highest such "
          f"step); the most answered without error at any step: {capacity:.1f} req/s. Target (for reference): "
          f"≥ {TARGET_RATE} req/s.")
    below = [step.offered for step in steps if not step.passed and step.offered < best]
    if below:
        print(f"Missed at lower rates ({', '.join(f'{rate:g}' for rate in below)} req/s): the result is at the "
              f"edge of the noise; longer steps (--sweep-step-seconds) settle it.")
    if steps and steps[-1].passed and steps[-1].offered < TARGET_RATE:
        print("The last step passed: the limit is above the rates swept (--sweep).")
    for line in profile:
        print(line)
    sys.stdout.flush()
    record(f"6 mixed load, rate sweep ({seconds:g} s steps), admission {name}",
           f"highest rate with 0 errors, p95 ≤ {TARGET_P95_MS} ms", best, unit="/s",
           baseline=capacity, baseline_name="most answered at any step", target=f"≥ {TARGET_RATE}/s",
           met=best >= TARGET_RATE)


def _result(steps: list[Step]) -> float:
    """The highest offered rate that passed (0 if none did)."""
    return max((step.offered for step in steps if step.passed), default=0.0)


def _profiled_step(args, pid: int, port: int, plan_path: Path, workdir: Path, steps: list[Step]) -> list[str]:
    rate = args.profile if args.profile != "auto" else (_result(steps) or args.sweep[0])
    seconds = args.sweep_step_seconds
    raw = workdir / "profile.txt"
    sampler = pyspy.start(pid, seconds, raw)
    step = _step(args, port, plan_path, workdir / "profiled", rate, seconds)
    lines = [f"\nProfile: one more step at {rate:g} req/s with py-spy sampling the server processes (100/s, "
             f"{seconds} s; not counted: sampling slows the server a little)",
             _step_line(step, "ok" if step.passed else "missed")]
    try:
        pyspy.finish(sampler, raw)
    except pyspy.ProfileError as exc:
        return [*lines, f"py-spy could not sample the server: {exc} (attaching needs ptrace permission: root, "
                        "CAP_SYS_PTRACE or kernel.yama.ptrace_scope 0)"]
    if args.profile_raw:
        args.profile_raw.write_bytes(raw.read_bytes())
        lines.append(f"raw stacks: {args.profile_raw}")
    return [*lines, *pyspy.summary(raw)]


@contextlib.contextmanager
def _serving(args, extra_env: dict[str, str]) -> Iterator[tuple[subprocess.Popen, int, Path, Path]]:
    """A server as the mixed load wants it, and the request plan: (server, port, plan file, work directory)."""
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
            yield server, port, plan_path, workdir
        finally:
            stop_server(server)


def _run(args, users: int, data: str, extra_env: dict[str, str], name: str) -> tuple[list[dict], list[dict]]:
    with _serving(args, extra_env) as (_, port, plan_path, workdir):
        print(f"[mixed] admission {name}: {users} users × {args.user_rate:g} req/s for {args.duration} s "
              f"against {args.workers} uvicorn processes; data: {data}", file=sys.stderr, flush=True)
        code = _locust(port, plan_path, workdir / "locust", users, args.user_rate, args.duration)
        stats, failures = _stats(workdir / "locust"), _failures(workdir / "locust")
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
    span = f"{args.duration / 60:g} min" if args.duration % 60 == 0 else f"{args.duration} s"
    workload = f"6 mixed load, {span} (90 % reads), admission {name}"
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
