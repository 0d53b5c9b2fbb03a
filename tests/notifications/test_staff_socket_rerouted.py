"""A corrected location or category that routes a report to another department: both departments hear it live.

Personas (tests/personas.py): the Hameln Bauhof worker and lead; Bauhof Aerzen gets a worker of its own here.
"""

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from geo.models import Department, Membership, StaffRole
from tests.mobile_api.staff.conftest import staff_client
from tests.notifications.sockets import hang_up
from tests.notifications.test_staff_socket import application, receive, staff_socket, submit, until_subscribed  # noqa: F401
from tests.personas import HAMELN_MARKET

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

AERZEN = (52.056278, 9.25317)  # lat, lon: a point inside the Gemeinde Aerzen


@pytest.fixture
def tokens(personas) -> dict[str, str]:
    aerzen_worker = get_user_model().objects.create_user(username="aerzen-worker", password="Persona-Pass-2026")
    Membership.objects.create(user=aerzen_worker, department=Department.objects.get(slug="bauhof-aerzen"),
                              role=StaffRole.WORKER)
    return {
        "hameln_worker": Token.objects.create(user=personas.hameln_worker).key,
        "aerzen_worker": Token.objects.create(user=aerzen_worker).key,
    }


@database_sync_to_async
def move(report: dict, user, **body) -> int:
    return staff_client(user).patch(f"/api/staff/reports/{report['id']}/", body, format="json").status_code


async def test_a_report_moved_to_aerzen_reaches_aerzen_and_hameln_learns_it_left(
    application, personas, tokens  # noqa: F811 (a fixture)
):
    hameln = await staff_socket(application, token=tokens["hameln_worker"])
    await until_subscribed(hameln)
    aerzen = await staff_socket(application, token=tokens["aerzen_worker"])
    await until_subscribed(aerzen)
    report = await submit(HAMELN_MARKET)
    before = (await receive(hameln, 2))[-1]["seq"]

    assert await move(report, personas.hameln_lead, lat=AERZEN[0], lon=AERZEN[1]) == 200

    # Aerzen hears the whole correction; Hameln the decision that took the report away, and where to.
    arrived = await receive(aerzen, 2)
    [left] = await receive(hameln, 1)
    assert [m["kind"] for m in arrived] == ["location_changed", "routed"]
    assert left == arrived[-1]
    assert left["report"]["department"]["name"] == "Bauhof Aerzen"
    assert await hameln.receive_nothing(timeout=0.5)
    await hang_up(hameln)

    # A Hameln worker who was offline catches up on the move, too.
    again = await staff_socket(application, query=f"?after={before}", token=tokens["hameln_worker"])
    replayed, _ = await until_subscribed(again)
    assert [m["seq"] for m in replayed] == [left["seq"]]
    await hang_up(again)
    await hang_up(aerzen)
