"""The public never sees a photo as taken: only its rendition, with faces and number plates blurred by the worker.

Until the worker has made the rendition (also while it is down), no public output shows a photo of the report:
citizen API, public page, map popup, Open311 ``media_url``/``media_urls`` and the open-data exports. The photo
as taken is a 404 for the public and the reporter at every time; staff see both. An authority can turn the
automatic blurring off, or publish no photos at all. An area staff mark by hand is blurred as well; the public
sees no photo between the marking and the new rendition.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from PIL import Image, ImageChops, ImageFilter, ImageStat

from geo.models import Authority
from reports.models import Photo, Report
from tests.mobile_api.open311.conftest import get as open311_get
from tests.mobile_api.staff.conftest import Client, staff_client, submit
from tests.notifications.delivery import committed
from tests.notifications.delivery import run_worker_committed as run_worker

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("serve_media")]

FACES = Path(__file__).resolve().parents[2] / "bench" / "data" / "faces"
# A public-domain NASA portrait (bench/data/faces/SOURCES.md); one face, boxed by hand in astronaut.txt.
FACE_PHOTO = FACES / "astronaut.jpg"


def _face_box(photo: Path) -> tuple[int, int, int, int]:
    line = photo.with_suffix(".txt").read_text().splitlines()[0]
    x, y, width, height = (int(v) for v in line.split("\t")[1:5])
    return x, y, x + width, y + height



@pytest.fixture
def report(personas) -> dict:
    """A citizen's report with a photo of a face, as a phone app sends it."""
    upload = SimpleUploadedFile("IMG_0001.jpg", FACE_PHOTO.read_bytes(), content_type="image/jpeg")
    return submit(photos=[upload])


def _path(url: str) -> str:
    return url.removeprefix("https://testserver").removeprefix("http://testserver")


def _get(url: str, client=None, **headers):
    response = (client or Client()).get(_path(url), **headers)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response.status_code, body


def public_photo_urls(report: dict) -> dict[str, list[str]]:
    """Every photo URL the public outputs show of the report."""
    client = Client()
    detail = client.get(f"/api/v1/reports/{report['id']}/").json()
    page = client.get(f"/meldungen/{report['reference']}/").content.decode()
    popup = client.get(f"/meldungen/{report['id']}/vorschau/").json()
    [request] = open311_get(client, f"requests/{report['reference']}.json", extensions="true").json()
    exports = "".join(_get(f"/api/v1/export.{kind}")[1].decode() for kind in ("csv", "geojson"))
    assert "/media/" not in exports  # the open-data exports never carry photos at all
    return {
        "api": [_path(p[key]) for p in detail["photos"] for key in ("url", "thumbnail_url")],
        "page": ["/media/" + part.split('"')[0] for part in page.split('"/media/')[1:]],
        "popup": [popup["thumbnail"]] if popup["thumbnail"] else [],
        "open311": [_path(u) for u in [request.get("media_url"), *request["extended_attributes"]["media_urls"]] if u],
    }


def _staff_photo(lead, report: dict) -> dict:
    [photo] = lead.get(f"/api/staff/reports/{report['reference']}/").json()["photos"]
    return photo


def _image(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("L")


def _detail(image: Image.Image, box) -> float:
    """How much fine detail the region holds: the mean of its edges (a blurred face has almost none)."""
    return ImageStat.Stat(image.crop(box).filter(ImageFilter.FIND_EDGES)).mean[0]


def _difference(first: Image.Image, second: Image.Image, box) -> float:
    return ImageStat.Stat(ImageChops.difference(first.crop(box), second.crop(box))).mean[0]


def test_until_the_worker_ran_no_public_output_shows_a_photo_and_the_photo_as_taken_is_for_staff_only(
        personas, report, django_capture_on_commit_callbacks):
    assert report["photos"] == []  # the 201 answers at once; the rendition is made later
    assert not any(public_photo_urls(report).values())
    page = Client().get(f"/meldungen/{report['reference']}/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Ein Foto wird für die Veröffentlichung vorbereitet" in page
    lead = staff_client(personas.hameln_lead)
    photo = _staff_photo(lead, report)
    assert (photo["state"], photo["url"], photo["thumbnail_url"], photo["public_url"]) == (
        "processing", None, None, None)
    # The upload as sent (with its metadata) waits for the worker; nobody gets it, not even staff.
    upload = Photo.objects.get(pk=photo["id"]).upload.name
    assert upload and default_storage.exists(upload)
    for headers in ({}, {"HTTP_AUTHORIZATION": f"Bearer {report['secret']}"}):
        assert _get(f"/media/{upload}", **headers)[0] == 404
    assert _get(f"/media/{upload}", lead)[0] == 404

    assert run_worker() >= 1  # and what waits for its commits (tests.notifications.delivery.run_worker_committed)

    photo = _staff_photo(lead, report)
    assert photo["state"] == "ready" and not default_storage.exists(upload)  # decoded once, then deleted
    as_taken = [photo["url"], photo["thumbnail_url"]]
    for url in as_taken:
        assert _get(url, lead)[0] == 200

    shown = public_photo_urls(report)
    assert all(shown.values()), shown
    assert "photos-preparing" not in Client().get(f"/meldungen/{report['reference']}/").content.decode()
    every_url = {url for urls in shown.values() for url in urls}
    assert not every_url & {_path(url) for url in as_taken}
    for url in every_url:
        status, body = _get(url)
        assert status == 200 and body[:3] == b"\xff\xd8\xff", url
    for url in as_taken:  # still staff only
        assert _get(url)[0] == 404
        assert _get(url, HTTP_AUTHORIZATION=f"Bearer {report['secret']}")[0] == 404
    assert _path(_staff_photo(lead, report)["public_url"]) in every_url


def test_a_face_is_blurred_in_what_the_public_sees_and_the_rest_of_the_photo_is_not(personas, report):
    run_worker()
    lead = staff_client(personas.hameln_lead)
    photo = _staff_photo(lead, report)
    original = _image(_get(photo["url"], lead)[1])
    [public] = Client().get(f"/api/v1/reports/{report['id']}/").json()["photos"]
    rendition = _image(_get(public["url"])[1])
    assert rendition.size == original.size

    face = _face_box(FACE_PHOTO)
    assert _detail(rendition, face) < _detail(original, face) / 3  # pixelated and blurred: no features left
    assert _difference(original, rendition, face) > 10
    far_from_face = (0, original.height - 120, 120, original.height)  # bottom left: the suit, no face
    assert _difference(original, rendition, far_from_face) < 4
    faces = [area for area in photo["blurred_areas"] if area["kind"] == "face"]
    assert len(faces) == 1
    x, y, width, height = faces[0]["box"]
    left, top, right, bottom = face
    overlap = max(0, min(right, x + width) - max(left, x)) * max(0, min(bottom, y + height) - max(top, y))
    assert overlap >= 0.7 * (right - left) * (bottom - top)


def test_an_authority_that_turns_blurring_off_publishes_the_photo_as_taken(personas, report):
    _authority_changes(report, blur_photos=False)
    run_worker()
    lead = staff_client(personas.hameln_lead)
    photo = _staff_photo(lead, report)
    assert photo["blurred_areas"] == []
    original = _image(_get(photo["url"], lead)[1])
    rendition = _image(_get(photo["public_url"])[1])
    face = _face_box(FACE_PHOTO)
    assert _difference(original, rendition, face) < 4  # only the JPEG encoding differs


def test_an_authority_that_publishes_no_photos_shows_none_even_after_the_worker(personas, report):
    _authority_changes(report, publish_photos=False)
    run_worker()
    assert not any(public_photo_urls(report).values())
    lead = staff_client(personas.hameln_lead)
    photo = _staff_photo(lead, report)
    assert photo["public_url"]  # made, for when the authority changes its mind, but not served
    assert _get(photo["public_url"])[0] == 404
    assert _get(photo["public_url"], lead)[0] == 200

    _authority_changes(report, publish_photos=True)
    assert all(public_photo_urls(report).values())


def _authority_changes(report: dict, **settings) -> None:
    """The report's authority changes a setting, as in the admin (a save that commits)."""
    authority = Authority.objects.get(reports__public_id=report["id"])
    for name, value in settings.items():
        setattr(authority, name, value)
    committed(authority.save)


def _blur(client, report: dict, photo_id: int, payload, action: str = "blur"):
    return committed(client.post, f"/api/staff/reports/{report['reference']}/photos/{photo_id}/{action}/", payload,
                     format="json")


def test_a_hand_marked_area_is_blurred_and_the_public_sees_no_photo_until_it_is(personas, report):
    run_worker()
    lead = staff_client(personas.hameln_lead)
    photo = _staff_photo(lead, report)
    old_rendition = photo["public_url"]
    sign = [130, 340, 90, 90]  # the mission patch on the suit, as if it were a name tag (no face there)
    response = _blur(lead, report, photo["id"], {"area": sign, "note": "Namensschild"})
    assert response.status_code == 200, response.content
    body = response.json()
    [changed] = body["photos"]
    assert changed["public_url"] is None
    assert {"kind": "manual", "box": sign, "score": 1.0} in changed["blurred_areas"]
    moderated = [e for e in body["events"] if e["kind"] == "moderated"]
    assert moderated[-1]["data"] == {"photo": photo["id"], "blurred": sign} and not moderated[-1]["is_public"]

    assert not any(public_photo_urls(report).values())  # the old rendition lacks the area: withdrawn
    assert _get(old_rendition)[0] == 404
    run_worker()
    original = _image(_get(photo["url"], lead)[1])
    rendition = _image(_get(_staff_photo(lead, report)["public_url"])[1])
    box = (130, 340, 220, 430)
    assert _detail(rendition, box) < _detail(original, box) / 4
    assert all(public_photo_urls(report).values())

    cleared = _blur(lead, report, photo["id"], {}, "blur/clear")
    assert cleared.status_code == 200, cleared.content
    run_worker()
    photo = _staff_photo(lead, report)
    assert [area["kind"] for area in photo["blurred_areas"]] == ["face"]
    rendition = _image(_get(photo["public_url"])[1])
    assert _difference(original, rendition, box) < 4


@pytest.mark.parametrize("payload", [
    {"area": [0, 0, 5000, 10]},  # wider than the photo
    {"area": [505, 505, 10, 10]},  # reaches beyond the photo (512 × 512)
    {"area": [-1, 0, 10, 10]},
    {"area": [0, 0, 2, 2]},  # a slip of the mouse
    {"area": [0, 0, 10]},
    {"area": "0,0,10,10"},
    {"area": [0, 0, "zehn", 10]},
    {"area": [0, 0, 10**30, 10]},
    {"area": [0, 0, None, 10]},
    {},
])
def test_a_bad_area_is_refused_with_its_field_and_nothing_changes(personas, report, payload):
    run_worker()
    lead = staff_client(personas.hameln_lead)
    photo = _staff_photo(lead, report)
    response = _blur(lead, report, photo["id"], payload)
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert errors and all(error["field"].startswith("area") and error["message"] for error in errors), errors
    assert Photo.objects.get(pk=photo["id"]).blur_areas == []
    assert _staff_photo(lead, report)["public_url"] == photo["public_url"]
    assert _get(photo["public_url"])[0] == 200


def test_only_leads_mark_areas_and_only_on_their_reports_photos(personas, report):
    run_worker()
    photo_id = _staff_photo(staff_client(personas.hameln_lead), report)["id"]
    refused = _blur(staff_client(personas.hameln_worker), report, photo_id, {"area": [0, 0, 50, 50]})
    assert refused.status_code == 400
    assert (refused.json()["errors"][0]["field"], refused.json()["errors"][0]["code"]) == ("area", "not_permitted")
    assert _blur(staff_client(personas.hildesheim_clerk), report, photo_id, {"area": [0, 0, 50, 50]}).status_code \
        == 404
    unknown = _blur(staff_client(personas.hameln_lead), report, 987654321, {"area": [0, 0, 50, 50]})
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["field"] == "photo"
    assert Photo.objects.get(pk=photo_id).blur_areas == []


def test_render_photos_queues_the_photos_that_have_no_rendition_once(personas, report):
    run_worker()
    second = submit(photos=[SimpleUploadedFile("b.jpg", FACE_PHOTO.read_bytes(), content_type="image/jpeg")])
    out = io.StringIO()
    call_command("render_photos", stdout=out)
    assert "0 photo(s)" in out.getvalue()  # the new photo's rendition is already queued
    Photo.objects.filter(report__public_id=report["id"]).update(public_image="", public_thumbnail="")
    call_command("render_photos", stdout=out)
    assert "1 photo(s)" in out.getvalue()
    run_worker()
    assert not Photo.objects.filter(public_image="").exists()
    assert Report.objects.get(public_id=second["id"]).photos.get().public_image
