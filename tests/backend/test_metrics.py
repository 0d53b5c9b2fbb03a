"""Prometheus metrics at /metrics: what an operator's Prometheus scrapes, parsed with prometheus-client's own parser.

Queue depths, failures and reports by status come from the database at scrape time (asked here through the Django
test client); requests and latencies are counted by each web process and summed over all of them, which only a real
server with two worker processes shows.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.parser import text_string_to_metric_families

from backend.admission import Admission
from backend.metrics import RequestMetrics
from notifications.models import Delivery
from tests.backend.test_admission import Exchange, Held, settle
from tests.conftest import REPO, manage
from tests.live import _stop, free_port, migrated_database, offline_env
from tests.mobile_api.v1.test_submit import submit
from tests.notifications.delivery import Receiver, change_status, run_worker
from tests.notifications.test_webhook_delivery import hameln_webhook

TOKEN = "metrics-token-0123456789abcdef"


class Scrape:
    def __init__(self, text: str) -> None:
        self.families = {family.name: family for family in text_string_to_metric_families(text)}
        self.samples = [sample for family in self.families.values() for sample in family.samples]

    def matching(self, name: str, **labels: str) -> list:
        return [s for s in self.samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]

    def value(self, name: str, **labels: str) -> float:
        found = self.matching(name, **labels)
        assert found, f"no sample {name} {labels}"
        return sum(sample.value for sample in found)


def scrape(client, **headers) -> Scrape:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    return Scrape(response.content.decode())


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_NETWORKS = []


# --- who may scrape -------------------------------------------------------------------------------------------------

def test_metrics_are_off_in_production_until_a_token_or_a_network_is_set(client, settings):
    # The tests run as production does (DEBUG off) with neither variable set.
    assert settings.METRICS_TOKEN == "" and settings.METRICS_ALLOWED_NETWORKS == []
    assert client.get("/metrics", secure=True).status_code == 404
    assert client.get("/metrics", secure=True, HTTP_AUTHORIZATION="Bearer anything").status_code == 404


@pytest.mark.django_db
def test_with_a_token_only_the_token_opens_the_metrics(client, token):
    assert client.get("/metrics", secure=True).status_code == 403
    assert client.get("/metrics", secure=True, HTTP_AUTHORIZATION="Bearer " + TOKEN[:-1] + "x").status_code == 403
    assert client.get("/metrics", secure=True, HTTP_AUTHORIZATION="Basic " + TOKEN).status_code == 403
    refused = client.get("/metrics", secure=True, HTTP_AUTHORIZATION=f"Bearer {TOKEN}z")
    assert refused.status_code == 403 and b"openmelder" not in refused.content
    assert "Metriken" in refused.content.decode()  # said in German by default
    assert "openmelder_reports" in scrape(client, secure=True).families


@pytest.mark.django_db
def test_an_allowed_network_may_scrape_without_a_token_and_others_may_not(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = ["10.20.0.0/16"]
    assert client.get("/metrics", REMOTE_ADDR="10.20.3.4").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.21.3.4").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403
    settings.METRICS_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    # Through a proxy on the same machine the server does not believe (TRUSTED_PROXY off), the address is the
    # proxy's: it opens nothing, whoever the visitor is.
    forwarded = client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert forwarded.status_code == 403


@pytest.mark.django_db
def test_a_scrape_over_plain_http_is_not_redirected_to_https(client, token, settings):
    assert settings.SECURE_SSL_REDIRECT
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")  # not secure=True
    assert response.status_code == 200


@pytest.mark.django_db
def test_scrapes_write_no_request_lines_into_the_json_log(token, settings, caplog):
    settings.LOG_FORMAT = "json"
    client = Client()  # loads the middleware now, with JSON request lines
    with caplog.at_level(logging.INFO, logger="openmelder.request"):
        assert client.get("/healthz", secure=True).status_code == 200
        scrape(client, secure=True)
        scrape(client, secure=True)
    assert [record.path for record in caplog.records if record.name == "openmelder.request"] == ["/healthz"]


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("METRICS_ALLOWED_NETWORKS", "10.20.0.0/16,intranet", "METRICS_ALLOWED_NETWORKS: 'intranet' is not an IP network"),
    ("METRICS_TOKEN", "short", "METRICS_TOKEN must be at least 16 characters"),
])
def test_a_bad_metrics_setting_stops_the_process_with_a_clear_message(tmp_path, variable, value, message):
    env = {"DEBUG": "false", "SECRET_KEY": "x" * 50, "DATA_DIR": str(tmp_path), variable: value}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert message in result.stderr


def test_the_metrics_token_can_come_from_a_file(tmp_path):
    token_file = tmp_path / "metrics-token"
    token_file.write_text("short\n")
    env = {"DEBUG": "false", "SECRET_KEY": "x" * 50, "DATA_DIR": str(tmp_path), "METRICS_TOKEN_FILE": str(token_file)}
    assert "METRICS_TOKEN must be at least 16 characters" in manage("check", env=env).stderr
    token_file.write_text(TOKEN + "\n")
    assert manage("check", env=env).returncode == 0


# --- figures from the database --------------------------------------------------------------------------------------

def test_a_pending_delivery_shows_in_the_queue_depth_with_its_age(client, demo, token):
    before = scrape(client, secure=True)
    assert before.value("openmelder_delivery_oldest_pending_age_seconds") == 0
    report = submit(client).json()
    # A new report queues the mail to the responsible Bauhof, due at once; nobody has sent it yet.
    after = scrape(client, secure=True)
    depth = after.value("openmelder_delivery_queue_depth", channel="email")
    assert depth == Delivery.objects.filter(status="pending", report__public_id=report["id"]).count() >= 1
    # As if no worker had been running for ten minutes.
    Delivery.objects.filter(status="pending").update(next_attempt_at=timezone.now() - timedelta(minutes=10))
    age = scrape(client, secure=True).value("openmelder_delivery_oldest_pending_age_seconds")
    assert 600 <= age < 660
    assert scrape(client, secure=True).value("openmelder_tasks_ready") >= 1  # the deliveries' tasks
    run_worker()
    sent = scrape(client, secure=True)
    assert sent.value("openmelder_delivery_queue_depth", channel="email") == 0
    assert sent.value("openmelder_delivery_oldest_pending_age_seconds") == 0
    assert sent.value("openmelder_tasks_ready") == 0


def test_a_delivery_waiting_for_its_retry_is_scheduled_not_queued(client, demo, token):
    receiver = Receiver()
    receiver.answer = lambda attempt: 503  # try again later
    try:
        hameln_webhook(receiver.start())
        submit(client)
        run_worker()
    finally:
        receiver.stop()
    figures = scrape(client, secure=True)
    # Both events' webhook calls wait for their retry (NOTIFY_RETRY_BASE_SECONDS): nothing is late yet.
    assert figures.value("openmelder_delivery_queue_depth", channel="webhook") == 0
    assert figures.value("openmelder_deliveries_scheduled", channel="webhook") == 2
    assert figures.value("openmelder_delivery_oldest_pending_age_seconds") == 0
    assert not figures.matching("openmelder_deliveries_failed")


def test_failed_deliveries_are_counted_by_channel_and_kind(client, demo, token):
    receiver = Receiver()
    receiver.answer = lambda attempt: 410  # refused for good: given up at once
    try:
        hameln_webhook(receiver.start())
        assert not scrape(client, secure=True).matching("openmelder_deliveries_failed")
        submit(client)
        run_worker()
    finally:
        receiver.stop()
    figures = scrape(client, secure=True)
    assert figures.value("openmelder_deliveries_failed", channel="webhook", kind="event") == 2  # created, routed
    assert not figures.matching("openmelder_deliveries_failed", channel="email")


def test_reports_by_status_match_the_reports_made_through_the_api(client, personas, token):
    first, second, third = (submit(client).json() for _ in range(3))
    change_status(second["id"], "in_progress", actor=personas.hameln_worker)
    change_status(third["id"], "acknowledged", actor=personas.hameln_worker)
    figures = scrape(client, secure=True)
    assert figures.value("openmelder_reports", status="new") == 1
    assert figures.value("openmelder_reports", status="in_progress") == 1
    assert figures.value("openmelder_reports", status="acknowledged", authority="hameln") == 1
    assert sum(s.value for s in figures.matching("openmelder_reports")) == 3
    assert figures.value("openmelder_metrics_database_up") == 1


# --- requests --------------------------------------------------------------------------------------------------------

def _count(figures: Scrape, route: str, status: str) -> float:
    return sum(s.value for s in figures.matching("openmelder_http_requests_total", route=route, status=status))


@pytest.mark.django_db
def test_requests_refused_at_the_door_are_counted_and_a_scrape_passes_the_full_door(client, token):
    """The metrics middleware around the admission, as backend.asgi has it, with an application that stands for
    Django and answers when the test says so."""
    async def scenario() -> None:
        inner = Held()
        door = RequestMetrics(Admission(inner, limit=1, queue=0, wait=1))
        busy = Exchange(door, "/api/v1/map/").body()
        await settle()
        refused = Exchange(door, "/api/v1/map/").body()
        await refused.task
        assert refused.status == 503
        scraping = Exchange(door, "/metrics").body()
        await settle()
        assert "/metrics" in inner.started, "a scrape is let in while the door is full"
        inner.finish("/metrics")
        await scraping.task
        inner.finish("/api/v1/map/")
        await busy.task
        assert busy.status == 200

    before = scrape(client, secure=True)
    asyncio.run(scenario())
    after = scrape(client, secure=True)
    assert _count(after, "/api/v1/map/", "5xx") - _count(before, "/api/v1/map/", "5xx") == 1
    assert _count(after, "/api/v1/map/", "2xx") - _count(before, "/api/v1/map/", "2xx") == 1


# --- requests, counted by every worker process of a real server ---------------------------------------------------

@contextmanager
def two_worker_server(directory: Path) -> Iterator[str]:
    """The server as compose.yaml starts it, with two worker processes (``--workers 2``), as make run's
    environment has it (DEBUG: loopback may scrape)."""
    # Counters a previous run left behind (as a server killed with its directory kept would): not counted again.
    (directory / "metrics").mkdir()
    stale = MmapedDict(str(directory / "metrics" / "counter_1.db"))
    labels = ["method", "route", "status"]
    stale.write_value(mmap_key("openmelder_http_requests", "openmelder_http_requests_total", labels,
                               ["GET", "/api/v1/categories/", "2xx"], "old"), 1000, 0)
    stale.close()
    with migrated_database(directory, demo_reports=0) as database:
        base_env = {key: value for key, value in os.environ.items() if key in {"PATH", "HOME", "LANG"}}
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "backend.server", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
            cwd=REPO, env={**base_env, **offline_env(directory, database)},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while _get(f"{base}/healthz") != 200:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("uvicorn with two workers did not start")
                time.sleep(0.2)
            yield base
        finally:
            _stop(process)


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def _scrape_live(base: str) -> Scrape:
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:
        return Scrape(response.read().decode())


def test_requests_are_counted_by_route_and_summed_over_the_worker_processes(tmp_path):
    with two_worker_server(tmp_path) as base:
        # From loopback (make run's default with DEBUG), no token needed.
        start = _scrape_live(base)
        assert not start.matching("openmelder_http_requests_total", route="/api/v1/categories/")
        answers: list[int] = []
        metrics_files = tmp_path / "metrics"

        def ask() -> None:
            answers.append(_get(f"{base}/api/v1/categories/"))

        # New connections in parallel, until both workers have answered some (each keeps files of its own).
        while len(answers) < 400:
            threads = [threading.Thread(target=ask) for _ in range(20)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            if len({path.stem.rsplit("_", 1)[1] for path in metrics_files.glob("counter_*.db")}) >= 2:
                break
        pids = {path.stem.rsplit("_", 1)[1] for path in metrics_files.glob("counter_*.db")}
        assert len(pids) == 2, "both worker processes answered requests"
        assert 0 not in answers, "every request was answered"
        # On a busy machine the admission may refuse some with 503: they are counted too, as 5xx.
        ok = answers.count(200)
        assert ok and set(answers) <= {200, 503}
        missing = uuid.uuid4()
        assert _get(f"{base}/api/v1/reports/{missing}/") == 404

        figures = _scrape_live(base)
        # Whichever worker answers the scrape, it counts the requests both answered.
        for _ in range(3):
            counted = figures.matching("openmelder_http_requests_total", method="GET", route="/api/v1/categories/")
            assert {s.labels["status"]: s.value for s in counted} == (
                {"2xx": ok, "5xx": len(answers) - ok} if ok < len(answers) else {"2xx": ok}
            )
            figures = _scrape_live(base)
        # The route's pattern, never the id that was asked for.
        assert figures.value(
            "openmelder_http_requests_total", method="GET", route="/api/v1/reports/<uuid:public_id>/", status="4xx"
        ) == 1
        assert str(missing) not in "".join(str(s.labels) for s in figures.samples)
        # The latency histogram counts the same requests.
        assert figures.value(
            "openmelder_http_request_duration_seconds_count", method="GET", route="/api/v1/categories/"
        ) == len(answers)
        assert figures.value(
            "openmelder_http_request_duration_seconds_bucket", method="GET", route="/api/v1/categories/", le="+Inf"
        ) == len(answers)
        assert figures.value("openmelder_metrics_database_up") == 1
