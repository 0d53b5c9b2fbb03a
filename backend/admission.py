"""Admission at the door: at most so many HTTP requests at work per server process, a short bounded queue
behind them, and a fast 503 with ``Retry-After`` beyond that.

Without it, every request beyond what the process can do got a thread of its own and waited for one of the
database pool's connections until DATABASE_POOL_TIMEOUT (5 s), then failed: under overload clients waited
seconds for an error, and the work already admitted slowed down with every thread added. Here a request
that cannot start within ``WEB_QUEUE_WAIT`` seconds, or finds the queue full, is refused before Django's
view, a thread or the database is involved.

A read is refused at once, without queueing, when the requests ahead of it would take longer than the
wait to finish (the time a request is at work is followed as a moving average): under sustained overload
the answer to those beyond capacity is an immediate 503, not one after waiting in vain.

Writes come first: a request that changes something (anything but GET, HEAD and OPTIONS: a citizen's
report, a staff action) is let in before every waiting read, may wait ten times as long, may use the whole
queue while reads may use three quarters of it, and takes the place of the latest waiting read when the
queue is full. So under overload the map and the lists are refused first, submissions last.

Websockets, static files, the health endpoints and ``/metrics`` are not counted.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque

from django.conf import settings

logger = logging.getLogger(__name__)

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# A scrape must work under overload too: that is when its figures matter.
_EXEMPT_PREFIXES = ("/static/", "/healthz", "/readyz", "/metrics")
RETRY_AFTER_SECONDS = 2
# The time at work assumed before the first requests have been measured (seconds), and how fast the moving
# average follows new measurements.
INITIAL_SERVICE_S = 0.05
_SMOOTHING = 0.1
# A write (a citizen's report, a staff action) may wait this many times longer than a read.
WRITE_WAIT_FACTOR = 10

_MESSAGES = {
    "de": "Der Dienst ist gerade ausgelastet. Bitte versuchen Sie es in einem Moment erneut.",
    "en": "The service is busy right now. Please try again in a moment.",
}


class Admission:
    """ASGI middleware around Django's HTTP application (backend.asgi)."""

    def __init__(self, app, *, limit: int | None = None, queue: int | None = None, wait: float | None = None) -> None:
        self.app = app
        self.limit = limit if limit is not None else settings.WEB_CONCURRENCY_LIMIT
        self.queue = queue if queue is not None else settings.WEB_QUEUE_LIMIT
        self.wait = wait if wait is not None else settings.WEB_QUEUE_WAIT
        self.active = 0
        self.service_s = INITIAL_SERVICE_S  # moving average of the time a request is at work
        self._writes: deque[asyncio.Future[bool]] = deque()
        self._reads: deque[asyncio.Future[bool]] = deque()
        self.refused = 0  # since the process started, for the logs and metrics

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not self.limit or scope["path"].startswith(_EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        # The place is taken once the request's body has arrived, when Django is about to work on it: a
        # phone uploading a photo over a slow network holds no place while it sends.
        write = scope["method"] not in READ_METHODS
        state = {"asked": False, "admitted": False, "since": 0.0}

        async def receive_then_enter():
            message = await receive()
            if message["type"] == "http.request" and not message.get("more_body") and not state["asked"]:
                state["asked"] = True
                state["admitted"] = await self._enter(write)
                if not state["admitted"]:
                    # Django stops before doing anything (as when the client goes away); the answer is ours.
                    return {"type": "http.disconnect"}
                state["since"] = time.monotonic()
            return message

        try:
            await self.app(scope, receive_then_enter, send)
        finally:
            if state["admitted"]:
                self.service_s += _SMOOTHING * (time.monotonic() - state["since"] - self.service_s)
                self._leave()
        if state["asked"] and not state["admitted"]:
            self.refused += 1
            if self.refused == 1 or self.refused % 100 == 0:
                logger.warning("overloaded: %s requests refused with 503 so far (limit %s at work, queue %s)",
                               self.refused, self.limit, self.queue)
            await _refuse(scope, send)

    @property
    def waiting(self) -> int:
        return len(self._writes) + len(self._reads)

    async def _enter(self, write: bool) -> bool:
        if self.active < self.limit and not self.waiting:
            self.active += 1
            return True
        ahead = len(self._writes) if write else self.waiting
        if not write and (ahead + 1) * self.service_s / self.limit > self.wait:
            return False  # it would wait in vain: refused now
        if write and self.waiting >= self.queue and self._reads:
            self._reads.pop().set_result(False)  # the latest waiting read makes room
        if self.waiting >= (self.queue if write else self.queue * 3 // 4):
            return False
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        line = self._writes if write else self._reads
        line.append(future)
        try:
            return await asyncio.wait_for(asyncio.shield(future), self.wait * (WRITE_WAIT_FACTOR if write else 1))
        except TimeoutError:
            if future.done() and future.result():
                return True  # admitted just as the wait ran out: the place is ours
            future.cancel()
            if future in line:
                line.remove(future)
            return False

    def _leave(self) -> None:
        for line in (self._writes, self._reads):
            while line:
                future = line.popleft()
                if not future.done():
                    future.set_result(True)  # the place passes on: active stays the same
                    return
        self.active -= 1


def _language(scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"accept-language":
            first = value.decode("latin-1").split(",")[0].strip().lower()
            return "en" if first.startswith("en") else "de"
    return "de"


async def _refuse(scope, send) -> None:
    message = _MESSAGES[_language(scope)]
    if scope["path"].startswith("/open311/"):
        body = json.dumps([{"code": 503, "description": message}], ensure_ascii=False)
        content_type = b"application/json; charset=utf-8"
    elif scope["path"].startswith("/api/"):
        body = json.dumps({"errors": [{"field": None, "code": "overloaded", "message": message}]}, ensure_ascii=False)
        content_type = b"application/json; charset=utf-8"
    else:
        body, content_type = message, b"text/plain; charset=utf-8"
    data = body.encode()
    await send({
        "type": "http.response.start",
        "status": 503,
        "headers": [
            (b"content-type", content_type),
            (b"content-length", str(len(data)).encode()),
            (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
            (b"cache-control", b"no-store"),
        ],
    })
    await send({"type": "http.response.body", "body": data})
