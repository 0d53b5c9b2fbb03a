"""Ids, page numbers, sequence numbers and dates a client sends are checked before they reach the database:
garbage, numbers beyond a bigint and dates near year 1 or 9999 are a 400 naming the parameter, in the API's
own error format, never a 500 (they were: department=abc, created_before=9999-12-31, page=10^20 …)."""

from __future__ import annotations

import pytest

from tests.hardening.conftest import error_fields
from tests.mobile_api.open311.conftest import errors_of
from tests.mobile_api.staff.conftest import Client, submit

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999"  # beyond a bigint on PostgreSQL and an INTEGER on SQLite
BAD_DATES = [
    "9999-12-31",  # the day after it does not exist in Python
    "9999-12-31T23:59:59-05:00",  # later than year 9999 in UTC
    "0001-01-01", "0001-01-01T00:00:00+01:00",  # earlier than year 1 in UTC
    "10000-01-01", "2026-02-30", "2026-13-01", "2026-01-01T25:00:00", "gestern", "1e10", "-1",
]


# --- Staff API -------------------------------------------------------------------------------

@pytest.mark.parametrize("department", ["abc", HUGE, "-" + HUGE, "0", "-1", "1.5", "1e3", "1,abc", "²"])
def test_a_department_that_is_no_id_is_a_400_in_the_staff_list(worker, department):
    assert error_fields(worker.get("/api/staff/reports/", {"department": department})) == ["department"]


@pytest.mark.parametrize(("name", "value"), [
    ("category", "schlagloch,unbekannt"), ("authority", "nirgendwo"), ("status", "kaputt"), ("status", "new,x"),
])
def test_an_unknown_name_is_a_400_naming_it_in_the_staff_list(worker, name, value):
    response = worker.get("/api/staff/reports/", {name: value})

    assert error_fields(response) == [name]
    assert response.json()["errors"][0]["code"] == "unknown"


def test_known_ids_and_names_still_filter_the_staff_list(worker, personas):
    report = submit()

    department = personas.bauhof_hameln.pk
    found = worker.get("/api/staff/reports/", {"department": f"{department}, 2", "category": "schlagloch",
                                               "authority": "hameln", "status": "new,acknowledged"})

    assert found.status_code == 200, found.content
    assert [r["id"] for r in found.json()["results"]] == [report["id"]]


@pytest.mark.parametrize("page", ["abc", "0", "-1", HUGE, "1e3", "1.0", "²"])
def test_a_page_that_is_no_page_number_is_a_400_in_the_staff_list(worker, page):
    assert error_fields(worker.get("/api/staff/reports/", {"page": page})) == ["page"]


@pytest.mark.parametrize("page_size", ["0", "201", "abc", HUGE, "-1", "nan"])
def test_a_bad_page_size_is_a_400_in_the_staff_list(worker, page_size):
    assert error_fields(worker.get("/api/staff/reports/", {"page_size": page_size})) == ["page_size"]


@pytest.mark.parametrize("ordering", ["secret", "-distance", "location", HUGE])
def test_an_unknown_ordering_is_a_400_in_the_staff_list(worker, ordering):
    assert error_fields(worker.get("/api/staff/reports/", {"ordering": ordering})) == ["ordering"]


# --- Citizen API -----------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/v1/export.csv", "/api/v1/export.geojson"])
@pytest.mark.parametrize("name", ["created_before", "created_after"])
@pytest.mark.parametrize("value", BAD_DATES)
def test_a_date_out_of_range_or_garbage_is_a_400_in_the_export(demo, path, name, value):
    assert error_fields(Client().get(path, {name: value})) == [name]


def test_the_export_takes_dates_up_to_the_end_of_the_range(demo):
    response = Client().get("/api/v1/export.csv", {"created_after": "1900-01-01", "created_before": "9998-12-31"})

    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"id,reference")


@pytest.mark.parametrize("after", [HUGE, "-1", "abc", "1e3", "nan"])
def test_a_bad_after_is_a_400_when_catching_up_on_events(demo, after):
    report = submit()

    response = Client().get(f"/api/v1/reports/{report['id']}/events/", {"after": after},
                            HTTP_AUTHORIZATION=f"Bearer {report['secret']}")

    assert error_fields(response) == ["after"]


def test_the_largest_after_is_no_events(demo):
    report = submit()

    response = Client().get(f"/api/v1/reports/{report['id']}/events/", {"after": str(2**63 - 1)},
                            HTTP_AUTHORIZATION=f"Bearer {report['secret']}")

    assert response.status_code == 200 and response.json()["events"] == []


# --- Open311 ---------------------------------------------------------------------------------

def _open311(client, **params):
    return client.get("/open311/v2/requests.json", params, secure=True, HTTP_ACCEPT_LANGUAGE="en")


@pytest.mark.parametrize("name", ["start_date", "end_date", "updated_after", "updated_before"])
@pytest.mark.parametrize("value", BAD_DATES)
def test_a_date_out_of_range_or_garbage_is_an_open311_error_document(client, demo, name, value):
    assert any(name in description for description in errors_of(_open311(client, **{name: value}), 400))


@pytest.mark.parametrize(("name", "value"), [
    ("page", HUGE), ("page", "0"), ("page", "abc"), ("page", "1e3"), ("page_size", "0"), ("page_size", "1001"),
    ("page_size", HUGE), ("page_size", "nan"),
])
def test_a_bad_page_is_an_open311_error_document(client, demo, name, value):
    assert any(name in description for description in errors_of(_open311(client, **{name: value}), 400))


def test_a_far_page_within_the_range_is_an_empty_open311_list(client, demo):
    response = _open311(client, page="1000000", page_size="1000")

    assert response.status_code == 200 and response.json() == []
