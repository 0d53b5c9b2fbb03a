"""Staff follow their departments live on /ws/staff/: every event, internal notes included, nothing of others.

Personas (tests/personas.py): the Hameln Bauhof worker and lead, and the Hildesheim clerk who must never
hear of Hameln's reports.
"""

from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.authtoken.models import Token

from geo.models import Authority, Department, Membership, StaffRole
from reports import services
from reports.demo import COUNTY_ARS
from reports.models import Report
from tests.notifications.sockets import hang_up
from tests.personas import HAMELN_MARKET, HILDESHEIM_MARKET

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

HEADERS = [(b"origin", b"http://localhost"), (b"host", b"localhost")]
PHOTOS = Path(__file__).resolve().parents[2] / "data" / "photos"
REPORTER = {"name": "Anna Beispiel", "email": "anna.beispiel@example.org"}
# What a staff socket tells of a report: enough for a work list, never the reporter.
STAFF_REPORT_KEYS = {"id", "reference", "status", "status_label", "category", "department", "authority", "location"}
STAFF_EVENT_KEYS = {
    "seq", "kind", "kind_label", "created_at", "from_status", "to_status", "status", "message", "public", "report",
}


@pytest.fixture
def application():
    from backend.asgi import application

    return application


@pytest.fixture
def tokens(personas) -> dict[str, str]:
    return {
        name: Token.objects.create(user=getattr(personas, name)).key
        for name in ("hameln_worker", "hameln_lead", "hildesheim_clerk")
    }


@database_sync_to_async
def submit(point: tuple[float, float], photo: str | None = None) -> dict:
    data = {"category": "schlagloch", "lat": str(point[0]), "lon": str(point[1]), **REPORTER}
    if photo is None:
        response = Client().post("/api/v1/reports/", data, secure=True)
    else:
        with open(PHOTOS / photo, "rb") as file:
            response = Client().post("/api/v1/reports/", {**data, "photos": [file]}, secure=True)
    assert response.status_code == 201, response.content
    return response.json()


@database_sync_to_async
def note(report_id: str, actor, text: str) -> None:
    services.report_note(report=Report.objects.get(public_id=report_id), actor=actor, note=text)


async def staff_socket(application, query: str = "", token: str | None = None, headers=HEADERS):
    """A connected staff socket; with ``token``, sent as the first message."""
    socket = WebsocketCommunicator(application, f"/ws/staff/{query}", headers=headers)
    assert (await socket.connect())[0]
    if token is not None:
        await socket.send_json_to({"token": token})
    return socket


async def until_subscribed(socket) -> tuple[list[dict], dict]:
    messages = []
    while True:
        message = await socket.receive_json_from(timeout=5)
        if message.get("type") == "subscribed":
            return messages, message
        messages.append(message)


async def receive(socket, count: int) -> list[dict]:
    return [await socket.receive_json_from(timeout=5) for _ in range(count)]


async def test_the_hameln_worker_hears_a_new_hameln_report_and_its_internal_note(application, personas, tokens):
    socket = await staff_socket(application, token=tokens["hameln_worker"])
    replayed, subscribed = await until_subscribed(socket)
    assert replayed == [] and subscribed["departments"] == [personas.bauhof_hameln.pk]

    # Photo 19 was taken in Rietberg: far from the given position, so staff get an internal note.
    report = await submit(HAMELN_MARKET, photo="19_jpeg_sony-hx5v_o1_gps-rietberg-nrw-germany.jpg")
    messages = await receive(socket, 4)
    assert [(m["kind"], m["public"]) for m in messages] == [
        ("created", True), ("routed", True), ("internal_note", False), ("photo_added", True),
    ]
    assert [m["seq"] for m in messages] == sorted(m["seq"] for m in messages)
    first = messages[0]
    assert set(first) == STAFF_EVENT_KEYS and set(first["report"]) == STAFF_REPORT_KEYS
    assert first["report"]["id"] == report["id"] and first["report"]["reference"] == report["reference"]
    assert first["report"]["department"] == {"id": personas.bauhof_hameln.pk, "name": "Bauhof Hameln"}
    assert first["report"]["authority"]["ags"] == "03252006"
    assert first["report"]["category"]["slug"] == "schlagloch"
    assert first["report"]["location"] == {"lat": HAMELN_MARKET[0], "lon": HAMELN_MARKET[1]}
    assert "Anna" not in str(messages) and "anna.beispiel" not in str(messages)

    await note(report["id"], personas.hameln_lead, "Mit dem Tiefbauamt abgestimmt.")
    [live] = await receive(socket, 1)
    assert (live["kind"], live["public"], live["message"]) == ("internal_note", False, "Mit dem Tiefbauamt abgestimmt.")
    assert await socket.receive_nothing(timeout=0.5)
    await hang_up(socket)


async def test_the_hildesheim_clerk_never_hears_of_hameln_reports(application, personas, tokens):
    socket = await staff_socket(application, query=f"?token={tokens['hildesheim_clerk']}")
    await until_subscribed(socket)
    hameln = await submit(HAMELN_MARKET)
    await note(hameln["id"], personas.hameln_worker, "Nur für Hameln.")
    hildesheim = await submit(HILDESHEIM_MARKET)

    # Pushes arrive in the order they were sent: a leaked Hameln event would come first.
    messages = await receive(socket, 2)
    assert [(m["kind"], m["report"]["id"]) for m in messages] == [
        ("created", hildesheim["id"]), ("routed", hildesheim["id"]),
    ]
    assert messages[0]["report"]["department"]["id"] == personas.hildesheim_department.pk
    assert await socket.receive_nothing(timeout=0.5)
    await hang_up(socket)


async def test_the_staff_web_pages_session_is_enough(application, personas):
    client = Client()
    await database_sync_to_async(client.force_login)(personas.hameln_worker)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    socket = await staff_socket(application, headers=[*HEADERS, (b"cookie", cookie)])
    _, subscribed = await until_subscribed(socket)
    assert subscribed["departments"] == [personas.bauhof_hameln.pk]
    await hang_up(socket)


@pytest.mark.parametrize(
    ("query", "first_message"),
    [
        ("", {"hello": "staff"}),  # anonymous, no token
        ("", {"token": "falsch"}),
        ("?token=falsch", None),
        ("?token=", None),
    ],
)
async def test_anonymous_or_a_wrong_token_is_refused(application, personas, query, first_message):
    socket = WebsocketCommunicator(application, f"/ws/staff/{query}", headers=HEADERS)
    await socket.connect()
    if first_message is not None:
        await socket.send_json_to(first_message)
    assert await socket.receive_output(timeout=5) == {"type": "websocket.close", "code": 4403}
    await hang_up(socket)  # end the consumer inside the test, not at the event loop's teardown


async def test_a_silent_anonymous_socket_is_closed_after_the_authentication_timeout(application, personas, monkeypatch):
    monkeypatch.setattr("notifications.consumers.STAFF_AUTH_TIMEOUT_S", 0.2)
    socket = WebsocketCommunicator(application, "/ws/staff/", headers=HEADERS)
    assert (await socket.connect())[0]
    assert await socket.receive_output(timeout=5) == {"type": "websocket.close", "code": 4403}
    await hang_up(socket)  # end the consumer inside the test, not at the event loop's teardown


async def test_an_account_without_a_department_is_refused(application, personas):
    @database_sync_to_async
    def outsider_token() -> str:
        user = get_user_model().objects.create_user(username="citizen", password=personas.password)
        return Token.objects.create(user=user).key

    socket = WebsocketCommunicator(application, "/ws/staff/", headers=HEADERS)
    await socket.connect()
    await socket.send_json_to({"token": await outsider_token()})
    assert await socket.receive_output(timeout=5) == {"type": "websocket.close", "code": 4403}
    await hang_up(socket)  # end the consumer inside the test, not at the event loop's teardown


async def test_an_authority_administrator_follows_every_department_of_the_authority(application, personas):
    @database_sync_to_async
    def county_admin() -> tuple[str, list[int]]:
        county = Authority.objects.get(ars=COUNTY_ARS)
        departments = list(Department.objects.filter(authority=county).order_by("pk").values_list("pk", flat=True))
        user = get_user_model().objects.create_user(username="county-admin", password=personas.password)
        Membership.objects.create(user=user, department_id=departments[0], role=StaffRole.AUTHORITY_ADMIN)
        return Token.objects.create(user=user).key, departments

    token, departments = await county_admin()
    assert len(departments) >= 2
    socket = await staff_socket(application, token=token)
    _, subscribed = await until_subscribed(socket)
    assert subscribed["departments"] == departments
    await hang_up(socket)


async def test_after_a_seq_exactly_the_missed_events_of_the_own_departments_are_replayed(application, personas, tokens):
    socket = await staff_socket(application, token=tokens["hameln_worker"])
    await until_subscribed(socket)
    first = await submit(HAMELN_MARKET)
    seen = await receive(socket, 2)
    await hang_up(socket)

    second = await submit(HAMELN_MARKET)
    await submit(HILDESHEIM_MARKET)
    await note(first["id"], personas.hameln_worker, "Nachgemessen: 40 cm.")

    again = await staff_socket(application, query=f"?after={seen[-1]['seq']}", token=tokens["hameln_worker"])
    replayed, subscribed = await until_subscribed(again)
    assert [(m["kind"], m["report"]["id"]) for m in replayed] == [
        ("created", second["id"]), ("routed", second["id"]), ("internal_note", first["id"]),
    ]
    assert [m["seq"] for m in replayed] == sorted(m["seq"] for m in replayed)
    assert subscribed["last_seq"] == replayed[-1]["seq"] and subscribed["truncated"] is False
    assert await again.receive_nothing(timeout=0.5)
    await hang_up(again)


async def test_a_report_forwarded_to_hildesheim_reaches_the_clerk_and_hameln_learns_it_left(
    application, personas, tokens
):
    hameln = await staff_socket(application, token=tokens["hameln_worker"])
    await until_subscribed(hameln)
    hildesheim = await staff_socket(application, token=tokens["hildesheim_clerk"])
    await until_subscribed(hildesheim)
    report = await submit(HAMELN_MARKET)
    before = (await receive(hameln, 2))[-1]["seq"]

    @database_sync_to_async
    def forward() -> None:
        services.report_forward(
            report=Report.objects.get(public_id=report["id"]), authority=personas.hildesheim_department.authority,
            actor=personas.hameln_lead, message="Zuständig ist der Landkreis Hildesheim.",
        )

    await forward()
    [left] = await receive(hameln, 1)
    [arrived] = await receive(hildesheim, 1)
    assert left == arrived and left["kind"] == "forwarded"
    assert left["report"]["department"]["id"] == personas.hildesheim_department.pk

    # From now on it is Hildesheim's: Hameln hears nothing more of it.
    await note(report["id"], personas.hildesheim_clerk, "Übernommen.")
    assert (await receive(hildesheim, 1))[0]["kind"] == "internal_note"
    assert await hameln.receive_nothing(timeout=0.5)
    await hang_up(hameln)

    # A Hameln worker who was offline catches up on the forwarding, and on nothing after it.
    again = await staff_socket(application, query=f"?after={before}", token=tokens["hameln_worker"])
    replayed, _ = await until_subscribed(again)
    assert [m["seq"] for m in replayed] == [left["seq"]]
    await hang_up(again)
    await hang_up(hildesheim)


async def test_the_reporter_hears_a_status_change_with_its_answer_but_never_an_internal_note(
    application, personas, tokens
):
    report = await submit(HAMELN_MARKET)
    path = f"/ws/reports/{report['id']}/?secret={report['secret']}"
    reporter = WebsocketCommunicator(application, path, headers=HEADERS)
    assert (await reporter.connect())[0]
    while (await reporter.receive_json_from(timeout=5)).get("type") != "subscribed":
        pass
    staff = await staff_socket(application, token=tokens["hameln_worker"])
    await until_subscribed(staff)

    @database_sync_to_async
    def acknowledge() -> None:
        services.report_transition(
            report=Report.objects.get(public_id=report["id"]), to="in_progress", actor=personas.hameln_worker,
            message="Wir kümmern uns diese Woche darum.",
        )

    await note(report["id"], personas.hameln_worker, "Kolonne 2 einplanen.")
    await acknowledge()
    [change] = await receive(reporter, 1)
    assert change["kind"] == "status_changed" and change["to_status"] == "in_progress"
    assert change["message"] == "Wir kümmern uns diese Woche darum."
    assert change["report"]["status"] == "in_progress"
    assert await reporter.receive_nothing(timeout=0.5)  # the internal note never reached the reporter
    assert [m["kind"] for m in await receive(staff, 2)] == ["internal_note", "status_changed"]
    await hang_up(reporter)
    await hang_up(staff)
