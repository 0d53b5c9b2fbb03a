"""A client that sends too much is slowed down with 429 and Retry-After, and what it sent is not stored."""

import pytest

from reports.models import Report
from tests.mobile_api.v1.test_submit import submit

pytestmark = pytest.mark.django_db


def test_submissions_beyond_the_limit_get_429_with_retry_after(client, demo, settings):
    settings.API_RATES = {**settings.API_RATES, "submit": "3/hour"}
    assert [submit(client).status_code for _ in range(3)] == [201, 201, 201]
    response = submit(client)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    [error] = response.json()["errors"]
    assert error["field"] is None and error["code"] == "throttled"
    assert Report.objects.count() == 3


def test_limits_count_per_client_address(client, demo, settings):
    settings.API_RATES = {**settings.API_RATES, "submit": "1/hour"}
    assert submit(client, REMOTE_ADDR="192.0.2.10").status_code == 201
    assert submit(client, REMOTE_ADDR="192.0.2.10").status_code == 429
    assert submit(client, REMOTE_ADDR="192.0.2.11").status_code == 201


def test_reading_has_its_own_limit(client, demo, settings):
    settings.API_RATES = {**settings.API_RATES, "read": "2/minute", "submit": "1/hour"}
    assert client.get("/api/v1/categories/", secure=True).status_code == 200
    assert client.get("/api/v1/categories/", secure=True).status_code == 200
    assert client.get("/api/v1/categories/", secure=True).status_code == 429
    assert submit(client).status_code == 201
