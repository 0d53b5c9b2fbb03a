"""What one server process can answer per second: the public endpoints next to a bare ASGI endpoint.

    python -m bench.hotpath [--seconds 10] [--connections 8]

Starts one uvicorn process on 127.0.0.1 with ``bench.bare:application`` (OpenMelder's application plus
``GET /bare/``, a JSON document answered straight from ASGI in the same process: the "limit" row) and
loads it from this process with ``--connections`` keep-alive HTTP/1.1 connections (asyncio, a new request
as soon as the last answer is read: a closed loop that measures capacity, not latency under a given load)
for ``--seconds`` per endpoint:

- ``/bare/``: the limit;
- ``/healthz``: Django's request cycle and every middleware around a view that does nothing;
- the map at zoom 16 over the Stadt Hameln, the same viewport every time (after the first: from the cache; with
  Redis answered by ``mobile_api.public_cache.PublicReadFastPath`` in front of Django), and the same with the
  answer's ``ETag`` in ``If-None-Match`` (304);
- the same viewport from a second server with ``PUBLIC_READ_FAST_PATH=false``: cached answers through Django's
  request cycle and its cache middleware, as before the fast path (the "before" of issue #21 part 2);
- the map with a new viewport every time (never from the cache: the whole work of the endpoint);
- the public list ``/meldungen/`` (HTML, never cached).

Prints requests/s, p50 and p95 per endpoint and the share of the limit. Target (issue #21 part 2): the
public map reaches ≥ 50 % of the bare endpoint's throughput. The load generator shares the machine's cores
with the server, as in the mixed load. Data: the demo with its sample reports (``load_demo``).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import statistics
import subprocess
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
django.setup()

from bench.results import percentile, record  # noqa: E402
from bench.server import _OFFLINE, REPO, free_port  # noqa: E402

HAMELN = (9.3576, 52.1039)  # lon, lat: Pferdemarkt
MAP_CACHED = "map, the same viewport (cached)"
MAP_304 = "map, the same viewport, 304"
MAP_CACHED_DJANGO = "map, cached, fast path off (before)"


def _viewport(lon: float, lat: float) -> str:
    # 1280 × 800 px at zoom 16
    width, height = 1280 / 256 * 360 / 2**16, 800 / 256 * 360 / 2**16 * 0.62
    return f"{lon - width / 2:.6f},{lat - height / 2:.6f},{lon + width / 2:.6f},{lat + height / 2:.6f}"


def _targets(seed: int) -> dict[str, itertools.cycle | itertools.repeat]:
    rng = random.Random(seed)
    places = [(HAMELN[0] + rng.uniform(-0.05, 0.05), HAMELN[1] + rng.uniform(-0.03, 0.03)) for _ in range(100_000)]
    moving = [f"/api/v1/map/?bbox={_viewport(lon, lat)}&zoom=16" for lon, lat in places]
    return {
        "bare ASGI endpoint (the limit)": itertools.repeat("/bare/"),
        "/healthz (Django, no work)": itertools.repeat("/healthz"),
        MAP_CACHED: itertools.repeat(f"/api/v1/map/?bbox={_viewport(*HAMELN)}&zoom=16"),
        "map, a new viewport each time": itertools.cycle(moving),
        "public list /meldungen/ (HTML)": itertools.repeat("/meldungen/"),
    }


async def _read_response(reader: asyncio.StreamReader, seen: dict[str, str] | None = None) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:] if line)}
    if seen is not None:
        seen.update(headers)
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding") == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status


async def _client(port: int, paths, until: float, times: list[float], statuses: dict[int, int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.monotonic() < until:
            path = next(paths)
            extra = ""
            if isinstance(path, tuple):  # (path, ETag): a conditional request
                path, extra = path[0], f"If-None-Match: {path[1]}\r\n"
            started = time.perf_counter()
            writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Language: de\r\n{extra}\r\n".encode())
            status = await _read_response(reader)
            times.append((time.perf_counter() - started) * 1000)
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


async def _load(port: int, paths, seconds: float, connections: int) -> tuple[list[float], dict[int, int]]:
    times: list[float] = []
    statuses: dict[int, int] = {}
    until = time.monotonic() + seconds
    await asyncio.gather(*(_client(port, paths, until, times, statuses) for _ in range(connections)))
    return times, statuses


def _etag(port: int, path: str) -> str:
    async def ask() -> str:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Language: de\r\n\r\n".encode())
        headers: dict[str, str] = {}
        await _read_response(reader, headers)
        writer.close()
        return headers["etag"]

    return asyncio.run(ask())


def _start(port: int, **settings: str) -> subprocess.Popen:
    env = {**os.environ, "HTTPS": "false", "API_RATE_READ": "100000000/minute", "LOG_LEVEL": "WARNING",
           "DATABASE_CONN_MAX_AGE": "0", **_OFFLINE, **settings}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench.bare:application", "--host", "127.0.0.1", "--port", str(port),
         "--no-proxy-headers", "--log-level", "warning", "--no-access-log"], cwd=REPO, env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            statuses = asyncio.run(_load(port, itertools.repeat("/healthz"), 0.01, 1))[1]
            if statuses.get(200):
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds of load per endpoint")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    from reports.demo import load_demo

    load_demo(password="bench-only", reports=300)
    rows = []

    def measure(name: str, port: int, paths) -> None:
        asyncio.run(_load(port, paths, 1.0, args.connections))  # warm up (and fill the cache)
        times, statuses = asyncio.run(_load(port, paths, args.seconds, args.connections))
        rows.append((name, len(times) / args.seconds, times, statuses))

    targets = _targets(args.seed)
    same_viewport = f"/api/v1/map/?bbox={_viewport(*HAMELN)}&zoom=16"
    port = free_port()
    server = _start(port)
    try:
        for name, paths in targets.items():
            measure(name, port, paths)
            if name == MAP_CACHED:
                measure(MAP_304, port, itertools.repeat((same_viewport, _etag(port, same_viewport))))
    finally:
        server.terminate()
        server.wait(timeout=30)
    if os.environ.get("REDIS_URL"):
        port = free_port()
        server = _start(port, PUBLIC_READ_FAST_PATH="false")
        try:
            measure(MAP_CACHED_DJANGO, port, targets[MAP_CACHED])
        finally:
            server.terminate()
            server.wait(timeout=30)
    limit = rows[0][1]
    print(f"\nHot path: one uvicorn process, {args.connections} keep-alive connections from this process, "
          f"{args.seconds:g} s per endpoint; database {os.environ.get('DATABASE_URL', '').split(':')[0]}")
    print(f"{'endpoint':36} {'req/s':>8} {'of limit':>9} {'p50 ms':>8} {'p95 ms':>8}  statuses")
    print("-" * 90)
    for name, rate, times, statuses in rows:
        print(f"{name:36} {rate:8.0f} {rate / limit:8.0%} {statistics.median(times):8.2f} "
              f"{percentile(times, 0.95):8.2f}  {dict(sorted(statuses.items()))}")
        record("8 hot path, one process", f"{name} req/s", rate, unit="/s", baseline=limit,
               baseline_name="bare ASGI endpoint",
               **({"target": "≥ 50 % of the limit", "met": rate >= limit / 2} if name == MAP_CACHED else {}))
    before = [rate for name, rate, _, _ in rows if name == MAP_CACHED_DJANGO]
    if before:
        cached = next(rate for name, rate, _, _ in rows if name == MAP_CACHED)
        print(f"\nThe cached map: {cached:.0f} req/s in front of Django, {before[0]:.0f} req/s through Django "
              f"({cached / before[0]:.1f}×).")
        record("8 hot path, one process", "cached map, fast path on vs off, req/s", cached, unit="/s",
               baseline=before[0], baseline_name="through Django (fast path off)")
    print("\nTarget (for reference): the public map ≥ 50 % of the bare endpoint's requests/s.")


if __name__ == "__main__":
    main()
