"""Websocket fan-out: how long one event takes to reach 1,000 listeners of the public map.

Starts uvicorn (one process) with the Redis channel layer on 127.0.0.1, connects ``--clients``
websocket clients to ``/ws/map/``, publishes events and measures, per client, the time from
publishing to receiving. The server process receives each map event once (one channel in the ``map``
group, ``notifications.broadcast``) and writes the same frame to each of its map sockets. Two ways to
publish:

- through the channel layer (``group_send`` to the ``map`` group from this process, the same call
  ``notifications.handlers.push_events`` makes after a commit): the fan-out path alone;
- end to end: ``POST /api/v1/reports/`` and the time until each map client has the ``created`` event.

Baseline in the same run: raw Redis pub/sub (redis.asyncio) to the same number of subscribers.
Prints p50/p95/p99/max and the ratio. Needs ``REDIS_URL`` and a migrated database: run through
``make bench`` (``BENCH=fanout``), which provides both. Everything stays on 127.0.0.1.

Target for reference (issue tracker): p95 ≤ 250 ms for 1,000 clients.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import resource
import signal
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlencode

from bench.results import record
from bench.server import free_port, start_server, stop_server

REPO = Path(__file__).resolve().parents[1]
HAMELN = (52.1039, 9.3576)
# A map message as the handlers send it (same size and shape), marked with the benchmark's event id.
SAMPLE_REPORT = {"category": "schlagloch", "status": "new", "location": {"lat": HAMELN[0], "lon": HAMELN[1]}}


def _raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < needed:
        raise SystemExit(f"need {needed} open files, the hard limit is {hard}: raise it (ulimit -Hn)")


def _setup_django() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    django.setup()


class Listeners:
    """Receive times (perf_counter) per key (an event's mark, or a report's id), from every listener."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.received: dict[str, list[float]] = defaultdict(list)
        self.complete: dict[str, asyncio.Event] = defaultdict(asyncio.Event)

    def got(self, key: str | None, at: float) -> None:
        if key is None:
            return  # not a message being measured (e.g. the "routed" event after "created")
        times = self.received[key]
        times.append(at)
        if len(times) == self.count:
            self.complete[key].set()

    async def collect(self, key: str, timeout: float) -> list[float]:
        """The receive times once every listener has the message (or after ``timeout`` seconds)."""
        try:
            await asyncio.wait_for(self.complete[key].wait(), timeout)
        except TimeoutError:
            pass
        self.complete.pop(key, None)
        return self.received.pop(key, [])


async def _connect_all(count: int, connect: Callable[[int], Awaitable[object]], parallel: int = 50) -> list:
    """Open (or close) ``count`` connections, ``parallel`` at a time: a thousand handshakes at once would
    measure the listen backlog and the handshake burst, not the fan-out; and the raw Redis baseline's
    subscribers each open a connection of their own."""
    gate = asyncio.Semaphore(parallel)

    async def one(number: int):
        async with gate:
            return await connect(number)

    return await asyncio.gather(*(one(n) for n in range(count)))


async def _measure(listeners: Listeners, publish: Callable[[], Awaitable[tuple[str, float]]], events: int,
                   warmup: int, pause: float, timeout: float) -> tuple[list[float], int]:
    """Publish ``warmup + events`` events one after the other; latencies in ms of the timed ones, and misses."""
    latencies: list[float] = []
    missed = 0
    for number in range(warmup + events):
        key, started = await publish()
        times = await listeners.collect(key, timeout)
        if number >= warmup:
            latencies.extend((t - started) * 1000 for t in times)
            missed += listeners.count - len(times)
        await asyncio.sleep(pause)
    return latencies, missed


async def websocket_fanout(port: int, args) -> dict[str, tuple[list[float], int]]:
    import websockets
    from channels.layers import get_channel_layer

    from notifications.groups import MAP_GROUP

    listeners = Listeners(args.clients)

    async def listen(connection) -> None:
        async for raw in connection:
            at = time.perf_counter()
            message = json.loads(raw)
            report = message.get("report", {})
            # Marked benchmark messages by their mark; a submitted report's "created" event by the report's id.
            listeners.got(report.get("bench") or (report.get("id") if message.get("kind") == "created" else None), at)

    async def connect(number: int):
        connection = await websockets.connect(
            f"ws://127.0.0.1:{port}/ws/map/", origin="http://127.0.0.1", open_timeout=60, close_timeout=5,
            max_queue=None,
        )
        return connection, asyncio.create_task(listen(connection))

    started = time.perf_counter()
    clients = await _connect_all(args.clients, connect)
    elapsed = time.perf_counter() - started
    print(f"[fanout] {len(clients)} websocket clients connected in {elapsed:.1f} s", file=sys.stderr)
    layer = get_channel_layer()

    async def via_layer() -> tuple[str, float]:
        mark = uuid.uuid4().hex
        started = time.perf_counter()
        await layer.group_send(MAP_GROUP, {"type": "report.event", "payload": _payload(mark)})
        return mark, started

    async def via_http() -> tuple[str, float]:
        # The report's id is known only from the answer; the "created" event may reach clients before it,
        # which Listeners allows for (it keeps receive times under the id until collected).
        started = time.perf_counter()
        return await asyncio.to_thread(_submit, port), started

    results = {"group_send": await _measure(listeners, via_layer, args.events, args.warmup, args.pause, args.timeout)}
    if args.http_events:
        results["POST → map"] = await _measure(listeners, via_http, args.http_events, 1, args.pause, args.timeout)
    for _, task in clients:
        task.cancel()
    # Closed 50 at a time too, as they were opened.
    await _connect_all(len(clients), lambda n: clients[n][0].close())
    return results


def _payload(mark: str) -> dict:
    return {"seq": 0, "kind": "status_changed", "report": {"id": mark, "bench": mark, **SAMPLE_REPORT}}


def _submit(port: int) -> str:
    body = urlencode({"category": "schlagloch", "lat": HAMELN[0], "lon": HAMELN[1], "description": "Fan-out benchmark"})
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request(
        "POST", "/api/v1/reports/", body=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    response = connection.getresponse()
    answer = response.read()
    if response.status != 201:
        raise SystemExit(f"submission failed: {response.status} {answer[:200]!r}")
    return json.loads(answer)["id"]


async def redis_fanout(url: str, args) -> tuple[list[float], int]:
    import redis.asyncio as redis

    channel = f"bench-fanout-{uuid.uuid4().hex}"
    listeners = Listeners(args.clients)

    async def listen(pubsub) -> None:
        async for message in pubsub.listen():
            if message["type"] != "message":
                continue
            at = time.perf_counter()
            listeners.got(json.loads(message["data"])["report"]["bench"], at)

    async def connect(number: int):
        client = redis.Redis.from_url(url)
        pubsub = client.pubsub()
        await pubsub.subscribe(channel)
        await pubsub.get_message(timeout=5)  # the subscribe confirmation
        return client, pubsub, asyncio.create_task(listen(pubsub))

    subscribers = await _connect_all(args.clients, connect)
    publisher = redis.Redis.from_url(url)

    async def publish() -> tuple[str, float]:
        mark = uuid.uuid4().hex
        started = time.perf_counter()
        await publisher.publish(channel, json.dumps(_payload(mark)))
        return mark, started

    result = await _measure(listeners, publish, args.events, args.warmup, args.pause, args.timeout)
    for client, pubsub, task in subscribers:
        task.cancel()
        await pubsub.aclose()
        await client.aclose()
    await publisher.aclose()
    return result


def _percentile(values: list[float], share: float) -> float:
    """Nearest rank."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, int(round(share * len(ordered))) - 1)]


def _print(results: dict[str, tuple[list[float], int]], baseline: tuple[list[float], int], args) -> None:
    raw, raw_missed = baseline
    print(f"\nWebsocket fan-out to {args.clients} clients of /ws/map/ (uvicorn, 1 process, Redis channel layer, "
          f"one map broadcaster per process), "
          f"{args.events} events after {args.warmup} warm-up; latency per client from publishing to receiving")
    print(f"{'workload':24} {'figure':10} {'websocket':>10} {'raw Redis':>10} {'ratio':>7}")
    print("-" * 65)
    for name, (latencies, missed) in results.items():
        for label, share in (("p50 ms", 0.5), ("p95 ms", 0.95), ("p99 ms", 0.99), ("max ms", 1.0)):
            ours, theirs = _percentile(latencies, share), _percentile(raw, share)
            ratio = f"{ours / theirs:6.1f}×" if name == "group_send" and theirs > 0 else ""
            shown = f"{theirs:10.1f}" if name == "group_send" else f"{'':10}"
            print(f"{name if label == 'p50 ms' else '':24} {label:10} {ours:10.1f} {shown} {ratio:>7}")
        deliveries = f"{len(latencies):10d} {len(raw) if name == 'group_send' else '':>10}"
        print(f"{'':24} {'delivered':10} {deliveries}")
        print(f"{'':24} {'missed':10} {missed:10d} {raw_missed if name == 'group_send' else '':>10}")
    p95 = _percentile(results["group_send"][0], 0.95)
    print(f"\nTarget p95 ≤ 250 ms (group_send): {'met' if p95 <= 250 else 'NOT met'} ({p95:.1f} ms)")
    sys.stdout.flush()
    workload = f"5 websocket fan-out to {args.clients} clients"
    for label, share in (("p50 ms", 0.5), ("p95 ms", 0.95)):
        record(workload, f"group_send {label}", _percentile(results["group_send"][0], share), unit="ms",
               baseline=_percentile(raw, share), baseline_name="raw Redis pub/sub",
               target="≤ 250 ms" if share == 0.95 else "", met=p95 <= 250 if share == 0.95 else None)
    missed = sum(m for _, m in results.values())
    record(workload, "missed deliveries", missed, unit="count", baseline=raw_missed, baseline_name="raw Redis pub/sub",
           target="0", met=missed == 0)
    if "POST → map" in results:
        record(workload, "POST → map p95 ms", _percentile(results["POST → map"][0], 0.95), unit="ms")


def main() -> None:
    # Ctrl-C or a TERM from make still stops the server (finally blocks run).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--events", type=int, default=20, help="timed events per workload")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--http-events", type=int, default=5, help="end-to-end events by report submission (0: none)")
    parser.add_argument("--pause", type=float, default=0.2, help="seconds between events")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for all clients per event")
    parser.add_argument("--ws", default="auto", choices=["auto", "websockets", "websockets-sansio", "wsproto"],
                        help="uvicorn's websocket implementation")
    args = parser.parse_args()

    url = os.environ.get("REDIS_URL")
    if not url:
        raise SystemExit("REDIS_URL is not set: run through `make bench BENCH=fanout` (it starts a throw-away Redis)")
    # Per client: a websocket here and its peer in the server, a Redis connection for the baseline; plus slack.
    _raise_fd_limit(3 * args.clients + 512)
    _setup_django()
    if args.http_events:
        from reports.demo import load_demo

        load_demo(password="bench-only", reports=0)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass

    port = free_port()
    server = start_server(
        port, "--workers", "1", "--backlog", "4096", "--timeout-graceful-shutdown", "5", "--ws", args.ws
    )
    try:
        results = asyncio.run(websocket_fanout(port, args))
    finally:
        stop_server(server)
    baseline = asyncio.run(redis_fanout(url, args))
    _print(results, baseline, args)


if __name__ == "__main__":
    main()
