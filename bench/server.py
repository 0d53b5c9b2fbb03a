"""A uvicorn server on 127.0.0.1 for the benchmarks that measure over HTTP and websockets."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


# A benchmark never sends its thousands of made-up reports to a public geocoder.
_OFFLINE = {"GEOCODER": "none"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(port: int, *uvicorn_args: str, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
    """uvicorn with the benchmark's environment (no HTTPS redirect, no submission limit); waits for /healthz."""
    # All requests come from 127.0.0.1, so the per-address limits would throttle the benchmark itself. Per
    # second, not per hour: DRF keeps each address' request times of the whole period in the cache, and an
    # hour of a benchmark's submissions from one address would be a list no real client ever has.
    env = {
        **os.environ, "HTTPS": "false", "API_RATE_SUBMIT": "100000/second", "LOG_LEVEL": "WARNING", **_OFFLINE,
        **(extra_env or {}),
    }
    server = subprocess.Popen(
        # Started as make run, the Dockerfile and compose start it (backend.server picks the proxy options).
        [str(REPO / ".venv" / "bin" / "python"), "-m", "backend.server", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning", "--no-access-log", *uvicorn_args],
        cwd=REPO, env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the server did not start")


def stop_server(server: subprocess.Popen) -> None:
    """Stop uvicorn (and its worker processes): TERM, and KILL if it is not gone after 30 s."""
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)


def start_worker(extra_env: dict[str, str] | None = None) -> subprocess.Popen:
    """``manage.py db_worker`` with the benchmark's environment, as make run and compose start it."""
    env = {**os.environ, "LOG_LEVEL": "WARNING", **_OFFLINE, **(extra_env or {})}
    return subprocess.Popen([str(REPO / ".venv" / "bin" / "python"), "manage.py", "db_worker"], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL)
