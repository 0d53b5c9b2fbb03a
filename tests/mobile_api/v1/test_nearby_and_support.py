"""Before reporting again, the app offers open reports nearby; supporting one counts once per device."""

import pytest

from tests.mobile_api.v1.test_submit import submit

pytestmark = pytest.mark.django_db


def test_nearby_lists_open_reports_of_the_category_within_the_radius_nearest_first(client, demo):
    near = submit(client, {"lat": "52.10400", "lon": "9.35760"}).json()  # about 11 m north
    nearer = submit(client, {"lat": "52.10392", "lon": "9.35762"}).json()  # about 2 m
    submit(client, {"lat": "52.1100", "lon": "9.3576"})  # about 680 m away
    submit(client, {"category": "graffiti"})  # another category, same place

    response = client.get(
        "/api/v1/reports/nearby/", {"lat": "52.1039", "lon": "9.3576", "category": "schlagloch"}, secure=True
    )
    assert response.status_code == 200
    body = response.json()
    assert body["radius_m"] == 30  # the category's default
    assert [r["id"] for r in body["reports"]] == [nearer["id"], near["id"]]
    assert 0 < body["reports"][0]["distance_m"] < body["reports"][1]["distance_m"] < 30
    assert "reporter" not in body["reports"][0] and "secret" not in body["reports"][0]

    wide = client.get(
        "/api/v1/reports/nearby/",
        {"lat": "52.1039", "lon": "9.3576", "category": "schlagloch", "radius": 500},
        secure=True,
    )
    assert len(wide.json()["reports"]) == 2
    wider = client.get(
        "/api/v1/reports/nearby/",
        {"lat": "52.1039", "lon": "9.3576", "category": "schlagloch", "radius": 5000},
        secure=True,
    )
    assert wider.status_code == 400 and wider.json()["errors"][0]["field"] == "radius"


def test_support_counts_once_per_device_and_the_count_is_public(client, demo):
    report = submit(client).json()
    url = f"/api/v1/reports/{report['id']}/support/"
    first = client.post(url, {"device_id": "device-aaaa-1111"}, secure=True)
    assert first.status_code == 201 and first.json()["support_count"] == 1
    again = client.post(url, {"device_id": "device-aaaa-1111"}, secure=True)
    assert again.status_code == 200 and again.json()["support_count"] == 1
    other = client.post(url, {"device_id": "device-bbbb-2222"}, content_type="application/json", secure=True)
    assert other.json()["support_count"] == 2
    assert client.get(f"/api/v1/reports/{report['id']}/", secure=True).json()["support_count"] == 2
    events = client.get(f"/api/v1/reports/{report['id']}/events/", secure=True).json()["events"]
    assert [e["kind"] for e in events][-2:] == ["supported", "supported"]


def test_support_without_a_device_or_email_is_a_clear_error(client, demo):
    report = submit(client).json()
    response = client.post(f"/api/v1/reports/{report['id']}/support/", {}, secure=True)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "device_id"
