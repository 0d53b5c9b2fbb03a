"""manage.py route: the routing decision as JSON, for one point or a whole file of points."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db

FOUR_KREISE = [
    "landkreise",
    "gemeinden_hameln-pyrmont",
    "gemeinden_hildesheim",
    "gemeinden_harz",
    "gemeinden_hersfeld-rotenburg",
]


@pytest.fixture
def four_kreise(boundaries):
    for name in FOUR_KREISE:
        call_command("import_boundaries", str(boundaries / f"{name}_vg5000_2021.geojson"), stdout=StringIO())


def route(*args) -> str:
    out = StringIO()
    call_command("route", *map(str, args), stdout=out)
    return out.getvalue()


def test_each_of_the_68_gemeinde_points_routes_to_its_own_gemeinde(four_kreise, boundaries):
    output = route("--points", boundaries / "gemeinde_points_on_surface_vg5000_2021.geojson")
    lines = [json.loads(line) for line in output.splitlines()]
    assert len(lines) == 68
    wrong = [
        (row["properties"]["gen"], row.get("authority"))
        for row in lines if (row.get("authority") or {}).get("ars") != row["properties"]["ars"]
    ]
    assert wrong == []
    hameln = next(row for row in lines if row["properties"]["gen"] == "Hameln")
    assert hameln["authority"] == {
        "name": "Stadt Hameln", "slug": "hameln", "kind": "municipality", "ars": "032520006006", "ags": "03252006",
    }


def test_a_point_in_the_sea_gets_a_clear_error_naming_the_nearest_authority(four_kreise):
    result = json.loads(route("54.5", "7.5"))  # North Sea, west of Heligoland
    assert result["error"] == "outside_service_area"
    assert "außerhalb des Zuständigkeitsgebiets" in result["message"]
    assert result["nearest"]["ars"].startswith("03")  # a Lower Saxon Gemeinde
    assert result["distance_m"] > 100_000


def test_one_point_prints_the_decision_with_its_reason(four_kreise):
    result = json.loads(route("52.1039", "9.3576"))
    assert result["authority"]["name"] == "Stadt Hameln"
    assert result["reason"] == "Stadt Hameln ist für den Ort zuständig."
    assert result["near_border"] is None and result["road"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["91", "9"], "LAT must lie within"),
        (["52"], "Give LAT LON"),
        (["52", "9", "--category", "gibt-es-nicht"], "No category 'gibt-es-nicht'"),
    ],
)
def test_bad_arguments_get_a_clear_message(four_kreise, args, message):
    with pytest.raises(CommandError, match=message):
        route(*args)
