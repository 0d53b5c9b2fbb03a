"""Cached public answers (mobile_api.public_cache): ETag and 304, exact invalidation, nothing private cached.

The invalidation tests commit for real (transactional tests): the version changes after commit, as in
production, and each asserts what the next request of a client shows.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.cache import cache

from tests.mobile_api.staff.conftest import Client, staff_client, submit
from tests.notifications.delivery import run_worker
from tests.personas import HAMELN_MARKET

PHOTO = Path(__file__).resolve().parents[2] / "data" / "photos" / "02_jpeg_orient6_portrait_nogps.jpg"
LAT, LON = HAMELN_MARKET
# A few streets around the Pferdemarkt at zoom 16: single reports, not clusters.
MAP = {"bbox": f"{LON - 0.005},{LAT - 0.005},{LON + 0.005},{LAT + 0.005}", "zoom": "16"}
committed = pytest.mark.django_db(transaction=True)


def stored_value(redis, key: bytes) -> bytes:
    """What Redis holds under a key: a value, or the members of a sorted set (the rate limits' moments)."""
    return b"".join(redis.zrange(key, 0, -1)) if redis.type(key) == b"zset" else redis.get(key) or b""


def public_ids(answer) -> set[str]:
    return {feature["properties"]["id"] for feature in answer.json()["features"]}


@committed
def test_a_repeated_map_view_is_304_until_a_new_report_is_in_the_next_answer(demo):
    browser = Client()
    first = browser.get("/api/v1/map/", MAP)
    assert first.status_code == 200 and public_ids(first) == set()
    etag = first["ETag"]
    assert first["Cache-Control"] == "no-cache"

    again = browser.get("/api/v1/map/", MAP, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again["ETag"] == etag and again.content == b""
    weak = browser.get("/api/v1/map/", MAP, HTTP_IF_NONE_MATCH=f"W/{etag}")
    assert weak.status_code == 304
    other_view = browser.get("/api/v1/map/", {**MAP, "zoom": "15"}, HTTP_IF_NONE_MATCH=etag)
    assert other_view.status_code == 200

    report = submit()
    after = browser.get("/api/v1/map/", MAP, HTTP_IF_NONE_MATCH=etag)
    assert after.status_code == 200 and after["ETag"] != etag
    assert public_ids(after) == {report["id"]}


@committed
def test_a_status_change_by_staff_is_in_the_next_open311_list_and_statistics(personas):
    report = submit()
    city_app = Client()
    listed = city_app.get("/open311/v2/requests.json", {"service_code": "schlagloch"})
    [item] = [r for r in listed.json() if r["service_request_id"] == report["reference"]]
    assert item["status"] == "open"
    stats = city_app.get("/api/v1/stats/", HTTP_ACCEPT_LANGUAGE="en").json()
    fixed_before = stats["totals"]["fixed"]
    assert city_app.get("/open311/v2/requests.json", {"service_code": "schlagloch"},
                        HTTP_IF_NONE_MATCH=listed["ETag"]).status_code == 304

    worker = staff_client(personas.hameln_worker)
    for status in ("acknowledged", "in_progress", "fixed"):
        moved = worker.post(f"/api/staff/reports/{report['id']}/transition/",
                            {"to": status, "message": "Erledigt."}, format="json")
        assert moved.status_code == 200, moved.content

    relisted = city_app.get("/open311/v2/requests.json", {"service_code": "schlagloch"},
                            HTTP_IF_NONE_MATCH=listed["ETag"])
    assert relisted.status_code == 200
    [item] = [r for r in relisted.json() if r["service_request_id"] == report["reference"]]
    assert item["status"] == "closed"
    stats = city_app.get("/api/v1/stats/", HTTP_ACCEPT_LANGUAGE="en").json()
    assert stats["totals"]["fixed"] == fixed_before + 1


@committed
def test_a_category_renamed_in_the_admin_is_in_the_next_service_list(demo):
    from geo.models import Category

    city_app = Client()
    services = city_app.get("/open311/v2/services.json", HTTP_ACCEPT_LANGUAGE="de")
    assert "Schlagloch / Straßenschaden" in {s["service_name"] for s in services.json()}
    category = Category.objects.get(slug="schlagloch")
    category.name_de = "Schlagloch oder Straßenschaden"
    category.save()  # what the admin's change form does

    renamed = city_app.get("/open311/v2/services.json", HTTP_ACCEPT_LANGUAGE="de",
                           HTTP_IF_NONE_MATCH=services["ETag"])
    assert renamed.status_code == 200
    assert "Schlagloch oder Straßenschaden" in {s["service_name"] for s in renamed.json()}


@committed
def test_a_photo_rendered_by_the_worker_is_in_the_next_answer(demo):
    with PHOTO.open("rb") as photo:
        report = submit(photos=[photo])
    city_app = Client()
    path = f"/open311/v2/requests/{report['reference']}.json"
    [before] = city_app.get(path).json()
    assert not before.get("media_url")
    assert city_app.get(path, HTTP_IF_NONE_MATCH=city_app.get(path)["ETag"]).status_code == 304

    assert run_worker() >= 1  # the worker's own transaction; in production its own process
    [after] = city_app.get(path).json()
    assert after.get("media_url")


@committed
def test_languages_and_formats_are_cached_apart(demo):
    city_app = Client()
    german = city_app.get("/open311/v2/services.json", HTTP_ACCEPT_LANGUAGE="de")
    english = city_app.get("/open311/v2/services.json", HTTP_ACCEPT_LANGUAGE="en")
    assert german["ETag"] != english["ETag"]
    assert {s["service_name"] for s in german.json()} != {s["service_name"] for s in english.json()}
    assert city_app.get("/open311/v2/services.json", HTTP_ACCEPT_LANGUAGE="de").json() == german.json()
    xml = city_app.get("/open311/v2/services.xml", HTTP_ACCEPT_LANGUAGE="de")
    assert xml["Content-Type"].startswith("text/xml") or xml["Content-Type"].startswith("application/xml")
    assert xml.content.lstrip().startswith(b"<?xml")
    assert city_app.get("/open311/v2/services.xml", HTTP_ACCEPT_LANGUAGE="de").content == xml.content


@pytest.mark.django_db
def test_requests_with_credentials_are_never_answered_from_or_into_the_cache(
        personas, django_capture_on_commit_callbacks):
    from reports.models import Report

    with django_capture_on_commit_callbacks(execute=True):
        report = submit(email="anna@example.org", name="Anna Beispiel")
    path = f"/open311/v2/requests/{report['reference']}.json"
    anonymous = Client()
    assert anonymous.get(path).json()[0]["description"] == "Tiefes Loch"
    # A change the version does not hear of (a bulk update, past every signal): the cache still has the old answer.
    Report.objects.filter(reference=report["reference"]).update(description="Tiefes Loch, 30 cm")
    assert anonymous.get(path).json()[0]["description"] == "Tiefes Loch"

    worker = staff_client(personas.hameln_worker)
    assert worker.get(path).json()[0]["description"] == "Tiefes Loch, 30 cm"  # Authorization: never from the cache
    browser = Client()
    browser.force_login(personas.hameln_worker)  # a staff session in the browser
    assert browser.get(path).json()[0]["description"] == "Tiefes Loch, 30 cm"
    assert anonymous.get(path, {"api_key": "anything"}).status_code in (200, 403)

    # Nor does an answer to a request with credentials go into the cache.
    cache.clear()
    Report.objects.filter(reference=report["reference"]).update(description="Loch mit Wasser")
    assert worker.get(path).json()[0]["description"] == "Loch mit Wasser"
    Report.objects.filter(reference=report["reference"]).update(description="Loch mit Eis")
    assert anonymous.get(path).json()[0]["description"] == "Loch mit Eis"


@pytest.mark.django_db
def test_no_reporter_data_and_no_staff_answer_ever_enters_the_shared_cache(
        personas, django_capture_on_commit_callbacks):
    from django.conf import settings

    assert "redis" in settings.CACHES["default"]["BACKEND"].lower(), "the test run provides Redis (REDIS_URL)"
    with django_capture_on_commit_callbacks(execute=True):
        report = submit(email="anna@example.org", name="Anna Beispiel", phone="+49 5151 123456")
    reporter = Client()
    reporter.credentials(HTTP_AUTHORIZATION=f"Bearer {report['secret']}")
    worker = staff_client(personas.hameln_worker)
    anonymous = Client()
    for client in (reporter, worker, anonymous):
        for path in ("/api/v1/map/", f"/api/v1/reports/{report['id']}/", "/api/v1/stats/",
                     "/open311/v2/requests.json", f"/open311/v2/requests/{report['reference']}.json",
                     f"/api/staff/reports/{report['id']}/", "/api/staff/reports/"):
            client.get(path, MAP if path == "/api/v1/map/" else {})
    assert b"anna@example.org" in worker.get(f"/api/staff/reports/{report['id']}/").content
    assert b"anna@example.org" in reporter.get(f"/api/v1/reports/{report['id']}/").content

    redis = cache._cache.get_client()  # type: ignore[attr-defined]  # Django's RedisCache client
    keys = redis.scan_iter(f"{settings.CACHES['default']['KEY_PREFIX']}:*")
    stored = b"".join(stored_value(redis, key) for key in keys)
    assert b"public:" not in stored  # values only; the keys were scanned above
    assert any(key.startswith(b"om:1:public:") for key in redis.scan_iter("om:*"))
    for private in (b"anna@example.org", b"Anna Beispiel", b"5151", report["secret"].encode()):
        assert private not in stored


@pytest.mark.django_db
def test_answers_from_the_cache_count_against_the_read_rate(demo, settings):
    settings.API_RATES = {**settings.API_RATES, "read": "3/minute"}
    phone = Client()
    answers = [phone.get("/api/v1/map/", MAP) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert phone.get("/api/v1/map/", MAP, HTTP_IF_NONE_MATCH=answers[0]["ETag"]).status_code == 429
    refused = phone.get("/api/v1/map/", MAP)
    assert refused.status_code == 429 and "Retry-After" in refused
    assert refused.json()["errors"][0]["code"] == "throttled"


@committed
def test_the_nearby_list_is_304_until_a_report_in_it_is_supported_or_a_new_one_is_filed(demo):
    report = submit()
    phone = Client()
    query = {"lat": str(LAT), "lon": str(LON), "category": "schlagloch"}
    first = phone.get("/api/v1/reports/nearby/", query)
    [listed] = [r for r in first.json()["reports"] if r["id"] == report["id"]]
    assert phone.get("/api/v1/reports/nearby/", query, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304

    supported = Client().post(f"/api/v1/reports/{report['id']}/support/", {"device_id": "another-phone-0815"})
    assert supported.status_code == 201, supported.content

    again = phone.get("/api/v1/reports/nearby/", query, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 200
    [listed_again] = [r for r in again.json()["reports"] if r["id"] == report["id"]]
    assert listed_again["support_count"] == listed["support_count"] + 1

    other = submit(at=(LAT + 0.0001, LON))
    third = phone.get("/api/v1/reports/nearby/", query, HTTP_IF_NONE_MATCH=again["ETag"])
    assert third.status_code == 200 and other["id"] in {r["id"] for r in third.json()["reports"]}
