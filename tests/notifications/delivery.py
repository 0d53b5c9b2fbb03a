"""Helpers for the e-mail and webhook delivery tests: a real HTTP receiver, the worker, status changes."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.conf import settings

from reports.models import Report


def run_worker(limit: int = 1000) -> int:
    """Run every queued task that is due, in this process, with django_tasks_db's own worker pieces.

    (``Worker.run`` itself closes the database connection between tasks, which the test database
    of pytest-django does not allow.) Returns the number of tasks run.
    """
    from django_tasks_db.management.commands.db_worker import Worker
    from django_tasks_db.models import DBTaskResult

    worker = Worker(
        queue_names=["default"], interval=0, batch=True, backend_name="default", startup_delay=False,
        max_tasks=None, worker_id="test-worker", excluded_queue_names=[],
    )
    for count in range(limit):
        task_result = DBTaskResult.objects.ready().first()
        if task_result is None:
            return count
        task_result.claim(worker.worker_id)
        worker.run_task(task_result)
    raise AssertionError(f"still tasks after {limit}: a task re-enqueues itself without end?")


def committed(call, *args, **kwargs):
    """``call(...)`` as if its transactions committed, as each request and each task of the worker does in a
    server: what waits for the commit (pushes, deleted files, a new version of the public data) happens too.
    (A test's own transaction never commits.)"""
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        return call(*args, **kwargs)


def run_worker_committed(limit: int = 1000) -> int:
    """``run_worker``, with what waits for its tasks' commits done as well."""
    return committed(run_worker, limit)


def change_status(report_id: str, to: str, *, actor, message: str = "") -> None:
    from reports.services import report_transition

    report_transition(report=Report.objects.get(public_id=report_id), to=to, actor=actor, message=message)


def mails_to(address: str) -> list:
    """The mails sent to one address (the responsible department is mailed about every new report, too)."""
    from django.core import mail

    return [m for m in mail.outbox if address in m.to]


def links(text: str, kind: str) -> list[str]:
    """Paths of the links of a kind (confirm, reopen) in a mail, without PUBLIC_URL."""
    pattern = re.escape(settings.PUBLIC_URL) + rf"(/mail/{kind}/[^/\s\"]+/)"
    return re.findall(pattern, text)


@dataclass
class Call:
    path: str
    headers: dict  # names in lower case
    body: bytes
    answered: int

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1. ``answer(call_number_for_this_delivery)`` chooses the HTTP status."""

    answer: object = lambda attempt: 200
    calls: list[Call] = field(default_factory=list)
    hold: threading.Event | None = None  # if set, the first request waits for it before answering
    got_first: threading.Event = field(default_factory=threading.Event)

    def start(self) -> str:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                delivery = self.headers.get("X-OpenMelder-Delivery")
                attempt = 1 + sum(1 for c in receiver.calls if c.headers.get("x-openmelder-delivery") == delivery)
                first = not receiver.got_first.is_set()
                receiver.got_first.set()
                if first and receiver.hold is not None:
                    receiver.hold.wait(60)
                status = receiver.answer(attempt)
                receiver.calls.append(Call(self.path, {k.lower(): v for k, v in self.headers.items()}, body, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def stop(self) -> None:
        if self.hold is not None:
            self.hold.set()
        self.server.shutdown()
        self.server.server_close()

    def delivered(self) -> list[Call]:
        return [c for c in self.calls if 200 <= c.answered < 300]


def valid_signature(call: Call, secret: str) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), call.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(call.headers.get("x-openmelder-signature", ""), expected)


class RedisServer:
    """A real redis-server of the test's own, on 127.0.0.1, that can be stopped and started again on its port."""

    def __init__(self, directory) -> None:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.directory = directory
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import subprocess
        import time

        import redis

        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                if redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=0.5).ping():
                    return
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None
