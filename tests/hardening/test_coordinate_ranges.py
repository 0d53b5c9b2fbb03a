"""Coordinates a client sends are range-checked in every API before any geometry is built: outside WGS 84
(±180/±90), not finite, malformed or in the wrong order, they are a 400 in the API's own error format, never
a crash. The staff list once handed bbox=-1e200,0,1e200,1 to GEOS, which aborted the whole server process."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

import pytest

from tests.conftest import DEMO_PASSWORD
from tests.hardening.conftest import error_fields
from tests.live import migrated_database, uvicorn
from tests.mobile_api.open311.conftest import api_key, errors_of  # noqa: F401 (a fixture)
from tests.mobile_api.staff.conftest import Client

pytestmark = pytest.mark.django_db

BAD_BBOXES = [
    "-1e200,0,1e200,1",  # the request that killed the server
    "-181,52,9.4,52.2", "9.3,52,181,52.2", "9.3,-91,9.4,52.2", "9.3,52,9.4,91",  # just outside
    "-1e400,52,9.4,52.2",  # a float overflow: -inf
    "nan,52,9.4,52.2", "9.3,52,inf,52.2", "9.3,52,9.4,Infinity",
    "99999999999999999999,52,9.4,52.2", "9.3,52,9.4,-99999999999999999999",
    "9.4,52,9.3,52.2", "9.3,52.2,9.4,52",  # minimum after maximum
    "-0,-0,0,0", "9.3,52,9.3,52.2",  # no area at all
    ",,,", "9.3,52,9.4", "9.3,52,9.4,52.2,1", "9.3;52;9.4;52.2", "a,b,c,d", "0x10,52,9.4,52.2",
]
BAD_PLACES = [  # (lat, lon)
    ("91", "9.35"), ("-90.0001", "9.35"), ("52.1", "180.5"), ("52.1", "-1e200"), ("1e200", "9.35"),
    ("nan", "9.35"), ("52.1", "inf"), ("99999999999999999999", "9.35"), ("", "9.35"), ("52,1", "9,35"),
]


@pytest.mark.parametrize("bbox", BAD_BBOXES)
def test_a_bad_bbox_is_a_400_naming_it_in_the_staff_list(worker, bbox):
    assert error_fields(worker.get("/api/staff/reports/", {"bbox": bbox})) == ["bbox"]


@pytest.mark.parametrize(("lat", "lon"), BAD_PLACES)
def test_a_bad_near_is_a_400_naming_it_in_the_staff_list(worker, lat, lon):
    assert error_fields(worker.get("/api/staff/reports/", {"near": f"{lat},{lon}"})) == ["near"]


@pytest.mark.parametrize(("lat", "lon"), [("91", "9.35"), ("52.1", "1e200"), ("nan", "9.35"), ("52.1", "-inf")])
def test_a_bad_new_location_is_a_400_and_the_staff_report_stays_where_it_was(worker, lat, lon):
    from tests.mobile_api.staff.conftest import submit

    report = submit()

    response = worker.patch(f"/api/staff/reports/{report['id']}/", {"lat": lat, "lon": lon}, format="json")

    assert {"lat", "lon"} & set(error_fields(response))
    assert worker.get(f"/api/staff/reports/{report['id']}/").json()["location"] == report["location"]


@pytest.mark.parametrize("bbox", [*BAD_BBOXES, ""])  # the map needs one; elsewhere an empty bbox means none
def test_a_bad_bbox_is_a_400_naming_it_on_the_public_map(demo, bbox):
    assert error_fields(Client().get("/api/v1/map/", {"bbox": bbox, "zoom": "12"})) == ["bbox"]


@pytest.mark.parametrize(("lat", "lon"), BAD_PLACES)
def test_a_bad_place_is_a_400_naming_it_when_looking_for_reports_nearby(demo, lat, lon):
    response = Client().get("/api/v1/reports/nearby/", {"lat": lat, "lon": lon, "category": "schlagloch"})

    assert set(error_fields(response)) <= {"lat", "lon"} and error_fields(response)


@pytest.mark.parametrize(("lat", "lon"), BAD_PLACES)
def test_a_bad_place_is_a_400_naming_it_when_asking_who_receives_a_category(demo, lat, lon):
    response = Client().get("/api/v1/categories/", {"lat": lat, "lon": lon})

    assert set(error_fields(response)) <= {"lat", "lon"} and error_fields(response)


@pytest.mark.parametrize("radius", ["0", "-5", "501", "1e3", "nan", "99999999999999999999", "abc"])
def test_a_bad_radius_is_a_400_naming_it_when_looking_for_reports_nearby(demo, radius):
    response = Client().get("/api/v1/reports/nearby/", {"lat": "52.1039", "lon": "9.3576", "category": "schlagloch",
                                                        "radius": radius})

    assert error_fields(response) == ["radius"]


@pytest.mark.parametrize("zoom", ["-1", "23", "99999999999999999999", "nan", "1e1", ""])
def test_a_bad_zoom_is_a_400_naming_it_on_the_public_map(demo, zoom):
    assert error_fields(Client().get("/api/v1/map/", {"bbox": "9.35,52.10,9.36,52.11", "zoom": zoom})) == ["zoom"]


@pytest.mark.parametrize("bbox", BAD_BBOXES)
def test_a_bad_bbox_is_an_open311_error_document(client, demo, bbox):
    response = client.get("/open311/v2/requests.json", {"bbox": bbox}, secure=True, HTTP_ACCEPT_LANGUAGE="en")

    assert any("bbox" in description for description in errors_of(response, 400))


@pytest.mark.parametrize(("lat", "lon"), [p for p in BAD_PLACES if p[0]])
def test_a_bad_place_is_an_open311_error_document(client, demo, lat, lon):
    response = client.get("/open311/v2/requests.xml", {"lat": lat, "long": lon}, secure=True, HTTP_ACCEPT_LANGUAGE="en")

    assert errors_of(response, 400)


@pytest.mark.parametrize("radius", ["0", "50001", "1e3", "nan", "99999999999999999999", "²"])
def test_a_bad_radius_is_an_open311_error_document(client, demo, radius):
    response = client.get("/open311/v2/requests.json", {"lat": "52.1039", "long": "9.3576", "radius": radius},
                          secure=True, HTTP_ACCEPT_LANGUAGE="en")

    assert any("radius" in description for description in errors_of(response, 400))


@pytest.mark.parametrize(("lat", "lon"), [("91", "9.35"), ("52.1", "1e200"), ("nan", "9.35"), ("52.1", "-inf")])
def test_a_bad_place_in_an_open311_submission_stores_nothing(client, demo, api_key, lat, lon):  # noqa: F811
    from reports.models import Report

    response = client.post("/open311/v2/requests.json", {"api_key": api_key, "service_code": "schlagloch", "lat": lat,
                                                         "long": lon}, secure=True, HTTP_ACCEPT_LANGUAGE="en")

    assert errors_of(response, 400)
    assert Report.objects.count() == 0


# --- The crash itself, against a real server ---------------------------------------------------

@pytest.fixture(scope="module")
def server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("ranges")
    with migrated_database(directory) as database:
        env = {"DEBUG": "true", "DATA_DIR": str(directory), "DATABASE_URL": database}
        with uvicorn(env) as base:
            yield base


def _http(base: str, path: str, *, token: str | None = None, data: dict | None = None) -> tuple[int, dict]:
    headers = {"Accept-Language": "en"}
    if token:
        headers["Authorization"] = f"Token {token}"
    body = None
    if data is not None:
        body, headers["Content-Type"] = json.dumps(data).encode(), "application/json"
    request = urllib.request.Request(base + path, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


@pytest.mark.parametrize("bbox", ["-1e200,0,1e200,1", "-1e308,-1e308,1e308,1e308"])
def test_the_request_that_crashed_the_server_is_a_400_and_the_server_answers_on(server, bbox):
    status, body = _http(
        server, "/api/staff/auth/token/", data={"username": "bauhof-hameln", "password": DEMO_PASSWORD}
    )
    assert status == 200, body
    token = body["token"]

    status, body = _http(server, "/api/staff/reports/?" + urllib.parse.urlencode({"bbox": bbox}), token=token)

    assert status == 400
    assert body["errors"][0]["field"] == "bbox"
    status, body = _http(server, "/api/staff/reports/?bbox=9.35,52.10,9.37,52.12", token=token)
    assert status == 200 and body["results"] == []
    for path in (f"/api/v1/map/?zoom=12&bbox={bbox}", f"/open311/v2/requests.json?bbox={bbox}"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(server + path, timeout=30)
        assert refused.value.code == 400
    with urllib.request.urlopen(f"{server}/healthz", timeout=10) as response:
        assert response.status == 200
