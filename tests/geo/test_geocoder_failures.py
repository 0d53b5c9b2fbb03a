"""A geocoder that fails in any way is "no answer" everywhere it is used: the web form's search, the address
search for its script, Open311 requests located by ``address_string`` and the worker's reverse geocoding.

Each failure is a real HTTP server on 127.0.0.1 misbehaving: an error status, an HTML error page, broken JSON,
JSON of the wrong shape, coordinates outside the globe.
"""

from __future__ import annotations

import uuid

import pytest

from reports.models import Report
from tests.nominatim import LoopbackNominatim
from tests.notifications.delivery import run_worker
from tests.reports.publicdata.helpers import MARKET, report, submit

pytestmark = pytest.mark.django_db

FAILURES = {
    "server error": (500, "text/plain", b"Internal Server Error"),
    "html error page": (200, "text/html", b"<html><body>Service temporarily unavailable</body></html>"),
    "broken json": (200, "application/json", b'[{"lat": "52.1", "lon": '),
    "wrong shape": (200, "application/json", b'{"error": {"code": 400, "message": "Nothing to see"}}'),
    "coordinates off the globe": (200, "application/json",
                                  b'[{"lat": "1e200", "lon": "nan", "display_name": "Nowhere"}]'),
    "not a number": (200, "application/json", b'[{"lat": "north", "lon": "east", "display_name": "Hameln"}]'),
    "rate limited": (429, "application/json", b'{"error": "Too many requests"}'),
}


@pytest.fixture(params=sorted(FAILURES))
def failing_geocoder(request, settings):
    with LoopbackNominatim({}, broken=FAILURES[request.param]) as server:
        settings.GEOCODER = {**settings.GEOCODER, "PROVIDER": "nominatim", "URL": server.url, "TIMEOUT": 2}
        yield server


def test_the_address_search_says_unavailable_instead_of_failing(client, demo, failing_geocoder):
    response = client.get("/melden/adresse/?q=Hameln", secure=True, HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 200
    assert response.json() == {"results": [], "available": False}
    assert failing_geocoder.requests, "the geocoder was not asked"


def test_the_form_search_without_script_tells_the_visitor_the_search_is_unavailable(client, demo, failing_geocoder):
    page = client.post("/melden/", {"action": "search", "address": "Hameln", "category": "schlagloch",
                                    "submission": str(uuid.uuid4())}, secure=True, HTTP_ACCEPT_LANGUAGE="de")
    assert page.status_code == 200
    assert "Die Adresssuche ist gerade nicht verfügbar" in page.content.decode()


def test_an_open311_request_located_only_by_address_is_a_400_asking_for_coordinates(client, demo, failing_geocoder):
    from mobile_api.models import Open311Client

    open311 = Open311Client(name="FixMyStreet")
    key = open311.new_key()
    open311.save()
    response = client.post("/open311/v2/requests.json", {
        "api_key": key, "service_code": "schlagloch", "address_string": "Pferdemarkt 1, Hameln",
        "description": "Loch",
    }, secure=True, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400, response.content
    assert [e["description"] for e in response.json()] == ["address_string could not be located: give lat and long."]
    assert not Report.objects.exists()


def test_the_workers_reverse_geocoding_leaves_the_report_as_it_was(client, demo, failing_geocoder):
    body = submit(client, MARKET)
    assert run_worker() >= 1
    stored = report(body)
    assert stored.address == "" and stored.status == "new"
    assert ("/reverse" in [path for path, _query, _agent in failing_geocoder.requests])


def test_a_search_that_failed_is_asked_again_next_time(client, demo, settings):
    """A failure is not remembered as "nothing here": once the geocoder is back, the search finds the place."""
    with LoopbackNominatim({}, broken=FAILURES["server error"]) as down:
        settings.GEOCODER = {**settings.GEOCODER, "PROVIDER": "nominatim", "URL": down.url, "TIMEOUT": 2}
        assert client.get("/melden/adresse/?q=Pferdemarkt", secure=True).json()["available"] is False
    market = {"lat": "52.1039", "lon": "9.3576", "display_name": "Pferdemarkt, Hameln", "address": {}}
    with LoopbackNominatim({"pferdemarkt": [market]}) as up:
        settings.GEOCODER = {**settings.GEOCODER, "URL": up.url}
        answer = client.get("/melden/adresse/?q=Pferdemarkt", secure=True).json()
    assert answer["available"] is True and [(r["lat"], r["lon"]) for r in answer["results"]] == [(52.1039, 9.3576)]
