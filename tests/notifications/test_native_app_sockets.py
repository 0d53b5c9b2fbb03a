"""Native apps follow the map, their report and the staff work list through a real server, sending no Origin.

iOS and Android websocket clients send no Origin header. Here the ``websockets`` client (which sends none
unless told) talks to uvicorn as ``make run`` starts it, with its own database: each socket receives a
real event committed over HTTP.
"""

from __future__ import annotations

import asyncio
import json
import os
import urllib.parse
import urllib.request

import pytest
import websockets

from tests.conftest import manage
from tests.live import migrated_database, uvicorn_process
from tests.personas import HAMELN_MARKET

pytestmark = pytest.mark.asyncio

WORKER, PASSWORD = "bauhof-app", "Worker-Pass-2026"
CREATE_WORKER = f"""
from django.contrib.auth import get_user_model
from geo.models import Department, Membership, StaffRole
user = get_user_model().objects.create_user(username={WORKER!r}, password={PASSWORD!r})
Membership.objects.create(user=user, department=Department.objects.get(slug="bauhof-hameln"), role=StaffRole.WORKER)
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """uvicorn on this run's database backend with the demo configuration and one worker; yields (base, process)."""
    directory = tmp_path_factory.mktemp("native-app-server")
    with migrated_database(directory) as database:
        env = {"DEBUG": "true", "DATA_DIR": str(directory), "DATABASE_URL": database}
        result = manage("shell", "-c", CREATE_WORKER, env=env, timeout=300)
        assert result.returncode == 0, result.stderr
        with uvicorn_process(env) as (base, process):
            os.set_blocking(process.stdout.fileno(), False)  # to read what it logged so far, while it runs
            yield base, process


def logged_so_far(process) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(process.stdout.fileno(), 65536)
        except BlockingIOError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


def post(base: str, path: str, data: dict) -> dict:
    request = urllib.request.Request(f"{base}{path}", data=urllib.parse.urlencode(data).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


async def next_of(socket: websockets.ClientConnection, report_id: str, kind: str) -> dict:
    """The next message about this report of this kind (skipping others' and the replay's)."""
    while True:
        message = json.loads(await asyncio.wait_for(socket.recv(), timeout=10))
        if message.get("kind") == kind and message.get("report", {}).get("id") == report_id:
            return message


async def test_map_report_and_staff_sockets_without_origin_receive_real_events(server):
    base, _process = server
    ws = base.replace("http://", "ws://")
    answer = await asyncio.to_thread(post, base, "/api/staff/auth/token/", {"username": WORKER, "password": PASSWORD})
    token = answer["token"]

    async with websockets.connect(f"{ws}/ws/map/", open_timeout=10) as map_socket, \
            websockets.connect(f"{ws}/ws/staff/", open_timeout=10) as staff:
        assert "Origin" not in map_socket.request.headers and "Origin" not in staff.request.headers
        await staff.send(json.dumps({"token": token}))
        subscribed = json.loads(await asyncio.wait_for(staff.recv(), timeout=10))
        assert subscribed["type"] == "subscribed" and len(subscribed["departments"]) == 1

        report = await asyncio.to_thread(post, base, "/api/v1/reports/", {
            "category": "schlagloch", "lat": str(HAMELN_MARKET[0]), "lon": str(HAMELN_MARKET[1]),
        })
        assert (await next_of(map_socket, report["id"], "created"))["report"]["category"] == "schlagloch"
        assert (await next_of(staff, report["id"], "created"))["report"]["reference"] == report["reference"]

        async with websockets.connect(f"{ws}/ws/reports/{report['id']}/", open_timeout=10) as reporter:
            assert "Origin" not in reporter.request.headers
            await reporter.send(json.dumps({"secret": report["secret"]}))
            while json.loads(await asyncio.wait_for(reporter.recv(), timeout=10)).get("type") != "subscribed":
                pass
            await asyncio.to_thread(post, base, f"/api/v1/reports/{report['id']}/support/", {"device_id": "phone-0001"})
            supported = await next_of(reporter, report["id"], "supported")
            assert supported["report"]["support_count"] == 1
        assert (await next_of(staff, report["id"], "supported"))["public"] is True


async def test_a_foreign_origin_is_still_refused_by_the_real_server(server):
    base, _process = server
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(
            base.replace("http://", "ws://") + "/ws/map/", origin="https://evil.example", open_timeout=10
        )
    assert refused.value.response.status_code == 403


async def test_a_malformed_report_id_is_closed_as_not_found_and_the_server_logs_no_traceback(server):
    base, process = server
    async with websockets.connect(
        base.replace("http://", "ws://") + "/ws/reports/not-a-uuid/", open_timeout=10
    ) as socket:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), timeout=10)
    assert closed.value.rcvd.code == 4404
    await asyncio.sleep(0.5)  # what the server would log, it logs right away
    log = logged_so_far(process)
    assert "not-a-uuid" in log  # uvicorn's access log line: the server's output is really read
    assert "Traceback" not in log and "ERROR" not in log

