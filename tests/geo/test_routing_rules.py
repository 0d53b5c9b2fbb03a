"""route() under the rules staff configure: explicit areas, priorities, inactive departments and
authorities, the border check; and, but for road categories and points exactly on a border, a
decision costs one query."""

import pytest
from django.contrib.gis.geos import MultiPolygon, Point, Polygon

from geo.models import Authority, Category, Department, Responsibility
from geo.routing import route

pytestmark = pytest.mark.django_db

HAMELN_MARKET = Point(9.3576, 52.1039, srid=4326)
HAMELN_KLUETVIERTEL = Point(9.3790, 52.1010, srid=4326)  # in Hameln, 1.5 km east of the market


@pytest.fixture(autouse=True)
def hameln_pyrmont(demo):
    """The demo configuration: Gemeinde-level categories go to the Bauhöfe, others to the Landkreis."""


def category(slug: str) -> Category:
    return Category.objects.get(slug=slug)


def department(slug: str) -> Department:
    return Department.objects.get(slug=slug)


def square_around(point: Point, half_side: float = 0.003) -> MultiPolygon:
    square = Polygon.from_bbox((point.x - half_side, point.y - half_side, point.x + half_side, point.y + half_side))
    return MultiPolygon(square, srid=4326)


def border_point() -> Point:
    hameln, aerzen = Authority.objects.get(name="Hameln"), Authority.objects.get(name="Aerzen")
    return hameln.boundary.intersection(aerzen.boundary).point_on_surface


def test_an_explicit_area_takes_the_reports_inside_it_and_only_those():
    Responsibility.objects.create(
        department=department("strassenmeisterei-hameln-pyrmont"), category=category("graffiti"),
        area=square_around(HAMELN_MARKET),
    )
    inside = route(category("graffiti"), HAMELN_MARKET)
    assert inside.department.slug == "strassenmeisterei-hameln-pyrmont"
    assert str(inside.authority) == "Landkreis Hameln-Pyrmont"
    assert inside.reason.startswith("Straßenmeisterei des Landkreises Hameln-Pyrmont: Graffiti")
    assert route(category("graffiti"), HAMELN_KLUETVIERTEL).department.slug == "bauhof-hameln"


def test_a_higher_priority_wins_over_a_smaller_area():
    Responsibility.objects.create(
        department=department("abfallwirtschaft-hameln-pyrmont"), category=category("graffiti"), priority=1
    )
    assert route(category("graffiti"), HAMELN_MARKET).department.slug == "abfallwirtschaft-hameln-pyrmont"


def test_an_inactive_department_is_passed_over_for_the_next_responsibility():
    assert route(category("wilder-muell"), HAMELN_MARKET).department.slug == "bauhof-hameln"
    Department.objects.filter(slug="bauhof-hameln").update(active=False)
    assert route(category("wilder-muell"), HAMELN_MARKET).department.slug == "abfallwirtschaft-hameln-pyrmont"


def test_an_inactive_authority_neither_covers_the_place_nor_receives_reports():
    Authority.objects.filter(name="Hameln").update(active=False)
    decision = route(category("graffiti"), HAMELN_MARKET)
    assert str(decision.authority) == "Landkreis Hameln-Pyrmont"
    assert decision.department is None or decision.department.authority.name != "Hameln"


def test_without_the_border_check_no_neighbour_is_named_and_the_decision_stays(settings):
    with_check = route(category("graffiti"), border_point())
    assert with_check.near_border is not None
    settings.OPENMELDER = {**settings.OPENMELDER, "BORDER_DISTANCE_M": 0}
    without_check = route(category("graffiti"), border_point())
    assert without_check.near_border is None
    assert (without_check.authority, without_check.department) == (with_check.authority, with_check.department)


def near_the_border() -> Point:
    """A point in Hameln a few metres from Aerzen."""
    hameln, aerzen = Authority.objects.get(name="Hameln"), Authority.objects.get(name="Aerzen")
    on_border = border_point()
    for dx, dy in [(0.0001, 0), (-0.0001, 0), (0, 0.0001), (0, -0.0001)]:
        point = Point(on_border.x + dx, on_border.y + dy, srid=4326)
        if hameln.boundary.covers(point) and not aerzen.boundary.covers(point):
            return point
    raise AssertionError("no point next to the border")


@pytest.mark.parametrize(
    ("place", "queries"),
    [("inside", 1), ("near the border", 1), ("on the border", 2)],
    ids=["inside a Gemeinde", "near the border of two Gemeinden", "exactly on the border, covered by both"],
)
@pytest.mark.parametrize(
    "slug", ["graffiti", "containerstandort", None, "new"],
    ids=["Gemeinde responsibility", "Landkreis responsibility", "no category", "no responsibility"],
)
def test_a_decision_takes_one_query_and_its_parts_need_none(django_assert_num_queries, place, queries, slug):
    point = {"inside": HAMELN_MARKET, "near the border": near_the_border(), "on the border": border_point()}[place]
    if slug == "new":
        chosen = Category.objects.create(slug="sonstiges", name_de="Sonstiges", name_en="Other")
    else:
        chosen = category(slug) if slug else None
    route(chosen, point)  # the first decision of a process may look up the backend's version
    # On the border the other side covers the point too: its distance, not quite 0 on a sphere, takes a query.
    with django_assert_num_queries(queries):
        decision = route(chosen, point)
    assert (decision.near_border is not None) == (place != "inside")
    with django_assert_num_queries(0):
        shown = [str(decision.authority), decision.reason]
        if decision.department is not None:
            shown += [decision.department.name, str(decision.department.authority)]
        if decision.near_border is not None:
            shown += [str(candidate) for candidate in decision.near_border.candidates]
    assert all(shown)
