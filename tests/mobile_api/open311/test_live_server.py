"""Real clients against a real server: uvicorn on 127.0.0.1 with the demo, as make run starts it.

The PyPI client ``georeport`` reads services, a service definition, requests and a single request in
JSON and XML; then what FixMyStreet's Open311 client does: POST requests.xml form-encoded with an
api_key and attribute[…], read service_request_id (or follow the token), GET requests.xml by ids.
The server has a database of its own on the backend of the test run.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import pytest
import requests
from georeport import GeoReport

from tests.conftest import REPO, manage
from tests.live import migrated_database, run_worker_batch, uvicorn
from tests.mobile_api.open311.conftest import HAMELN_MARKET, validate


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("open311-server")
    with migrated_database(directory, demo_reports=25) as database:
        env = {
            "DEBUG": "true", "DATA_DIR": str(directory), "SECRET_KEY": "open311-live-test", "DATABASE_URL": database,
            "API_RATE_SUBMIT": "1000/hour", "GEOCODER": "none",  # no network
        }
        key = manage("open311_key", "FixMyStreet", env=env)
        assert key.returncode == 0, key.stderr
        with uvicorn(env) as base:
            yield {"root": f"{base}/open311/v2", "key": key.stdout.strip(), "env": env}


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("output_format", ["json", "xml"])
def test_the_georeport_client_reads_services_a_definition_requests_and_one_request(server, output_format):
    client = GeoReport(server["root"], output_format=output_format)
    services = _as_list(client.get_service_list())
    assert "schlagloch" in [s["service_code"] for s in services]
    definition = client.get_service_definition("schlagloch")
    assert definition["service_code"] == "schlagloch"
    # The demo's extra questions: "Art des Mülls" with its list of values, read by the client in both formats.
    asking = client.get_service_definition("wilder-muell")
    assert {s["service_code"]: s["metadata"] for s in services}["wilder-muell"] in (True, "true")
    assert "muellart" in str(asking) and "sperrmuell" in str(asking)
    listing = _as_list(client.get_service_requests(status="open,closed"))
    assert listing, "the demo has reports in the last 90 days"
    if output_format == "json":
        validate("services", services)
        validate("service_definition", definition)
        validate("service_definition", asking)
        [kinds] = [a for a in asking["attributes"] if a["code"] == "muellart"]
        assert kinds["required"] is True and "sperrmuell" in [v["key"] for v in kinds["values"]]
        validate("service_requests", listing)
    first = listing[0]
    single = client.get_service_request(first["service_request_id"])
    assert single["service_request_id"] == first["service_request_id"]
    assert single["status"] in ("open", "closed")
    assert float(single["lat"]) == pytest.approx(float(first["lat"]))
    by_code = _as_list(client.get_service_requests(service_code=first["service_code"]))
    assert {r["service_code"] for r in by_code} == {first["service_code"]}


def _post_like_fixmystreet(server, **extra) -> requests.Response:
    lat, lon = HAMELN_MARKET
    data = {
        "api_key": server["key"], "jurisdiction_id": "hameln-pyrmont", "service_code": "schlagloch",
        "lat": lat, "long": lon, "email": "citizen@example.org", "first_name": "Max", "last_name": "Muster",
        "description": "Schlagloch auf dem Pferdemarkt", "attribute[fixmystreet_id]": "12345",
        "attribute[title]": "Pothole", "attribute[report_url]": "https://fms.example/report/12345", **extra,
    }
    return requests.post(f"{server['root']}/requests.xml", data=data, timeout=30)


def test_a_fixmystreet_style_client_posts_then_reads_its_requests_back_by_id(server):
    ids = []
    for number in range(2):
        response = _post_like_fixmystreet(server, **{"attribute[fixmystreet_id]": str(100 + number)})
        assert response.status_code == 201, response.text
        assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
        request = ElementTree.fromstring(response.content).find("request")
        service_request_id, token = request.findtext("service_request_id"), request.findtext("token")
        assert service_request_id
        # A client that only understood tokens gets the same id by polling tokens/{token}.xml.
        polled = requests.get(f"{server['root']}/tokens/{token}.xml", timeout=30)
        assert ElementTree.fromstring(polled.content).findtext("request/service_request_id") == service_request_id
        ids.append(service_request_id)

    response = requests.get(f"{server['root']}/requests.xml", params={"service_request_id": ",".join(ids)}, timeout=30)
    assert response.status_code == 200
    found = {r.findtext("service_request_id"): r for r in ElementTree.fromstring(response.content).findall("request")}
    assert set(found) == set(ids)
    for item in found.values():
        assert item.findtext("status") == "open" and item.findtext("service_code") == "schlagloch"
        assert item.findtext("agency_responsible")
    assert b"citizen@example.org" not in response.content and b"Muster" not in response.content


def test_a_bad_key_and_bad_coordinates_are_errors_in_the_spec_format_over_http(server):
    refused = _post_like_fixmystreet(server, api_key="wrong")
    assert refused.status_code == 403
    assert ElementTree.fromstring(refused.content).findtext("error/code") == "403"
    bad_place = _post_like_fixmystreet(server, lat="north")
    assert bad_place.status_code == 400
    assert ElementTree.fromstring(bad_place.content).findtext("error/code") == "400"
    missing = requests.get(f"{server['root']}/requests/HM-1999-000001.json", timeout=30)
    assert missing.status_code == 404 and missing.json()[0]["code"] == 404


def test_a_fixmystreet_style_client_sends_a_comment_and_fetches_updates_over_http(server):
    """bin/send-comments, then bin/fetch-comments: form-encoded POST with the comment's id, multipart photo1,
    and a GET of the last hours as W3C UTC date-times. (The georeport client has no updates call.)"""
    created = _post_like_fixmystreet(server)
    reference = ElementTree.fromstring(created.content).findtext("request/service_request_id")
    now = datetime.now(UTC)
    comment = {
        "api_key": server["key"], "jurisdiction_id": "hameln-pyrmont", "service_request_id": reference,
        "update_id": "9001", "status": "OPEN", "description": "Noch nicht repariert",
        "updated_datetime": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "first_name": "Max", "last_name": "Muster",
        "email": "citizen@example.org",
    }
    with open(REPO / "data" / "photos" / "05_jpeg_iphone6_o1_gps-madrid.jpg", "rb") as photo:
        posted = requests.post(f"{server['root']}/servicerequestupdates.xml", data=comment, timeout=30,
                               files={"photo1": ("9001.0.full.jpeg", photo, "image/jpeg")})
    assert posted.status_code == 201, posted.text
    answer = ElementTree.fromstring(posted.content)
    assert answer.tag == "service_request_updates"
    update_id = answer.findtext("request_update/update_id")
    assert update_id and update_id.isdigit()
    run_worker_batch(server["env"])  # the photo's public rendition

    window = {"start_date": (now - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
              "end_date": (now + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
              "jurisdiction_id": "hameln-pyrmont"}
    others = requests.get(f"{server['root']}/servicerequestupdates.xml", params={**window, "api_key": ""}, timeout=30)
    assert others.status_code == 200, others.text
    root = ElementTree.fromstring(others.content)
    assert root.tag == "service_requests_updates"
    updates = {u.findtext("update_id"): u for u in root.findall("request_update")}
    mine = updates[update_id]
    assert mine.findtext("service_request_id") == reference and mine.findtext("status") == "OPEN"
    assert mine.findtext("description") == "Noch nicht repariert"
    assert requests.get(mine.findtext("media_url"), timeout=30).headers["Content-Type"] == "image/jpeg"
    assert b"citizen@example.org" not in others.content and b"Muster" not in others.content
    # The sender itself is not sent its own comment back (it knows it by update_id already).
    own = requests.get(f"{server['root']}/servicerequestupdates.xml", params={**window, "api_key": server["key"]},
                       timeout=30)
    assert update_id not in {u.findtext("update_id") for u in ElementTree.fromstring(own.content)}
