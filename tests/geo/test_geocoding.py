"""Reverse geocoding of new reports in the background, and the address search of the web form.

A real HTTP server on 127.0.0.1 speaks Nominatim's API; nothing leaves the machine.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest
from django_tasks_db.models import DBTaskResult

from geo import geocoding
from reports.tasks import geocode_report
from tests.nominatim import LoopbackNominatim
from tests.notifications.delivery import run_worker
from tests.reports.publicdata.helpers import MARKET, report, submit

pytestmark = pytest.mark.django_db

MARKET_ADDRESS = {
    "house_number": "1", "road": "Pferdemarkt", "suburb": "Altstadt", "town": "Hameln",
    "county": "Landkreis Hameln-Pyrmont", "state": "Niedersachsen", "postcode": "31785", "country": "Deutschland",
}


MARKET_PLACES = {"pferdemarkt": [
    {"lat": "52.1039", "lon": "9.3576", "address": MARKET_ADDRESS, "display_name": "Pferdemarkt, Hameln"},
    {"lat": "51.9", "lon": "9.1", "address": {}, "display_name": "Pferdemarkt, Lügde, Lippe"},
]}
MARKET_REVERSE = {
    "address": MARKET_ADDRESS,
    "display_name": "1, Pferdemarkt, Altstadt, Hameln, Landkreis Hameln-Pyrmont, Niedersachsen, 31785, Deutschland",
}


def FakeNominatim(delay: float = 0) -> LoopbackNominatim:
    return LoopbackNominatim(MARKET_PLACES, reverse=MARKET_REVERSE, delay=delay)


def _serve(settings, server: LoopbackNominatim, timeout: int = 5):
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.GEOCODER = {**settings.GEOCODER, "PROVIDER": "nominatim", "URL": server.url,
                         "USER_AGENT": "OpenMelder-Test/1.0", "TIMEOUT": timeout}
    return thread


@pytest.fixture
def nominatim(settings):
    server = FakeNominatim()
    _serve(settings, server)
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def unreachable(settings):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.GEOCODER = {**settings.GEOCODER, "PROVIDER": "nominatim", "URL": f"http://127.0.0.1:{port}", "TIMEOUT": 1}


def geocoding_tasks():
    return DBTaskResult.objects.filter(task_path=geocode_report.module_path)


def test_a_new_report_gets_its_address_in_the_background_and_the_public_sees_it(client, demo, nominatim):
    body = submit(client, MARKET)
    assert body["address"] == "" and nominatim.requests == []  # the submission did not wait for it
    assert run_worker() >= 1
    [(path, query, agent)] = nominatim.requests
    assert (
        path == "/reverse" and (float(query["lat"]), float(query["lon"])) == MARKET and agent == "OpenMelder-Test/1.0"
    )
    public = client.get(f"/api/v1/reports/{body['id']}/", secure=True).json()
    assert public["address"] == "Pferdemarkt 1, 31785 Hameln"
    events = client.get(f"/api/v1/reports/{body['id']}/events/", secure=True).json()["events"]
    assert events[-1]["kind"] == "address_resolved" and events[-1]["message"] == "Pferdemarkt 1, 31785 Hameln"


def test_reports_at_the_same_spot_share_one_cached_lookup(client, demo, nominatim):
    first, second = submit(client, MARKET), submit(client, (MARKET[0] + 0.000001, MARKET[1]))
    run_worker()
    assert len(nominatim.requests) == 1
    assert report(first).address == report(second).address == "Pferdemarkt 1, 31785 Hameln"


def test_an_unreachable_geocoder_leaves_the_submission_intact(client, demo, unreachable):
    body = submit(client, MARKET)
    assert run_worker() >= 1
    [task] = geocoding_tasks()
    assert task.status == "SUCCESSFUL" and task.return_value == "unresolved"
    assert report(body).address == "" and report(body).status == "new"
    events = client.get(f"/api/v1/reports/{body['id']}/events/", secure=True).json()["events"]
    assert "address_resolved" not in [e["kind"] for e in events]


def test_a_slow_geocoder_is_given_up_after_the_timeout(client, demo, settings):
    server = FakeNominatim(delay=3)
    _serve(settings, server, timeout=1)
    try:
        body = submit(client, MARKET)
        started = time.monotonic()
        run_worker()
        assert time.monotonic() - started < 2.5
        assert report(body).address == ""
    finally:
        server.shutdown()
        server.server_close()


def test_nothing_is_queued_when_geocoding_is_switched_off(client, demo):
    submit(client, MARKET)
    assert not geocoding_tasks().exists()


def test_the_address_search_finds_places_and_caches_them(demo, nominatim):
    places = geocoding.search("  Pferdemarkt   Hameln ")
    assert places == [("Pferdemarkt 1, 31785 Hameln", 52.1039, 9.3576), ("Pferdemarkt, Lügde, Lippe", 51.9, 9.1)]
    assert geocoding.search("pferdemarkt hameln") == places
    [(path, query, _agent)] = nominatim.requests
    assert path == "/search" and query["q"] == "Pferdemarkt Hameln" and query["countrycodes"] == "de"
    assert geocoding.search("Nirgendwo") == [] and geocoding.search("   ") == []


def test_the_address_search_answers_unavailable_when_the_geocoder_is_down_or_off(demo, unreachable, settings):
    assert geocoding.search("Pferdemarkt Hameln") is None
    settings.GEOCODER = {**settings.GEOCODER, "PROVIDER": "none"}
    assert geocoding.search("Pferdemarkt Hameln") is None
