"""Prometheus metrics at ``/metrics`` (prometheus-client renders the text format).

Two kinds of figures, each counted where it is honest:

- **Requests and latencies** are counted by the web processes themselves (``RequestMetrics``, an ASGI middleware
  outermost around Django, so the admission's fast 503s count too). The server runs several uvicorn worker
  processes, and a scrape reaches just one of them: counters in one process's memory would be a random share of
  the truth. So prometheus-client's multiprocess mode is used: ``backend.server`` points
  ``PROMETHEUS_MULTIPROC_DIR`` at an emptied directory before uvicorn starts, every worker writes its counters to
  files of its own there, and a scrape adds up all of them (``MultiProcessCollector``). Without that variable (a
  single process: tests, ``runserver``) the process's own registry is shown.
- **Queue depths, ages, failures and reports by status** are computed from the database at scrape time with a few
  aggregate queries (``DatabaseMetrics``): the same answer whichever process is asked, no matter which process (web
  or the delivery worker) changed the rows, and nothing to keep in step.

Labels are bounded: the route is the URL pattern (``/api/v1/reports/<uuid:public_id>/``), never the raw path, and
methods and status classes come from short fixed lists; static files count as ``static``, paths without a route
as ``unmatched``.

Access (``metrics``): a ``Bearer`` token (``METRICS_TOKEN``, compared in constant time) or a client address in
``METRICS_ALLOWED_NETWORKS``; anything else gets 403. With neither configured the endpoint does not exist (404).
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Count, Min, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_tasks_db.models import DBTaskResult
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from backend.api_errors import error_response
from notifications.models import Channel, Delivery, DeliveryStatus
from reports.models import Report

logger = logging.getLogger(__name__)

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Latencies from a cached map answer (about a millisecond) to a streamed export.
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REQUESTS = Counter(
    "openmelder_http_requests", "HTTP requests answered, by method, route (URL pattern) and status class.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "openmelder_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer (queueing at the door included), by method and route.",
    ["method", "route"], buckets=_BUCKETS,
)


@functools.lru_cache(maxsize=4096)
def route_of(path: str) -> str:
    """The URL pattern a path resolves to (``/api/v1/reports/<uuid:public_id>/``): a bounded label, without ids,
    references or file names."""
    if path.startswith("/" + settings.STATIC_URL.lstrip("/")):
        return "static"
    try:
        route = resolve(path).route
    except Resolver404:
        return "unmatched"
    # re_path patterns come as regular expressions: their anchors say nothing to a reader.
    return "/" + route.removeprefix("^").removesuffix("$")


class RequestMetrics:
    """ASGI middleware (backend.asgi): counts every HTTP request and its duration, by route and status class."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception before any answer: Django's server error

        async def send_and_note(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            method = scope["method"] if scope["method"] in _METHODS else "other"
            route = route_of(scope["path"])
            REQUESTS.labels(method, route, f"{status // 100}xx").inc()
            LATENCY.labels(method, route).observe(time.perf_counter() - started)


class DatabaseMetrics(Collector):
    """Figures from the database, computed at scrape time: five aggregate queries (counts grouped by a few columns
    with indexes on them), nothing per row."""

    def collect(self) -> Iterator[Metric]:
        try:
            yield from self._collect()
        except DatabaseError as exc:
            logger.warning("metrics: the database could not be asked: %s", exc)
            up = 0
        else:
            up = 1
        yield GaugeMetricFamily(
            "openmelder_metrics_database_up", "1 if the database figures of this scrape could be read.", value=up
        )

    def _collect(self) -> Iterator[Metric]:
        now = timezone.now()
        due = Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        # Pending deliveries that are due (the worker should be at them) and those waiting for their time
        # (a follow-up in 14 days, a retry after a failed attempt): only the first is a queue to watch.
        queue = GaugeMetricFamily(
            "openmelder_delivery_queue_depth", "Pending deliveries (e-mails, webhooks) that are due now.",
            labels=["channel"],
        )
        scheduled = GaugeMetricFamily(
            "openmelder_deliveries_scheduled", "Pending deliveries whose time has not come yet (follow-ups, retries).",
            labels=["channel"],
        )
        pending = Delivery.objects.filter(status=DeliveryStatus.PENDING).values("channel").annotate(
            due=Count("id", filter=Q(next_attempt_at__lte=now)), total=Count("id"),
        )
        counts = dict.fromkeys(Channel.values, (0, 0))  # every channel always, 0 when empty
        for by_channel in pending:
            counts[by_channel["channel"]] = (by_channel["due"], by_channel["total"] - by_channel["due"])
        for channel, (due_now, later) in sorted(counts.items()):
            queue.add_metric([channel], due_now)
            scheduled.add_metric([channel], later)
        yield queue
        yield scheduled

        oldest = Delivery.objects.filter(due).aggregate(since=Min("next_attempt_at"))["since"]
        yield GaugeMetricFamily(
            "openmelder_delivery_oldest_pending_age_seconds",
            "Seconds the longest-waiting due delivery has been due (0 when none is): grows while no worker sends.",
            value=max((now - oldest).total_seconds(), 0.0) if oldest else 0.0,
        )

        # Given up after NOTIFY_MAX_ATTEMPTS: a gauge of rows, not a counter (a delivery retried from the admin,
        # or removed with its report, leaves it).
        failed = GaugeMetricFamily(
            "openmelder_deliveries_failed", "Deliveries given up after their last attempt, by channel and kind.",
            labels=["channel", "kind"],
        )
        given_up = Delivery.objects.filter(status=DeliveryStatus.FAILED).values("channel", "kind")
        given_up = given_up.annotate(n=Count("id"))
        for by_kind in given_up.order_by("channel", "kind"):
            failed.add_metric([by_kind["channel"], by_kind["kind"]], by_kind["n"])
        yield failed

        reports = GaugeMetricFamily(
            "openmelder_reports", "Reports by status and authority (its slug; empty when none is responsible).",
            labels=["status", "authority"],
        )
        by_place = Report.objects.values("status", "authority__slug").annotate(n=Count("id"))
        for by_status in by_place.order_by("status", "authority__slug"):
            reports.add_metric([by_status["status"], by_status["authority__slug"] or ""], by_status["n"])
        yield reports

        yield GaugeMetricFamily(
            "openmelder_tasks_ready", "Background tasks (photos, geocoding, deliveries) waiting for the worker.",
            value=DBTaskResult.objects.ready().count(),
        )


class _ThisProcess(Collector):
    """The registry of this process (a single-process server): its request metrics, CPU and memory."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def registry() -> CollectorRegistry:
    """What a scrape shows: the request metrics of every web process (or of this one), and the database's figures."""
    registry = CollectorRegistry(auto_describe=False)
    directory = os.environ.get(MULTIPROCESS_ENV)
    if directory:
        MultiProcessCollector(registry, path=directory)
    else:
        registry.register(_ThisProcess())
    registry.register(DatabaseMetrics())
    return registry


def _bearer_token(request: HttpRequest) -> str:
    scheme, _space, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _from_allowed_network(request: HttpRequest) -> bool:
    networks = settings.METRICS_ALLOWED_NETWORKS
    if not networks:
        return False
    # A request forwarded by a proxy the server does not believe (TRUSTED_PROXY off) carries the proxy's address
    # (often 127.0.0.1): the address says nothing about the client, so it opens nothing.
    if not settings.TRUSTED_PROXY and ("HTTP_X_FORWARDED_FOR" in request.META or "HTTP_FORWARDED" in request.META):
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in ipaddress.ip_network(network) for network in networks)


def allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    given = _bearer_token(request)
    if token and given and hmac.compare_digest(given.encode(), token.encode()):
        return True
    return _from_allowed_network(request)


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not settings.METRICS_TOKEN and not settings.METRICS_ALLOWED_NETWORKS:
        # Turned off (the production default until the operator chooses): as if there were no such page.
        raise Http404
    if not allowed(request):
        return error_response(request, 403, "forbidden", _("Metrics need a token or an allowed address."))
    # The format the scraper asks for (Accept): the classic text format unless it names a newer one.
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encoder(registry()), content_type=content_type)
