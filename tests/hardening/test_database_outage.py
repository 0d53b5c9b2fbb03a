"""PostgreSQL stops while the service runs: requests get a 503 with Retry-After (JSON, no traceback),
nothing stored is lost, and the service recovers by itself when the database is back.

A real PostgreSQL of its own (scripts/servers.sh) and a real uvicorn, in both test runs.
"""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
import uuid

import pytest

from tests.conftest import manage
from tests.live import OwnPostgres, uvicorn

pytestmark = pytest.mark.backend_independent

def _request(url: str, data: dict | None = None) -> tuple[int, object, dict]:
    body = None
    headers = {"Accept-Language": "en"}
    if data is not None:
        body = urllib.parse.urlencode(data).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(url, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, response.headers, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read() or b"{}")


@pytest.fixture
def service():
    import tempfile
    from pathlib import Path

    # Not under pytest's tmp_path: the postgres user must be able to reach the directory.
    directory = Path(tempfile.mkdtemp(prefix="openmelder-outage-"))
    database = OwnPostgres(directory)
    env = {
        "DEBUG": "false", "HTTPS": "false",
        "SECRET_KEY": uuid.uuid4().hex * 2, "ALLOWED_HOSTS": "127.0.0.1", "DATA_DIR": str(directory / "data"),
        "DATABASE_URL": database.url, "DEMO_PASSWORD": "Outage-Test-2026",
        # Each request during the outage waits this long for a pooled connection before its 503 (default 5 s:
        # four requests made the outage 20 s); the shortest the settings allow proves the same.
        "DATABASE_POOL_TIMEOUT": "1",
    }
    for command in (["migrate", "-v0"], ["load_demo", "--reports", "0"]):
        result = manage(*command, env=env, timeout=300)
        assert result.returncode == 0, result.stderr
    try:
        with uvicorn(env) as base:
            yield base, database
    finally:
        # The restarted server has a new PID: stop whichever postmaster runs in the data directory now.
        database.remove()
    shutil.rmtree(directory, ignore_errors=True)


REPORT = {"category": "schlagloch", "lat": "52.1039", "lon": "9.3576", "description": "Loch"}


def test_requests_during_a_database_outage_get_a_503_and_the_service_recovers_without_a_restart(service):
    base, database = service
    status, _, first = _request(f"{base}/api/v1/reports/", REPORT)
    assert status == 201

    database.stop()
    outage = [
        _request(f"{base}/api/v1/reports/", REPORT),
        _request(f"{base}/api/v1/reports/{first['id']}/"),
        _request(f"{base}/api/v1/categories/"),
    ]
    ready_status = _request(f"{base}/readyz")[0]
    database.start()
    status, _, second = _request(f"{base}/api/v1/reports/", REPORT)
    _, _, still_there = _request(f"{base}/api/v1/reports/{first['id']}/")

    for outage_status, headers, body in outage:
        assert outage_status == 503
        assert headers["Retry-After"] == "30"
        assert body["errors"][0]["code"] == "service_unavailable"
        assert "Traceback" not in json.dumps(body) and "psycopg" not in json.dumps(body)
    assert ready_status == 503
    assert status == 201 and second["reference"] != first["reference"]
    assert still_there["reference"] == first["reference"]
