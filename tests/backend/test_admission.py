"""Overload at the door (backend.admission): a fast 503 with Retry-After beyond capacity, reads refused before
writes, and a slow upload holds no place while it is sent.

The first tests speak ASGI to the middleware, with an application that stands for Django and finishes when the
test says so; the last one overloads a real server with a burst of map requests and a phone's report."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from backend.admission import INITIAL_SERVICE_S, Admission
from tests.live import demo_server, post_photo_report

pytestmark = pytest.mark.backend_independent


class Held:
    """An ASGI application that reads the body as Django does, then answers 200 once the test releases it."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.release: dict[str, asyncio.Event] = {}

    async def __call__(self, scope, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            if not message.get("more_body"):
                break
        name = scope["path"]
        self.started.append(name)
        await self.release.setdefault(name, asyncio.Event()).wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": name.encode()})

    def finish(self, name: str) -> None:
        self.release.setdefault(name, asyncio.Event()).set()


class Exchange:
    """One request to the middleware: its body arrives in ``chunks`` as the test sends them."""

    def __init__(self, app, path: str, method: str = "GET", language: str = "de") -> None:
        self.scope = {"type": "http", "method": method, "path": path,
                      "headers": [(b"accept-language", language.encode())]}
        self.incoming: asyncio.Queue = asyncio.Queue()
        self.sent: list[dict] = []
        self.task = asyncio.ensure_future(app(self.scope, self.incoming.get, self._send))

    async def _send(self, message) -> None:
        self.sent.append(message)

    def body(self, data: bytes = b"", more: bool = False) -> Exchange:
        self.incoming.put_nowait({"type": "http.request", "body": data, "more_body": more})
        return self

    @property
    def status(self) -> int | None:
        return self.sent[0]["status"] if self.sent else None

    @property
    def headers(self) -> dict[bytes, bytes]:
        return dict(self.sent[0]["headers"])


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_beyond_the_queue_reads_get_a_fast_503_in_the_clients_language_and_writes_go_first():
    async def scenario():
        inner = Held()
        door = Admission(inner, limit=1, queue=2, wait=5)
        first = Exchange(door, "/api/v1/map/").body()
        await settle()
        assert inner.started == ["/api/v1/map/"]
        waiting_read = Exchange(door, "/open311/v2/requests.json").body()
        await settle()
        refused = Exchange(door, "/api/v1/stats/", language="en").body()  # reads may fill 3/4 of the queue
        await settle()
        assert refused.status == 503 and refused.task.done()
        assert refused.headers[b"retry-after"] == b"2"
        error = json.loads(refused.sent[1]["body"])["errors"][0]
        assert error["code"] == "overloaded" and error["message"].startswith("The service is busy")

        report = Exchange(door, "/api/v1/reports/", method="POST").body(b"category=schlagloch")
        await settle()
        assert report.status is None  # waits: writes may use the whole queue
        staff = Exchange(door, "/api/staff/reports/HM-1/transition/", method="POST").body(b"{}")
        await settle()
        # The queue was full (a read and a write): the latest waiting read made room for the write.
        assert waiting_read.status == 503
        assert json.loads(waiting_read.sent[1]["body"])[0]["code"] == 503  # Open311's error format
        assert staff.status is None

        inner.finish("/api/v1/map/")
        await settle()
        assert first.status == 200 and inner.started[1] == "/api/v1/reports/"  # writes in order of arrival
        inner.finish("/api/v1/reports/")
        await settle()
        assert inner.started[2] == "/api/staff/reports/HM-1/transition/"
        inner.finish("/api/staff/reports/HM-1/transition/")
        await asyncio.gather(first.task, report.task, staff.task)
        assert (report.status, staff.status) == (200, 200)
        assert door.active == 0 and door.waiting == 0

    asyncio.run(scenario())


def test_a_request_that_waits_longer_than_the_wait_is_refused_and_leaves_no_trace():
    async def scenario():
        inner = Held()
        door = Admission(inner, limit=1, queue=4, wait=0.05)
        first = Exchange(door, "/api/v1/map/").body()
        await settle()
        late = Exchange(door, "/meldungen/").body()
        await asyncio.wait_for(late.task, 1)
        assert late.status == 503 and late.headers[b"content-type"].startswith(b"text/plain")
        assert "ausgelastet" in late.sent[1]["body"].decode()
        inner.finish("/api/v1/map/")
        await first.task
        assert door.active == 0 and door.waiting == 0
        again = Exchange(door, "/api/v1/map/").body()
        await settle()
        assert inner.started == ["/api/v1/map/", "/api/v1/map/"]
        await asyncio.wait_for(again.task, 1)

    asyncio.run(scenario())


def test_under_sustained_overload_a_read_that_would_wait_in_vain_is_refused_at_once():
    async def scenario():
        inner = Held()
        door = Admission(inner, limit=1, queue=100, wait=0.27)
        busy = Exchange(door, "/api/v1/map/").body()
        await settle()
        queued = []
        while len(queued) < 50:
            reader = Exchange(door, f"/api/v1/map/{len(queued)}").body()
            await settle()  # no time passes: an answer now is an answer at once
            if reader.status == 503:
                break
            queued.append(reader)
        # As many as can start within the wait, at the time a request has taken so far (none measured yet).
        assert len(queued) == int(0.27 / INITIAL_SERVICE_S) and reader.status == 503
        report = Exchange(door, "/api/v1/reports/", method="POST").body(b"category=schlagloch")
        await settle()
        assert report.status is None  # a write is not refused for the reads ahead of it
        for name in ["/api/v1/map/", *(f"/api/v1/map/{n}" for n in range(len(queued)))]:
            inner.finish(name)
        inner.finish("/api/v1/reports/")
        await asyncio.gather(busy.task, report.task, *(r.task for r in queued))
        assert inner.started[1] == "/api/v1/reports/"  # and goes first
        assert all(r.status == 200 for r in queued) and door.active == 0

    asyncio.run(scenario())


def test_a_slow_upload_holds_no_place_while_it_is_sent():
    async def scenario():
        inner = Held()
        door = Admission(inner, limit=1, queue=0, wait=1)
        upload = Exchange(door, "/api/v1/reports/", method="POST").body(b"part one", more=True)
        await settle()
        reader = Exchange(door, "/api/v1/map/").body()  # the only place is free: the upload is still arriving
        await settle()
        assert inner.started == ["/api/v1/map/"]
        upload.body(b"part two")  # complete now, but the place is taken and there is no queue
        await settle()
        assert upload.status == 503
        inner.finish("/api/v1/map/")
        await reader.task
        assert reader.status == 200 and door.active == 0

    asyncio.run(scenario())


def test_websockets_static_files_and_health_pass_uncounted():
    async def scenario():
        inner = Held()
        door = Admission(inner, limit=1, queue=0, wait=1)
        busy = Exchange(door, "/api/v1/map/").body()
        await settle()
        for path in ("/healthz", "/static/site.css"):
            exchange = Exchange(door, path).body()
            await settle()
            assert exchange.status is None and path in inner.started  # admitted, working
            inner.finish(path)
            await exchange.task
            assert exchange.status == 200
        seen = []

        async def websocket_app(scope, receive, send):
            seen.append(scope["type"])

        await Admission(websocket_app, limit=1, queue=0, wait=1)({"type": "websocket", "path": "/ws/map/"}, None, None)
        assert seen == ["websocket"]
        inner.finish("/api/v1/map/")
        await busy.task

    asyncio.run(scenario())


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept-Language": "de"}), timeout=30) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def test_an_overloaded_server_answers_503_fast_and_still_takes_the_report(tmp_path):
    with demo_server(tmp_path, WEB_CONCURRENCY_LIMIT="1", WEB_QUEUE_LIMIT="2", WEB_QUEUE_WAIT_MS="2000") as (base, _):
        views = [f"{base}/api/v1/map/?bbox=9.30,52.05,9.40,52.15&zoom={zoom}&status=open" for zoom in range(11, 16)]
        assert _get(views[0])[0] == 200
        go = threading.Event()

        def crowd(number: int):
            go.wait()
            return _get(views[number % len(views)] + f"&category=schlagloch&n={number}")

        with ThreadPoolExecutor(max_workers=24) as pool:
            answers = [pool.submit(crowd, n) for n in range(48)]
            go.set()
            status, seconds = post_photo_report(base, [])
            results = [a.result() for a in answers]
    assert status == 201, "the phone's report was refused under overload"
    statuses = [code for code, _, _ in results]
    assert set(statuses) <= {200, 503} and 503 in statuses, statuses
    for code, headers, body in results:
        if code == 503:
            assert headers["retry-after"] == "2"
            assert json.loads(body)["errors"][0]["code"] == "overloaded"
