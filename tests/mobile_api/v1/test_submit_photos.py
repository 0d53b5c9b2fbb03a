"""Real phone photos through the API: upright, stripped of every piece of metadata, at the right authority."""

import json

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from reports.models import Photo, Report
from tests.conftest import BOUNDARIES, REPO
from tests.notifications.delivery import run_worker

pytestmark = pytest.mark.django_db

PHOTOS = REPO / "data" / "photos"
MANIFEST = {entry["file"]: entry for entry in json.loads((PHOTOS / "MANIFEST.json").read_text())}
POINTS = [
    feature
    for feature in json.loads((BOUNDARIES / "gemeinde_points_on_surface_vg5000_2021.geojson").read_text())["features"]
    if feature["properties"]["ars"].startswith("03252")
]


# How a person holds each photo (the manifest's orientation facts, applied once; 16's tag is stale).
PORTRAIT = {"02", "03", "07", "08", "15", "16"}
LANDSCAPE = {"04", "05", "06", "09", "10", "19"}


def _stored(url: str) -> bytes:
    path = url.split("/media/", 1)[1]
    with default_storage.open(path) as file:
        return file.read()


def _assert_clean(content: bytes) -> Image.Image:
    image = Image.open(__import__("io").BytesIO(content))
    assert image.format == "JPEG"
    assert not image.getexif(), "EXIF"
    assert "xmp" not in image.info and b"http://ns.adobe.com/xap" not in content[:70000]
    assert b"Exif\x00" not in content[:70000]
    return image


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_every_sample_photo_gives_an_upright_clean_public_image_at_the_right_authority(client, demo, name):
    point = POINTS[sorted(MANIFEST).index(name) % len(POINTS)]
    lon, lat = point["geometry"]["coordinates"]
    with open(PHOTOS / name, "rb") as photo:
        response = client.post(
            "/api/v1/reports/",
            {"category": "schlagloch", "lat": str(lat), "lon": str(lon), "photos": [photo]},
            secure=True,
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["authority"]["ags"] == point["properties"]["ags"]
    assert body["photos"] == []  # public once the worker has blurred faces and plates
    run_worker()
    [photo] = client.get(f"/api/v1/reports/{body['id']}/", secure=True).json()["photos"]

    image = _assert_clean(_stored(photo["url"]))
    thumbnail = _assert_clean(_stored(photo["thumbnail_url"]))
    assert (image.width, image.height) == (photo["width"], photo["height"])
    assert max(image.size) <= 2048 and max(thumbnail.size) <= 400
    as_taken = Photo.objects.get(report__public_id=body["id"])  # staff's copy: as clean
    for field in (as_taken.image, as_taken.thumbnail):
        _assert_clean(_stored("/media/" + field.name))
    # Upright: as a person holds the photo (the manifest's facts, orientation applied once).
    number = name[:2]
    if number in PORTRAIT:
        assert image.height > image.width
    elif number in LANDSCAPE:
        assert image.width > image.height
    # What the photo knew of its place is kept for staff, never shown.
    stored = Photo.objects.get(report__public_id=body["id"])
    assert (stored.exif_location is not None) == bool(MANIFEST[name].get("gps"))
    # Nothing of it in the answer (the random secret aside, which may spell anything).
    answer = json.dumps({key: value for key, value in body.items() if key != "secret"}).lower()
    assert "gps" not in answer and "exif" not in answer
    if MANIFEST[name]["gps"]:
        assert f"{MANIFEST[name]['gps']['lat']:.3f}" not in answer


def test_without_coordinates_the_photo_position_is_used(client, demo, settings):
    # Photo 19 was taken in Rietberg (NRW): outside the Landkreis, so the answer names the nearest authority.
    with open(PHOTOS / "19_jpeg_sony-hx5v_o1_gps-rietberg-nrw-germany.jpg", "rb") as photo:
        response = client.post("/api/v1/reports/", {"category": "schlagloch", "photos": [photo]}, secure=True)
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == "location" and "außerhalb" in error["message"]


def test_a_device_position_far_from_the_photo_position_wins_and_staff_get_a_note(client, demo):
    with open(PHOTOS / "19_jpeg_sony-hx5v_o1_gps-rietberg-nrw-germany.jpg", "rb") as photo:
        response = client.post(
            "/api/v1/reports/",
            {"category": "schlagloch", "lat": "52.1039", "lon": "9.3576", "photos": [photo]},
            secure=True,
        )
    assert response.status_code == 201
    report = Report.objects.get(public_id=response.json()["id"])
    assert report.authority.name == "Hameln"
    note = report.events.get(kind="internal_note")
    assert note.is_public is False and 70_000 < note.data["distance_m"] < 85_000  # Hameln–Rietberg
    public = client.get(f"/api/v1/reports/{report.public_id}/events/", secure=True).json()["events"]
    assert "internal_note" not in [e["kind"] for e in public]


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"", "leer.jpg"),
        (b"%PDF-1.4 kein Bild", "rechnung.jpg"),
        (b"<html><script>alert(1)</script></html>", "seite.jpg"),
    ],
)
def test_a_file_that_is_not_a_photo_is_rejected_and_nothing_is_stored(client, demo, content, name):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile(name, content, content_type="image/jpeg")
    response = client.post(
        "/api/v1/reports/",
        {"category": "schlagloch", "lat": "52.1039", "lon": "9.3576", "photos": [upload]},
        secure=True,
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "photos.0"
    assert Report.objects.count() == 0 and Photo.objects.count() == 0


def test_more_than_five_photos_are_refused(client, demo):
    files = [open(PHOTOS / "10_jpeg_casio-qv7000sx_no-exif-at-all.jpg", "rb") for _ in range(6)]
    try:
        response = client.post(
            "/api/v1/reports/",
            {"category": "schlagloch", "lat": "52.1039", "lon": "9.3576", "photos": files},
            secure=True,
        )
    finally:
        for file in files:
            file.close()
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "photos"
