"""Open data: GET /api/v1/export.csv and export.geojson — released reports only, no personal data, a licence."""

import csv
import io
import json

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.utils import timezone

from geo.models import Authority, AuthorityKind, Department, PublishingPolicy
from reports.models import Moderation, Photo, Report
from tests.conftest import REPO
from tests.reports.publicdata.helpers import MARKET, PYRMONT, STATION, close_as_fixed, internal_note, submit

pytestmark = pytest.mark.django_db

PHOTOS = REPO / "data" / "photos"
LICENSE_URL = "https://www.govdata.de/dl-de/by-2-0"


def export_csv(client, **params) -> tuple[object, list[dict]]:
    response = client.get("/api/v1/export.csv", params, secure=True, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200, response.content
    text = b"".join(response.streaming_content).decode("utf-8")
    return response, list(csv.DictReader(io.StringIO(text)))


def export_geojson(client, **params) -> tuple[object, dict]:
    response = client.get("/api/v1/export.geojson", params, secure=True, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200, response.content
    return response, json.loads(b"".join(response.streaming_content))


@pytest.fixture
def reports(client, demo):
    with open(PHOTOS / "19_jpeg_sony-hx5v_o1_gps-rietberg-nrw-germany.jpg", "rb") as photo:
        with_photo = submit(client, MARKET, name="Erika Muster", email="erika.muster@example.org", photos=[photo])
    made = {
        "market": with_photo,
        "station": submit(client, STATION, "graffiti", description="Schmiererei am Bahnhof."),
        "pyrmont": submit(client, PYRMONT),
        "hidden": submit(client, MARKET),
        "carcass": submit(client, MARKET, "tierkadaver"),
    }
    Report.objects.filter(public_id=made["hidden"]["id"]).update(moderation=Moderation.HIDDEN)
    internal_note(with_photo, "Interne Notiz: Nachbar Herr Beispiel fragen")
    close_as_fixed(made["station"])
    Authority.objects.filter(slug="hameln").update(publishing_policy=PublishingPolicy.AFTER_REVIEW)
    made["pending"] = submit(client, STATION, description="Noch nicht freigegeben")
    return made


def test_the_csv_export_lists_released_reports_with_a_licence_link(client, reports):
    response, rows = export_csv(client)
    assert response["Content-Type"].startswith("text/csv; charset=utf-8")
    assert 'rel="license"' in response["Link"] and LICENSE_URL in response["Link"]
    assert "attachment" in response["Content-Disposition"]
    assert {row["id"] for row in rows} == {reports[k]["id"] for k in ("market", "station", "pyrmont")}
    station = next(row for row in rows if row["id"] == reports["station"]["id"])
    assert station["category"] == "graffiti" and station["category_name"] == "Graffiti"
    assert station["status"] == "fixed" and station["status_type"] == "fixed" and station["closed_at"]
    assert station["authority"] == "Stadt Hameln" and station["description"] == "Schmiererei am Bahnhof."
    assert (float(station["lat"]), float(station["lon"])) == STATION


def test_the_geojson_export_is_a_feature_collection_with_a_license_member(client, reports):
    response, body = export_geojson(client)
    assert response["Content-Type"] == "application/geo+json"
    assert body["type"] == "FeatureCollection"
    assert body["license"]["name"] == "Datenlizenz Deutschland – Namensnennung – Version 2.0"
    assert body["license"]["url"] == LICENSE_URL and body["license"]["attribution"]
    assert {f["properties"]["id"] for f in body["features"]} == {
        reports[k]["id"] for k in ("market", "station", "pyrmont")
    }
    pyrmont = next(f for f in body["features"] if f["properties"]["id"] == reports["pyrmont"]["id"])
    assert pyrmont["geometry"] == {"type": "Point", "coordinates": [PYRMONT[1], PYRMONT[0]]}
    assert pyrmont["properties"]["authority"] == "Stadt Bad Pyrmont"


def test_exports_contain_no_personal_data_no_internal_note_and_no_photo_metadata(client, reports):
    photo = Photo.objects.get(report__public_id=reports["market"]["id"])
    assert photo.exif_location is not None  # the photo had a GPS position; staff see it, the public never
    exif_lat = f"{photo.exif_location.y:.4f}"
    for path in ("/api/v1/export.csv", "/api/v1/export.geojson"):
        response = client.get(path, secure=True)
        text = b"".join(response.streaming_content).decode()
        assert reports["market"]["id"] in text
        for secret in (
            "Erika",
            "Muster",
            "erika.muster",
            "Herr Beispiel",
            "Interne Notiz",
            exif_lat,
            "reporter",
            "secret",
        ):
            assert secret not in text, (path, secret)
    _, body = export_geojson(client, category="schlagloch", authority="hameln")
    row = body["features"][0]
    assert set(row["properties"]) == {
        "id", "reference", "category", "category_name", "status", "status_type", "status_label", "authority",
        "authority_ags", "address", "description", "support_count", "created_at", "updated_at", "closed_at",
    }


def test_exports_filter_by_category_status_authority_area_and_period(client, reports):
    def ids(**params):
        return {row["id"] for row in export_csv(client, **params)[1]}

    market, station, pyrmont = (reports[k]["id"] for k in ("market", "station", "pyrmont"))
    assert ids(category="graffiti") == {station}
    assert ids(status="open") == {market, pyrmont}
    assert ids(status="fixed,new", category="schlagloch") == {market, pyrmont}
    assert ids(authority="bad-pyrmont") == {pyrmont}
    assert ids(authority="hameln-pyrmont") == {market, station, pyrmont}  # a Landkreis includes its Gemeinden
    assert ids(area="bad-pyrmont") == {pyrmont}
    today = timezone.localdate().isoformat()
    assert ids(created_after=today, created_before=today) == {market, station, pyrmont}
    assert ids(created_before="2020-01-01") == set()
    Report.objects.filter(public_id=pyrmont).update(created_at=timezone.now() - timezone.timedelta(days=40))
    assert ids(created_after=(timezone.now() - timezone.timedelta(days=1)).isoformat()) == {market, station}


def test_large_exports_are_streamed_in_batches(client, reports, monkeypatch):
    import reports.publicdata.export  # noqa: F401 (binds publicdata.export, patched below)
    from reports import publicdata

    monkeypatch.setattr(publicdata.export, "EXPORT_BATCH", 1)
    assert [len(batch) for batch in publicdata.export_batches(publicdata.Filters())] == [1, 1, 1]
    response = client.get("/api/v1/export.geojson", secure=True)
    assert response.streaming
    chunks = list(response.streaming_content)
    assert len(chunks) == 5  # the head, three batches of one, the tail
    assert len(json.loads(b"".join(chunks))["features"]) == 3


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"category": "unbekannt"}, "category"),
        ({"status": "offen"}, "status"),
        ({"authority": "atlantis"}, "authority"),
        ({"area": "atlantis"}, "area"),
        ({"created_after": "31.03.2026"}, "created_after"),
        ({"created_before": "2026-13-01"}, "created_before"),
    ],
)
def test_bad_export_filters_are_answered_400_naming_the_field(client, demo, params, field):
    for path in ("/api/v1/export.csv", "/api/v1/export.geojson"):
        response = client.get(path, params, secure=True)
        assert response.status_code == 400
        assert [e["field"] for e in response.json()["errors"]] == [field]


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_under_asgi_the_export_is_sent_batch_by_batch(async_client, demo, monkeypatch):
    from asgiref.sync import sync_to_async
    from django.db import connections
    from django.test import Client

    import reports.publicdata.export  # noqa: F401 (binds publicdata.export, patched below)
    from reports import publicdata

    for place in (MARKET, STATION, PYRMONT):
        await sync_to_async(submit)(Client(), place)
    monkeypatch.setattr(publicdata.export, "EXPORT_BATCH", 2)
    response = await async_client.get("/api/v1/export.csv", secure=True)
    assert response.status_code == 200 and response.is_async
    chunks = [chunk async for chunk in response.streaming_content]
    assert len(chunks) == 3  # the header, then two batches (2 + 1 reports), each sent as it is read
    rows = list(csv.DictReader(io.StringIO(b"".join(chunks).decode())))
    assert len(rows) == 3
    # The batches were read in Django's sync thread: its connection must not outlive the test database.
    await sync_to_async(connections.close_all)()


def box(west: float, south: float, east: float, north: float) -> MultiPolygon:
    return MultiPolygon(Polygon.from_bbox((west, south, east, north)), srid=4326)


@pytest.fixture
def samtgemeinde_tree(client, demo) -> dict[str, str]:
    """A Landkreis → Samtgemeinde → Mitgliedsgemeinde tree away from the demo's Landkreis; the ids of a report
    in the Mitgliedsgemeinde, one in the Samtgemeinde outside it, and one in Hameln."""
    county = Authority.objects.create(
        name="Musterkreis", slug="musterkreis", kind=AuthorityKind.COUNTY, boundary=box(10.5, 51.5, 10.9, 51.7)
    )
    association = Authority.objects.create(
        name="Musterbach", designation="Samtgemeinde", slug="sg-musterbach", kind=AuthorityKind.MUNICIPAL_ASSOCIATION,
        parent=county, boundary=box(10.6, 51.55, 10.8, 51.65),
    )
    member = Authority.objects.create(
        name="Musterdorf", slug="musterdorf", kind=AuthorityKind.MUNICIPALITY, parent=association,
        boundary=box(10.62, 51.57, 10.7, 51.63),
    )
    for authority in (county, association, member):
        authority.default_department = Department.objects.create(
            authority=authority, name=f"Bauhof {authority.name}", slug=f"bauhof-{authority.slug}"
        )
        authority.save(update_fields=["default_department"])
    return {
        "member": submit(client, (51.60, 10.66))["id"],
        "association": submit(client, (51.60, 10.75))["id"],
        "hameln": submit(client, MARKET)["id"],
    }


def test_an_authority_filter_includes_the_authorities_below_it_at_any_depth(client, samtgemeinde_tree):
    def ids(authority: str) -> set[str]:
        by_csv = {row["id"] for row in export_csv(client, authority=authority)[1]}
        by_geojson = {f["properties"]["id"] for f in export_geojson(client, authority=authority)[1]["features"]}
        assert by_csv == by_geojson
        return by_csv

    member, association = samtgemeinde_tree["member"], samtgemeinde_tree["association"]
    assert ids("musterkreis") == {member, association}  # a Landkreis includes its Samtgemeinde's Gemeinden
    assert ids("sg-musterbach") == {member, association}
    assert ids("musterdorf") == {member}
    assert ids("musterdorf,hameln") == {member, samtgemeinde_tree["hameln"]}
