"""What citizens upload is served as a picture and nothing else: re-encoded JPEG, the right content type,
no sniffing, whatever the file contained or was called."""

from __future__ import annotations

import json
import urllib.request
import uuid

import pytest

from tests.live import migrated_database, run_worker_batch, uvicorn
from tests.reports.test_photo_pipeline import PHOTOS

pytestmark = pytest.mark.backend_independent

# A real JPEG with an HTML page and a script appended: a polyglot some browsers would render as HTML.
POLYGLOT = (PHOTOS / "02_jpeg_orient6_portrait_nogps.jpg").read_bytes() + (
    b"<html><script>alert(document.cookie)</script></html>"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("uploads")
    with migrated_database(directory) as database:
        env = {"DEBUG": "true", "SERVE_MEDIA": "true", "DATA_DIR": str(directory), "DATABASE_URL": database}
        with uvicorn(env) as base:
            yield base, env


def _submit(base: str, content: bytes, filename: str) -> dict:
    boundary = uuid.uuid4().hex
    fields = {"category": "schlagloch", "lat": "52.1039", "lon": "9.3576"}
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()
    )
    body += (f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; filename="{filename}"\r\n'
             f"Content-Type: text/html\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(f"{base}/api/v1/reports/", data=body,
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 201
        return json.load(response)


def test_a_polyglot_named_html_is_served_as_a_clean_jpeg_that_is_never_sniffed(server):
    base, env = server
    report = _submit(base, POLYGLOT, "seite.html")
    run_worker_batch(env)  # the public rendition
    with urllib.request.urlopen(f"{base}/api/v1/reports/{report['id']}/", timeout=10) as response:
        [photo] = json.load(response)["photos"]

    for url in (photo["url"], photo["thumbnail_url"]):
        with urllib.request.urlopen(url, timeout=10) as response:
            content = response.read()
            assert url.endswith(".jpg")
            assert response.headers["Content-Type"] == "image/jpeg"
            assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert content.startswith(b"\xff\xd8") and b"<script" not in content and b"<html" not in content
