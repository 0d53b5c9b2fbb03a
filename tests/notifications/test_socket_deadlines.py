"""Report sockets do not pile up: an unknown report is closed at once, a socket without its secret after a deadline.

Before, 1,000 sockets without a secret to random ids all stayed open; /ws/staff/ already had its deadline.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from tests.notifications.sockets import hang_up
from tests.personas import HAMELN_MARKET

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

HEADERS = [(b"origin", b"http://localhost"), (b"host", b"localhost")]


@pytest.fixture
def application():
    from backend.asgi import application

    return application


@pytest.fixture
def report(demo) -> dict:
    data = {"category": "schlagloch", "lat": str(HAMELN_MARKET[0]), "lon": str(HAMELN_MARKET[1])}
    response = Client().post("/api/v1/reports/", data, secure=True)
    assert response.status_code == 201, response.content
    return response.json()


async def test_sockets_to_unknown_reports_are_closed_at_once_as_not_found(application, demo):
    sockets = [WebsocketCommunicator(application, f"/ws/reports/{uuid.uuid4()}/", headers=HEADERS) for _ in range(50)]
    for socket in sockets:
        assert (await socket.connect())[0]
    # Well before any authentication deadline.
    closes = await asyncio.gather(*(socket.receive_output(timeout=2) for socket in sockets))
    assert closes == [{"type": "websocket.close", "code": 4404}] * 50
    await hang_up(*sockets)


async def test_a_report_socket_without_its_secret_is_closed_after_the_deadline(application, report, monkeypatch):
    monkeypatch.setattr("notifications.consumers.REPORT_AUTH_TIMEOUT_S", 0.3)
    socket = WebsocketCommunicator(application, f"/ws/reports/{report['id']}/", headers=HEADERS)
    assert (await socket.connect())[0]
    await socket.send_json_to({"hello": "anyone?"})  # talking is not authenticating
    assert await socket.receive_output(timeout=5) == {"type": "websocket.close", "code": 4403}
    await hang_up(socket)


async def test_a_report_socket_that_sends_its_secret_in_time_stays_open_past_the_deadline(
    application, report, monkeypatch
):
    monkeypatch.setattr("notifications.consumers.REPORT_AUTH_TIMEOUT_S", 0.3)
    socket = WebsocketCommunicator(application, f"/ws/reports/{report['id']}/", headers=HEADERS)
    assert (await socket.connect())[0]
    await socket.send_json_to({"secret": report["secret"]})
    while (await socket.receive_json_from(timeout=5)).get("type") != "subscribed":
        pass
    await asyncio.sleep(0.5)

    @database_sync_to_async
    def support() -> None:
        response = Client().post(f"/api/v1/reports/{report['id']}/support/", {"device_id": "device-0042"}, secure=True)
        assert response.status_code == 201

    await support()
    assert (await socket.receive_json_from(timeout=5))["kind"] == "supported"
    await hang_up(socket)
