"""route(category, point): the responsible authority and department, with a reason staff can read."""

import pytest
from django.contrib.gis.geos import Point

from geo.models import Category
from geo.routing import OutsideServiceArea, route

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo")]

HAMELN_MARKET = Point(9.3576, 52.1039, srid=4326)
AERZEN = Point(9.2640, 52.0446, srid=4326)
WEST_OF_THE_COUNTY = Point(9.0, 52.2, srid=4326)


def category(slug: str) -> Category:
    return Category.objects.get(slug=slug)


def test_a_pothole_in_hameln_goes_to_the_bauhof_hameln_with_a_german_reason():
    decision = route(category("schlagloch"), HAMELN_MARKET)
    assert decision.authority.name == "Hameln"
    assert decision.department.slug == "bauhof-hameln"
    assert decision.reason == "Bauhof Hameln: Schlagloch / Straßenschaden im Gebiet Stadt Hameln"


def test_a_landkreis_responsibility_covers_its_gemeinden():
    decision = route(category("leitplanke-beschaedigt"), AERZEN)
    assert decision.department.slug == "strassenmeisterei-hameln-pyrmont"
    assert str(decision.authority) == "Landkreis Hameln-Pyrmont"


def test_a_gemeinde_responsibility_overrides_the_landkreis_for_its_area():
    assert route(category("wilder-muell"), HAMELN_MARKET).department.slug == "bauhof-hameln"
    assert route(category("wilder-muell"), AERZEN).department.slug == "abfallwirtschaft-hameln-pyrmont"


def test_without_a_responsibility_the_smallest_covering_authority_takes_it_and_says_why():
    new_category = Category.objects.create(slug="sonstiges", name_de="Sonstiges", name_en="Other")
    decision = route(new_category, AERZEN)
    assert decision.authority.name == "Aerzen"
    assert decision.department.slug == "bauhof-aerzen"
    assert "keine Zuständigkeit" in decision.reason and "Sonstiges" in decision.reason


def test_outside_the_service_area_the_error_names_the_nearest_authority_and_distance():
    with pytest.raises(OutsideServiceArea) as error:
        route(category("schlagloch"), WEST_OF_THE_COUNTY)
    # Landkreis and Gemeinde are equally near there: the smaller, more specific one is named.
    assert str(error.value.nearest) == "Stadt Hessisch Oldendorf"
    assert 5_000 < error.value.distance_m < 20_000
    assert "außerhalb" in str(error.value) and "km entfernt" in str(error.value)


def test_on_the_border_between_two_gemeinden_the_decision_names_both():
    from geo.models import Authority

    hameln, aerzen = Authority.objects.get(name="Hameln"), Authority.objects.get(name="Aerzen")
    border_point = hameln.boundary.intersection(aerzen.boundary).point_on_surface
    decision = route(category("schlagloch"), border_point)
    assert decision.near_border is not None
    assert {a.name for a in decision.near_border.candidates} == {"Hameln", "Aerzen"}
    assert decision.authority == decision.near_border.candidates[0]


def test_far_from_any_border_there_is_no_border_notice():
    assert route(category("schlagloch"), HAMELN_MARKET).near_border is None
