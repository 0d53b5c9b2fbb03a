"""A staff socket holds only while its credentials do: a revoked token, a logout, a deactivated account or a
removed membership closes it, and not one internal note reaches it afterwards.

Close codes: 4401 the credential is gone, 4403 no department is left, 4409 the departments changed
(reconnect with ``?after=``).
"""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.authtoken.models import Token

from geo.models import Membership, StaffRole
from reports import services
from reports.models import Report
from tests.notifications.sockets import hang_up
from tests.personas import HAMELN_MARKET

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

HEADERS = [(b"origin", b"http://localhost"), (b"host", b"localhost")]
NOTE = "Schlüssel liegt beim Hausmeister."


@pytest.fixture
def application():
    from backend.asgi import application

    return application


@pytest.fixture
def token(personas) -> str:
    return Token.objects.create(user=personas.hameln_worker).key


@pytest.fixture
def report(personas) -> Report:
    data = {"category": "schlagloch", "lat": str(HAMELN_MARKET[0]), "lon": str(HAMELN_MARKET[1])}
    response = Client().post("/api/v1/reports/", data, secure=True)
    assert response.status_code == 201, response.content
    return Report.objects.get(public_id=response.json()["id"])


@database_sync_to_async
def note(report: Report, actor, text: str = NOTE) -> None:
    services.report_note(report=Report.objects.get(pk=report.pk), actor=actor, note=text)


async def subscribed_socket(application, path: str = "/ws/staff/", headers=HEADERS, token: str | None = None):
    socket = WebsocketCommunicator(application, path, headers=headers)
    assert (await socket.connect())[0]
    if token is not None:
        await socket.send_json_to({"token": token})
    while (await socket.receive_json_from(timeout=5)).get("type") != "subscribed":
        pass
    return socket


async def closed_with(socket: WebsocketCommunicator) -> int:
    output = await socket.receive_output(timeout=5)
    assert output["type"] == "websocket.close", output
    return output["code"]


async def test_revoking_the_token_closes_its_socket_and_no_internal_note_reaches_it(
    application, personas, token, report
):
    socket = await subscribed_socket(application, token=token)
    revoked = await database_sync_to_async(Client().delete)(
        "/api/staff/auth/token/revoke/", HTTP_AUTHORIZATION=f"Token {token}", secure=True
    )
    assert revoked.status_code == 204
    assert await closed_with(socket) == 4401
    await note(report, personas.hameln_lead)
    assert await socket.receive_nothing(timeout=0.5)
    await hang_up(socket)


async def test_an_administrator_deleting_the_token_of_a_lost_phone_in_the_admin_closes_its_socket(
    application, personas, token, report
):
    socket = await subscribed_socket(application, token=token)

    @database_sync_to_async
    def delete_in_the_admin() -> int:
        admin = Client()
        admin.force_login(get_user_model().objects.create_superuser(username="token-admin", password=personas.password))
        path = f"/admin/authtoken/tokenproxy/{personas.hameln_worker.pk}/delete/"
        return admin.post(path, {"post": "yes"}, secure=True).status_code

    assert await delete_in_the_admin() == 302
    assert not await database_sync_to_async(Token.objects.filter(key=token).exists)()
    assert await closed_with(socket) == 4401
    await note(report, personas.hameln_lead)
    assert await socket.receive_nothing(timeout=0.5)
    await hang_up(socket)


async def test_the_same_workers_session_socket_keeps_hearing_when_only_the_token_is_revoked(
    application, personas, token, report
):
    client = Client()
    await database_sync_to_async(client.force_login)(personas.hameln_worker)
    cookie = (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())
    web = await subscribed_socket(application, headers=[*HEADERS, cookie])
    app = await subscribed_socket(application, token=token)
    await database_sync_to_async(Token.objects.filter(key=token).delete)()
    assert await closed_with(app) == 4401
    await note(report, personas.hameln_lead)
    heard = await web.receive_json_from(timeout=5)
    assert (heard["kind"], heard["message"]) == ("internal_note", NOTE)
    await hang_up(web)
    await hang_up(app)


async def test_logging_out_of_the_staff_pages_closes_the_socket_of_that_session(application, personas, report):
    client = Client()
    await database_sync_to_async(client.force_login)(personas.hameln_worker)
    cookie = (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())
    socket = await subscribed_socket(application, headers=[*HEADERS, cookie])
    response = await database_sync_to_async(client.post)("/staff/logout/", secure=True)
    assert response.status_code == 302
    assert await closed_with(socket) == 4401
    await note(report, personas.hameln_lead)
    assert await socket.receive_nothing(timeout=0.5)
    await hang_up(socket)


async def test_deactivating_the_account_closes_its_socket(application, personas, token, report):
    socket = await subscribed_socket(application, token=token)

    @database_sync_to_async
    def deactivate() -> None:
        worker = get_user_model().objects.get(pk=personas.hameln_worker.pk)
        worker.is_active = False
        worker.save()

    await deactivate()
    assert await closed_with(socket) == 4401
    await note(report, personas.hameln_lead)
    assert await socket.receive_nothing(timeout=0.5)
    await hang_up(socket)


async def test_removing_the_last_membership_closes_the_socket_as_unauthorised(application, personas, token, report):
    socket = await subscribed_socket(application, token=token)
    await database_sync_to_async(Membership.objects.filter(user=personas.hameln_worker).delete)()
    assert await closed_with(socket) == 4403
    await note(report, personas.hameln_lead)
    assert await socket.receive_nothing(timeout=0.5)
    await hang_up(socket)


async def test_a_new_department_asks_the_socket_to_reconnect_and_the_reconnected_one_follows_both(
    application, personas, token
):
    socket = await subscribed_socket(application, token=token)
    await database_sync_to_async(Membership.objects.create)(
        user=personas.hameln_worker, department=personas.hildesheim_department, role=StaffRole.WORKER
    )
    assert await closed_with(socket) == 4409
    await hang_up(socket)

    again = WebsocketCommunicator(application, f"/ws/staff/?token={token}&after=0", headers=HEADERS)
    assert (await again.connect())[0]
    while (message := await again.receive_json_from(timeout=5)).get("type") != "subscribed":
        pass
    assert message["departments"] == sorted([personas.bauhof_hameln.pk, personas.hildesheim_department.pk])
    await hang_up(again)


async def test_a_deactivation_no_signal_announced_is_caught_before_the_next_internal_note(
    application, personas, token, report, monkeypatch
):
    # A bulk update sends no signal (as would a change made in another process's in-memory layer):
    # the socket re-checks before forwarding once its last check is older than STAFF_RECHECK_S.
    monkeypatch.setattr("notifications.consumers.STAFF_RECHECK_S", 0)
    socket = await subscribed_socket(application, token=token)
    await database_sync_to_async(get_user_model().objects.filter(pk=personas.hameln_worker.pk).update)(is_active=False)
    await note(report, personas.hameln_lead)
    assert await closed_with(socket) == 4401
    assert await socket.receive_nothing(timeout=0.5)
    await hang_up(socket)


async def test_an_unrelated_change_of_the_account_leaves_the_socket_hearing(application, personas, token, report):
    socket = await subscribed_socket(application, token=token)

    @database_sync_to_async
    def rename() -> None:
        worker = get_user_model().objects.get(pk=personas.hameln_worker.pk)
        worker.first_name = "Bauhof-Mitarbeiterin"
        worker.save()

    await rename()
    await note(report, personas.hameln_lead)
    heard = await socket.receive_json_from(timeout=5)
    assert (heard["kind"], heard["message"]) == ("internal_note", NOTE)
    await hang_up(socket)
