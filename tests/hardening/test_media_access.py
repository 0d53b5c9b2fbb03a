"""A photo's URL is not a key: photos of hidden reports and of reports awaiting review are a 404 for the public,
the same answer as a file that does not exist, while staff with access to the report (and its reporter) still
see them; a report published again serves its photos again. In production Django decides and the reverse
proxy sends the file (X-Accel-Redirect)."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.conftest import DEMO_PASSWORD
from tests.live import migrated_database, run_worker_batch, uvicorn
from tests.mobile_api.staff.conftest import Client, staff_client, submit_rendered
from tests.reports.test_photo_pipeline import PHOTOS

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("serve_media")]

PHOTO = PHOTOS / "02_jpeg_orient6_portrait_nogps.jpg"



def submit_with_photo() -> dict:
    return submit_rendered(photos=[SimpleUploadedFile("loch.jpg", PHOTO.read_bytes(), content_type="image/jpeg")])


def urls_of(report: dict) -> list[str]:
    [photo] = report["photos"]
    return [photo["url"].removeprefix("https://testserver"), photo["thumbnail_url"].removeprefix("https://testserver")]


def moderate(client, report: dict, moderation: str) -> None:
    response = client.post(f"/api/staff/reports/{report['id']}/moderate/", {"moderation": moderation}, format="json")
    assert response.status_code == 200, response.content


def fetch(url: str, client=None, **headers):
    response = (client or Client()).get(url, **headers)
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return response, content


def test_the_public_sees_the_photos_of_a_published_report_as_clean_jpegs(personas):
    report = submit_with_photo()

    for url in urls_of(report):
        response, content = fetch(url)
        assert response.status_code == 200
        assert response["Content-Type"] == "image/jpeg"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert content.startswith(b"\xff\xd8")


def _without_token(page: bytes) -> bytes:
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]*"', b'name="csrfmiddlewaretoken"', page)


def test_a_hidden_reports_photos_are_a_404_for_the_public_exactly_like_a_file_that_does_not_exist(personas):
    report = submit_with_photo()
    moderate(staff_client(personas.hameln_lead), report, "hidden")
    [url, thumbnail] = urls_of(report)
    missing = f"/media/photos/{report['id']}/{uuid.uuid4().hex}.jpg"

    hidden, hidden_body = fetch(url)
    hidden_thumbnail, _ = fetch(thumbnail)
    nonexistent, nonexistent_body = fetch(missing)

    assert hidden.status_code == hidden_thumbnail.status_code == nonexistent.status_code == 404
    # The pages differ only in the path they name and in the language form's CSRF token, which is masked afresh
    # for every response (random, so it tells nothing).
    assert _without_token(hidden_body.replace(url.encode(), b"")) == _without_token(
        nonexistent_body.replace(missing.encode(), b"")
    )
    assert dict(hidden.headers).keys() == dict(nonexistent.headers).keys()


def test_staff_with_access_still_see_a_hidden_reports_photos_and_other_authorities_do_not(personas):
    report = submit_with_photo()
    moderate(staff_client(personas.hameln_lead), report, "hidden")
    [url, _thumbnail] = urls_of(report)
    in_the_browser = Client()
    in_the_browser.force_login(personas.hameln_worker)
    hildesheim = Client()
    hildesheim.force_login(personas.hildesheim_clerk)

    by_session, content = fetch(url, in_the_browser)
    by_token, _ = fetch(url, staff_client(personas.hameln_worker))
    by_another_authority, _ = fetch(url, hildesheim)

    assert by_session.status_code == by_token.status_code == 200 and content.startswith(b"\xff\xd8")
    assert "private" in by_session["Cache-Control"]  # never kept by a shared cache
    assert by_another_authority.status_code == 404


def test_photos_of_a_report_awaiting_review_are_for_staff_and_its_reporter_until_a_lead_releases_it(personas):
    from geo.models import Authority

    Authority.objects.filter(slug="hameln").update(publishing_policy="after_review")
    report = submit_with_photo()
    [url, _thumbnail] = urls_of(report)

    before_review, _ = fetch(url)
    by_reporter, _ = fetch(url, HTTP_AUTHORIZATION=f"Bearer {report['secret']}")
    by_wrong_secret, _ = fetch(url, HTTP_AUTHORIZATION="Bearer not-the-secret")
    by_worker, _ = fetch(url, staff_client(personas.hameln_worker))
    moderate(staff_client(personas.hameln_lead), report, "published")
    after_release, _ = fetch(url)

    assert before_review.status_code == 404 and by_wrong_secret.status_code == 404
    assert by_reporter.status_code == by_worker.status_code == 200
    assert after_release.status_code == 200


def test_a_report_published_again_serves_its_photos_again(personas):
    report = submit_with_photo()
    lead = staff_client(personas.hameln_lead)
    moderate(lead, report, "hidden")
    moderate(lead, report, "published")

    assert [fetch(url)[0].status_code for url in urls_of(report)] == [200, 200]


def test_in_production_django_checks_and_the_proxy_sends_the_file(personas, settings):
    settings.SERVE_MEDIA = False
    settings.MEDIA_ACCEL_REDIRECT = "/protected-media/"
    report = submit_with_photo()
    [url, _thumbnail] = urls_of(report)

    published, body = fetch(url)
    moderate(staff_client(personas.hameln_lead), report, "hidden")
    hidden, _ = fetch(url)

    assert published.status_code == 200 and body == b""
    assert published["X-Accel-Redirect"] == "/protected-media/" + url.removeprefix("/media/")
    assert published["Content-Type"] == "image/jpeg"
    assert hidden.status_code == 404 and "X-Accel-Redirect" not in hidden


@pytest.mark.parametrize("path", ["../backend/settings.py", "photos/../../manage.py", "photos/", "secret-key",
                                  "photos/not-a-uuid/x.jpg"])
def test_nothing_but_a_known_photo_is_served_from_media(personas, path):
    assert fetch(f"/media/{path}")[0].status_code == 404


def test_without_serve_media_or_a_proxy_django_serves_no_media(personas, settings):
    report = submit_with_photo()
    settings.SERVE_MEDIA = False

    assert [fetch(url)[0].status_code for url in urls_of(report)] == [404, 404]


# --- the product as `make run` starts it: uvicorn, DEBUG, Django serving media -------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("media-access")
    with migrated_database(directory, password=DEMO_PASSWORD) as database:
        env = {"DEBUG": "true", "DATA_DIR": str(directory), "DATABASE_URL": database}
        with uvicorn(env) as base:
            yield base, env


def _request(url: str, data: bytes | None = None, **headers) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers), timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _live_submit(base: str) -> dict:
    boundary = uuid.uuid4().hex
    fields = {"category": "schlagloch", "lat": "52.1039", "lon": "9.3576"}
    body = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                    for k, v in fields.items())
    body += (f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; filename="loch.jpg"\r\n'
             f"Content-Type: image/jpeg\r\n\r\n").encode() + PHOTO.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    status, answer = _request(
        f"{base}/api/v1/reports/", body, **{"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    assert status == 201, answer
    return json.loads(answer)


def _live_moderate(base: str, token: str, report: dict, moderation: str) -> None:
    status, answer = _request(f"{base}/api/staff/reports/{report['id']}/moderate/",
                              json.dumps({"moderation": moderation}).encode(),
                              **{"Content-Type": "application/json", "Authorization": f"Token {token}"})
    assert status == 200, answer


def _token(server: str) -> str:
    status, answer = _request(f"{server}/api/staff/auth/token/", json.dumps(
        {"username": "bauhof-hameln", "password": DEMO_PASSWORD}).encode(), **{"Content-Type": "application/json"})
    assert status == 200, answer
    return json.loads(answer)["token"]


def test_on_a_running_server_no_photo_is_public_until_the_worker_made_its_rendition(server):
    server, env = server
    report = _live_submit(server)
    assert report["photos"] == []
    token = _token(server)
    status, staff_view = _request(f"{server}/api/staff/reports/{report['id']}/", Authorization=f"Token {token}")
    [photo] = json.loads(staff_view)["photos"]
    # The worker is down: the upload waits as sent, nothing of it is served, nothing is public.
    assert (photo["state"], photo["url"], photo["thumbnail_url"], photo["public_url"]) == (
        "processing", None, None, None)
    status, detail = _request(f"{server}/api/v1/reports/{report['id']}/")
    assert status == 200 and json.loads(detail)["photos"] == []

    run_worker_batch(env)
    status, staff_view = _request(f"{server}/api/staff/reports/{report['id']}/", Authorization=f"Token {token}")
    [photo] = json.loads(staff_view)["photos"]
    as_taken = [photo["url"], photo["thumbnail_url"]]
    assert [_request(url)[0] for url in as_taken] == [404, 404]
    assert [_request(url, Authorization=f"Bearer {report['secret']}")[0] for url in as_taken] == [404, 404]
    assert [_request(url, Authorization=f"Token {token}")[0] for url in as_taken] == [200, 200]
    [public] = json.loads(_request(f"{server}/api/v1/reports/{report['id']}/")[1])["photos"]
    assert _request(public["url"])[0] == 200 and _request(public["thumbnail_url"])[0] == 200
    assert public["url"] not in as_taken
    assert [_request(url)[0] for url in as_taken] == [404, 404]


def test_on_a_running_server_a_hidden_reports_photo_url_stops_working_for_the_public_but_not_for_its_lead(server):
    server, env = server
    report = _live_submit(server)
    run_worker_batch(env)
    url = json.loads(_request(f"{server}/api/v1/reports/{report['id']}/")[1])["photos"][0]["url"]
    status, answer = _request(f"{server}/api/staff/auth/token/", json.dumps(
        {"username": "bauhof-hameln", "password": DEMO_PASSWORD}).encode(), **{"Content-Type": "application/json"})
    assert status == 200, answer
    token = json.loads(answer)["token"]

    published = _request(url)[0]
    _live_moderate(server, token, report, "hidden")
    hidden = _request(url)[0]
    for_the_lead = _request(url, Authorization=f"Token {token}")[0]
    _live_moderate(server, token, report, "published")
    published_again = _request(url)[0]

    assert (published, hidden, for_the_lead, published_again) == (200, 404, 200, 200)
