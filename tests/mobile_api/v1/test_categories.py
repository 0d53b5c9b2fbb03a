"""GET /api/v1/categories/: what a citizen can report, and at a point, who would receive it."""

import pytest

from tests.mobile_api.v1.conftest import HAMELN_MARKET

pytestmark = pytest.mark.django_db


def test_categories_are_listed_in_german_by_default(client, demo):
    response = client.get("/api/v1/categories/", secure=True)
    assert response.status_code == 200
    categories = {c["slug"]: c for c in response.json()["categories"]}
    assert categories["schlagloch"]["name"] == "Schlagloch / Straßenschaden"
    assert categories["schlagloch"]["group"] == "Straße und Verkehr"
    assert categories["tierkadaver"]["is_public"] is False
    assert "authority" not in categories["schlagloch"]


def test_english_is_chosen_by_accept_language(client, demo):
    response = client.get("/api/v1/categories/", HTTP_ACCEPT_LANGUAGE="en", secure=True)
    names = {c["slug"]: c["name"] for c in response.json()["categories"]}
    assert names["schlagloch"] == "Pothole / road damage"


def test_at_a_point_each_category_names_the_authority_that_would_receive_it(client, demo):
    response = client.get("/api/v1/categories/", HAMELN_MARKET, secure=True)
    categories = {c["slug"]: c for c in response.json()["categories"]}
    assert categories["schlagloch"]["authority"] == {"name": "Stadt Hameln", "ags": "03252006"}
    assert categories["schlagloch"]["department"] == {"name": "Bauhof Hameln"}
    assert categories["leitplanke-beschaedigt"]["authority"]["name"] == "Landkreis Hameln-Pyrmont"


def test_a_point_outside_the_area_is_a_clear_error(client, demo):
    response = client.get("/api/v1/categories/", {"lat": "54.5", "lon": "7.5"}, secure=True)
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == "location"
    assert "außerhalb" in error["message"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"lat": "91", "lon": "9"}, "lat"),
        ({"lat": "nan", "lon": "9"}, "lat"),
        ({"lat": "52"}, "lon"),
        ({"lat": "52", "lon": "inf"}, "lon"),
    ],
)
def test_bad_coordinates_name_the_field(client, demo, query, field):
    response = client.get("/api/v1/categories/", query, secure=True)
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == [field]
