"""A lead marks an area of a photo to blur on the staff ticket page (issue #19), as a browser without JavaScript
does: four numbers in pixels of the photo as taken, posted with the form.

The mark is recorded as an internal event; the public sees no photo until the worker has made the new rendition,
and in that rendition the marked area is blurred while the rest of the photo stays as it was. A worker cannot mark
areas; numbers that are no area of the photo are refused next to the form, with nothing changed. The areas marked
can be removed again.
"""

from __future__ import annotations

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageChops, ImageFilter, ImageStat

from reports.models import EventKind, Photo, ReportEvent
from tests.mobile_api.staff.conftest import Client, submit
from tests.notifications.delivery import run_worker
from tests.reports.staff.test_staff_pages import PHOTO, Browser, logged_in, page, text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("serve_media")]

# In pixels of the stored photo (450 × 600, upright): a box in its middle.
BOX = [100, 200, 160, 120]



@pytest.fixture
def report(personas) -> dict:
    """A citizen's report with one photo, its public rendition made."""
    created = submit(photos=[SimpleUploadedFile(PHOTO.name, PHOTO.read_bytes(), content_type="image/jpeg")])
    run_worker()
    return created


@pytest.fixture
def lead(personas) -> Browser:
    return logged_in(personas.hameln_lead)


def the_photo(report: dict) -> Photo:
    return Photo.objects.get(report__public_id=report["id"])


def blur_url(report: dict, action: str = "blur/") -> str:
    return f"/staff/reports/{report['reference']}/photos/{the_photo(report).pk}/{action}"


def mark(browser: Browser, report: dict, x="100", y="200", width="160", height="120", note="", **kwargs):
    prefix = f"blur-{the_photo(report).pk}"
    data = {f"{prefix}-x": x, f"{prefix}-y": y, f"{prefix}-width": width, f"{prefix}-height": height,
            f"{prefix}-note": note}
    return browser.post(blur_url(report), data, **kwargs)


def moderated_events(report: dict) -> list[dict]:
    return list(ReportEvent.objects.filter(report__public_id=report["id"], kind=EventKind.MODERATED)
                .values_list("data", flat=True))


def public_photo_urls(report: dict) -> list[str]:
    """The photo files the public report page shows."""
    html = Client().get(f"/meldungen/{report['reference']}/").content.decode()
    return re.findall(r"/media/photos/[^\"']+\.jpg", html)


def decoded(browser, url: str) -> Image.Image:
    response = browser.get(url)
    assert response.status_code == 200, url
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return Image.open(io.BytesIO(body)).convert("L")


def difference(a: Image.Image, b: Image.Image, box: tuple[int, int, int, int] | None = None) -> float:
    """Mean absolute difference of two greyscale images (0–255), in ``box`` (left, top, right, bottom) or all."""
    if box is not None:
        a, b = a.crop(box), b.crop(box)
    return ImageStat.Stat(ImageChops.difference(a, b)).mean[0]


def detail(image: Image.Image, box: tuple[int, int, int, int]) -> float:
    """How much edge there is in ``box`` (mean of an edge filter, without the box's own border)."""
    left, top, right, bottom = box
    edges = image.crop(box).filter(ImageFilter.FIND_EDGES).crop((2, 2, right - left - 2, bottom - top - 2))
    return ImageStat.Stat(edges).mean[0]


def public_rendition(report: dict) -> Image.Image:
    """The photo as the public API gives it to anyone."""
    [photo] = Client().get(f"/api/v1/reports/{report['id']}/").json()["photos"]
    return decoded(Client(), photo["url"].removeprefix("https://testserver"))


def test_a_hand_marked_area_is_blurred_in_what_the_public_sees(personas, report, lead):
    before = public_rendition(report)
    assert public_photo_urls(report)

    response = mark(lead, report, note="Gesicht im Schaufenster", follow=True)
    assert response.status_code == 200
    assert "The area will be blurred." in text(response)
    assert "1 area marked by hand" in text(response)
    assert "Public version is being made" in text(response)
    assert moderated_events(report) == [{"photo": the_photo(report).pk, "blurred": BOX}]
    assert the_photo(report).blur_areas == [{"kind": "manual", "box": BOX, "score": 1.0}]
    assert public_photo_urls(report) == []  # withdrawn until the new rendition is made
    assert Client().get(f"/api/v1/reports/{report['id']}/").json()["photos"] == []

    run_worker()
    assert public_photo_urls(report)
    after = public_rendition(report)
    original = decoded(lead, the_photo(report).image.url)
    x, y, width, height = BOX
    inside = (x, y, x + width, y + height)
    assert after.size == original.size == before.size
    # Inside the box the new rendition is far from the photo and from what was public before; outside it only
    # JPEG encoding differs.
    assert difference(after, original, inside) > 8
    assert difference(after, before, inside) > 8
    whole = difference(after, before) * after.width * after.height
    in_box = difference(after, before, inside) * width * height
    outside = (whole - in_box) / (after.width * after.height - width * height)
    assert outside < 2
    # Blurred: no edges are left in the box.
    assert detail(after, inside) < detail(original, inside) / 5

    staff_page = text(lead.get(page(report)))
    assert "View public version" in staff_page and "1 area marked by hand" in staff_page
    assert 'class="blur-outline blur-outline-manual"' in staff_page


def test_the_form_is_offered_to_leads_with_the_photos_size(report, lead):
    photo = the_photo(report)
    detail = text(lead.get(page(report)))
    assert f'action="{blur_url(report)}"' in detail
    assert f"The photo as taken is {photo.width} × {photo.height} pixels." in detail
    for name in ("x", "y", "width", "height"):
        assert f'<label for="id_blur-{photo.pk}-{name}">' in detail
        assert re.search(rf'<input type="number" name="blur-{photo.pk}-{name}"[^>]*min="', detail)
    assert "0 areas marked by hand" in detail and "View public version" in detail
    assert f'action="{blur_url(report, "blur/clear/")}"' not in detail  # nothing marked yet


def test_a_worker_may_not_mark_an_area_and_nothing_changes(personas, report):
    worker = logged_in(personas.hameln_worker)
    assert f'action="{blur_url(report)}"' not in text(worker.get(page(report)))
    response = mark(worker, report)
    assert response.status_code == 400
    assert "Only leads may blur areas of photos." in text(response)
    assert the_photo(report).blur_areas == [] and moderated_events(report) == []
    assert public_photo_urls(report)
    assert mark(logged_in(personas.hildesheim_clerk), report).status_code == 404


@pytest.mark.parametrize(("numbers", "message"), [
    ({"x": "links"}, "Enter a whole number."),
    ({"y": "-5"}, "Ensure this value is greater than or equal to 0."),
    ({"width": "0"}, "Ensure this value is greater than or equal to 4."),
    ({"height": ""}, "This field is required."),
    ({"x": "10" * 20}, "Ensure this value is less than or equal to 100000."),
    ({"x": "400"}, "The area must lie within the photo (450 × 600 pixels)."),
    ({"y": "590", "height": "20"}, "The area must lie within the photo (450 × 600 pixels)."),
])
def test_numbers_that_are_no_area_of_the_photo_are_refused_at_the_form(report, lead, numbers, message):
    photo = the_photo(report)
    assert (photo.width, photo.height) == (450, 600)
    response = mark(lead, report, **numbers)
    assert response.status_code == 400
    body = text(response)
    assert message in body
    assert f'<details class="photo-blur" id="blur-{photo.pk}" open>' in body  # the form with its error, open
    assert the_photo(report).blur_areas == [] and moderated_events(report) == []
    assert public_photo_urls(report)


def test_a_photo_of_another_report_is_a_404(personas, report, lead):
    other = submit(photos=[SimpleUploadedFile(PHOTO.name, PHOTO.read_bytes(), content_type="image/jpeg")])
    other_photo = Photo.objects.get(report__public_id=other["id"])
    url = f"/staff/reports/{report['reference']}/photos/{other_photo.pk}/blur/"
    assert lead.post(url, {f"blur-{other_photo.pk}-x": "1"}).status_code == 404
    assert lead.post(f"/staff/reports/{report['reference']}/photos/{10**30}/blur/").status_code == 404


def test_clearing_removes_the_areas_marked_by_hand(report, lead):
    assert mark(lead, report).status_code == 302
    run_worker()
    detail = text(lead.get(page(report)))
    assert f'action="{blur_url(report, "blur/clear/")}"' in detail
    assert "Remove areas marked by hand" in detail

    response = lead.post(blur_url(report, "blur/clear/"), follow=True)
    assert response.status_code == 200
    assert "The areas marked by hand were removed." in text(response)
    assert "0 areas marked by hand" in text(response)
    assert the_photo(report).blur_areas == []
    assert moderated_events(report)[-1] == {"photo": the_photo(report).pk, "blurred": None}
    assert public_photo_urls(report) == []
    run_worker()
    assert public_photo_urls(report)

    again = lead.post(blur_url(report, "blur/clear/"))
    assert again.status_code == 400
    assert "No area of this photo was marked by hand." in text(again)
