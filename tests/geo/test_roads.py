"""Road ownership in north Bayreuth: Kreisstraßen by plate code, Bundes- and Staatsstraßen, Autobahnen."""

import json
from io import StringIO

import pytest
from django.contrib.gis.geos import GEOSGeometry, Point
from django.core.management import CommandError, call_command

from geo.models import Authority, Category, Road
from geo.routing import route

pytestmark = pytest.mark.django_db

ROADS = "north-bayreuth_refs.geojson"


@pytest.fixture
def roads_dir(boundaries):
    return boundaries.parent / "roads"


@pytest.fixture
def bayreuth(boundaries, roads_dir):
    for name in ["kreise_north-bayreuth-bbox", "gemeinden_north-bayreuth-bbox"]:
        call_command("import_boundaries", str(boundaries / f"{name}_vg5000_2021.geojson"), stdout=StringIO())
    out = StringIO()
    call_command("import_roads", str(roads_dir / ROADS), stdout=out)
    return out.getvalue()


@pytest.fixture
def pothole():
    return Category.objects.create(slug="schlagloch", name_de="Schlagloch", name_en="Pothole", is_road_category=True)


def _road_points(roads_dir, prefix: str) -> list[Point]:
    """The middle vertex of every way whose ref starts with prefix, unless another road of a different
    class passes within 20 m (a junction), where either owner would be a fair answer."""
    features = json.loads((roads_dir / ROADS).read_text())["features"]
    lines = [(f["properties"]["ref"], GEOSGeometry(json.dumps(f["geometry"]), srid=4326)) for f in features]
    metric = [(ref, line.transform(25832, clone=True)) for ref, line in lines]
    points = []
    for ref, line in lines:
        if not ref.startswith(prefix):
            continue
        point = Point(*line.coords[len(line.coords) // 2], srid=4326)
        here = point.transform(25832, clone=True)
        if all(other_ref.split()[0] == prefix.split()[0] or other.distance(here) > 20 for other_ref, other in metric):
            points.append(point)
    assert len(points) >= 3, prefix
    return points


def test_the_import_derives_owners_from_road_classes(bayreuth):
    assert "road sections of Landkreis Kulmbach" in bayreuth
    assert "road sections of Landkreis Bayreuth" in bayreuth
    assert "road sections of Autobahn GmbH des Bundes" in bayreuth
    assert "road sections of Staatliche Bauverwaltung Bayern" in bayreuth
    owners = {road.ref: str(road.owner) for road in Road.objects.select_related("owner")}
    assert owners["KU 11"] == "Landkreis Kulmbach"
    assert owners["BT 14"] == "Landkreis Bayreuth"
    assert owners["B 85"] == owners["St 2183"] == "Staatliche Bauverwaltung Bayern"
    assert owners["A 9"] == "Autobahn GmbH des Bundes"


@pytest.mark.parametrize(
    ("prefix", "owner"),
    [
        ("KU ", "Landkreis Kulmbach"),
        ("BT ", "Landkreis Bayreuth"),
        ("B 85", "Staatliche Bauverwaltung Bayern"),
        ("A ", "Autobahn GmbH des Bundes"),
    ],
)
def test_a_pothole_on_a_road_goes_to_its_owner(bayreuth, roads_dir, pothole, prefix, owner):
    for point in _road_points(roads_dir, prefix):
        decision = route(pothole, point)
        assert str(decision.authority) == owner, (prefix, point.coords)
        assert decision.road is not None and decision.road.ref.startswith(prefix.strip())
        assert owner in decision.reason


def test_a_category_that_is_not_about_roads_ignores_road_ownership(bayreuth, roads_dir):
    graffiti = Category.objects.create(slug="graffiti", name_de="Graffiti", name_en="Graffiti")
    point = _road_points(roads_dir, "KU ")[0]
    decision = route(graffiti, point)
    assert decision.road is None
    assert decision.authority.kind == "municipality"


def test_a_point_in_the_kreisfreie_stadt_goes_to_the_stadt_not_the_landkreis_of_the_same_name(bayreuth, pothole):
    decision = route(pothole, Point(11.5783, 49.9456, srid=4326))  # Bayreuth, Markt (no numbered road within 15 m)
    assert decision.authority.name == "Bayreuth"
    assert decision.authority.ars.startswith("09462")


def test_a_gemeindefreies_gebiet_is_routed_to_an_authority_that_administers_it(bayreuth):
    forest = Authority.objects.get(name="Heinersreuther Forst")
    decision = route(None, forest.boundary.point_on_surface)
    assert decision.authority.kind != "unincorporated"
    assert decision.authority.ars == "09472"  # Landkreis Bayreuth


def test_reimporting_roads_replaces_them_and_multi_refs_keep_the_higher_class(bayreuth, roads_dir):
    count = Road.objects.count()
    call_command("import_roads", str(roads_dir / ROADS), stdout=StringIO())
    assert Road.objects.count() == count
    call_command("import_roads", str(roads_dir / "berlin-siegessaeule_refs.geojson"), stdout=StringIO())
    berlin = Road.objects.filter(source="berlin-siegessaeule_refs.geojson")
    assert set(berlin.values_list("ref", "road_class")) == {("B 2;B 5", "B")}


def test_a_road_file_without_road_numbers_is_rejected_and_changes_nothing(bayreuth, boundaries):
    count = Road.objects.count()
    with pytest.raises(CommandError, match="no field 'ref'"):
        call_command("import_roads", str(boundaries / "landkreise_vg5000_2021.geojson"), stdout=StringIO())
    assert Road.objects.count() == count
