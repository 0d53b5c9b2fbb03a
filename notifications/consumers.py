"""Websocket consumers: they authenticate, authorise, join a group and forward; no business rules."""

from __future__ import annotations

import asyncio
import uuid
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer
from rest_framework.authtoken.models import Token

from notifications.broadcast import Broadcaster, FrameWriter, map_broadcaster
from notifications.groups import MAP_GROUP  # noqa: F401 (the map group's name is imported from here too)
from notifications.groups import department_group, report_group, staff_department_ids
from notifications.handlers import event_payload, staff_events, staff_payload
from reports.models import Report

# Close codes (4000–4999 are the application's): the client should not retry these as they are.
BAD_REQUEST = 4400
UNAUTHORISED = 4403
NOT_FOUND = 4404  # no such report (or no such socket path)

# A socket that has not authenticated by then is closed, so idle anonymous sockets cannot pile up.
STAFF_AUTH_TIMEOUT_S = 10
REPORT_AUTH_TIMEOUT_S = 10
# At most this many missed events are replayed; beyond, the client reloads its lists from the staff API.
STAFF_REPLAY_LIMIT = 500
# How many recent seqs a staff socket remembers to drop duplicates (a replay overlapping live pushes).
SEEN_MEMORY = 2 * STAFF_REPLAY_LIMIT


class JsonSocket(AsyncJsonWebsocketConsumer):
    """A JSON socket that takes a frame it cannot decode (not JSON, or binary) as ``None`` instead of crashing."""

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs) -> None:
        try:
            content = await self.decode_json(text_data) if text_data is not None else None
        except ValueError:
            content = None
        await self.receive_json(content, **kwargs)


class AuthDeadline:
    """Closes a socket with 4403 that has not authorised within ``auth_timeout()`` seconds."""

    deadline: asyncio.Task | None = None

    def auth_timeout(self) -> float:
        raise NotImplementedError

    def is_authorised(self) -> bool:
        raise NotImplementedError

    def start_deadline(self) -> None:
        self.deadline = asyncio.ensure_future(self._close_unless_authorised())

    def stop_deadline(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()

    async def _close_unless_authorised(self) -> None:
        await asyncio.sleep(self.auth_timeout())
        if not self.is_authorised():
            await self.close(code=UNAUTHORISED)


class NotFoundConsumer(AsyncWebsocketConsumer):
    """Any other websocket path: accepted only to say 4404, instead of failing in the router."""

    async def connect(self) -> None:
        await self.accept()
        await self.close(code=NOT_FOUND)


class MapConsumer(JsonSocket):
    """The public map: anonymised events of published reports, for everyone.

    A map socket has no channel of its own: the process's broadcaster (notifications.broadcast)
    receives each event of the map group once and writes the same frame to every map socket.
    """

    # No channel per socket (get_channel_layer returns None for an alias that is not configured).
    channel_layer_alias = None
    broadcaster: Broadcaster | None = None
    frames: FrameWriter | None = None

    async def connect(self) -> None:
        self.frames = FrameWriter(self.base_send)
        self.broadcaster = map_broadcaster()
        # Joined before the accept, so every event sent once the client is connected reaches it.
        await self.broadcaster.add(self.frames)
        await self.accept()
        self.frames.start()

    async def disconnect(self, code: int) -> None:
        if self.frames is not None and self.broadcaster is not None:
            self.frames.close()
            self.broadcaster.discard(self.frames)

    async def receive_json(self, content, **kwargs) -> None:
        # The map socket is one-way; anything a client sends is ignored.
        return None


class ReportConsumer(AuthDeadline, JsonSocket):
    """The reporter's app: the public events of one report, authorised by the report's secret.

    The secret comes as ``?secret=`` or, to keep it out of URLs and logs, as the first message
    ``{"secret": "…"}``, within REPORT_AUTH_TIMEOUT_S (else 4403). An unknown report is closed at
    once with 4404. ``?after=<seq>`` first replays what the client missed; pushes it has already
    seen are dropped, so every event arrives once and in order.
    """

    group: str | None = None
    last_seq = 0

    def auth_timeout(self) -> float:
        return REPORT_AUTH_TIMEOUT_S

    def is_authorised(self) -> bool:
        return self.group is not None

    async def connect(self) -> None:
        query = parse_qs(self.scope["query_string"].decode())
        try:
            self.after = int(query.get("after", ["0"])[0])
        except ValueError:
            await self.close(code=BAD_REQUEST)
            return
        self.public_id = parse_uuid(self.scope["url_route"]["kwargs"]["public_id"])
        await self.accept()
        # Accepted first, so the client learns why: a malformed or unknown id is a report that does not exist.
        if self.public_id is None or not await report_exists(self.public_id):
            await self.close(code=NOT_FOUND)
            return
        if "secret" in query:
            await self._authorise(query["secret"][0])
        else:
            self.start_deadline()

    async def receive_json(self, content, **kwargs) -> None:
        if self.group is None and isinstance(content, dict) and isinstance(content.get("secret"), str):
            await self._authorise(content["secret"])

    async def _authorise(self, secret: str) -> None:
        self.stop_deadline()
        missed = await self._missed_events(secret)
        if missed is None:
            await self.close(code=UNAUTHORISED)
            return
        self.group = report_group(self.public_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        for payload in await missed_payloads(missed):
            await self._forward(payload)
        await self.send_json({"type": "subscribed", "last_seq": self.last_seq})

    @database_sync_to_async
    def _missed_events(self, secret: str):
        report = Report.objects.filter(public_id=self.public_id).first()
        if report is None or not report.check_secret(secret):
            return None
        return list(report.events.filter(is_public=True, id__gt=self.after).select_related("report").order_by("id"))

    async def disconnect(self, code: int) -> None:
        self.stop_deadline()
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def report_event(self, message: dict) -> None:
        await self._forward(message["payload"])

    async def _forward(self, payload: dict) -> None:
        if payload["seq"] <= max(self.last_seq, self.after):
            return
        self.last_seq = payload["seq"]
        await self.send_json(payload)


def parse_uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


@database_sync_to_async
def report_exists(public_id: uuid.UUID) -> bool:
    return Report.objects.filter(public_id=public_id).exists()


@database_sync_to_async
def missed_payloads(events) -> list[dict]:
    return [event_payload(event) for event in events]


class StaffConsumer(AuthDeadline, JsonSocket):
    """Staff work lists: every event (internal notes included) of the departments the account works for.

    Authenticated by the session (the staff web pages) or by a DRF token, as ``?token=`` or, to keep
    it out of URLs and logs, as the first message ``{"token": "…"}``. Anonymous, a wrong token, or an
    account without a department: closed with 4403. ``?after=<seq>`` first replays the missed events
    in seq order (at most STAFF_REPLAY_LIMIT; ``"truncated": true`` in the ``subscribed`` message
    says there were more: reload from the staff API); then every new event arrives once, as it commits.
    Internal notes are included; the reporter's name, e-mail and phone never are.
    """

    groups_joined: list[str] = []
    last_seq = 0
    after: int | None = None

    def auth_timeout(self) -> float:
        return STAFF_AUTH_TIMEOUT_S

    def is_authorised(self) -> bool:
        return bool(self.groups_joined)

    async def connect(self) -> None:
        query = parse_qs(self.scope["query_string"].decode(), keep_blank_values=True)
        try:
            self.after = int(query["after"][0]) if "after" in query else None
        except ValueError:
            await self.close(code=BAD_REQUEST)
            return
        self.groups_joined = []
        self.seen: dict[int, None] = {}
        await self.accept()
        user = self.scope.get("user")
        if user is not None and user.is_authenticated:
            await self._authorise(user)
        elif "token" in query:
            await self._authorise(await user_for_token(query["token"][0]))
        else:
            self.start_deadline()

    async def receive_json(self, content, **kwargs) -> None:
        if self.groups_joined:
            return  # one-way once subscribed
        token = content.get("token") if isinstance(content, dict) else None
        await self._authorise(await user_for_token(token) if isinstance(token, str) else None)

    async def _authorise(self, user) -> None:
        self.stop_deadline()
        department_ids = await database_sync_to_async(staff_department_ids)(user) if user is not None else []
        if not department_ids:
            await self.close(code=UNAUTHORISED)
            return
        self.groups_joined = [department_group(d) for d in department_ids]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        missed, truncated = await self._missed(department_ids)
        for payload in missed:
            await self._forward(payload)
        last_seq = max(self.last_seq, self.after or 0)
        await self.send_json(
            {"type": "subscribed", "departments": department_ids, "last_seq": last_seq, "truncated": truncated}
        )

    @database_sync_to_async
    def _missed(self, department_ids: list[int]) -> tuple[list[dict], bool]:
        if self.after is None:
            return [], False
        events = list(staff_events(department_ids).filter(id__gt=self.after)[: STAFF_REPLAY_LIMIT + 1])
        return [staff_payload(e) for e in events[:STAFF_REPLAY_LIMIT]], len(events) > STAFF_REPLAY_LIMIT

    async def disconnect(self, code: int) -> None:
        self.stop_deadline()
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def report_event(self, message: dict) -> None:
        await self._forward(message["payload"])

    async def _forward(self, payload: dict) -> None:
        # Drop what was replayed already, and the second copy of an event pushed to two of the
        # account's departments (a move between them). Not "seq <= last seen": events of different
        # reports can commit out of seq order, and a lower seq arriving late is still news.
        seq = payload["seq"]
        if seq <= (self.after or 0) or seq in self.seen:
            return
        self.seen[seq] = None
        if len(self.seen) > SEEN_MEMORY:
            del self.seen[next(iter(self.seen))]
        self.last_seq = max(self.last_seq, seq)
        await self.send_json(payload)


@database_sync_to_async
def user_for_token(key: str):
    """The active account a DRF token belongs to, or None."""
    token = Token.objects.select_related("user").filter(key=key).first()
    return token.user if token is not None and token.user.is_active else None
