"""The public map socket: anyone may listen, events sent to the map group reach every listener."""

import pytest
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from notifications.consumers import MAP_GROUP

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

HEADERS = [(b"origin", b"http://localhost"), (b"host", b"localhost")]


@pytest.fixture
def application():
    # Imported here, not at collection: building the ASGI app loads the middleware, which
    # expects the static files that the session fixture collects.
    from backend.asgi import application

    return application


async def test_two_map_clients_both_receive_an_event_sent_to_the_map_group(application):
    first = WebsocketCommunicator(application, "/ws/map/", headers=HEADERS)
    second = WebsocketCommunicator(application, "/ws/map/", headers=HEADERS)
    assert (await first.connect())[0] and (await second.connect())[0]

    payload = {"seq": 17, "kind": "status_changed", "report": {"id": "x", "status": "fixed"}}
    await get_channel_layer().group_send(MAP_GROUP, {"type": "report.event", "payload": payload})

    assert await first.receive_json_from(timeout=5) == payload
    assert await second.receive_json_from(timeout=5) == payload
    await first.disconnect()
    await second.disconnect()


async def test_a_foreign_origin_is_refused(application):
    communicator = WebsocketCommunicator(application, "/ws/map/", headers=[(b"origin", b"https://evil.example")])
    connected, _ = await communicator.connect()
    assert not connected


async def test_an_unknown_socket_path_is_refused(application):
    communicator = WebsocketCommunicator(application, "/ws/nothing/", headers=HEADERS)
    with pytest.raises(ValueError, match="No route found"):
        await communicator.connect()
