"""The ASGI application under uvicorn, as make run and compose start it: HTTP and websockets on one port."""

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
import websockets

from tests.conftest import REPO


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = _free_port()
    env = {**os.environ, "DEBUG": "true", "DATA_DIR": str(tmp_path_factory.mktemp("server"))}
    env.pop("DATABASE_URL", None)  # the embedded default; /healthz needs no tables
    env.pop("REDIS_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "backend.asgi:application", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{base}/healthz", timeout=1)
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"uvicorn did not start: {process.stdout.read()}")
            time.sleep(0.2)
    yield base
    process.terminate()
    process.wait(timeout=10)


def test_healthz_over_real_http(server):
    with urllib.request.urlopen(f"{server}/healthz", timeout=5) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/json"
        assert json.load(response) == {"status": "ok"}


def test_the_map_websocket_accepts_a_connection_on_the_same_port(server):
    async def connect() -> bool:
        url = server.replace("http://", "ws://") + "/ws/map/"
        async with websockets.connect(url, origin="http://127.0.0.1") as socket_:
            await socket_.ping()
            return True

    assert asyncio.run(connect())
