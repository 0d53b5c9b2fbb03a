"""The product as a municipality installs and runs it, driven by clients that behave like real ones.

Everything else in the suite runs inside the test virtualenv, which holds more packages than a user's
install (it once hid that address search needed ``requests``), and most tests talk to the application
in-process. Here:

- a fresh virtualenv gets ``requirements/base.txt`` alone, through ``scripts/bootstrap.sh base``
  (what ``make run`` does on a new machine);
- ``scripts/run.sh`` (``make run``) starts the server and the worker from it, with the demo data, on
  the embedded default (SpatiaLite, in-memory channel layer), or on a fresh PostGIS database in the
  PostGIS run;
- a Nominatim-speaking server on 127.0.0.1 is its geocoder;
- the clients are plain HTTP (the standard library, no test client) and websocket clients that send
  no ``Origin`` header, as the iOS and Android websocket clients do.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from websockets.sync.client import connect

from tests.conftest import REPO, is_postgis
from tests.live import free_port, server_database
from tests.nominatim import LoopbackNominatim
from tests.smoke import base_venv as base_venv_module

PHOTO = REPO / "data" / "photos" / "05_jpeg_iphone6_o1_gps-madrid.jpg"
MARKET = (52.1039, 9.3576)  # Pferdemarkt, Stadt Hameln
MARKET_ADDRESS = {"house_number": "1", "road": "Pferdemarkt", "town": "Hameln", "postcode": "31785"}
PLACES = {"hameln": [{"lat": str(MARKET[0]), "lon": str(MARKET[1]), "address": MARKET_ADDRESS,
                           "display_name": "1, Pferdemarkt, Hameln, 31785, Deutschland"}]}
DEMO_PASSWORD = "Smoke-" + secrets.token_urlsafe(12)
STARTUP_TIMEOUT_S = 600  # a first start on a new machine installs the virtualenv's packages


@pytest.fixture(scope="session")
def base_venv(tmp_path_factory) -> Path:
    """A virtualenv with requirements/base.txt only, as bootstrap.sh makes it for ``make run``.

    scripts/test.sh passes SMOKE_VENV and starts building it before the tests: the PostGIS and SpatiaLite runs
    wait for that one build (tests/smoke/base_venv.py), and a failed build fails the smoke tests with its output."""
    venv = Path(os.environ.get("SMOKE_VENV") or tmp_path_factory.mktemp("smoke") / "venv")
    try:
        return base_venv_module.ensure(venv, timeout=STARTUP_TIMEOUT_S)
    except base_venv_module.BuildFailed as error:
        pytest.fail(str(error), pytrace=False)


@dataclass
class Product:
    url: str
    env: dict[str, str]
    python: Path
    geocoder: LoopbackNominatim
    log: Path

    def manage(self, *args: str) -> str:
        """A management command as the operator of this installation runs it."""
        result = subprocess.run([str(self.python), "manage.py", *args], cwd=REPO, env=self.env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        return result.stdout


@pytest.fixture(scope="module")
def product(base_venv, tmp_path_factory) -> Iterator[Product]:
    data = tmp_path_factory.mktemp("smoke-data")
    geocoder = LoopbackNominatim(PLACES, reverse={"address": MARKET_ADDRESS, "display_name": "Pferdemarkt 1"})
    with geocoder, server_database(data) as database_url:
        env = {key: value for key, value in os.environ.items() if key in {"PATH", "HOME", "LANG"}}
        env |= {"VENV_DIR": str(base_venv), "PORT": str(free_port()), "DATA_DIR": str(data), "DEBUG": "true",
                "DEMO_PASSWORD": DEMO_PASSWORD, "GEOCODER_URL": geocoder.url, "GEOCODER_TIMEOUT": "5"}
        if is_postgis():
            env["DATABASE_URL"] = database_url  # else make run's default: a SpatiaLite file in DATA_DIR
        log = data / "run.log"
        with open(log, "w") as out:
            run = subprocess.Popen(["bash", "scripts/run.sh"], cwd=REPO, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        try:
            _wait_for_banner(run, log)
            yield Product(f"http://127.0.0.1:{env['PORT']}", env, base_venv / "bin" / "python", geocoder, log)
        finally:
            _stop(run)


def _wait_for_banner(run: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while "Press Ctrl-C to stop." not in log.read_text():
        assert run.poll() is None, f"make run exited with {run.returncode}:\n{log.read_text()[-4000:]}"
        assert time.monotonic() < deadline, f"make run did not come up:\n{log.read_text()[-4000:]}"
        time.sleep(0.5)


def _stop(run: subprocess.Popen) -> None:
    """Ctrl-C, as a user stops it; the whole process group if it does not stop in time."""
    if run.poll() is None:
        os.killpg(run.pid, signal.SIGINT)
        try:
            run.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait(timeout=10)


# --- Clients: the standard library, as a phone app's HTTP stack would send -----------------------

def _opener(jar: CookieJar | None = None) -> urllib.request.OpenerDirector:
    handlers: list = [urllib.request.ProxyHandler({})]
    if jar is not None:
        handlers.append(urllib.request.HTTPCookieProcessor(jar))
    return urllib.request.build_opener(*handlers)


def fetch(url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None,
          opener: urllib.request.OpenerDirector | None = None) -> tuple[int, str, bytes]:
    """Status, content type and body."""
    req = urllib.request.Request(url, data=data, headers={"Accept-Language": "de", **(headers or {})})
    try:
        with (opener or _opener()).open(req, timeout=30) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()


def request(url: str, **kwargs) -> tuple[int, str]:
    status, _content_type, body = fetch(url, **kwargs)
    return status, body.decode()


def get_json(url: str, **kwargs) -> dict:
    status, body = request(url, **kwargs)
    assert status == 200, body
    return json.loads(body)


def post_json(url: str, payload: dict, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    status, body = request(url, data=json.dumps(payload).encode(),
                           headers={"Content-Type": "application/json", **(headers or {})})
    return status, json.loads(body)


def multipart(fields: dict[str, str], files: dict[str, Path]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
             for name, value in fields.items()]
    for name, path in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{path.name}"\r\n'
                     f"Content-Type: image/jpeg\r\n\r\n".encode() + path.read_bytes() + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def submit_from_phone(product: Product, at: tuple[float, float] = MARKET, **fields: str) -> dict:
    body, content_type = multipart({"category": "schlagloch", "lat": str(at[0]), "lon": str(at[1]),
                                    "description": "Tiefes Schlagloch", **fields}, {"photos": PHOTO})
    status, text = request(f"{product.url}/api/v1/reports/", data=body, headers={"Content-Type": content_type})
    assert status == 201, text
    return json.loads(text)


def staff_token(product: Product) -> str:
    """A token of a Bauhof Hameln account, found in the logins that make run prints."""
    logins = (Path(product.env["DATA_DIR"]) / "load_demo.log").read_text()
    username = re.search(r"^\s*(\S+)\s.*Bauhof Hameln", logins, re.M).group(1)
    status, body = post_json(f"{product.url}/api/staff/auth/token/", {"username": username, "password": DEMO_PASSWORD})
    assert status == 200, body
    return body["token"]


def ws_url(product: Product, path: str) -> str:
    return product.url.replace("http://", "ws://") + path


def receive_until(socket, predicate, timeout: float = 15) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, "the awaited message did not arrive"
        message = json.loads(socket.recv(timeout=remaining))
        if predicate(message):
            return message


# --- What users do -------------------------------------------------------------------------------

def test_a_citizen_searching_an_address_in_the_report_form_gets_places_from_the_geocoder(product):
    results = get_json(f"{product.url}/melden/adresse/?q=Hameln")
    assert results["available"] is True
    assert [(place["label"], place["lat"], place["lon"]) for place in results["results"]] == [
        ("Pferdemarkt 1, 31785 Hameln", *MARKET)]


def test_the_address_search_without_javascript_lists_the_places_in_the_form(product):
    jar = CookieJar()
    opener = _opener(jar)
    status, page = request(f"{product.url}/melden/", opener=opener)
    assert status == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "action": "search", "address": "Hameln",
                                   "category": "schlagloch", "submission": str(uuid.uuid4())}).encode()
    status, page = request(f"{product.url}/melden/", data=form, opener=opener,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200, page
    assert "Pferdemarkt 1, 31785 Hameln" in page and "Ort auswählen" in page


def test_a_photo_report_from_a_phone_gets_its_street_address_from_the_worker(product):
    created = submit_from_phone(product)
    assert created["reference"].startswith("HM-")
    deadline = time.monotonic() + 30
    assert created["photos"] == []  # public once the worker has blurred faces and number plates
    while not (report := get_json(f"{product.url}/api/v1/reports/{created['id']}/"))["address"] \
            or not report["photos"]:
        assert time.monotonic() < deadline, "the worker never geocoded the report or published its photo"
        time.sleep(0.5)
    assert report["address"] == "Pferdemarkt 1, 31785 Hameln"
    assert len(report["photos"]) == 1
    url = report["photos"][0]["url"]
    status, content_type, photo = fetch(url if url.startswith("http") else product.url + url)
    assert status == 200 and content_type == "image/jpeg" and photo.startswith(b"\xff\xd8")
    assert b"Exif" not in photo[:4096]  # re-encoded without the phone's metadata (GPS: Madrid)
    assert "/reverse" in [path for path, _query, _agent in product.geocoder.requests]


def test_an_open311_system_files_a_report_by_address_alone(product):
    key = product.manage("open311_key", f"Smoke-{uuid.uuid4().hex[:8]}").strip()
    form = urllib.parse.urlencode({"api_key": key, "service_code": "schlagloch", "description": "Loch",
                                   "address_string": "Pferdemarkt 1, Hameln"}).encode()
    status, body = request(f"{product.url}/open311/v2/requests.json", data=form,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 201, body
    [created] = json.loads(body)
    status, body = request(f"{product.url}/open311/v2/requests/{created['service_request_id']}.json")
    [read_back] = json.loads(body)
    assert (read_back["lat"], read_back["long"]) == pytest.approx(MARKET)


def test_a_native_app_without_origin_follows_the_map(product):
    with connect(ws_url(product, "/ws/map/"), open_timeout=10) as socket:  # websockets sends no Origin
        created = submit_from_phone(product, description="Neu auf der Karte", email="anna@example.org")
        event = receive_until(socket, lambda message: created["id"] in json.dumps(message))
    assert "anna@example.org" not in json.dumps(event)


def test_a_native_app_without_origin_follows_its_own_report(product):
    created = submit_from_phone(product, description="Eigene Meldung")
    token = staff_token(product)
    with connect(ws_url(product, f"/ws/reports/{created['id']}/"), open_timeout=10) as socket:
        socket.send(json.dumps({"secret": created["secret"]}))
        receive_until(socket, lambda message: message.get("type") == "subscribed")
        status, body = post_json(f"{product.url}/api/staff/reports/{created['reference']}/transition/",
                                 {"to": "acknowledged", "message": "Wir kümmern uns."},
                                 headers={"Authorization": f"Token {token}"})
        assert status == 200, body
        event = receive_until(socket, lambda message: message.get("kind") == "status_changed")
    assert event["seq"] > 0 and "acknowledged" in json.dumps(event)


def test_a_staff_app_without_origin_hears_new_reports_of_its_departments(product):
    token = staff_token(product)
    with connect(ws_url(product, "/ws/staff/"), open_timeout=10) as socket:
        socket.send(json.dumps({"token": token}))
        receive_until(socket, lambda message: message.get("type") == "subscribed")
        created = submit_from_phone(product, description="Für den Bauhof")
        event = receive_until(socket, lambda message: created["reference"] in json.dumps(message))
    assert event["report"]["reference"] == created["reference"]


def test_a_foreign_web_page_cannot_open_a_staff_socket(product):
    with pytest.raises(Exception) as refused:
        with connect(ws_url(product, "/ws/staff/"), open_timeout=10, origin="https://evil.example") as socket:
            socket.recv(timeout=5)
    assert "403" in str(refused.value) or "4403" in str(refused.value)
