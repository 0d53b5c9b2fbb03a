"""Real servers for end-to-end tests: uvicorn on 127.0.0.1 as make run starts it, with its own database.

Shared by the browser tests, the Open311 client tests and the outage tests, so every one of them
starts, waits for and stops a server the same way.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from django.conf import settings

from tests.conftest import REPO, is_postgis, manage

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
    db = settings.DATABASES["default"]
    name = f"openmelder_e2e_{os.getpid()}_{free_port()}"
    admin = {"host": db["HOST"], "port": db["PORT"], "user": db["USER"], "password": db["PASSWORD"] or None,
             "dbname": "postgres", "autocommit": True}
    with psycopg.connect(**admin) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    try:
        yield f"postgis://{credentials}@{db['HOST']}:{db['PORT']}/{name}"
    finally:
        with psycopg.connect(**admin) as connection:
            connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


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
        port, pid, pg_dir = _servers(f'start_postgres "{directory}" >&2 || exit 1; echo "$PGPORT $PG_PID $PG_DIR"').split()
        self.port, self.pid, self.pg_dir = int(port), int(pid), pg_dir
        self.url = f"postgis://postgres@127.0.0.1:{self.port}/openmelder"

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="openmelder", autocommit=True)

    def stop(self) -> None:
        _as_postgres(f"{PG_BIN}/pg_ctl", "-D", f"{self.pg_dir}/data", "-m", "fast", "-w", "stop")

    def start(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.pg_dir} -c fsync=off"
        _as_postgres(f"{PG_BIN}/pg_ctl", "-D", f"{self.pg_dir}/data", "-l", f"{self.pg_dir}/server.log", "-w", "-o", options, "start")

    def remove(self) -> None:
        """Stop whichever postmaster runs in the data directory now (a restarted one has a new PID)."""
        _servers(f'PG_PID=$(head -n1 "{self.pg_dir}/data/postmaster.pid" 2>/dev/null || true); stop_postgres')


@contextmanager
def demo_server(directory, **env: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """A uvicorn with a database of its own, migrated and with the demo (no sample reports); yields its base URL
    and process. ``env`` adds to DEBUG, DATA_DIR and DATABASE_URL."""
    with server_database(directory) as database:
        env = {"DEBUG": "true", "DATA_DIR": str(directory), "DATABASE_URL": database, **env}
        for command in (["migrate", "--noinput"], ["load_demo", "--reports", "0"]):
            result = manage(*command, env=env, timeout=300)
            assert result.returncode == 0, result.stderr
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
