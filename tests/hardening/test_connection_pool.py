"""A burst of requests against PostgreSQL: every one is answered, over a bounded number of connections.

Under ASGI every request runs in a thread of its own; without the connection pool each of them opened
a PostgreSQL connection of its own until PostgreSQL refused more ("too many clients", a 503). A real
PostgreSQL of its own (scripts/servers.sh) and a real uvicorn, in both test runs.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import manage
from tests.live import OwnPostgres, uvicorn

pytestmark = pytest.mark.backend_independent

POOL_SIZE = 3
BURST = 48


@pytest.fixture
def database():
    directory = Path(tempfile.mkdtemp(prefix="openmelder-pool-"))
    database = OwnPostgres(directory)
    try:
        yield database
    finally:
        database.remove()
        shutil.rmtree(directory, ignore_errors=True)


def _most_connections_while(database: OwnPostgres, work) -> tuple[int, object]:
    """Run ``work()`` while counting the application's connections to PostgreSQL; the highest count seen."""
    seen = [0]
    done = threading.Event()

    def watch() -> None:
        with database.connect() as connection:
            while not done.is_set():
                count = connection.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = 'openmelder' AND pid <> pg_backend_pid()"
                ).fetchone()[0]
                seen[0] = max(seen[0], count)
                time.sleep(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        result = work()
    finally:
        done.set()
        watcher.join()
    return seen[0], result


def test_a_burst_of_requests_is_answered_over_at_most_the_pools_connections(database):
    env = {
        "DEBUG": "false", "HTTPS": "false", "SECRET_KEY": uuid.uuid4().hex * 2, "ALLOWED_HOSTS": "127.0.0.1",
        "DATA_DIR": str(database.directory / "data"), "DATABASE_URL": database.url, "DEMO_PASSWORD": "Pool-Test-2026",
        "DATABASE_POOL_SIZE": str(POOL_SIZE), "API_RATE_READ": "100000/minute",
        # Room at the door (backend.admission) for the whole burst, however slow the machine: all are answered.
        "WEB_QUEUE_LIMIT": str(2 * BURST), "WEB_QUEUE_WAIT_MS": "60000",
    }
    for command in (["migrate", "-v0"], ["collectstatic", "--noinput", "-v0"], ["load_demo", "--reports", "20"]):
        result = manage(*command, env=env, timeout=300)
        assert result.returncode == 0, result.stderr

    with uvicorn(env) as base:
        urls = [f"{base}/meldungen/?page={1 + n % 2}" if n % 2 else f"{base}/api/v1/categories/" for n in range(BURST)]

        def get(url: str) -> int:
            with urllib.request.urlopen(url, timeout=60) as response:
                response.read()
                return response.status

        def burst() -> list[int]:
            with ThreadPoolExecutor(BURST) as pool:
                return list(pool.map(get, urls))

        most, statuses = _most_connections_while(database, burst)

    assert statuses == [200] * BURST
    assert 1 <= most <= POOL_SIZE
