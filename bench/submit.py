"""Report submission over HTTP against a running ASGI server (uvicorn, 2 processes), with a 2 MB photo.

Prints reports/s, p50 and p95 latency and the error count of three runs of the same seeded reports: without a
photo (the baseline), with the photo (the request path: the photos wait for the worker, which is stopped), and
with the photo while the photos' worker (``manage.py db_worker``) runs beside the server, as in production,
with how many photos it made meanwhile. Run through ``make bench`` (``BENCH=submit``), which
provides a throw-away database; everything runs on 127.0.0.1 and stops by itself after ``--requests``
submissions.

Target for reference (issue #21): p50 ≤ 80 ms, ≥ 20 reports/s.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.results import percentile, record
from bench.server import free_port, start_server, start_worker, stop_server

REPO = Path(__file__).resolve().parents[1]
PHOTO = REPO / "data" / "photos" / "05_jpeg_iphone6_o1_gps-madrid.jpg"  # 2.0 MB, 8 MP, an iPhone's JPEG
POINTS = REPO / "data" / "boundaries" / "gemeinde_points_on_surface_vg5000_2021.geojson"


def _multipart(fields: dict[str, str], photo: bytes | None) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    if photo is not None:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; filename="foto.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n".encode() + photo + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _prepare_database() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    django.setup()
    from reports.demo import load_demo

    load_demo(password="bench-only", reports=0)


def _renditions() -> int:
    """Photos the worker has made (decoded, blurred, stored) so far."""
    from reports.models import Photo

    return Photo.objects.exclude(public_image="").count()


def _photo_work(photo: bytes, runs: int = 20) -> tuple[float, float]:
    """Median ms, in this process, of what a request does with the photo now (inspect_photo: header and EXIF) and
    of the whole pipeline it ran before the worker took it over (process_photo: decode, turn, resize, encode)."""
    from reports.photos import inspect_photo, process_photo

    def median_ms(function) -> float:
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            function(photo)
            times.append((time.perf_counter() - started) * 1000)
        return percentile(times, 0.5)

    return median_ms(inspect_photo), median_ms(process_photo)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    _prepare_database()
    photo = PHOTO.read_bytes()
    rng = random.Random(args.seed)
    points = [
        f["geometry"]["coordinates"]
        for f in json.loads(POINTS.read_text())["features"]
        if f["properties"]["ars"].startswith("03252")
    ]
    bodies, bare = [], []
    for number in range(args.requests):
        lon, lat = rng.choice(points)
        fields = {
            "category": rng.choice(["schlagloch", "wilder-muell", "strassenbeleuchtung-defekt"]),
            "lat": f"{lat + rng.uniform(-0.002, 0.002):.6f}",
            "lon": f"{lon + rng.uniform(-0.002, 0.002):.6f}",
            "description": f"Benchmark-Meldung {number}",
        }
        if fields["category"] == "wilder-muell":  # the demo's category asks which kind of waste (required)
            fields["answers"] = json.dumps({"muellart": ["sperrmuell"]})
        bodies.append(_multipart(fields, photo))
        bare.append(_multipart(fields, None))

    port = free_port()
    server = start_server(port, "--workers", str(args.workers))
    try:
        def send(item: tuple[bytes, str]) -> tuple[int, float]:
            body, content_type = item
            started = time.perf_counter()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            try:
                connection.request("POST", "/api/v1/reports/", body=body, headers={"Content-Type": content_type})
                response = connection.getresponse()
                response.read()
                status = response.status
            except OSError:
                status = 0
            finally:
                connection.close()
            return status, (time.perf_counter() - started) * 1000

        # Warm-up, with and without a photo: both server processes import everything, fill their connection pools
        # and caches (otherwise the first of the three runs below pays for it).
        with ThreadPoolExecutor(args.concurrency) as pool:
            list(pool.map(send, bodies[: args.concurrency * 5] + bare[: args.concurrency * 5]))

        def run(items: list[tuple[bytes, str]]) -> tuple[list[tuple[int, float]], float]:
            started = time.perf_counter()
            with ThreadPoolExecutor(args.concurrency) as pool:
                answers = list(pool.map(send, items))
            return answers, time.perf_counter() - started

        # Baseline in the same run: the same reports without a photo (what the photo adds).
        bare_results, _ = run(bare)
        # The request path alone: the photos wait for the worker, which is not running.
        results, elapsed = run(bodies)
        # As in production: the worker makes the photos meanwhile, competing for the same two cores.
        before = _renditions()
        worker = start_worker()
        try:
            busy_results, _ = run(bodies)
            made_meanwhile = _renditions() - before
        finally:
            worker.terminate()
            worker.wait(timeout=60)
    finally:
        stop_server(server)

    inspect_ms, process_ms = _photo_work(photo)
    latencies = [ms for status, ms in results if status == 201]
    errors = sum(1 for status, _ in results if status != 201)
    rate = len(latencies) / elapsed
    p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
    print(f"\nReport submission over HTTP ({args.workers} uvicorn processes, {args.concurrency} concurrent clients, "
          f"{len(photo) / 1e6:.1f} MB JPEG photo each, database {os.environ.get('DATABASE_URL', '').split(':')[0]})")
    print(f"{'workload':32} {'figure':14} {'value':>10}")
    print("-" * 58)
    print(f"{'submit with one photo':32} {'reports/s':14} {rate:10.1f}")
    print(f"{'':32} {'p50 ms':14} {p50:10.1f}")
    print(f"{'':32} {'p95 ms':14} {p95:10.1f}")
    print(f"{'':32} {'errors':14} {errors:10d}")
    print(f"{'':32} {'requests':14} {len(results):10d}")
    busy = [ms for status, ms in busy_results if status == 201]
    busy_p50, busy_p95 = percentile(busy, 0.5), percentile(busy, 0.95)
    print(f"{'same, the worker running':32} {'p50 ms':14} {busy_p50:10.1f}")
    print(f"{'':32} {'p95 ms':14} {busy_p95:10.1f}")
    print(f"{'':32} {'errors':14} {len(busy_results) - len(busy):10d}")
    print(f"{'':32} {'photos made':14} {made_meanwhile:10d}  (by the worker, during these requests)")
    sys.stdout.flush()
    bare_latencies = [ms for status, ms in bare_results if status == 201]
    bare_p50, bare_p95 = percentile(bare_latencies, 0.5), percentile(bare_latencies, 0.95)
    print(f"{'same, without a photo':32} {'p50 ms':14} {bare_p50:10.1f}")
    print(f"{'':32} {'p95 ms':14} {bare_p95:10.1f}")
    print(f"{'':32} {'errors':14} {len(bare_results) - len(bare_latencies):10d}")
    print(f"{'photo work in the request':32} {'median ms':14} {inspect_ms:10.1f}  (inspect_photo; the whole pipeline, "
          f"process_photo, that requests ran before: {process_ms:.1f} ms)")
    workload = f"2 submission, 2 MB photo ({args.concurrency} clients)"
    record(workload, "reports/s", rate, unit="/s", target="≥ 20/s", met=rate >= 20)
    record(workload, "p50 ms", p50, unit="ms", baseline=bare_p50, baseline_name="without photo",
           target="≤ 80 ms", met=p50 <= 80)
    record(workload, "p95 ms", p95, unit="ms", baseline=bare_p95, baseline_name="without photo")
    record(workload, "p50 ms, the worker running", busy_p50, unit="ms", baseline=bare_p50,
           baseline_name="without photo")
    record(workload, "errors", errors, unit="count", target="0", met=errors == 0)
    record(workload, "photo work in the request, median ms", inspect_ms, unit="ms", baseline=process_ms,
           baseline_name="whole pipeline in the request")

if __name__ == "__main__":
    main()
