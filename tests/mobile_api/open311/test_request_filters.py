"""GET requests: the spec's parameters (ids, service_code, dates, status) and the common extensions."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from reports.models import EventKind, Report
from reports.workflow import Status
from tests.mobile_api.open311.conftest import HAMELN_MARKET, errors_of, get, record, validate

pytestmark = pytest.mark.django_db


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    body = response.json()
    validate("service_requests", body)
    return [item["service_request_id"] for item in body]


def _age(report: Report, days: float, *, updated: float | None = None) -> None:
    now = timezone.now()
    Report.objects.filter(pk=report.pk).update(
        created_at=now - timedelta(days=days), updated_at=now - timedelta(days=days if updated is None else updated)
    )


def test_a_comma_list_of_ids_overrides_the_other_parameters(client, make_report):
    old, new, _other = make_report(), make_report(), make_report()
    _age(old, 200)
    listed = ids(get(client, "requests.json", service_request_id=f"{old.reference}, {new.reference}", status="closed"))
    assert listed == [new.reference, old.reference]


def test_without_dates_the_last_90_days_are_listed_newest_first(client, make_report):
    recent, older, ancient = make_report(), make_report(), make_report()
    _age(older, 30)
    _age(ancient, 91)
    assert ids(get(client, "requests.json")) == [recent.reference, older.reference]


def test_start_and_end_date_select_by_the_time_of_the_request(client, make_report):
    a, b, c = make_report(), make_report(), make_report()
    _age(a, 200), _age(b, 150), _age(c, 100)
    start = (timezone.now() - timedelta(days=160)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (timezone.now() - timedelta(days=120)).isoformat()
    assert ids(get(client, "requests.json", start_date=start, end_date=end)) == [b.reference]
    assert ids(get(client, "requests.json", start_date=start)) == [c.reference, b.reference]
    assert errors_of(get(client, "requests.json", start_date="yesterday"), 400)
    assert errors_of(get(client, "requests.xml", start_date=end, end_date=start), 400)


def test_status_and_service_code_filter_and_unknown_codes_are_400(client, make_report):
    pothole, light = make_report(), make_report(category="strassenbeleuchtung-defekt")
    fixed = make_report()
    record(fixed, EventKind.STATUS_CHANGED, "Done.", to_status=Status.FIXED)
    assert ids(get(client, "requests.json", status="closed")) == [fixed.reference]
    assert ids(get(client, "requests.json", status="open")) == [light.reference, pothole.reference]
    both = get(client, "requests.json", status="open,closed", service_code="schlagloch")
    assert ids(both) == [fixed.reference, pothole.reference]
    lights_or_drains = get(client, "requests.json", service_code="strassenbeleuchtung-defekt,gully-verstopft")
    assert ids(lights_or_drains) == [light.reference]
    unknown = get(client, "requests.json", service_code="no-such-service")
    assert errors_of(unknown, 400) == ["service_code no-such-service was not found."]
    assert errors_of(get(client, "requests.xml", status="pending"), 400)


def test_pages_split_the_list(client, make_report):
    reports = [make_report() for _ in range(5)]
    newest_first = [r.reference for r in reversed(reports)]
    assert ids(get(client, "requests.json", page_size="2")) == newest_first[:2]
    assert ids(get(client, "requests.json", page_size="2", page="3")) == newest_first[4:]
    assert ids(get(client, "requests.json", page_size="2", page="4")) == []
    for bad in ({"page_size": "0"}, {"page_size": "1001"}, {"page": "-1"}, {"page": "x"}):
        assert errors_of(get(client, "requests.json", **bad), 400)


def test_updated_after_and_before_select_by_the_last_change(client, make_report):
    stale, fresh = make_report(), make_report()
    _age(stale, 10, updated=5)
    _age(fresh, 10, updated=1)
    cut = (timezone.now() - timedelta(days=3)).isoformat()
    assert ids(get(client, "requests.json", updated_after=cut)) == [fresh.reference]
    assert ids(get(client, "requests.json", updated_before=cut)) == [stale.reference]


def test_radius_is_in_metres_on_every_database(client, make_report):
    lat, lon = HAMELN_MARKET
    # 0.001° of latitude is 111 m; of longitude at 52°N only 68 m: a degree-based filter gets these wrong.
    north = make_report(at=(lat + 0.001, lon))
    east = make_report(at=(lat, lon + 0.001))
    assert set(ids(get(client, "requests.json", lat=lat, long=lon, radius=80))) == {east.reference}
    assert set(ids(get(client, "requests.json", lat=lat, long=lon, radius=120))) == {east.reference, north.reference}
    assert errors_of(get(client, "requests.json", lat=lat), 400)
    assert errors_of(get(client, "requests.json", lat="95", long=lon), 400)
    assert errors_of(get(client, "requests.json", lat=lat, long=lon, radius="-5"), 400)
    assert errors_of(get(client, "requests.json", radius="50"), 400)


def test_bbox_selects_the_requests_inside(client, make_report):
    lat, lon = HAMELN_MARKET
    inside = make_report()
    make_report(at=(52.0, 9.3))  # Aerzen/Emmerthal, south-west of the box
    bbox = f"{lon - 0.01},{lat - 0.01},{lon + 0.01},{lat + 0.01}"
    assert ids(get(client, "requests.json", bbox=bbox)) == [inside.reference]
    for bad in ("1,2,3", "9.4,52.0,9.3,52.2", "a,b,c,d", "9,52,9.5,nan"):
        assert errors_of(get(client, "requests.json", bbox=bad), 400)


def test_jurisdiction_id_selects_an_authority_and_those_below_it(client, make_report):
    in_hameln = make_report()
    in_aerzen = make_report(at=(52.0478, 9.2598))
    assert ids(get(client, "requests.json", jurisdiction_id="03252006")) == [in_hameln.reference]
    assert ids(get(client, "requests.json", jurisdiction_id="aerzen")) == [in_aerzen.reference]
    county = get(client, "requests.json", jurisdiction_id="hameln-pyrmont")
    assert set(ids(county)) == {in_hameln.reference, in_aerzen.reference}
    assert errors_of(get(client, f"requests/{in_aerzen.reference}.json", jurisdiction_id="hameln"), 404)
    unknown = get(client, "requests.json", jurisdiction_id="atlantis")
    assert errors_of(unknown, 404) == ["jurisdiction_id atlantis was not found."]
    assert errors_of(get(client, "services.xml", jurisdiction_id="atlantis"), 404)


def test_listing_takes_the_same_few_queries_for_one_or_many(client, make_report, django_assert_max_num_queries):
    from tests.mobile_api.open311.conftest import record

    def listed() -> int:
        cache.clear()  # the list as computed, not as the shared cache has it (mobile_api.public_cache)
        response = get(client, "requests.json", extensions="true")
        assert response.status_code == 200
        return len(response.json())

    first = make_report()
    record(first, EventKind.PUBLIC_ANSWER, "On it.")
    with django_assert_max_num_queries(6) as one:
        assert listed() == 1
    for _ in range(10):
        record(make_report(), EventKind.PUBLIC_ANSWER, "On it.")
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert listed() == 11
