"""One representation of an event: the REST history, the websockets (reporter and staff) and the webhooks
show an event and its report's status under the same name, the installation's StatusLabel."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from rest_framework.authtoken.models import Token

from reports.models import StatusLabel
from tests.notifications.delivery import Receiver, change_status, run_worker
from tests.notifications.sockets import hang_up
from tests.notifications.test_staff_socket import (  # noqa: F401 (application is a fixture)
    HEADERS,
    application,
    staff_socket,
    submit,
    until_subscribed,
)
from tests.notifications.test_webhook_delivery import hameln_webhook
from tests.personas import HAMELN_MARKET

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

RENAMED = "Wird repariert"  # the built-in German label of in_progress is "In Bearbeitung"


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.stop()


@database_sync_to_async
def prepare(personas, receiver: Receiver) -> str:
    """The installation renames "in progress", and Hameln has a webhook; returns the Hameln worker's token."""
    StatusLabel.objects.update_or_create(
        status="in_progress", defaults={"label_de": RENAMED, "label_en": "Being fixed"},
    )
    hameln_webhook(receiver.start())
    return Token.objects.create(user=personas.hameln_worker).key


@database_sync_to_async
def rest_events(report_id: str) -> list[dict]:
    response = Client().get(f"/api/v1/reports/{report_id}/events/", HTTP_ACCEPT_LANGUAGE="de", secure=True)
    assert response.status_code == 200, response.content
    return response.json()["events"]


async def next_of_kind(socket, kind: str) -> dict:
    while True:
        message = await socket.receive_json_from(timeout=5)
        if message.get("kind") == kind:
            return message


async def test_a_renamed_status_reads_the_same_in_rest_websockets_and_webhooks(
    application, personas, receiver  # noqa: F811 (a fixture)
):
    token = await prepare(personas, receiver)
    report = await submit(HAMELN_MARKET)
    reporter = WebsocketCommunicator(
        application, f"/ws/reports/{report['id']}/?secret={report['secret']}", headers=HEADERS,
    )
    assert (await reporter.connect())[0]
    await until_subscribed(reporter)
    staff = await staff_socket(application, token=token)
    await until_subscribed(staff)

    await database_sync_to_async(change_status)(report["id"], "in_progress", actor=personas.hameln_worker)
    pushed = await next_of_kind(reporter, "status_changed")
    staff_pushed = await next_of_kind(staff, "status_changed")
    await database_sync_to_async(run_worker)()
    posted = next(c.json for c in receiver.delivered() if c.json["kind"] == "status_changed")
    listed = (await rest_events(report["id"]))[-1]

    assert listed["kind"] == "status_changed" and listed["status"] == RENAMED
    assert pushed["status"] == RENAMED and pushed["report"]["status_label"] == RENAMED
    assert staff_pushed["status"] == RENAMED and staff_pushed["report"]["status_label"] == RENAMED
    assert posted["status"] == RENAMED and posted["report"]["status_label"] == RENAMED
    await hang_up(reporter)
    await hang_up(staff)
