"""Decoding photos costs memory by pixels, not by bytes: a 2 KB lossless WebP of 7070 × 7070 px decoded to
750 MB. Such files are refused from their header with a clear 400 on every door (API, web form, Open311),
and a server receiving many photos at once decodes them within one budget (reports.photos
DECODE_MEMORY_BUDGET, 512 MB) instead of side by side until the machine runs out of memory."""

from __future__ import annotations

import io
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from reports.models import Report
from tests.live import demo_server, peak_rss_mb, post_photo_report
from tests.mobile_api.open311.conftest import api_key, errors_of, post  # noqa: F401 (api_key is a fixture)
from tests.personas import HAMELN_MARKET
from tests.reports.site.conftest import SecureClient
from tests.reports.test_photo_pipeline import PHOTOS

MB = 1024 * 1024
# What the server may grow beyond its warmed-up peak while the uploads below arrive together: the decode
# budget (reports.photos.DECODE_MEMORY_BUDGET, 512 MB) plus request bodies and the interpreter's own allocations.
PEAK_GROWTH_BOUND_MB = 512 + 128


def _encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _webp_bomb() -> bytes:
    """One colour, 7070 × 7070 px (50 MP, just under the general pixel limit), 2 KB lossless."""
    return _encoded(Image.new("RGBA", (7070, 7070), (255, 255, 255, 0)), "WEBP", lossless=True)


def _flat_heic(width: int, height: int) -> bytes:
    return _encoded(Image.new("RGB", (width, height), "grey"), "HEIF", quality=50)


def _noisy_webp(width: int, height: int) -> bytes:
    """A 16 MP photo-like (noisy) lossy WebP: accepted, and heavy to decode (about 290 MB)."""
    return _encoded(Image.effect_noise((width, height), 30).convert("RGB"), "WEBP", quality=80)


BOMB = _webp_bomb()


def _fields() -> dict[str, str]:
    return {"category": "schlagloch", "lat": str(HAMELN_MARKET[0]), "lon": str(HAMELN_MARKET[1])}


# --- every door answers with its own error format ------------------------------------------------------


@pytest.mark.django_db
def test_a_2_kb_webp_of_50_megapixels_is_a_400_naming_the_photo_within_a_second(client, demo):
    assert len(BOMB) < 4096
    started = time.monotonic()
    response = client.post(
        "/api/v1/reports/", {**_fields(), "photos": [SimpleUploadedFile("loch.webp", BOMB)]},
        secure=True, HTTP_ACCEPT_LANGUAGE="en",
    )
    seconds = time.monotonic() - started

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == "photos.0"
    assert error["message"] == "PNG and WebP images may have at most 16 megapixels; please send a JPEG or HEIC photo."
    assert seconds < 1
    assert not Report.objects.exists()


@pytest.mark.django_db
def test_a_flat_heic_of_48_megapixels_in_a_few_kilobytes_is_refused_in_german_by_default(client, demo):
    heic = _flat_heic(8064, 6048)
    response = client.post("/api/v1/reports/", {**_fields(), "photos": [SimpleUploadedFile("loch.heic", heic)]},
                           secure=True)

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == "photos.0"
    assert error["message"] == "Die Datei ist zu klein für ein Bild mit 49 Megapixeln: das ist kein Kamerafoto."


@pytest.mark.django_db
def test_the_web_form_shows_the_bomb_as_an_error_at_the_photo_field(demo):
    visitor = SecureClient(HTTP_ACCEPT_LANGUAGE="en")
    response = visitor.post("/melden/", {**_fields(), "description": "Tiefes Loch", "email": "",
                                         "photos": SimpleUploadedFile("loch.webp", BOMB)})

    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_photos_error"' in page and "at most 16 megapixels" in page
    assert not Report.objects.exists()


@pytest.mark.django_db
def test_open311_refuses_the_bomb_as_a_media_error(client, demo, api_key):  # noqa: F811
    fields = {"api_key": api_key, "service_code": "schlagloch", "lat": str(HAMELN_MARKET[0]),
              "long": str(HAMELN_MARKET[1]), "media": SimpleUploadedFile("loch.webp", BOMB)}
    [description] = errors_of(post(client, "requests.json", fields), 400)
    assert description.startswith("media: ") and "16 megapixels" in description
    assert not Report.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["05_jpeg_iphone6_o1_gps-madrid.jpg", "08_heic_iphone13promax_orient6_nogps.heic",
                                  "09_heif_nokia83_android_hdr_o1_gps-spain.heif"])
def test_real_phone_photos_are_still_accepted(client, demo, name):
    upload = SimpleUploadedFile(name, (PHOTOS / name).read_bytes())
    response = client.post("/api/v1/reports/", {**_fields(), "photos": [upload]}, secure=True)
    assert response.status_code == 201, response.content


# --- a live server's peak memory ---------------------------------------------------------------------


def _post(base: str, photos: list[bytes]) -> tuple[int, float]:
    return post_photo_report(base, photos, timeout=120)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with demo_server(tmp_path_factory.mktemp("decode-memory"), API_RATE_SUBMIT="1000/hour") as running:
        yield running


@pytest.mark.backend_independent  # the server's image decoding, whichever database it runs on
def test_bombs_and_big_photos_sent_together_keep_the_servers_peak_memory_within_the_decode_budget(server):
    base, process = server
    big = _noisy_webp(4608, 3456)
    warm_up, _ = _post(base, [(PHOTOS / "02_jpeg_orient6_portrait_nogps.jpg").read_bytes()])
    before = peak_rss_mb(process.pid)

    # Four citizens with five bombs each (3 GB of pixels before the fix), four with a big WebP each
    # (about 290 MB each to decode: they must take turns).
    uploads = [[BOMB] * 5] * 4 + [[big]] * 4
    with ThreadPoolExecutor(len(uploads)) as pool:
        answers = list(pool.map(lambda photos: _post(base, photos), uploads))

    growth = peak_rss_mb(process.pid) - before
    assert warm_up == 201
    assert [status for status, _ in answers] == [400] * 4 + [201] * 4
    assert max(seconds for _, seconds in answers[:4]) < 5  # bombs never wait for a decode slot
    assert growth < PEAK_GROWTH_BOUND_MB, f"peak resident memory grew by {growth:.0f} MB"
