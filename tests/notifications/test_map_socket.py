"""The public map socket: anyone may listen, events sent to the map group reach every listener."""

from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import Client

from notifications.consumers import MAP_GROUP
from tests.notifications.sockets import hang_up

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

HEADERS = [(b"origin", b"http://localhost"), (b"host", b"localhost")]
PHOTOS = Path(__file__).resolve().parents[2] / "data" / "photos"


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
    await hang_up(first)
    await hang_up(second)


async def test_a_foreign_origin_is_refused(application):
    communicator = WebsocketCommunicator(application, "/ws/map/", headers=[(b"origin", b"https://evil.example")])
    connected, _ = await communicator.connect()
    assert not connected


async def test_an_unknown_socket_path_is_refused(application):
    # Closed with 4404 (tests/notifications/test_socket_bad_paths.py), no longer an error in the router.
    communicator = WebsocketCommunicator(application, "/ws/nothing/", headers=HEADERS)
    assert (await communicator.connect())[0]
    assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": 4404}
    await hang_up(communicator)


async def test_map_messages_carry_exactly_the_anonymised_fields_and_never_an_internal_note(application, demo):
    socket = WebsocketCommunicator(application, "/ws/map/", headers=HEADERS)
    assert (await socket.connect())[0]

    @database_sync_to_async
    def submit_with_far_away_photo() -> dict:
        # Photo 19 was taken in Rietberg, far from the given position: staff get an internal note.
        photo = PHOTOS / "19_jpeg_sony-hx5v_o1_gps-rietberg-nrw-germany.jpg"
        with open(photo, "rb") as file:
            response = Client().post("/api/v1/reports/", {
                "category": "schlagloch", "lat": "52.1039", "lon": "9.3576", "photos": [file],
                "name": "Anna Beispiel", "email": "anna.beispiel@example.org", "description": "Loch",
            }, secure=True)
        assert response.status_code == 201, response.content
        return response.json()

    report = await submit_with_far_away_photo()
    messages = [await socket.receive_json_from(timeout=5) for _ in range(3)]
    assert [m["kind"] for m in messages] == ["created", "routed", "photo_added"]
    for message in messages:
        assert set(message) == {"seq", "kind", "report"}
        assert message["report"] == {
            "id": report["id"], "category": "schlagloch", "status": "new", "location": {"lat": 52.1039, "lon": 9.3576},
        }
    assert await socket.receive_nothing(timeout=0.5)
    await hang_up(socket)
