"""Real servers for end-to-end tests: uvicorn on 127.0.0.1 as make run starts it, with its own database.

Shared by the browser tests, the Open311 client tests and the outage tests, so every one of them
starts, waits for and stops a server the same way.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from tests.conftest import DEMO_PASSWORD, REPO, is_postgis, manage

# Headless Chromium as root, without reaching out to the network (../shared/STACK.md).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
WCAG_21_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
# Nothing listens on port 9 of loopback: tiles and geocoder are unreachable, as on a machine without internet.
UNREACHABLE = "http://127.0.0.1:9"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def offline_env(directory, database: str, **extra: str) -> dict[str, str]:
    """The environment of a test server as ``make run`` has it (DEBUG on), its own data directory and database,
    map tiles and the geocoder pointed at a closed port (no network), and this run's Redis where it has one."""
    env = {
        "DEBUG": "true", "DATA_DIR": str(directory), "DATABASE_URL": database,
        "TILE_URL": UNREACHABLE + "/{z}/{x}/{y}.png", "GEOCODER_URL": UNREACHABLE, "GEOCODER_TIMEOUT": "1",
    }
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    return {**env, **extra}


@contextmanager
def offline_site(directory, *, demo_reports: int | None = 0) -> Iterator[str]:
    """uvicorn and the task worker as ``make run`` starts them, on a copy of the migrated demo database
    (``migrated_database``) with ``offline_env``; yields the server's base URL."""
    with migrated_database(directory, demo_reports=demo_reports) as database:
        env = offline_env(directory, database)
        with uvicorn(env) as base, worker(env):
            yield base


@contextmanager
def worker(env: dict[str, str]) -> Iterator[subprocess.Popen]:
    """The task worker as ``make run`` starts it (``manage.py db_worker``), in the background, polling often."""
    base_env = {key: value for key, value in os.environ.items() if key in {"PATH", "HOME", "LANG"}}
    process = subprocess.Popen(
        [sys.executable, str(REPO / "manage.py"), "db_worker", "--no-reload", "--no-startup-delay", "--interval",
         "0.2"],
        cwd=REPO, env={**base_env, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        _stop(process)


def wait_for_photos(base: str, reference: str, timeout: float = 120) -> None:
    """Until the worker has made the public renditions of the report's photos (its page no longer says it is
    preparing them)."""
    deadline = time.monotonic() + timeout
    while True:
        with urllib.request.urlopen(f"{base}/meldungen/{reference}/", timeout=10) as response:
            if b"photos-preparing" not in response.read():
                return
        if time.monotonic() > deadline:
            pytest.fail(f"the photos of {reference} were not published within {timeout} s")
        time.sleep(0.3)


def run_worker_batch(env: dict[str, str]) -> None:
    """The worker as `make run` starts it (``manage.py db_worker``), for one batch of the queued tasks: a
    submitted photo's public rendition, deliveries."""
    done = manage("db_worker", "--batch", "--no-reload", "--no-startup-delay", "--interval", "0", env=env)
    assert done.returncode == 0, done.stderr


@contextmanager
def uvicorn(env: dict[str, str], *, timeout: float = 30) -> Iterator[str]:
    """uvicorn serving the ASGI application with exactly ``env`` (plus PATH, HOME, LANG); yields its base URL."""
    with uvicorn_process(env, timeout=timeout) as (base, _process):
        yield base


@contextmanager
def uvicorn_process(env: dict[str, str], *, timeout: float = 30) -> Iterator[tuple[str, subprocess.Popen]]:
    """As ``uvicorn``, and also yields the server process (to measure it)."""
    port = free_port()
    base_env = {key: value for key, value in os.environ.items() if key in {"PATH", "HOME", "LANG"}}
    process = subprocess.Popen(
        # As make run, the Dockerfile and compose.yaml: through backend.server, which decides on proxy headers.
        [sys.executable, "-m", "backend.server", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO, env={**base_env, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(f"{base}/healthz", timeout=1)
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"uvicorn did not start: {process.communicate()[0]}")
            time.sleep(0.2)
    try:
        yield base, process
    finally:
        _stop(process)


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@contextmanager
def server_database(directory) -> Iterator[str]:
    """A database of its own for a server, on the backend of this test run: a fresh PostGIS database
    on the run's PostgreSQL (dropped afterwards), or a SpatiaLite file in ``directory``."""
    if not is_postgis():
        yield f"spatialite:///{directory}/openmelder.sqlite3"
        return
    with _postgis_database() as url:
        yield url


def _admin_connection() -> psycopg.Connection:
    db = settings.DATABASES["default"]
    return psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], password=db["PASSWORD"] or None,
                           dbname="postgres", autocommit=True)


def _postgis_url(name: str) -> str:
    db = settings.DATABASES["default"]
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgis://{credentials}@{db['HOST']}:{db['PORT']}/{name}"


def _create_database(name: str, template: str | None = None) -> None:
    statement = f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
    deadline = time.monotonic() + 10
    with _admin_connection() as connection:
        while True:
            try:
                connection.execute(statement)
                return
            except psycopg.errors.ObjectInUse:
                # The manage.py process that filled the template has exited, but its server process may still be
                # ending: PostgreSQL copies a template only when nobody is connected to it.
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)


@contextmanager
def _postgis_database(template: str | None = None) -> Iterator[str]:
    name = f"openmelder_e2e_{os.getpid()}_{free_port()}"
    _create_database(name, template)
    try:
        yield _postgis_url(name)
    finally:
        with _admin_connection() as connection:
            connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


# Migrating a database and loading the demo take several seconds per server; copying a database that already has
# them takes a fraction of one. Each kind is made once per test session (a PostgreSQL template database, or a
# SpatiaLite file) and copied for every server that asks for it. Key: the demo's sample reports (None: only
# migrated, no demo) and the demo password.
_templates: dict[tuple[int | None, str], str] = {}
_template_dir: Path | None = None


def _drop_templates() -> None:
    if _template_dir is not None:
        shutil.rmtree(_template_dir, ignore_errors=True)
    postgis = [name for name in _templates.values() if not name.startswith("spatialite:")]
    if postgis:
        with _admin_connection() as connection:
            for name in postgis:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _template(reports: int | None, password: str) -> str:
    """The template for ``(reports, password)``: a database name (PostGIS) or a SpatiaLite URL; made on first use,
    itself a copy of the migrated template."""
    global _template_dir
    key = (reports, password)
    if key in _templates:
        return _templates[key]
    if _template_dir is None:
        _template_dir = Path(tempfile.mkdtemp(prefix="openmelder-templates-"))
        atexit.register(_drop_templates)
    base = None if reports is None else _template(None, password)
    number = len(_templates)
    env = {"DEBUG": "true", "DATA_DIR": str(_template_dir / "data"), "DEMO_PASSWORD": password}
    if is_postgis():
        template = f"openmelder_template_{os.getpid()}_{number}"
        _create_database(template, base)
        env["DATABASE_URL"] = _postgis_url(template)
    else:
        template = f"spatialite:///{_template_dir}/template-{number}.sqlite3"
        if base is not None:
            shutil.copyfile(base.removeprefix("spatialite:///"), template.removeprefix("spatialite:///"))
        env["DATABASE_URL"] = template
    command = ["migrate", "--noinput"] if reports is None else ["load_demo", "--reports", str(reports)]
    result = manage(*command, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    _templates[key] = template
    return template


@contextmanager
def migrated_database(directory, *, demo_reports: int | None = 0, password: str = DEMO_PASSWORD) -> Iterator[str]:
    """As ``server_database``, already migrated and, unless ``demo_reports`` is None, with the demo (that many
    sample reports; staff accounts with ``password``): a copy of a template this session made once."""
    template = _template(demo_reports, password)
    if not is_postgis():
        path = f"{directory}/openmelder.sqlite3"
        shutil.copyfile(template.removeprefix("spatialite:///"), path)
        yield f"spatialite:///{path}"
        return
    with _postgis_database(template) as url:
        yield url


PG_BIN = "/usr/lib/postgresql/15/bin"


def _without_pg() -> dict[str, str]:
    """The environment without the PG* variables of the suite's own server: initdb and pg_ctl would take them
    for this one."""
    return {key: value for key, value in os.environ.items() if not key.startswith("PG")}


def _servers(script: str) -> str:
    result = subprocess.run(["bash", "-c", f". scripts/servers.sh; {script}"], cwd=REPO, env=_without_pg(),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def _as_postgres(*args: str) -> None:
    command = list(args)
    if os.geteuid() == 0:
        command = ["su", "-s", "/bin/sh", "postgres", "-c", " ".join(f"'{a}'" for a in args)]
    subprocess.run(command, check=True, capture_output=True, timeout=60, env=_without_pg())


class OwnPostgres:
    """A PostgreSQL of a test's own (scripts/servers.sh), in both test runs, to stop, start and watch.

    ``directory`` must be reachable by the postgres user (not under pytest's tmp_path).
    """

    def __init__(self, directory) -> None:
        self.directory = directory
        port, pid, pg_dir = _servers(
            f'start_postgres "{directory}" >&2 || exit 1; echo "$PGPORT $PG_PID $PG_DIR"'
        ).split()
        self.port, self.pid, self.pg_dir = int(port), int(pid), pg_dir
        self.url = f"postgis://postgres@127.0.0.1:{self.port}/openmelder"

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="openmelder", autocommit=True)

    def stop(self) -> None:
        _as_postgres(f"{PG_BIN}/pg_ctl", "-D", f"{self.pg_dir}/data", "-m", "fast", "-w", "stop")

    def start(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.pg_dir} -c fsync=off"
        _as_postgres(
            f"{PG_BIN}/pg_ctl", "-D", f"{self.pg_dir}/data", "-l", f"{self.pg_dir}/server.log", "-w", "-o", options,
            "start",
        )

    def remove(self) -> None:
        """Stop whichever postmaster runs in the data directory now (a restarted one has a new PID)."""
        _servers(f'PG_PID=$(head -n1 "{self.pg_dir}/data/postmaster.pid" 2>/dev/null || true); stop_postgres')


@contextmanager
def demo_server(directory, **env: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """A uvicorn with a database of its own, migrated and with the demo (no sample reports, staff password
    tests.conftest.DEMO_PASSWORD); yields its base URL and process. ``env`` adds to DEBUG, DATA_DIR and DATABASE_URL."""
    with migrated_database(directory) as database:
        env = {"DEBUG": "true", "DATA_DIR": str(directory), "DATABASE_URL": database, **env}
        with uvicorn_process(env) as running:
            yield running


def peak_rss_mb(pid: int) -> float:
    """The peak resident memory of a process (VmHWM), in MB."""
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def post_photo_report(base: str, photos: list[bytes], *, timeout: float = 30) -> tuple[int, float]:
    """A pothole report at the Pferdemarkt with these files as photos, sent as a phone app sends it (multipart);
    the answer's status and the seconds it took."""
    boundary = uuid.uuid4().hex
    fields = {"category": "schlagloch", "lat": "52.1039", "lon": "9.3576"}
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    for number, content in enumerate(photos):
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; filename="p{number}.jpg"\r\n'
                     f"Content-Type: image/jpeg\r\n\r\n".encode() + content + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    request = urllib.request.Request(f"{base}/api/v1/reports/", data=body,
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    return status, time.monotonic() - started


# --- Browser helpers shared by the tests in tests/e2e -------------------------------------------------------------

def assert_accessible(page) -> None:
    """axe-core finds no WCAG 2.1 A or AA violation on the page as it is now (once its stylesheets are in)."""
    page.wait_for_load_state("load")
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options=WCAG_21_AA)
    assert results.violations_count == 0, f"{page.url}\n{results.generate_report()}"


def assert_fits_the_phone(page, width: int = 360) -> None:
    """Nothing makes the page wider than the phone's screen."""
    # An element a test waited for can be in the DOM while the page's stylesheets are still loading (the
    # parser got there first); measured then, the page is laid out without them, as nobody ever sees it.
    page.wait_for_load_state("load")
    assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{page.url} is wider than a phone"


def assert_accessible_on_phone(page, width: int = 360) -> None:
    """As ``assert_accessible``, and nothing makes the page wider than the phone's screen."""
    assert_fits_the_phone(page, width)
    assert_accessible(page)


def map_loaded(page, after: int = 0) -> int:
    """Waits until the map has drawn an answer of the map API newer than ``after``; returns its number."""
    # Polled from here: wait_for_function evaluates a string in the page, which the pages' CSP forbids.
    deadline = time.monotonic() + 30
    while True:
        loaded = int(page.locator("#map").get_attribute("data-loaded") or 0)
        if loaded > after:
            return loaded
        assert time.monotonic() < deadline, f"the map drew nothing newer than answer {after}"
        page.wait_for_timeout(100)
