"""GET /api/v1/map/: clusters with counts when zoomed out, single reports when zoomed in, nothing personal."""

import json

import pytest
from django.contrib.gis.geos import Point
from django.test import TestCase

from geo.models import Authority, Category, PublishingPolicy
from reports.models import Moderation, Report
from tests.reports.publicdata.helpers import (
    HAMELN_BBOX,
    LANDKREIS_BBOX,
    MARKET,
    PYRMONT,
    STATION,
    WESER_BRIDGE,
    close_as_fixed,
    report,
    submit,
    update,
)

pytestmark = pytest.mark.django_db


def get_map(client, **params):
    return client.get("/api/v1/map/", params, secure=True, HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def reports(client, demo):
    """Seven reports: five on the public map, one hidden by staff, one in a non-public category."""
    made = {
        "market": submit(client, MARKET),
        "market_light": submit(client, (MARKET[0] + 0.0002, MARKET[1]), "strassenbeleuchtung-defekt"),
        "station": submit(client, STATION, "graffiti"),
        "bridge": submit(client, WESER_BRIDGE),
        "pyrmont": submit(client, PYRMONT),
        "hidden": submit(client, (MARKET[0], MARKET[1] + 0.001)),
        "carcass": submit(client, (MARKET[0] + 0.001, MARKET[1]), "tierkadaver"),
    }
    Report.objects.filter(public_id=made["hidden"]["id"]).update(moderation=Moderation.HIDDEN)
    close_as_fixed(made["station"])
    return made


VISIBLE = [MARKET, (MARKET[0] + 0.0002, MARKET[1]), STATION, WESER_BRIDGE, PYRMONT]


def inside(bbox: list[float], places) -> int:
    return sum(bbox[0] <= lon <= bbox[2] and bbox[1] <= lat <= bbox[3] for lat, lon in places)


def test_clusters_at_low_zoom_add_up_to_the_public_reports_in_the_area(client, reports):
    landkreis = get_map(client, bbox=LANDKREIS_BBOX, zoom=9).json()
    assert landkreis["type"] == "FeatureCollection" and landkreis["properties"]["clustered"] is True
    assert all(f["properties"]["cluster"] is True for f in landkreis["features"])
    assert sum(f["properties"]["count"] for f in landkreis["features"]) == 5
    # Cells are counted whole: the area widens to the cells the bbox touches, and says so.
    for zoom in (5, 9, 11, 13):
        body = get_map(client, bbox=HAMELN_BBOX, zoom=zoom).json()
        covered = body["properties"]["bbox"]
        assert covered[0] <= 9.30 and covered[1] <= 52.05 and covered[2] >= 9.42 and covered[3] >= 52.15
        assert sum(f["properties"]["count"] for f in body["features"]) == inside(covered, VISIBLE), zoom
    # Zoomed in further, Hameln's reports fall into more, smaller cells.
    assert len(get_map(client, bbox=HAMELN_BBOX, zoom=13).json()["features"]) == 3


def test_clusters_stay_exact_when_reports_change_move_hide_or_go(client, reports):
    def counts(**filters) -> int:
        return sum(
            f["properties"]["count"]
            for f in get_map(client, bbox=LANDKREIS_BBOX, zoom=10, **filters).json()["features"]
        )

    assert (counts(), counts(status="fixed"), counts(category="graffiti")) == (5, 1, 1)
    close_as_fixed(reports["bridge"])
    assert (counts(), counts(status="fixed"), counts(status="open")) == (5, 2, 3)
    update(reports["market"], category=Category.objects.get(slug="graffiti"))
    assert counts(category="graffiti") == 2 and counts(category="schlagloch") == 2
    update(reports["market_light"], location=Point(9.40, 52.12, srid=4326))
    [moved] = get_map(client, bbox="9.395,52.115,9.405,52.125", zoom=13, category="strassenbeleuchtung-defekt").json()[
        "features"
    ]
    assert moved["properties"]["count"] == 1
    update(reports["pyrmont"], moderation=Moderation.HIDDEN)
    assert counts() == 4
    update(reports["hidden"], moderation=Moderation.PUBLISHED)
    assert counts() == 5
    with TestCase.captureOnCommitCallbacks(execute=True):  # as the deleting transaction commits
        Report.objects.filter(public_id=reports["station"]["id"]).delete()
    assert (counts(), counts(status="fixed")) == (4, 1)


def test_clusters_can_be_counted_for_one_authority_too(reports):
    from reports.publicdata import Filters, map_features

    body = map_features(bbox=(9.0, 51.85, 9.75, 52.30), zoom=9, filters=Filters(authorities=("bad-pyrmont",)))
    assert [f["properties"]["count"] for f in body["features"]] == [1]


def test_a_cluster_lies_where_its_reports_are(client, reports):
    features = get_map(client, bbox="9.356,52.103,9.358,52.105", zoom=13).json()["features"]
    [cluster] = [f for f in features if f["properties"]["count"] == 2]  # the two at the market
    lon, lat = cluster["geometry"]["coordinates"]
    assert lat == pytest.approx(MARKET[0] + 0.0001, abs=1e-6) and lon == pytest.approx(MARKET[1], abs=1e-6)


def test_at_high_zoom_each_report_is_a_point_with_category_and_status_only(client, reports):
    body = get_map(client, bbox="9.33,52.09,9.38,52.11", zoom=15).json()
    assert body["properties"] == {"zoom": 15, "clustered": False, "truncated": False}
    by_id = {f["properties"]["id"]: f for f in body["features"]}
    assert set(by_id) == {reports[k]["id"] for k in ("market", "market_light", "station", "bridge")}
    station = by_id[reports["station"]["id"]]
    assert station["properties"] == {
        "id": reports["station"]["id"], "category": "graffiti", "status": "fixed", "status_type": "fixed",
    }
    assert station["geometry"] == {"type": "Point", "coordinates": [STATION[1], STATION[0]]}


def test_reports_awaiting_review_show_on_the_map_without_their_text(client, demo):
    Authority.objects.filter(slug="hameln").update(publishing_policy=PublishingPolicy.AFTER_REVIEW)
    pending = submit(client, MARKET, description="Vor dem Haus von Frau Muster, Tel. 0151 2345678",
                     name="Erika Muster", email="erika@example.org")
    assert report(pending).moderation == Moderation.PENDING
    body = get_map(client, bbox="9.35,52.10,9.36,52.11", zoom=17)
    [feature] = body.json()["features"]
    assert feature["properties"] == {
        "id": pending["id"],
        "category": "schlagloch",
        "status": "new",
        "status_type": "open",
    }
    text = body.content.decode()
    assert "Muster" not in text and "0151" not in text and "erika" not in text


def test_the_map_filters_by_category_and_by_status_or_status_type(client, reports):
    def ids(**filters):
        features = get_map(client, bbox="9.2,51.95,9.45,52.15", zoom=14, **filters).json()["features"]
        return {f["properties"]["id"] for f in features}

    assert ids(category="graffiti") == {reports["station"]["id"]}
    assert ids(category="graffiti,strassenbeleuchtung-defekt") == {
        reports["station"]["id"],
        reports["market_light"]["id"],
    }
    assert ids(status="fixed") == {reports["station"]["id"]}
    assert ids(status="open") == {reports[k]["id"] for k in ("market", "market_light", "bridge", "pyrmont")}
    assert ids(status="new,fixed", category="graffiti") == {reports["station"]["id"]}
    assert ids(status="closed") == set()
    clusters = get_map(client, bbox=LANDKREIS_BBOX, zoom=8, status="open").json()["features"]
    assert sum(f["properties"]["count"] for f in clusters) == 4


@pytest.mark.parametrize(
    ("params", "field", "code"),
    [
        ({"zoom": "9"}, "bbox", "required"),
        ({"bbox": "9.0,51.9,9.7", "zoom": "9"}, "bbox", "invalid"),
        ({"bbox": "9.0,51.9,abc,52.3", "zoom": "9"}, "bbox", "invalid"),
        ({"bbox": "9.0,51.9,nan,52.3", "zoom": "9"}, "bbox", "invalid"),
        ({"bbox": "9.7,51.9,9.0,52.3", "zoom": "9"}, "bbox", "out_of_range"),
        ({"bbox": "9.0,51.9,190,52.3", "zoom": "2"}, "bbox", "out_of_range"),
        ({"bbox": "5.0,50.0,12.0,54.0", "zoom": "16"}, "bbox", "too_large"),
        ({"bbox": LANDKREIS_BBOX}, "zoom", "required"),
        ({"bbox": LANDKREIS_BBOX, "zoom": "23"}, "zoom", "max_value"),
        ({"bbox": LANDKREIS_BBOX, "zoom": "weit"}, "zoom", "invalid"),
        ({"bbox": LANDKREIS_BBOX, "zoom": "9", "category": "schlagloch,unbekannt"}, "category", "unknown"),
        ({"bbox": LANDKREIS_BBOX, "zoom": "9", "category": "tierkadaver"}, "category", "unknown"),
        ({"bbox": LANDKREIS_BBOX, "zoom": "9", "status": "open,kaputt"}, "status", "unknown"),
    ],
)
def test_bad_map_requests_are_answered_400_naming_the_field(client, demo, params, field, code):
    response = get_map(client, **params)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [(field, code)], json.dumps(errors)
    assert errors[0]["message"]
