"""Cached map answers per area (reports.publicdata.version): a change at one place leaves the cached answers of
views elsewhere as they are, and is in the very next answer of every view that shows it.

Transactional tests: the versions change after commit, as in production. Each asserts what a client sees next:
a 304 for its ETag where nothing it shows changed, the change itself where something did.
"""

from __future__ import annotations

import pytest

from tests.mobile_api.staff.conftest import Client, staff_client, submit
from tests.mobile_api.test_public_fast_path import DjangoCounted, get, ids
from tests.personas import HAMELN_MARKET

pytestmark = pytest.mark.django_db(transaction=True)

LAT, LON = HAMELN_MARKET
AERZEN = (52.056278, 9.25317)  # lat, lon: in the Gemeinde Aerzen, about 10 km from the Pferdemarkt


def view(lat: float, lon: float, zoom: int, half: float) -> dict[str, str]:
    return {"bbox": f"{lon - half},{lat - half},{lon + half},{lat + half}", "zoom": str(zoom)}


HAMELN_STREETS = view(LAT, LON, 16, 0.005)  # single reports
AERZEN_STREETS = view(*AERZEN, 16, 0.005)
LANDKREIS = view(52.05, 9.3, 10, 0.3)  # clusters: both places


def features(answer) -> list[dict]:
    return answer.json()["features"]


def counted(answer) -> int:
    return sum(f["properties"].get("count", 1) for f in features(answer))


def test_a_report_elsewhere_leaves_a_cached_map_view_as_it_is_and_changes_the_views_that_show_it(demo):
    phone = Client()
    streets = phone.get("/api/v1/map/", HAMELN_STREETS)
    landkreis = phone.get("/api/v1/map/", LANDKREIS)
    stats = phone.get("/api/v1/stats/")
    assert streets.status_code == landkreis.status_code == stats.status_code == 200

    report = submit(at=AERZEN)

    assert phone.get("/api/v1/map/", HAMELN_STREETS, HTTP_IF_NONE_MATCH=streets["ETag"]).status_code == 304
    again = phone.get("/api/v1/map/", LANDKREIS, HTTP_IF_NONE_MATCH=landkreis["ETag"])
    assert again.status_code == 200 and counted(again) == counted(landkreis) + 1
    assert report["id"] in {f["properties"]["id"] for f in features(phone.get("/api/v1/map/", AERZEN_STREETS))}
    # Lists and statistics depend on every report: never kept across a change.
    assert phone.get("/api/v1/stats/", HTTP_IF_NONE_MATCH=stats["ETag"]).status_code == 200


def test_a_status_change_at_a_place_is_in_the_next_answer_of_a_view_there(personas):
    report = submit()
    phone = Client()
    before = phone.get("/api/v1/map/", HAMELN_STREETS)
    [point] = [f for f in features(before) if f["properties"]["id"] == report["id"]]
    assert point["properties"]["status"] == "new"

    moved = staff_client(personas.hameln_worker).post(
        f"/api/staff/reports/{report['id']}/transition/", {"to": "acknowledged", "message": "Gesehen."}, format="json"
    )
    assert moved.status_code == 200, moved.content

    after = phone.get("/api/v1/map/", HAMELN_STREETS, HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200
    [point] = [f for f in features(after) if f["properties"]["id"] == report["id"]]
    assert point["properties"]["status"] == "acknowledged"


def test_a_report_moved_by_staff_leaves_the_old_view_and_enters_the_new_one(personas):
    report = submit()
    phone = Client()
    hameln = phone.get("/api/v1/map/", HAMELN_STREETS)
    aerzen = phone.get("/api/v1/map/", AERZEN_STREETS)
    assert report["id"] in ids_of(hameln) and report["id"] not in ids_of(aerzen)

    changed = staff_client(personas.hameln_lead).patch(
        f"/api/staff/reports/{report['id']}/", {"lat": AERZEN[0], "lon": AERZEN[1]}, format="json"
    )
    assert changed.status_code == 200, changed.content

    hameln_now = phone.get("/api/v1/map/", HAMELN_STREETS, HTTP_IF_NONE_MATCH=hameln["ETag"])
    aerzen_now = phone.get("/api/v1/map/", AERZEN_STREETS, HTTP_IF_NONE_MATCH=aerzen["ETag"])
    assert hameln_now.status_code == aerzen_now.status_code == 200
    assert report["id"] not in ids_of(hameln_now) and report["id"] in ids_of(aerzen_now)


def test_a_category_no_longer_public_leaves_every_map_view_at_once(demo):
    from geo.models import Category

    report = submit(at=AERZEN, category="graffiti")
    phone = Client()
    aerzen = phone.get("/api/v1/map/", AERZEN_STREETS)
    hameln = phone.get("/api/v1/map/", HAMELN_STREETS)
    assert report["id"] in ids_of(aerzen)

    category = Category.objects.get(slug="graffiti")
    category.is_public = False
    category.save()  # as the admin's change form does

    assert report["id"] not in ids_of(phone.get("/api/v1/map/", AERZEN_STREETS, HTTP_IF_NONE_MATCH=aerzen["ETag"]))
    # Not confined to a place: every cached view is old, also where nothing is seen to change.
    assert phone.get("/api/v1/map/", HAMELN_STREETS, HTTP_IF_NONE_MATCH=hameln["ETag"]).status_code == 200


def test_cluster_views_change_with_a_report_just_outside_their_bbox_that_their_cells_count(demo):
    # At zoom 11 the cells are 0.044° wide and counted whole: a small view that ends a little west of the report
    # still counts it, in a cell that reaches past the view's edge (the answer's properties.bbox says how far).
    size = 360 / 2**11 / 4  # a quarter of a tile, cells centred on its multiples
    lat, lon = AERZEN[0], round(AERZEN[1] / size) * size + 0.4 * size  # in the east of its cell
    phone = Client()
    views = []
    for gap in (0.001 + 0.003 * step for step in range(14)):
        query = {"bbox": f"{lon - gap - 0.01},{lat - 0.004},{lon - gap},{lat + 0.004}", "zoom": "11"}
        answer = phone.get("/api/v1/map/", query)
        covered = answer.json()["properties"]["bbox"]
        if covered[0] <= lon <= covered[2] and covered[1] <= lat <= covered[3]:
            views.append((query, answer))
    assert len(views) >= 3, "views whose cells count the place"

    submit(at=(lat, lon))

    for query, before in views:
        after = phone.get("/api/v1/map/", query, HTTP_IF_NONE_MATCH=before["ETag"])
        assert after.status_code == 200 and counted(after) == counted(before) + 1, query["bbox"]


def test_the_fast_path_serves_a_view_elsewhere_without_django_after_a_report(personas):
    from mobile_api.public_cache import PublicReadFastPath

    django = DjangoCounted()
    fast_path = PublicReadFastPath(django)
    query = "&".join(f"{name}={value}" for name, value in HAMELN_STREETS.items())
    first = get(fast_path, "/api/v1/map/", query)
    get(fast_path, "/api/v1/stats/")
    assert django.calls == 2

    submit(at=AERZEN)

    again = get(fast_path, "/api/v1/map/", query)
    assert again["status"] == 200 and again["body"] == first["body"] and django.calls == 2, "not from the cache"
    assert get(fast_path, "/api/v1/map/", query, {"If-None-Match": first["headers"]["etag"]})["status"] == 304
    get(fast_path, "/api/v1/stats/")
    assert django.calls == 3, "statistics are made anew after any report"

    report = submit()
    assert ids(get(fast_path, "/api/v1/map/", query)) == {report["id"]} and django.calls == 4


@pytest.mark.parametrize("query", [
    {"bbox": "9,52,10,53", "zoom": "22"},  # far too large for the zoom
    {"bbox": "9,52,10", "zoom": "8"},
    {"bbox": "9,52,10,53", "zoom": "99999999999999999999"},
    {"bbox": "nan,52,10,53", "zoom": "8"},
    {"bbox": "-181,52,10,53", "zoom": "8"},
    {"zoom": "8"},
])
def test_a_view_the_map_refuses_is_refused_with_a_field_and_never_cached(demo, query):
    phone = Client()
    for _ in range(2):
        answer = phone.get("/api/v1/map/", query)
        assert answer.status_code == 400 and "ETag" not in answer
        assert {error["field"] for error in answer.json()["errors"]} & {"bbox", "zoom"}


def ids_of(answer) -> set[str]:
    return {f["properties"]["id"] for f in features(answer) if "id" in f["properties"]}
