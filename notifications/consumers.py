"""Websocket consumers: they authenticate, authorise, join a group and forward; no business rules."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer

from notifications.broadcast import Broadcaster, FrameWriter, map_broadcaster
from notifications.groups import (
    MAP_GROUP,  # noqa: F401 (the map group's name is imported from here too)
    department_group,
    report_group,
)
from notifications.handlers import event_payloads, staff_events, staff_payloads
from notifications.revocation import Credential, current_departments, staff_user_group
from reports import permissions
from reports.filters import MAX_ID, InvalidParameter, parse_integer
from reports.models import Report

# Close codes (4000–4999 are the application's): the client should not retry these as they are.
BAD_REQUEST = 4400
UNAUTHENTICATED = 4401  # the staff token was revoked, the session ended or the account was deactivated
UNAUTHORISED = 4403
NOT_FOUND = 4404  # no such report (or no such socket path)
# Except this one: the account's departments changed; reconnect with ?after=<last seq> to follow the new ones.
RESUBSCRIBE = 4409

# A socket that has not authenticated by then is closed, so idle anonymous sockets cannot pile up.
STAFF_AUTH_TIMEOUT_S = 10
REPORT_AUTH_TIMEOUT_S = 10
# A staff socket re-checks its credentials before forwarding an event if its last check is older than this:
# revocation messages (notifications.revocation) close it at once, this bounds the cases they miss. At most one
# query per socket in this time, and only while events flow (an idle socket leaks nothing).
STAFF_RECHECK_S = 15
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


if TYPE_CHECKING:
    _Socket = AsyncWebsocketConsumer  # the consumers AuthDeadline is mixed into
else:
    _Socket = object


class AuthDeadline(_Socket):
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

    # No channel of its own: a socket that is closed at once needs none, and a stranger trying paths opens no
    # channel-layer receive (with Redis, one blocking read per socket).
    channel_layer_alias = None  # type: ignore[assignment]  # channels takes None; the stubs say str

    async def connect(self) -> None:
        await self.accept()
        await self.close(code=NOT_FOUND)


class MapConsumer(JsonSocket):
    """The public map: anonymised events of published reports, for everyone.

    A map socket has no channel of its own: the process's broadcaster (notifications.broadcast)
    receives each event of the map group once and writes the same frame to every map socket.
    """

    # No channel per socket (get_channel_layer returns None for an alias that is not configured).
    channel_layer_alias = None  # type: ignore[assignment]  # channels takes None; the stubs say str
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
            self.after = parse_integer(query.get("after", ["0"])[0], minimum=0, maximum=MAX_ID)
        except InvalidParameter:
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
        if missed is None or self.public_id is None:  # no id, no report: missed is None then too
            await self.close(code=UNAUTHORISED)
            return
        self.group = report_group(self.public_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        for payload in await missed_payloads(missed):
            await self._forward(payload)
        await self.send_json({"type": "subscribed", "last_seq": self.last_seq})

    @database_sync_to_async
    def _missed_events(self, secret: str):
        if self.public_id is None:  # a malformed id: no report has it
            return None
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
    return event_payloads(list(events))


class StaffConsumer(AuthDeadline, JsonSocket):
    """Staff work lists: every event (internal notes included) of the departments the account works for.

    Authenticated by the session (the staff web pages; only with the site's own Origin, see
    notifications.origin) or by a DRF token, as ``?token=`` or, to keep it out of URLs and logs, as
    the first message ``{"token": "…"}``. Anonymous, a wrong token, or an account without a
    department: closed with 4403. ``?after=<seq>`` first replays the missed events in seq order (at
    most STAFF_REPLAY_LIMIT; ``"truncated": true`` in the ``subscribed`` message says there were
    more: reload from the staff API); then every new event arrives once, as it commits. Internal
    notes are included; the reporter's name, e-mail and phone never are.

    The socket holds only while its credentials do (notifications.revocation): a revoked token, an
    ended session or a deactivated account closes it with 4401, the loss of the last department with
    4403, any other change of the departments with 4409 (reconnect with ``?after=``).
    """

    groups_joined: list[str] = []
    last_seq = 0
    after: int | None = None
    credential: Credential | None = None
    user_id: int | None = None
    department_ids: list[int] = []
    checked_at = 0.0
    closing = False

    def auth_timeout(self) -> float:
        return STAFF_AUTH_TIMEOUT_S

    def is_authorised(self) -> bool:
        return bool(self.department_ids)

    async def connect(self) -> None:
        query = parse_qs(self.scope["query_string"].decode(), keep_blank_values=True)
        try:
            self.after = parse_integer(query["after"][0], minimum=0, maximum=MAX_ID) if "after" in query else None
        except InvalidParameter:
            await self.close(code=BAD_REQUEST)
            return
        self.groups_joined = []
        self.seen: dict[int, None] = {}
        await self.accept()
        user = self.scope.get("user")
        if user is not None and user.is_authenticated:
            await self._authorise(user, Credential("session", self.scope["session"].session_key))
        elif "token" in query:
            await self._authorise_token(query["token"][0])
        else:
            self.start_deadline()

    async def receive_json(self, content, **kwargs) -> None:
        if self.department_ids or self.closing:
            return  # one-way once subscribed
        token = content.get("token") if isinstance(content, dict) else None
        await self._authorise_token(token if isinstance(token, str) else None)

    async def _authorise_token(self, key: str | None) -> None:
        user = await user_for_token(key) if key else None
        await self._authorise(user, Credential("token", key) if user is not None and key else None)

    async def _authorise(self, user, credential: Credential | None) -> None:
        self.stop_deadline()
        if user is None or credential is None:
            await self.close(code=UNAUTHORISED)
            return
        # The account's own group first: a revocation committed while the departments are read still arrives.
        await self._join(staff_user_group(user.pk))
        department_ids = await database_sync_to_async(permissions.staff_department_ids)(user)
        if not department_ids:
            await self.close(code=UNAUTHORISED)
            return
        self.credential, self.user_id, self.checked_at = credential, user.pk, time.monotonic()
        self.department_ids = department_ids
        for department_id in department_ids:
            await self._join(department_group(department_id))
        missed, truncated = await self._missed(department_ids)
        for payload in missed:
            await self._forward(payload)
        last_seq = max(self.last_seq, self.after or 0)
        await self.send_json(
            {"type": "subscribed", "departments": department_ids, "last_seq": last_seq, "truncated": truncated}
        )

    async def _join(self, group: str) -> None:
        self.groups_joined.append(group)
        await self.channel_layer.group_add(group, self.channel_name)

    @database_sync_to_async
    def _missed(self, department_ids: list[int]) -> tuple[list[dict], bool]:
        if self.after is None:
            return [], False
        events = list(staff_events(department_ids).filter(id__gt=self.after)[: STAFF_REPLAY_LIMIT + 1])
        return staff_payloads(events[:STAFF_REPLAY_LIMIT]), len(events) > STAFF_REPLAY_LIMIT

    async def disconnect(self, code: int) -> None:
        self.stop_deadline()
        await self._leave_groups()

    async def _leave_groups(self) -> None:
        groups, self.groups_joined = self.groups_joined, []
        for group in groups:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def staff_recheck(self, message: dict) -> None:
        """Something that authorised this socket changed (notifications.revocation)."""
        if self.closing or self.credential is None:
            return
        if self.credential == Credential("session", message.get("ended_session")):
            await self._end(UNAUTHENTICATED)  # logged out: the session is about to be deleted
            return
        await self._still_allowed()

    async def _still_allowed(self) -> bool:
        """Check the credentials again; False (and the socket closing) when they no longer hold as subscribed."""
        if self.credential is None or self.user_id is None:  # only subscribed sockets are re-checked
            return False
        departments = await database_sync_to_async(current_departments)(self.credential, self.user_id)
        self.checked_at = time.monotonic()
        if departments is None:
            await self._end(UNAUTHENTICATED)
        elif not departments:
            await self._end(UNAUTHORISED)
        elif departments != self.department_ids:
            await self._end(RESUBSCRIBE)
        else:
            return True
        return False

    async def _end(self, code: int) -> None:
        self.closing = True
        # Out of the groups at once: nothing more is forwarded while the close handshake runs.
        await self._leave_groups()
        await self.close(code=code)

    async def report_event(self, message: dict) -> None:
        if self.closing:
            return
        if time.monotonic() - self.checked_at > STAFF_RECHECK_S and not await self._still_allowed():
            return
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


user_for_token = database_sync_to_async(permissions.token_user)
