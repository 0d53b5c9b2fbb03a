"""The ASGI application under uvicorn, as make run and compose start it: HTTP and websockets on one port."""

import asyncio
import json
import urllib.request

import pytest
import websockets

from tests.live import uvicorn

# The embedded default without tables, in a server process of its own: the run's database backend plays no part.
pytestmark = pytest.mark.backend_independent


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # The embedded default without tables: /healthz needs none.
    with uvicorn({"DEBUG": "true", "DATA_DIR": str(tmp_path_factory.mktemp("server"))}) as base:
        yield base


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
