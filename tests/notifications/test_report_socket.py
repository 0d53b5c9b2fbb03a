"""The reporter's app follows its report live: authorised by the secret, with catch-up, each event once."""

from io import StringIO

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.management import call_command
from django.test import Client

from tests.notifications.sockets import hang_up

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

HEADERS = [(b"origin", b"http://localhost"), (b"host", b"localhost")]


@pytest.fixture
def application():
    from backend.asgi import application

    return application


@database_sync_to_async
def new_report(email: str = "anna@example.org") -> dict:
    call_command("load_demo", "--reports", "0", stdout=StringIO())
    response = Client().post(
        "/api/v1/reports/",
        {"category": "schlagloch", "lat": "52.1039", "lon": "9.3576", "email": email, "name": "Anna Beispiel"},
        secure=True,
    )
    assert response.status_code == 201, response.content
    return response.json()


@database_sync_to_async
def support(report_id: str, device: str) -> None:
    response = Client().post(f"/api/v1/reports/{report_id}/support/", {"device_id": device}, secure=True)
    assert response.status_code == 201


async def receive_until_subscribed(socket) -> list[dict]:
    messages = []
    while True:
        message = await socket.receive_json_from(timeout=5)
        if message.get("type") == "subscribed":
            return messages
        messages.append(message)


async def test_the_reporter_gets_the_history_then_live_events_each_once(application, monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "Hameln-Demo-2026")
    report = await new_report()
    socket = WebsocketCommunicator(
        application, f"/ws/reports/{report['id']}/?secret={report['secret']}", headers=HEADERS
    )
    assert (await socket.connect())[0]
    history = await receive_until_subscribed(socket)
    assert [m["kind"] for m in history] == ["created", "routed"]
    assert history[0]["report"]["id"] == report["id"]

    await support(report["id"], "device-0001")
    live = await socket.receive_json_from(timeout=5)
    assert live["kind"] == "supported" and live["seq"] > history[-1]["seq"]
    assert live["report"] == {"id": report["id"], "status": "new", "status_label": "Neu", "support_count": 1}
    assert await socket.receive_nothing(timeout=0.5)
    await hang_up(socket)


async def test_after_a_seq_only_the_missed_events_are_replayed(application, monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "Hameln-Demo-2026")
    report = await new_report()
    await support(report["id"], "device-0002")
    events = (
        await database_sync_to_async(Client().get)(f"/api/v1/reports/{report['id']}/events/", secure=True)
    ).json()["events"]
    routed = next(e for e in events if e["kind"] == "routed")
    socket = WebsocketCommunicator(application, f"/ws/reports/{report['id']}/?after={routed['seq']}", headers=HEADERS)
    assert (await socket.connect())[0]
    await socket.send_json_to({"secret": report["secret"]})  # the secret as first message, not in the URL
    replayed = await receive_until_subscribed(socket)
    assert [m["kind"] for m in replayed] == ["supported"]
    await hang_up(socket)


async def test_a_wrong_secret_is_refused(application, monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "Hameln-Demo-2026")
    report = await new_report()
    socket = WebsocketCommunicator(application, f"/ws/reports/{report['id']}/?secret=falsch", headers=HEADERS)
    await socket.connect()
    output = await socket.receive_output(timeout=5)
    assert output == {"type": "websocket.close", "code": 4403}


async def test_the_map_hears_about_published_reports_without_personal_data(application, monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "Hameln-Demo-2026")
    socket = WebsocketCommunicator(application, "/ws/map/", headers=HEADERS)
    assert (await socket.connect())[0]
    report = await new_report(email="geheim@example.org")
    messages = [await socket.receive_json_from(timeout=5) for _ in range(2)]
    assert [m["kind"] for m in messages] == ["created", "routed"]
    assert messages[0]["report"] == {
        "id": report["id"], "category": "schlagloch", "status": "new", "location": {"lat": 52.1039, "lon": 9.3576},
    }
    assert "geheim" not in str(messages) and "Anna" not in str(messages)
    await hang_up(socket)
