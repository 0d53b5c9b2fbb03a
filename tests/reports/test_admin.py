"""The admin shows authorities with their boundaries on a map, and never edits a report behind the workflow."""

from io import StringIO

import pytest
from django.core.management import call_command

from reports.models import Report

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "Hameln-Demo-2026")
    call_command("load_demo", "--reports", "20", stdout=StringIO())


@pytest.fixture
def admin_client(client, demo):
    assert client.login(username="admin", password="Hameln-Demo-2026")
    return client


def test_the_admin_lists_the_nine_authorities(admin_client):
    response = admin_client.get("/admin/geo/authority/", HTTP_ACCEPT_LANGUAGE="de", secure=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert "9 Gebietskörperschaften" in html
    for name in ["Landkreis Hameln-Pyrmont", "Stadt Hameln", "Gemeinde Aerzen", "Stadt Bad Münder am Deister"]:
        assert name in html


def test_an_authority_shows_its_boundary_on_a_leaflet_map_with_attributions(admin_client):
    from geo.models import Authority

    hameln = Authority.objects.get(ars="032520006006")
    response = admin_client.get(f"/admin/geo/authority/{hameln.pk}/change/", secure=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert "leaflet" in html.lower()
    assert "MultiPolygon" in html  # the boundary, handed to the map widget
    assert "tile.openstreetmap.org" in html
    assert "OpenStreetMap" in html and "GeoBasis-DE / BKG" in html


def test_reports_are_read_only_in_the_admin(admin_client):
    report = Report.objects.exclude(status="fixed").first()
    response = admin_client.get(f"/admin/reports/report/{report.pk}/change/", secure=True)
    assert response.status_code == 200
    assert report.reference in response.content.decode()
    response = admin_client.post(f"/admin/reports/report/{report.pk}/change/", {"status": "fixed"}, secure=True)
    assert response.status_code == 403
    assert Report.objects.get(pk=report.pk).status == report.status


def test_staff_accounts_of_departments_cannot_use_the_admin(client, demo):
    assert client.login(username="bauhof-hameln", password="Hameln-Demo-2026")
    response = client.get("/admin/geo/authority/", secure=True)
    assert response.status_code == 302
