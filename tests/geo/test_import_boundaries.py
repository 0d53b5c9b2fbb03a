"""import_boundaries: any OGR file, any CRS, keyed by ARS, all or nothing."""

import json

import pytest
from django.contrib.gis.geos import GEOSGeometry
from django.core.management import CommandError, call_command

from geo.models import Authority, AuthorityKind

pytestmark = pytest.mark.django_db

HAMELN_PYRMONT_GEMEINDEN = {
    "Aerzen", "Bad Münder am Deister", "Bad Pyrmont", "Coppenbrügge", "Emmerthal", "Hameln", "Hessisch Oldendorf",
    "Salzhemmendorf",
}


def run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command("import_boundaries", *map(str, args), stdout=out)
    return out.getvalue()


def snapshot() -> dict[str, tuple]:
    return {a.ars: (a.name, a.kind, a.parent_id, a.boundary.wkb.hex()) for a in Authority.objects.all()}


def test_it_imports_a_landkreis_and_its_gemeinden_with_parents(boundaries):
    out = run(boundaries / "landkreise_vg5000_2021.geojson")
    assert "4 created, 0 updated, 0 unchanged." in out
    out = run(boundaries / "gemeinden_hameln-pyrmont_vg5000_2021.geojson")
    assert "8 created" in out
    assert "created   032520006006 Stadt Hameln" in out

    county = Authority.objects.get(ars="03252")
    assert county.kind == AuthorityKind.COUNTY and str(county) == "Landkreis Hameln-Pyrmont"
    gemeinden = Authority.objects.filter(parent=county)
    assert {g.name for g in gemeinden} == HAMELN_PYRMONT_GEMEINDEN
    assert all(g.kind == AuthorityKind.MUNICIPALITY for g in gemeinden)
    hameln = gemeinden.get(name="Hameln")
    assert hameln.ags == "03252006" and hameln.boundary.geom_type == "MultiPolygon" and hameln.boundary.srid == 4326
    assert len(hameln.boundary) == 2  # the town and its exclave
    # The union of the Gemeinden is the Landkreis (VG5000 is topologically clean): areas agree.
    assert sum(g.area_km2 for g in gemeinden) == pytest.approx(county.area_km2, rel=1e-6)
    assert county.area_km2 == pytest.approx(799.7, rel=0.01)


def test_the_shapefile_in_gauss_krueger_gives_the_same_geometry_to_within_a_metre(boundaries):
    run(boundaries / "gemeinden_hameln-pyrmont_vg5000_2021.geojson")
    from_geojson = {a.ars: a.boundary for a in Authority.objects.all()}

    out = run(boundaries / "shp_epsg31467" / "gemeinden_hameln-pyrmont_vg5000_2021_epsg31467.shp")
    assert "0 created, 8 updated" in out
    assert Authority.objects.count() == 8

    for authority in Authority.objects.all():
        # Compare in metres: ETRS89 / UTM 32N.
        reprojected = authority.boundary.transform(25832, clone=True)
        reference = from_geojson[authority.ars].transform(25832, clone=True)
        assert reprojected.buffer(1.0).contains(reference), authority.name
        assert reference.buffer(1.0).contains(reprojected), authority.name
        assert reprojected.sym_difference(reference).area < 1.0 * reference.length


def test_a_reimport_updates_nothing_and_duplicates_nothing(boundaries):
    path = boundaries / "gemeinden_hameln-pyrmont_vg5000_2021.geojson"
    run(path)
    before = snapshot()
    out = run(path)
    assert "0 created, 0 updated, 8 unchanged." in out
    assert snapshot() == before


def test_a_reimport_updates_a_changed_name_and_boundary_in_place(boundaries, tmp_path):
    path = boundaries / "gemeinden_hameln-pyrmont_vg5000_2021.geojson"
    run(path)
    hameln_id = Authority.objects.get(ars="032520006006").pk
    data = json.loads(path.read_text())
    for feature in data["features"]:
        if feature["properties"]["ARS"] == "032520006006":
            feature["properties"]["GEN"] = "Hameln (neu)"
            feature["geometry"] = {
                "type": "Polygon",
                "coordinates": [[[9.3, 52.1], [9.4, 52.1], [9.4, 52.2], [9.3, 52.1]]],
            }
    changed = tmp_path / "changed.geojson"
    changed.write_text(json.dumps(data))

    out = run(changed)
    assert "0 created, 1 updated, 7 unchanged." in out
    hameln = Authority.objects.get(ars="032520006006")
    assert hameln.pk == hameln_id and hameln.name == "Hameln (neu)"
    assert hameln.boundary.equals(GEOSGeometry("MULTIPOLYGON(((9.3 52.1, 9.4 52.1, 9.4 52.2, 9.3 52.1)))", srid=4326))


def test_kind_and_parent_can_be_given(boundaries):
    run(boundaries / "landkreise_vg5000_2021.geojson")
    run(
        boundaries / "verwaltungsgemeinschaften_4kreise_vg5000_2021.geojson",
        "--kind",
        "municipal_association",
        "--parent",
        "hameln-pyrmont",
    )
    associations = Authority.objects.filter(kind=AuthorityKind.MUNICIPAL_ASSOCIATION)
    assert associations.count() == 60
    assert set(associations.values_list("parent__ars", flat=True)) == {"03252"}


def test_stadt_and_landkreis_of_the_same_name_get_distinct_slugs(boundaries):
    run(boundaries / "kreise_north-bayreuth-bbox_vg5000_2021.geojson")
    bayreuth = Authority.objects.filter(name="Bayreuth")
    assert bayreuth.count() == 2
    assert len(set(bayreuth.values_list("slug", flat=True))) == 2
    assert set(bayreuth.values_list("kind", flat=True)) == {AuthorityKind.COUNTY, AuthorityKind.INDEPENDENT_CITY}


def _broken_files(boundaries, tmp_path):
    truncated = tmp_path / "truncated.geojson"
    truncated.write_text((boundaries / "landkreise_vg5000_2021.geojson").read_text()[:5000])
    no_key = tmp_path / "no_key.geojson"
    data = json.loads((boundaries / "landkreise_vg5000_2021.geojson").read_text())
    for feature in data["features"]:
        feature["properties"].pop("ARS")
    no_key.write_text(json.dumps(data))
    bad_one = tmp_path / "one_bad_feature.geojson"
    data = json.loads((boundaries / "gemeinden_hameln-pyrmont_vg5000_2021.geojson").read_text())
    data["features"][-1]["properties"]["BEZ"] = "Fantasiegebiet"
    bad_one.write_text(json.dumps(data))
    not_geodata = tmp_path / "notes.geojson"
    not_geodata.write_text("Dies ist keine Geodatei.")
    return {
        truncated: "not a readable geodata file",
        no_key: "no key field 'ARS'",
        bad_one: "unknown designation 'Fantasiegebiet'",
        not_geodata: "not a readable geodata file",
        boundaries / "gemeinde_points_on_surface_vg5000_2021.geojson": "has Point geometries",
        tmp_path / "missing.geojson": "no such file",
    }


def test_a_broken_or_unsuitable_file_is_rejected_and_changes_nothing(boundaries, tmp_path):
    run(boundaries / "gemeinden_hameln-pyrmont_vg5000_2021.geojson")
    before = snapshot()
    for path, message in _broken_files(boundaries, tmp_path).items():
        with pytest.raises(CommandError) as error:
            run(path)
        assert message in str(error.value), path.name
        assert "Nothing was changed." in str(error.value)
        assert snapshot() == before, path.name


def test_an_unknown_parent_is_rejected(boundaries):
    with pytest.raises(CommandError, match="No authority with ARS or slug 'atlantis'"):
        run(boundaries / "landkreise_vg5000_2021.geojson", "--parent", "atlantis")
    assert Authority.objects.count() == 0


def test_a_geopackage_is_read_like_any_other_ogr_format(boundaries, tmp_path):
    import subprocess

    geopackage = tmp_path / "gemeinden.gpkg"
    subprocess.run(
        ["ogr2ogr", "-f", "GPKG", str(geopackage), str(boundaries / "gemeinden_hameln-pyrmont_vg5000_2021.geojson")],
        check=True,
    )
    out = run(geopackage)
    assert "8 created" in out
    assert Authority.objects.get(ars="032520006006").boundary.geom_type == "MultiPolygon"
