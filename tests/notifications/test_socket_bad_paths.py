"""Malformed socket requests are refused cleanly: a close code the client can read, no traceback in the log."""

from __future__ import annotations

import logging

import pytest
from channels.testing import WebsocketCommunicator

from tests.notifications.sockets import hang_up

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

HEADERS = [(b"origin", b"http://localhost"), (b"host", b"localhost")]


@pytest.fixture
def application():
    from backend.asgi import application

    return application


@pytest.mark.parametrize(
    "path",
    [
        "/ws/reports/not-a-uuid/",
        "/ws/reports/12345/",
        "/ws/reports/",
        "/ws/reports/8a4d1f8e-0000-4000-8000-000000000000/extra/",
        "/ws/nothing/",
        "/",
    ],
)
async def test_a_socket_to_a_malformed_report_id_or_unknown_path_is_closed_as_not_found_without_an_error(
    application, demo, caplog, path
):
    caplog.set_level(logging.WARNING)
    socket = WebsocketCommunicator(application, path, headers=HEADERS)
    assert (await socket.connect())[0]
    assert await socket.receive_output(timeout=5) == {"type": "websocket.close", "code": 4404}
    await hang_up(socket)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


@pytest.mark.parametrize("frame", [{"text_data": "kein JSON {"}, {"bytes_data": b"\x00\x01"}])
async def test_a_frame_that_is_not_json_counts_as_no_token_on_the_staff_socket(application, demo, caplog, frame):
    socket = WebsocketCommunicator(application, "/ws/staff/", headers=HEADERS)
    assert (await socket.connect())[0]
    await socket.send_to(**frame)
    assert await socket.receive_output(timeout=5) == {"type": "websocket.close", "code": 4403}
    await hang_up(socket)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


@pytest.mark.parametrize("after", ["-1", "abc", "1e3", "99999999999999999999", "9" * 5000])
@pytest.mark.parametrize("path", ["/ws/reports/8a4d1f8e-0000-4000-8000-000000000000/", "/ws/staff/"])
async def test_a_catch_up_position_that_is_no_event_number_is_refused_without_an_error(
    application, demo, caplog, path, after
):
    caplog.set_level(logging.WARNING)
    socket = WebsocketCommunicator(application, f"{path}?after={after}", headers=HEADERS)
    connected, code = await socket.connect()
    assert (connected, code) == (False, 4400)
    await hang_up(socket)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
