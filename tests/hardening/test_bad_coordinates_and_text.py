"""Bad coordinates and text over the citizen API: each a 4xx naming the field, nothing stored; text that
looks like SQL is just text."""

from __future__ import annotations

import pytest

from reports.models import Report
from tests.mobile_api.v1.test_submit import submit

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("lat", "lon", "field"),
    [
        ("NaN", "9.3576", "lat"), ("52.1039", "nan", "lon"), ("inf", "9.3576", "lat"), ("52.1039", "-Infinity", "lon"),
        ("91", "9.3576", "lat"), ("52.1039", "181", "lon"), ("-90.0001", "9.3576", "lat"),
        ("9.3576", "52.1039", "location"),  # swapped: a point in the Indian Ocean, outside the service area
        ("1e400", "9.3576", "lat"), ("52,1039", "9,3576", "lat"),
    ],
)
def test_a_bad_coordinate_is_a_400_naming_it(client, demo, lat, lon, field):
    response = submit(client, {"lat": lat, "lon": lon})

    assert response.status_code == 400, response.content
    assert field in [error["field"] for error in response.json()["errors"]]
    assert Report.objects.count() == 0


def test_a_ten_megabyte_description_is_refused_without_a_500(client, demo):
    response = submit(client, {"description": "Schlagloch " * (1024 * 1024)})

    assert response.status_code == 413
    assert response.json()["errors"][0]["code"] == "too_large"
    assert Report.objects.count() == 0


@pytest.mark.parametrize(
    "text", ["'; DROP TABLE reports_report; --", "1 OR 1=1", '" UNION SELECT secret_hash FROM reports_report --']
)
def test_text_that_looks_like_sql_is_stored_and_shown_as_typed(client, demo, text):
    body = submit(client, {"description": text}).json()

    assert body["description"] == text
    assert client.get(f"/api/v1/reports/{body['id']}/", secure=True).json()["description"] == text
    assert Report.objects.count() == 1
