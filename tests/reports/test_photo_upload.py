"""A photo arrives: the request reads only its header and stores it as sent; the worker decodes it once.

Driven as the apps use it: a phone app posts to the citizen API, the staff app reads the staff API, the worker
runs as ``db_worker`` runs its tasks.
"""

from __future__ import annotations

import io

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from reports.models import Photo
from tests.mobile_api.staff.conftest import Client, staff_client, submit
from tests.notifications.delivery import run_worker
from tests.reports.test_photo_pipeline import PHOTOS, encoded

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("serve_media")]


def _staff_photo(lead, report: dict) -> dict:
    [photo] = lead.get(f"/api/staff/reports/{report['reference']}/").json()["photos"]
    return photo


def _download(client, url: str) -> bytes:
    response = client.get(url.removeprefix("http://testserver"))
    assert response.status_code == 200, url
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.mark.parametrize("name", [
    "02_jpeg_orient6_portrait_nogps.jpg",  # turned by its EXIF tag
    "05_jpeg_iphone6_o1_gps-madrid.jpg",  # 8 MP: decoded at half size
    "08_heic_iphone13promax_orient6_nogps.heic",  # 12 MP HEIC from an iPhone
    "09_heif_nokia83_android_hdr_o1_gps-spain.heif",
])
def test_staff_see_the_photos_size_and_capture_time_at_once_and_the_worker_makes_it_at_that_size(personas, name):
    upload = SimpleUploadedFile(name, (PHOTOS / name).read_bytes(), content_type="application/octet-stream")
    report = submit(photos=[upload])
    lead = staff_client(personas.hameln_lead)

    waiting = _staff_photo(lead, report)
    assert waiting["state"] == "processing" and waiting["url"] is None
    assert report["photos"] == []

    run_worker()

    ready = _staff_photo(lead, report)
    assert ready["state"] == "ready"
    assert (ready["width"], ready["height"], ready["captured_at"]) == (
        waiting["width"], waiting["height"], waiting["captured_at"])
    content = _download(lead, ready["url"])
    with Image.open(io.BytesIO(content)) as image:
        assert image.format == "JPEG" and image.size == (ready["width"], ready["height"])
        assert not image.getexif() and "icc_profile" not in image.info
    public = Client().get(f"/api/v1/reports/{report['id']}/").json()["photos"]
    assert [(p["width"], p["height"]) for p in public] == [(ready["width"], ready["height"])]


def _broken_png() -> bytes:
    """A complete PNG (every chunk, IEND at the end) whose compressed pixel data is damaged."""
    data = bytearray(encoded(Image.linear_gradient("L").resize((600, 400)).convert("RGB"), "PNG"))
    start = data.find(b"IDAT") + 6
    data[start:start + 200] = bytes(byte ^ 0x5A for byte in data[start:start + 200])
    return bytes(data)


def test_a_photo_whose_pixels_turn_out_broken_is_discarded_by_the_worker_and_staff_are_told(
        personas, django_capture_on_commit_callbacks):
    broken = SimpleUploadedFile("screenshot.png", _broken_png(), content_type="image/png")
    report = submit(photos=[broken], description="Schild umgefahren")
    lead = staff_client(personas.hameln_lead)
    upload = Photo.objects.get(pk=_staff_photo(lead, report)["id"]).upload.name

    with django_capture_on_commit_callbacks(execute=True):  # as the worker's own transactions commit
        run_worker()

    photo = _staff_photo(lead, report)
    assert (photo["state"], photo["url"], photo["public_url"]) == ("unreadable", None, None)
    assert not default_storage.exists(upload)
    detail = lead.get(f"/api/staff/reports/{report['reference']}/").json()
    assert detail["description"] == "Schild umgefahren"  # the report itself is untouched
    assert [e["data"] for e in detail["events"] if e["kind"] == "moderated"] == [
        {"photo": photo["id"], "unreadable": True}]
    assert not [e for e in detail["events"] if e["kind"] == "moderated" and e["is_public"]]
    assert Client().get(f"/api/v1/reports/{report['id']}/").json()["photos"] == []
    assert run_worker() == 0  # nothing is retried for ever


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_an_upload_cut_off_just_before_its_end_is_refused_in_the_request(personas, fmt):
    image = Image.linear_gradient("L").resize((800, 600)).convert("RGB")
    data = encoded(image, fmt)
    cut = SimpleUploadedFile(f"photo.{fmt.lower()}", data[:-4], content_type="application/octet-stream")
    response = Client().post("/api/v1/reports/", {"category": "schlagloch", "lat": "52.1036", "lon": "9.3561",
                                                  "photos": [cut]}, format="multipart")
    assert response.status_code == 400
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [("photos.0", "truncated")]
    assert not Photo.objects.exists()
