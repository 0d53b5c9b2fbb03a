"""The map's per-process broadcaster: every map socket of a server process gets each event of the map group
exactly once, in order, as the same JSON text as before; sockets that leave, stall or break affect nobody
else; and the sockets keep getting events after the group membership would have expired and after Redis
restarts."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from urllib.parse import urlsplit

import pytest
import redis
import websockets
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.typing import Origin
from websockets.uri import parse_uri

from notifications.groups import MAP_GROUP
from tests.live import uvicorn
from tests.notifications.delivery import RedisServer

pytestmark = [pytest.mark.asyncio, pytest.mark.backend_independent]

HEADERS = [(b"origin", b"http://localhost"), (b"host", b"localhost")]


@pytest.fixture
def application():
    # Imported here, not at collection: building the ASGI app loads the middleware, which
    # expects the static files that the session fixture collects.
    from backend.asgi import application

    return application


def redis_layer(url: str) -> dict:
    return {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [url]}}}


def event(seq: int, **extra) -> dict:
    return {"seq": seq, "kind": "status_changed", "report": {"id": f"r{seq}", "status": "fixed", **extra}}


async def publish(payload: dict) -> None:
    await get_channel_layer().group_send(MAP_GROUP, {"type": "report.event", "payload": payload})


async def map_sockets(application, count: int) -> list[WebsocketCommunicator]:
    sockets = [WebsocketCommunicator(application, "/ws/map/", headers=HEADERS) for _ in range(count)]
    for communicator in sockets:
        assert (await communicator.connect())[0]
    return sockets


async def test_fifty_map_sockets_in_one_process_each_get_every_event_once_in_order_as_the_same_json_text(application):
    sockets = await map_sockets(application, 50)
    payloads = [event(seq, note="Straße") for seq in (3, 4, 5)]
    for payload in payloads:
        await publish(payload)

    for communicator in sockets:
        # The same text the consumer's send_json wrote before: json.dumps with its defaults.
        assert [await communicator.receive_from(timeout=5) for _ in payloads] == [json.dumps(p) for p in payloads]
    for communicator in sockets:
        assert await communicator.receive_nothing(timeout=0.05)
        await communicator.disconnect()


async def test_a_map_socket_that_disconnects_gets_nothing_more_and_the_others_keep_receiving(application):
    leaving, staying, other = await map_sockets(application, 3)
    await publish(event(1))
    for communicator in (leaving, staying, other):
        assert (await communicator.receive_json_from(timeout=5))["seq"] == 1

    await leaving.disconnect()
    await publish(event(2))
    assert (await staying.receive_json_from(timeout=5))["seq"] == 2
    assert (await other.receive_json_from(timeout=5))["seq"] == 2
    assert await leaving.receive_nothing(timeout=0.2)

    # The last sockets leave and a new one comes: it is served as the first one was.
    await staying.disconnect()
    await other.disconnect()
    (newcomer,) = await map_sockets(application, 1)
    await publish(event(3))
    assert (await newcomer.receive_json_from(timeout=5))["seq"] == 3
    await newcomer.disconnect()


async def test_a_map_socket_keeps_getting_events_after_its_group_membership_would_have_expired(application, settings):
    # Channel layers drop group members older than group_expiry (a day by default): the broadcaster
    # renews its membership in time.
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"group_expiry": 2}}
    }
    (communicator,) = await map_sockets(application, 1)
    await asyncio.sleep(4)
    await publish(event(7))
    assert (await communicator.receive_json_from(timeout=5))["seq"] == 7
    await communicator.disconnect()


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_map_sockets_over_redis_get_each_event_once_and_again_after_redis_restarts(
    application, settings, redis_server
):
    settings.CHANNEL_LAYERS = redis_layer(redis_server.url)
    sockets = await map_sockets(application, 20)
    await publish(event(1))
    for communicator in sockets:
        assert (await communicator.receive_json_from(timeout=5))["seq"] == 1
        assert await communicator.receive_nothing(timeout=0.01)

    redis_server.stop()  # the group and every queued message are gone with it
    await asyncio.sleep(1)
    redis_server.start()

    # Events published before the broadcaster has joined the new Redis's group reach nobody; then every one
    # reaches every socket, without a socket having reconnected.
    seq, deadline = 100, time.monotonic() + 30
    while True:
        seq += 1
        try:
            await publish(event(seq))
        except redis.ConnectionError:  # the publisher's pooled connection died with the old server; the next is new
            pass
        arrived = not await sockets[0].receive_nothing(timeout=0.5)
        if arrived or time.monotonic() > deadline:
            break
    assert arrived, "no event reached the map sockets within 30 s of Redis coming back"
    first = (await sockets[0].receive_json_from())["seq"]
    for communicator in sockets[1:]:
        assert (await communicator.receive_json_from(timeout=5))["seq"] == first

    await publish(event(500))
    for communicator in sockets:
        assert (await communicator.receive_json_from(timeout=5))["seq"] == 500
        assert await communicator.receive_nothing(timeout=0.01)
    for communicator in sockets:
        await communicator.disconnect()


# Through a real server: only there can a client be slow (uvicorn's send waits while the connection's
# write buffer is full) or vanish without a closing handshake.


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    redis_ = RedisServer(tmp_path_factory.mktemp("redis"))
    redis_.start()
    try:
        env = {"DEBUG": "true", "DATA_DIR": str(tmp_path_factory.mktemp("server")), "REDIS_URL": redis_.url}
        with uvicorn(env) as base:
            yield base.replace("http://", "ws://") + "/ws/map/", redis_.url
    finally:
        redis_.stop()


async def connect(url: str) -> websockets.ClientConnection:
    # Uncompressed, as the stalled client below: the frames' size is what fills the buffers.
    return await websockets.connect(url, origin="http://127.0.0.1", open_timeout=10, compression=None)


async def read_seqs(connection: websockets.ClientConnection, count: int) -> list[int]:
    return [json.loads(await connection.recv())["seq"] for _ in range(count)]


class StalledClient:
    """A map client that completes the handshake and then reads nothing, until ``read_to_end``.

    (A websockets client keeps reading in the background; here the protocol runs over a bare socket
    with a tiny receive buffer, so the server's writes back up as they would to a stuck phone.)
    """

    def __init__(self, url: str) -> None:
        self.protocol = ClientProtocol(parse_uri(url), origin=Origin("http://127.0.0.1"))
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: the window is agreed then
        self.sock.setblocking(False)
        self.address = ("127.0.0.1", urlsplit(url).port)

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.sock_connect(self.sock, self.address)
        self.protocol.send_request(self.protocol.connect())
        await loop.sock_sendall(self.sock, b"".join(self.protocol.data_to_send()))
        while self.protocol.handshake_exc is None and self.protocol.state is State.CONNECTING:
            self.protocol.receive_data(await asyncio.wait_for(loop.sock_recv(self.sock, 4096), 10))
        assert self.protocol.state is State.OPEN, self.protocol.handshake_exc

    async def read_to_end(self, timeout: float) -> tuple[list[int], int | None]:
        """Read again: the seqs of the frames that were waiting, and the close code that followed them."""
        loop = asyncio.get_running_loop()
        while self.protocol.state is not State.CLOSED:
            data = await asyncio.wait_for(loop.sock_recv(self.sock, 1 << 20), timeout)
            if data:
                self.protocol.receive_data(data)
            else:
                self.protocol.receive_eof()
            # Answers the server's close (and pings), so the server ends the connection without waiting.
            await loop.sock_sendall(self.sock, b"".join(self.protocol.data_to_send()))
        self.sock.close()
        frames = [e for e in self.protocol.events_received() if isinstance(e, Frame) and e.opcode is Opcode.TEXT]
        return [json.loads(frame.data)["seq"] for frame in frames], self.protocol.close_code


async def test_a_map_client_that_stops_reading_neither_delays_the_others_nor_stays_connected(live, settings):
    url, redis_url = live
    settings.CHANNEL_LAYERS = redis_layer(redis_url)
    readers = [await connect(url) for _ in range(3)]
    stalled = StalledClient(url)
    await stalled.connect()

    # 200 frames of 128 KiB: far more than the stalled connection's socket buffers hold (4 MiB), so the
    # server's send to it waits for good, while the others read on. Published in batches the readers keep
    # up with (the layer drops what is beyond a channel's capacity of 100 messages).
    count, batch, padding = 200, 20, "x" * 128 * 1024
    for first in range(1, count + 1, batch):
        for seq in range(first, first + batch):
            await publish(event(seq, padding=padding))
        try:
            got = await asyncio.wait_for(asyncio.gather(*(read_seqs(r, batch) for r in readers)), 20)
        except TimeoutError:
            pytest.fail(f"a client that stops reading held up the others (events {first}…)")
        assert got == [list(range(first, first + batch))] * len(readers)

    # Once it reads again it finds what its buffers held and then a "try again later" close: the map
    # page reconnects and reloads, instead of the server keeping its frames without end.
    received, close_code = await stalled.read_to_end(timeout=20)
    assert close_code == 1013
    assert 0 < len(received) < count and received == list(range(1, len(received) + 1))
    for reader in readers:
        await reader.close()


async def test_a_map_client_that_vanishes_mid_stream_does_not_stop_the_others(live, settings):
    url, redis_url = live
    settings.CHANNEL_LAYERS = redis_layer(redis_url)
    readers = [await connect(url) for _ in range(3)]
    vanishing = [await connect(url) for _ in range(3)]
    reading = [asyncio.create_task(read_seqs(reader, 40)) for reader in readers]
    for seq in range(1, 41):
        await publish(event(seq))
        if seq == 5:
            for connection in vanishing:
                connection.transport.abort()  # no closing handshake: the server finds out while sending
        await asyncio.sleep(0.01)
    done, _ = await asyncio.wait(reading, timeout=20)
    assert len(done) == len(readers), "a vanished client held up the others"
    assert [task.result() for task in reading] == [list(range(1, 41))] * len(readers)

    # A client connecting now is served as ever.
    newcomer = await connect(url)
    await publish(event(41))
    assert json.loads(await asyncio.wait_for(newcomer.recv(), 5))["seq"] == 41
    for connection in (*readers, newcomer):
        await connection.close()
