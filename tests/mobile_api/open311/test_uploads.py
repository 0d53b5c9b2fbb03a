"""Photo uploads with POST requests: ``media`` (GeoReport v2) and ``photo1``…``photoN`` as FixMyStreet's upload
mode sends them; any other file field is refused, never dropped."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from reports.models import EventKind, Report
from tests.conftest import REPO
from tests.mobile_api.open311.conftest import HAMELN_MARKET, errors_of, get, post, xml
from tests.notifications.delivery import run_worker

pytestmark = pytest.mark.django_db

PHOTOS = REPO / "data" / "photos"
LAT, LON = (str(c) for c in HAMELN_MARKET)
WITH_EXIF = "19_jpeg_sony-hx5v_o1_gps-rietberg-nrw-germany.jpg"
PORTRAIT = "02_jpeg_orient6_portrait_nogps.jpg"


def fields(api_key: str, **extra) -> dict:
    return {"api_key": api_key, "service_code": "schlagloch", "lat": LAT, "long": LON, **extra}


def photo(name: str, field_name: str = "photo.jpg") -> SimpleUploadedFile:
    """A photo as FixMyStreet uploads it (its file name is "<report id>.<n>.full.jpeg")."""
    return SimpleUploadedFile(field_name, (PHOTOS / name).read_bytes(), content_type="image/jpeg")


def stored_contents(report: Report) -> list[bytes]:
    contents = []
    for stored in report.photos.order_by("id"):
        for field in (stored.image, stored.public_image, stored.public_thumbnail):
            if field:
                with field.open() as image:
                    contents.append(image.read())
    return contents


def test_photo1_and_photo2_become_the_requests_public_photos_in_order_without_metadata(client, demo, api_key):
    response = post(client, "requests.xml", fields(
        api_key, photo1=photo(WITH_EXIF, "4711.0.full.jpeg"), photo2=photo(PORTRAIT, "4711.1.full.jpeg"),
    ))
    assert response.status_code == 201, response.content
    run_worker()  # the public renditions
    report = Report.objects.get(reference=xml(response).findtext("request/service_request_id"))
    first, second = report.photos.order_by("id")
    assert first.is_public and second.is_public
    assert first.width > first.height and second.height > second.width  # photo1 landscape, photo2 turned upright
    for content in stored_contents(report):
        assert content.startswith(b"\xff\xd8") and b"Exif\x00" not in content
    assert report.events.filter(kind=EventKind.PHOTO_ADDED).count() == 2
    [item] = get(client, f"requests/{report.reference}.json", extensions="true").json()
    assert item["media_url"].endswith(first.public_image.url)
    assert [url.rsplit("/", 1)[1] for url in item["extended_attributes"]["media_urls"]] == [
        first.public_image.name.rsplit("/", 1)[1], second.public_image.name.rsplit("/", 1)[1],
    ]


def test_media_comes_first_then_the_numbered_photos_by_number(client, demo, api_key):
    response = post(client, "requests.json", fields(
        api_key, photo10=photo(PORTRAIT), media=photo(WITH_EXIF), photo2=photo(WITH_EXIF),
    ))
    assert response.status_code == 201, response.content
    report = Report.objects.get(reference=response.json()[0]["service_request_id"])
    shapes = [p.width > p.height for p in report.photos.order_by("id")]
    assert shapes == [True, True, False]


@pytest.mark.parametrize("name", ["file_4711", "picture", "photo0", "photo01", "photos"])
def test_any_other_file_field_is_400_naming_it_and_nothing_is_stored(client, demo, api_key, name):
    descriptions = errors_of(post(client, "requests.json", fields(api_key, photo1=photo(PORTRAIT), **{
        name: photo(PORTRAIT),
    })), 400)
    assert descriptions == [f"{name}: unknown file field; send photos as media or photo1, photo2, …"]
    assert not Report.objects.exists()


def test_more_than_five_photos_over_all_fields_is_400_and_nothing_is_stored(client, demo, api_key):
    uploads = {f"photo{n}": photo(PORTRAIT) for n in range(1, 5)}
    response = post(client, "requests.xml", fields(api_key, media=[photo(PORTRAIT), photo(PORTRAIT)], **uploads))
    assert errors_of(response, 400) == ["At most 5 media files."]
    assert not Report.objects.exists()


def test_photos_and_media_urls_together_count_against_the_limit(client, demo, api_key):
    uploads = {f"photo{n}": photo(PORTRAIT) for n in range(1, 5)}
    urls = ["https://photos.example.org/1.jpg", "https://photos.example.org/2.jpg"]
    assert errors_of(post(client, "requests.json", fields(api_key, media_url=urls, **uploads)), 400) == [
        "At most 5 media files."
    ]
    assert not Report.objects.exists()


def test_a_broken_photo2_is_400_naming_photo2_and_nothing_is_stored(client, demo, api_key):
    broken = SimpleUploadedFile("4711.1.full.jpeg", b"\xff\xd8\xff\xe0 not really a jpeg", content_type="image/jpeg")
    [description] = errors_of(post(client, "requests.xml", fields(api_key, photo1=photo(PORTRAIT), photo2=broken)), 400)
    assert description.startswith("photo2: ")
    assert not Report.objects.exists()


def test_a_media_url_that_is_not_a_url_is_400(client, demo, api_key):
    descriptions = errors_of(post(client, "requests.json", fields(api_key, media_url="not a url")), 400)
    assert any(d.startswith("media_url: ") for d in descriptions)
    assert not Report.objects.exists()


def test_a_media_url_that_is_not_http_is_400_as_for_updates(client, demo, api_key):
    assert errors_of(post(client, "requests.json", fields(api_key, media_url="ftp://example.org/a.jpg")), 400) == [
        "media_url must be an http or https address."
    ]
    assert not Report.objects.exists()
