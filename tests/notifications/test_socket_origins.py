"""Who may open a websocket, by Origin: native apps send none, the own site sends its own, other sites are refused.

The matrix for /ws/map/, /ws/reports/{id}/ and /ws/staff/: no Origin (iOS/Android clients) / the site's own
Origin / a foreign Origin, each with what a client may carry: a token or the report's secret, a session
cookie, nothing. A session cookie without Origin counts for nothing: a browser always sends an Origin.
"""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from rest_framework.authtoken.models import Token

from tests.notifications.sockets import hang_up
from tests.personas import HAMELN_MARKET

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

HOST = (b"host", b"localhost")
NO_ORIGIN: list[tuple[bytes, bytes]] = []
OWN_ORIGIN = [(b"origin", b"http://localhost")]
FOREIGN_ORIGIN = [(b"origin", b"https://evil.example")]
ALLOWED_ORIGINS = pytest.mark.parametrize("origin", [NO_ORIGIN, OWN_ORIGIN], ids=["no Origin", "own Origin"])


@pytest.fixture
def application():
    from backend.asgi import application

    return application


@pytest.fixture
def short_deadlines(monkeypatch):
    monkeypatch.setattr("notifications.consumers.STAFF_AUTH_TIMEOUT_S", 0.3)
    monkeypatch.setattr("notifications.consumers.REPORT_AUTH_TIMEOUT_S", 0.3)


@pytest.fixture
def worker_token(personas) -> str:
    return Token.objects.create(user=personas.hameln_worker).key


@pytest.fixture
def worker_cookie(personas) -> tuple[bytes, bytes]:
    client = Client()
    client.force_login(personas.hameln_worker)
    return b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()


@pytest.fixture
def report(personas) -> dict:
    data = {"category": "schlagloch", "lat": str(HAMELN_MARKET[0]), "lon": str(HAMELN_MARKET[1])}
    response = Client().post("/api/v1/reports/", data, secure=True)
    assert response.status_code == 201, response.content
    return response.json()


def socket(application, path: str, *headers: tuple[bytes, bytes]) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, path, headers=[HOST, *headers])


async def subscribed(socket: WebsocketCommunicator) -> dict:
    while (message := await socket.receive_json_from(timeout=5)).get("type") != "subscribed":
        pass
    return message


@pytest.mark.parametrize("endpoint", ["map", "report", "staff"])
@pytest.mark.parametrize("credential", ["token or secret", "session", "nothing"])
async def test_a_foreign_origin_is_refused_at_the_handshake_whatever_it_carries(
    application, report, worker_token, worker_cookie, endpoint, credential
):
    paths = {
        "map": "/ws/map/",
        "report": f"/ws/reports/{report['id']}/" + (f"?secret={report['secret']}" if credential != "nothing" else ""),
        "staff": "/ws/staff/" + (f"?token={worker_token}" if credential == "token or secret" else ""),
    }
    cookie = [worker_cookie] if credential == "session" else []
    refused = socket(application, paths[endpoint], *FOREIGN_ORIGIN, *cookie)
    accepted, _code = await refused.connect()
    assert not accepted
    await hang_up(refused)


@ALLOWED_ORIGINS
async def test_the_map_is_open_to_native_apps_and_to_the_own_site(application, personas, origin):
    map_socket = socket(application, "/ws/map/", *origin)
    assert (await map_socket.connect())[0]
    new = await database_sync_to_async(Client().post)(
        "/api/v1/reports/", {"category": "schlagloch", "lat": "52.1039", "lon": "9.3576"}, secure=True
    )
    created = await map_socket.receive_json_from(timeout=5)
    assert (created["kind"], created["report"]["id"]) == ("created", new.json()["id"])
    await hang_up(map_socket)


@ALLOWED_ORIGINS
async def test_the_reporter_app_follows_its_report_with_the_secret(application, report, origin):
    reporter = socket(application, f"/ws/reports/{report['id']}/?secret={report['secret']}", *origin)
    assert (await reporter.connect())[0]
    assert (await subscribed(reporter))["last_seq"] > 0
    await hang_up(reporter)


@ALLOWED_ORIGINS
async def test_the_staff_app_subscribes_with_its_token(application, personas, worker_token, origin):
    staff = socket(application, "/ws/staff/", *origin)
    assert (await staff.connect())[0]
    await staff.send_json_to({"token": worker_token})
    assert (await subscribed(staff))["departments"] == [personas.bauhof_hameln.pk]
    await hang_up(staff)


async def test_the_staff_web_pages_subscribe_with_their_session_from_the_own_site(
    application, personas, worker_cookie
):
    staff = socket(application, "/ws/staff/", *OWN_ORIGIN, worker_cookie)
    assert (await staff.connect())[0]
    assert (await subscribed(staff))["departments"] == [personas.bauhof_hameln.pk]
    await hang_up(staff)


async def test_a_session_cookie_without_origin_is_not_taken_for_staff(application, worker_cookie, short_deadlines):
    staff = socket(application, "/ws/staff/", worker_cookie)
    assert (await staff.connect())[0]
    # Nothing subscribed, nothing sent: closed when the authentication deadline passes.
    assert await staff.receive_output(timeout=5) == {"type": "websocket.close", "code": 4403}
    await hang_up(staff)


async def test_a_native_app_that_also_sends_a_cookie_is_served_by_its_token(
    application, personas, worker_token, worker_cookie
):
    staff = socket(application, f"/ws/staff/?token={worker_token}", worker_cookie)
    assert (await staff.connect())[0]
    assert (await subscribed(staff))["departments"] == [personas.bauhof_hameln.pk]
    await hang_up(staff)


# Every allowed-origin case without a token or secret, except the staff web pages' own (subscribed, above).
UNAUTHENTICATED = [
    (endpoint, credential, origin)
    for endpoint in ("report", "staff")
    for credential in ("session", "nothing")
    for origin in ("no Origin", "own Origin")
    if (endpoint, credential, origin) != ("staff", "session", "own Origin")
]


@pytest.mark.parametrize(("endpoint", "credential", "origin"), UNAUTHENTICATED)
async def test_without_token_or_secret_a_socket_is_closed_after_the_deadline(
    application, report, worker_cookie, short_deadlines, endpoint, credential, origin
):
    path = {"report": f"/ws/reports/{report['id']}/", "staff": "/ws/staff/"}[endpoint]
    headers = {"no Origin": NO_ORIGIN, "own Origin": OWN_ORIGIN}[origin]
    cookie = [worker_cookie] if credential == "session" else []
    anonymous = socket(application, path, *headers, *cookie)
    assert (await anonymous.connect())[0]
    assert await anonymous.receive_output(timeout=5) == {"type": "websocket.close", "code": 4403}
    await hang_up(anonymous)
