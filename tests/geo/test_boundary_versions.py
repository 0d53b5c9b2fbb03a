"""Boundary versions: a re-import that changes a boundary keeps the previous geometry with its dates, and a report
keeps the version it was routed with; routing always uses the current one."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon, Point
from django.core.management import call_command
from django.db.models import ProtectedError
from django.test import Client as DjangoClient
from django.utils import timezone

from geo.models import Authority, BoundaryVersion
from reports.models import Report
from tests.mobile_api.staff.conftest import staff_client, submit
from tests.personas import HAMELN_MARKET
from tests.reports.staff.test_staff_pages import logged_in

pytestmark = pytest.mark.django_db

HAMELN = "032520006006"
AERZEN = "032520001001"
GEMEINDEN = "gemeinden_hameln-pyrmont_vg5000_2021.geojson"


def run(*args) -> str:
    out = StringIO()
    call_command("import_boundaries", *map(str, args), stdout=out)
    return out.getvalue()


def moved_border(boundaries: Path, tmp_path: Path) -> tuple[Path, tuple[float, float]]:
    """The Hameln-Pyrmont Gemeinden as in the demo, but a strip of Stadt Hameln along its border with Aerzen now
    belongs to Aerzen; and a point (lat, lon) in that strip."""
    data = json.loads((boundaries / GEMEINDEN).read_text())
    geometry = {f["properties"]["ARS"]: GEOSGeometry(json.dumps(f["geometry"]), srid=4326) for f in data["features"]}
    strip = geometry[AERZEN].buffer(0.01).intersection(geometry[HAMELN])
    assert strip.area > 0, "Hameln and Aerzen are neighbours"
    for feature in data["features"]:
        if feature["properties"]["ARS"] == HAMELN:
            feature["geometry"] = json.loads(geometry[HAMELN].difference(strip).json)
        elif feature["properties"]["ARS"] == AERZEN:
            feature["geometry"] = json.loads(geometry[AERZEN].union(strip).json)
    moved = tmp_path / "gemeinden_2027.geojson"
    moved.write_text(json.dumps(data))
    point = strip.point_on_surface
    return moved, (point.y, point.x)


def stored(report: dict) -> Report:
    return Report.objects.select_related("boundary_version").get(public_id=report["id"])


def current(ars: str) -> BoundaryVersion:
    version = Authority.objects.get(ars=ars).boundary_version
    assert version is not None and version.valid_until is None
    return version


def day(moment) -> str:
    return timezone.localtime(moment).date().isoformat()


def test_every_imported_boundary_has_one_current_version_with_its_geometry(demo):
    authorities = Authority.objects.filter(boundary__isnull=False)
    assert authorities.count() >= 9  # the Landkreis and its eight Gemeinden
    for authority in authorities:
        versions = list(authority.boundary_versions.all())
        assert len(versions) == 1, authority
        assert versions[0] == authority.boundary_version and versions[0].valid_until is None
        assert versions[0].boundary.equals_exact(authority.boundary, tolerance=1e-9)
        assert versions[0].area_km2 == pytest.approx(authority.area_km2)


def test_a_report_keeps_the_version_it_was_routed_with_when_a_reimport_moves_the_border(
    personas, boundaries, tmp_path
):
    lead = staff_client(personas.hameln_lead)
    moved, in_strip = moved_border(boundaries, tmp_path)
    before = submit(at=in_strip, category="graffiti")
    assert before["authority"]["name"] == "Stadt Hameln"
    old_hameln = current(HAMELN)
    old_aerzen = current(AERZEN)
    assert stored(before).boundary_version == old_hameln
    detail = lead.get(f"/api/staff/reports/{before['id']}/").json()["boundary_version"]
    assert detail["id"] == old_hameln.pk and detail["current"] is True and detail["valid_until"] is None
    assert detail["label"] == f"Boundaries as of {day(old_hameln.valid_from)}"

    out = run(moved)

    assert "0 created, 2 updated, 6 unchanged. 2 new boundary versions, 2 previous versions kept." in out
    assert f"updated   {HAMELN} Stadt Hameln (Municipality (Stadt, Gemeinde)): boundary" in out
    assert f"boundary: version {old_hameln.pk} (valid " in out
    # The old version is closed, with its dates and its geometry; the report still refers to it.
    old_hameln.refresh_from_db()
    assert old_hameln.valid_until is not None and old_hameln.valid_until >= old_hameln.valid_from
    assert old_hameln.boundary.covers(Point(in_strip[1], in_strip[0], srid=4326))
    assert stored(before).boundary_version == old_hameln
    new_hameln, new_aerzen = current(HAMELN), current(AERZEN)
    assert new_hameln != old_hameln and new_aerzen != old_aerzen
    assert new_hameln.valid_from == old_hameln.valid_until and new_hameln.source == moved.name
    assert not new_hameln.boundary.covers(Point(in_strip[1], in_strip[0], srid=4326))
    assert Authority.objects.get(ars=HAMELN).boundary.equals_exact(new_hameln.boundary, tolerance=1e-9)
    # Staff read which boundaries the report was routed with, and that they have been replaced since.
    detail = lead.get(f"/api/staff/reports/{before['id']}/").json()["boundary_version"]
    assert detail["id"] == old_hameln.pk and detail["current"] is False and detail["valid_until"] is not None
    assert detail["label"] == (
        f"Boundaries as of {day(old_hameln.valid_from)}, replaced on {day(old_hameln.valid_until)}"
    )
    german = staff_client(personas.hameln_lead, "de").get(f"/api/staff/reports/{before['id']}/").json()
    assert german["boundary_version"]["label"].startswith(f"Grenzen vom {day(old_hameln.valid_from)}, ersetzt am ")

    # The same point now routes by the current boundaries: to Aerzen, with Aerzen's new version.
    after = submit(at=in_strip, category="graffiti")
    assert after["authority"]["name"] == "Gemeinde Aerzen"
    assert stored(after).boundary_version == new_aerzen
    assert new_aerzen.boundary.covers(Point(in_strip[1], in_strip[0], srid=4326))
    # Elsewhere in Hameln a new report gets Hameln's new version.
    assert stored(submit(at=HAMELN_MARKET, category="graffiti")).boundary_version == new_hameln
    # The first report stays where it was routed: the border moved, the report did not.
    assert stored(before).authority.ars == HAMELN


def test_a_reimport_of_identical_boundaries_makes_no_new_version(demo, boundaries):
    versions = set(BoundaryVersion.objects.values_list("pk", "valid_from", "valid_until"))

    out = run(boundaries / GEMEINDEN)

    assert "0 created, 0 updated, 8 unchanged. 0 new boundary versions, 0 previous versions kept." in out
    assert set(BoundaryVersion.objects.values_list("pk", "valid_from", "valid_until")) == versions


def test_a_border_moved_back_opens_a_third_version_and_routes_as_before(personas, boundaries, tmp_path):
    moved, in_strip = moved_border(boundaries, tmp_path)
    run(moved)
    out = run(boundaries / GEMEINDEN)

    assert "2 new boundary versions, 2 previous versions kept." in out
    hameln = Authority.objects.get(ars=HAMELN)
    assert hameln.boundary_versions.count() == 3
    assert hameln.boundary_versions.filter(valid_until__isnull=True).count() == 1
    report = submit(at=in_strip, category="graffiti")
    assert report["authority"]["name"] == "Stadt Hameln"
    assert stored(report).boundary_version == current(HAMELN)


def test_rerouting_by_staff_records_the_version_current_then(personas, boundaries, tmp_path):
    lead = staff_client(personas.hameln_lead)
    moved, in_strip = moved_border(boundaries, tmp_path)
    report = submit(at=in_strip, category="graffiti")
    run(moved)

    response = lead.patch(
        f"/api/staff/reports/{report['id']}/", {"category": "strassenbeleuchtung-defekt"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["authority"] == "Gemeinde Aerzen"
    rerouted = stored(report)
    assert rerouted.boundary_version == current(AERZEN)
    routed = rerouted.events.filter(kind="routed").last()
    assert routed is not None and routed.data["boundary_version"] == current(AERZEN).pk


def test_a_version_a_report_was_routed_with_cannot_be_deleted_and_the_admin_only_shows_versions(
    personas, boundaries, tmp_path
):
    moved, in_strip = moved_border(boundaries, tmp_path)
    report = submit(at=in_strip, category="graffiti")
    run(moved)
    old = stored(report).boundary_version
    assert old is not None and old.valid_until is not None

    with pytest.raises(ProtectedError):
        old.delete()

    admin = get_user_model().objects.create_superuser("versions-admin", "versions-admin@example.org", "Admin-Pass-2026")
    browser = DjangoClient()
    browser.force_login(admin)
    listing = browser.get("/admin/geo/boundaryversion/", secure=True)
    assert listing.status_code == 200
    assert f"/admin/geo/boundaryversion/{old.pk}/change/" in listing.content.decode()
    assert browser.get(f"/admin/geo/boundaryversion/{old.pk}/delete/", secure=True).status_code == 403
    assert browser.get("/admin/geo/boundaryversion/add/", secure=True).status_code == 403
    page = browser.get(f"/admin/geo/boundaryversion/{old.pk}/change/", secure=True)
    assert page.status_code == 200 and moved.name not in page.content.decode()  # the old one came from the demo
    assert BoundaryVersion.objects.filter(pk=old.pk).exists()


def test_the_staff_page_names_the_boundaries_a_report_was_routed_with(personas, boundaries, tmp_path):
    moved, in_strip = moved_border(boundaries, tmp_path)
    report = submit(at=in_strip, category="graffiti")
    run(moved)
    old = stored(report).boundary_version
    assert old is not None and old.valid_until is not None

    browser = logged_in(personas.hameln_worker)
    page = browser.get(f"/staff/reports/{report['reference']}/", HTTP_ACCEPT_LANGUAGE="de")

    assert page.status_code == 200
    assert f"Grenzen vom {day(old.valid_from)}, ersetzt am {day(old.valid_until)}" in page.content.decode()



def _admin_form_data(response) -> dict:
    """What the admin's change form would post back unchanged: its fields and its inlines' fields."""
    data: dict = {}

    def add(form) -> None:
        for field in form:
            value = field.value()
            if value is None or value is False:
                continue
            data[field.html_name] = "on" if value is True else value

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        add(inline.formset.management_form)
        for form in inline.formset.forms:
            add(form)
    return data


def test_a_boundary_redrawn_in_the_admin_is_a_new_version_and_other_edits_are_not(demo):
    hameln = Authority.objects.get(ars=HAMELN)
    old = current(HAMELN)
    admin = get_user_model().objects.create_superuser("versions-admin", "versions-admin@example.org", "Admin-Pass-26")
    browser = DjangoClient()
    browser.force_login(admin)
    url = f"/admin/geo/authority/{hameln.pk}/change/"
    data = _admin_form_data(browser.get(url, secure=True))
    data["boundary"] = hameln.boundary.hexewkb.decode()

    data["phone"] = "05151 2020"
    response = browser.post(url, data, secure=True)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    assert Authority.objects.get(ars=HAMELN).phone == "05151 2020"
    assert current(HAMELN) == old  # the same boundary: no new version

    smaller = hameln.boundary.buffer(-0.002)
    smaller = smaller if smaller.geom_type == "MultiPolygon" else MultiPolygon(smaller, srid=4326)
    data["boundary"] = smaller.hexewkb.decode()
    response = browser.post(url, data, secure=True)
    assert response.status_code == 302
    new = current(HAMELN)
    old.refresh_from_db()
    assert new != old and old.valid_until == new.valid_from
    assert new.source == "in der Verwaltung geändert von versions-admin"  # in the installation's language
    assert new.boundary.equals_exact(Authority.objects.get(ars=HAMELN).boundary, tolerance=1e-9)
    assert old.boundary.equals_exact(hameln.boundary, tolerance=1e-9)
