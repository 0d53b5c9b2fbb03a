"""media_url: the worker fetches the photo a client names, over https from the client's photo hosts only, and
records on the report why it did not when it did not. A real HTTPS server on 127.0.0.1 with a certificate made
for this run; no network is mocked."""

from __future__ import annotations

import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address
from pathlib import Path

import pytest

from reports.models import EventKind, Report
from tests.conftest import REPO
from tests.mobile_api.open311.conftest import HAMELN_MARKET, get, post
from tests.notifications.delivery import run_worker

pytestmark = pytest.mark.django_db

PHOTO = (REPO / "data" / "photos" / "19_jpeg_sony-hx5v_o1_gps-rietberg-nrw-germany.jpg").read_bytes()
SMALL_PHOTO = (REPO / "data" / "photos" / "02_jpeg_orient6_portrait_nogps.jpg").read_bytes()
LAT, LON = (str(c) for c in HAMELN_MARKET)
MAX_BYTES = 300_000  # above both photos; the "huge" answers send more


@dataclass
class Certificates:
    ca: Path
    cert: Path
    key: Path


@pytest.fixture(scope="module")
def certificates(tmp_path_factory) -> Certificates:
    """A CA and a server certificate for 127.0.0.1, ::1 and localhost, made for this run only."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    folder = tmp_path_factory.mktemp("tls")
    now = datetime.now(UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "OpenMelder test CA")])

    def usage(**allowed: bool) -> x509.KeyUsage:
        names = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
                 "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")
        return x509.KeyUsage(**{name: allowed.get(name, False) for name in names})

    def builder(subject: x509.Name, public_key) -> x509.CertificateBuilder:
        return (x509.CertificateBuilder().subject_name(subject).issuer_name(ca_name).public_key(public_key)
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False))

    ca = (builder(ca_name, ca_key.public_key())
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(usage(key_cert_sign=True, crl_sign=True), critical=True)
          .sign(ca_key, hashes.SHA256()))
    server = (builder(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]), key.public_key())
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .add_extension(usage(digital_signature=True), critical=True)
              .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
              .add_extension(x509.SubjectAlternativeName([
                  x509.IPAddress(ip_address("127.0.0.1")), x509.IPAddress(ip_address("::1")), x509.DNSName("localhost"),
              ]), critical=False)
              .sign(ca_key, hashes.SHA256()))
    paths = Certificates(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    paths.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths.cert.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ))
    return paths


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 (the name http.server looks for)
        self.server.paths.append(self.path)
        answer = getattr(self, "answer_" + self.path.strip("/").replace(".", "_").replace("-", "_"), None)
        if answer is None:
            self.send_error(404)
        else:
            answer()

    def send(self, body: bytes, content_type: str = "image/jpeg", *, length: int | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.write(body)

    def answer_photo_jpg(self) -> None:
        self.send(PHOTO, length=len(PHOTO))

    def answer_small_jpg(self) -> None:
        self.send(SMALL_PHOTO, "image/jpeg; charset=binary", length=len(SMALL_PHOTO))

    def answer_page_html(self) -> None:
        self.send(b"<!doctype html><title>Not a photo</title>", "text/html; charset=utf-8")

    def answer_broken_jpg(self) -> None:
        self.send(b"\xff\xd8\xff\xe0 this is no JPEG")

    def answer_huge_jpg(self) -> None:  # no Content-Length: the body ends when the connection closes
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.end_headers()
        for _chunk in range(MAX_BYTES // 65536 + 2):
            self.wfile.write(b"\xff" * 65536)

    def answer_huge_declared_jpg(self) -> None:
        self.send(PHOTO, length=10**9)

    def answer_slow_jpg(self) -> None:  # a byte now and then: every single receive is quick, the whole is not
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(PHOTO)))
        self.end_headers()
        for byte in PHOTO[:100]:
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            time.sleep(0.05)

    def answer_redirect(self) -> None:
        self.send_response(302)
        self.send_header("Location", "/small.jpg")
        self.end_headers()

    def answer_redirect_private(self) -> None:
        self.send_response(302)
        self.send_header("Location", "https://10.1.2.3/photo.jpg")
        self.end_headers()

    def answer_redirect_loop(self) -> None:
        self.send_response(302)
        self.send_header("Location", "/redirect-loop")
        self.end_headers()

    def log_message(self, format: str, *args) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    paths: list[str]

    def handle_error(self, request, client_address) -> None:
        pass  # the client hung up on purpose (too large, too slow)


@dataclass
class ImageServer:
    """HTTPS on 127.0.0.1 with the run's certificate; ``paths`` lists what was asked for."""

    port: int
    paths: list[str] = field(default_factory=list)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"https://{host}:{self.port}{path}"


@pytest.fixture
def image_server(certificates):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificates.cert, certificates.key)
    server = _Server(("127.0.0.1", 0), _Handler)
    server.paths = []
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield ImageServer(server.server_address[1], server.paths)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def media(settings, certificates, api_key):
    """Fetching as a deployment with a private image server on 127.0.0.1 would configure it."""
    from mobile_api.models import Open311Client

    settings.OPEN311_MEDIA_CA_FILE = str(certificates.ca)
    settings.OPEN311_MEDIA_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    settings.OPEN311_MEDIA_TIMEOUT = 1
    settings.OPEN311_MEDIA_MAX_BYTES = MAX_BYTES
    Open311Client.objects.update(media_hosts="127.0.0.1\nLocalhost\n10.1.2.3")
    return api_key


def submit(client, api_key: str, capture, *media_urls: str) -> Report:
    """POST a request naming ``media_urls``, commit (so the fetch is queued), run the worker; the stored report."""
    with capture(execute=True):
        response = post(client, "requests.json", {
            "api_key": api_key, "service_code": "schlagloch", "lat": LAT, "long": LON, "media_url": list(media_urls),
        })
    assert response.status_code == 201, response.content
    run_worker()
    return Report.objects.get(reference=response.json()[0]["service_request_id"])


def refusals(report: Report) -> list[dict]:
    """What the internal notes record about photos that were not added."""
    notes = report.events.filter(kind=EventKind.INTERNAL_NOTE, is_public=False).order_by("id")
    return [note.data for note in notes if "error" in note.data]


def photo_urls(client, report: Report) -> list[str]:
    [item] = get(client, f"requests/{report.reference}.json", extensions="true").json()
    return item["extended_attributes"]["media_urls"]


def test_a_media_url_on_a_listed_host_is_fetched_by_the_worker_and_becomes_a_public_photo(
    client, demo, media, image_server, django_capture_on_commit_callbacks,
):
    report = submit(client, media, django_capture_on_commit_callbacks, image_server.url("/photo.jpg"))
    assert image_server.paths == ["/photo.jpg"]
    assert refusals(report) == []
    stored = report.photos.get()
    assert stored.is_public
    with stored.image.open() as image:
        content = image.read()
    assert content.startswith(b"\xff\xd8") and b"Exif\x00" not in content and content != PHOTO
    assert report.events.filter(kind=EventKind.PHOTO_ADDED, is_public=True).count() == 1
    assert len(photo_urls(client, report)) == 1


def test_several_media_urls_and_a_redirect_on_the_same_host_are_followed(
    client, demo, media, image_server, django_capture_on_commit_callbacks,
):
    report = submit(client, media, django_capture_on_commit_callbacks,
                    image_server.url("/photo.jpg"), image_server.url("/redirect"))
    assert sorted(image_server.paths) == ["/photo.jpg", "/redirect", "/small.jpg"]
    assert refusals(report) == []
    assert report.photos.count() == 2
    assert len(photo_urls(client, report)) == 2


def test_a_host_that_is_not_on_the_clients_list_is_not_asked_and_that_is_recorded(
    client, demo, media, image_server, django_capture_on_commit_callbacks,
):
    from django_tasks_db.models import DBTaskResult

    from mobile_api.models import Open311Client

    Open311Client.objects.update(media_hosts="photos.example.org")
    url = image_server.url("/photo.jpg")
    report = submit(client, media, django_capture_on_commit_callbacks, url)
    assert refusals(report) == [{"media_url": url, "error": "host_not_allowed"}]
    assert image_server.paths == [] and report.photos.count() == 0
    assert not DBTaskResult.objects.filter(task_path__endswith="fetch_media").exists()
    note = report.events.get(kind=EventKind.INTERNAL_NOTE, data__error="host_not_allowed")
    assert url in note.message and "not on the client's list of photo hosts" in note.message
    assert note.is_public is False


def test_a_client_without_photo_hosts_gets_nothing_fetched(
    client, demo, api_key, image_server, django_capture_on_commit_callbacks,
):
    url = image_server.url("/photo.jpg")
    report = submit(client, api_key, django_capture_on_commit_callbacks, url)
    assert refusals(report) == [{"media_url": url, "error": "host_not_allowed"}]
    assert image_server.paths == []


@pytest.mark.parametrize(("url", "code"), [
    ("http://127.0.0.1:{port}/photo.jpg", "not_https"),
    ("https://user:secret@127.0.0.1:{port}/photo.jpg", "bad_url"),
    ("https://127.0.0.1:0/photo.jpg", "bad_url"),
])
def test_addresses_that_are_not_plain_https_are_refused_at_once(
    client, demo, media, image_server, django_capture_on_commit_callbacks, url, code,
):
    url = url.format(port=image_server.port)
    report = submit(client, media, django_capture_on_commit_callbacks, url)
    assert refusals(report) == [{"media_url": url, "error": code}]
    assert image_server.paths == [] and report.photos.count() == 0


@pytest.mark.parametrize("url", [
    "https://127.0.0.1:{port}/photo.jpg",
    "https://localhost:{port}/photo.jpg",
    "https://[::1]:{port}/photo.jpg",
    "https://[::ffff:127.0.0.1]:{port}/photo.jpg",
    "https://10.0.0.1/photo.jpg",
    "https://169.254.169.254/latest/meta-data/",
    "https://100.64.0.1/photo.jpg",
    "https://0.0.0.0:{port}/photo.jpg",
])
def test_private_addresses_are_refused_after_resolving_without_a_connection(
    client, demo, media, settings, image_server, django_capture_on_commit_callbacks, url,
):
    from mobile_api.models import Open311Client

    settings.OPEN311_MEDIA_ALLOWED_NETWORKS = []
    # Every host is on the list: the address, not the list, refuses it.
    Open311Client.objects.update(
        media_hosts="127.0.0.1\nlocalhost\n::1\n[::ffff:127.0.0.1]\n10.0.0.1\n169.254.169.254\n100.64.0.1\n0.0.0.0",
    )
    url = url.format(port=image_server.port)
    report = submit(client, media, django_capture_on_commit_callbacks, url)
    assert refusals(report) == [{"media_url": url, "error": "private_address"}]
    assert image_server.paths == [] and report.photos.count() == 0


@pytest.mark.parametrize(("path", "code"), [
    ("/page.html", "not_an_image"),
    ("/broken.jpg", "bad_image"),
    ("/missing.jpg", "http_error"),
    ("/huge.jpg", "too_large"),
    ("/huge-declared.jpg", "too_large"),
    ("/redirect-private", "private_address"),
    ("/redirect-loop", "too_many_redirects"),
])
def test_what_the_server_sends_wrong_is_recorded_on_the_report(
    client, demo, media, image_server, django_capture_on_commit_callbacks, path, code,
):
    url = image_server.url(path)
    report = submit(client, media, django_capture_on_commit_callbacks, url)
    assert refusals(report) == [{"media_url": url, "error": code}]
    assert report.photos.count() == 0
    assert report.events.filter(kind=EventKind.PHOTO_ADDED).count() == 0
    assert "10.1.2.3" not in "".join(image_server.paths)


def test_a_slow_server_is_cut_off_at_the_deadline(
    client, demo, media, image_server, django_capture_on_commit_callbacks,
):
    url = image_server.url("/slow.jpg")
    started = time.monotonic()
    report = submit(client, media, django_capture_on_commit_callbacks, url)
    # The server would dribble for 5 s; every byte comes within 0.05 s, so only a deadline ends it.
    assert time.monotonic() - started < 4
    assert refusals(report) == [{"media_url": url, "error": "timeout"}]
    assert report.photos.count() == 0


def test_a_certificate_from_an_unknown_ca_is_refused(
    client, demo, media, settings, image_server, django_capture_on_commit_callbacks,
):
    settings.OPEN311_MEDIA_CA_FILE = ""
    url = image_server.url("/photo.jpg")
    report = submit(client, media, django_capture_on_commit_callbacks, url)
    assert refusals(report) == [{"media_url": url, "error": "tls_error"}]
    assert report.photos.count() == 0


def test_the_refusal_is_recorded_in_german_for_german_staff(
    client, demo, api_key, image_server, django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/open311/v2/requests.json", {
            "api_key": api_key, "service_code": "schlagloch", "lat": LAT, "long": LON,
            "media_url": image_server.url("/photo.jpg"),
        }, secure=True, HTTP_ACCEPT_LANGUAGE="de")
    report = Report.objects.get(reference=response.json()[0]["service_request_id"])
    note = report.events.get(kind=EventKind.INTERNAL_NOTE, data__error="host_not_allowed")
    assert "steht nicht in der Liste der Foto-Hosts" in note.message


def _comment(client, api_key: str, capture, report: Report, update_id: str, url: str):
    """A FixMyStreet-style comment naming a photo by media_url; committed and the worker run."""
    with capture(execute=True):
        response = post(client, "servicerequestupdates.json", {
            "api_key": api_key, "service_request_id": report.reference, "update_id": update_id,
            "description": "Noch da", "media_url": url,
        })
    assert response.status_code == 201, response.content
    run_worker()
    return int(response.json()[0]["update_id"])


def test_a_comments_media_url_is_fetched_and_held_back_with_the_comment_until_staff_publish_it(
    client, make_report, personas, media, image_server, django_capture_on_commit_callbacks,
):
    from geo.models import Authority, PublishingPolicy
    from tests.mobile_api.staff.conftest import staff_client

    report = make_report()
    _comment(client, media, django_capture_on_commit_callbacks, report, "1", image_server.url("/photo.jpg"))
    first = report.photos.get()
    assert first.is_public and image_server.paths == ["/photo.jpg"]

    Authority.objects.filter(pk=report.authority_id).update(publishing_policy=PublishingPolicy.AFTER_REVIEW)
    held = _comment(client, media, django_capture_on_commit_callbacks, report, "2", image_server.url("/small.jpg"))
    second = report.photos.exclude(pk=first.pk).get()
    assert not second.is_public
    assert len(photo_urls(client, report)) == 1
    with django_capture_on_commit_callbacks(execute=True):  # cached public answers change after commit
        published = staff_client(personas.hameln_worker).post(
            f"/api/staff/reports/{report.reference}/comments/{held}/publish/")
    assert published.status_code == 200, published.content
    second.refresh_from_db()
    assert second.is_public and len(photo_urls(client, report)) == 2
    assert refusals(report) == []


def test_a_comments_media_url_on_a_host_not_listed_is_recorded_not_fetched(
    client, make_report, media, image_server, django_capture_on_commit_callbacks,
):
    report = make_report()
    _comment(client, media, django_capture_on_commit_callbacks, report, "1",
             image_server.url("/photo.jpg", host="127.0.0.2"))
    assert image_server.paths == [] and not report.photos.exists()
    assert [r["error"] for r in refusals(report)] == ["host_not_allowed"]
