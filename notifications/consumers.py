"""Websocket consumers: they authenticate, authorise, join a group and forward; no business rules."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from notifications.groups import MAP_GROUP, report_group
from notifications.handlers import event_payload
from reports.models import Report

# Close codes (4000–4999 are the application's): the client should not retry these as they are.
UNAUTHORISED = 4403
BAD_REQUEST = 4400


class MapConsumer(AsyncJsonWebsocketConsumer):
    """The public map: anonymised events of published reports, for everyone."""

    async def connect(self) -> None:
        await self.channel_layer.group_add(MAP_GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(MAP_GROUP, self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        # The map socket is one-way; anything a client sends is ignored.
        return None

    async def report_event(self, message: dict) -> None:
        await self.send_json(message["payload"])


class ReportConsumer(AsyncJsonWebsocketConsumer):
    """The reporter's app: the public events of one report, authorised by the report's secret.

    The secret comes as ``?secret=`` or, to keep it out of URLs and logs, as the first message
    ``{"secret": "…"}``. ``?after=<seq>`` first replays what the client missed; pushes it has
    already seen are dropped, so every event arrives once and in order.
    """

    group: str | None = None
    last_seq = 0

    async def connect(self) -> None:
        query = parse_qs(self.scope["query_string"].decode())
        try:
            self.after = int(query.get("after", ["0"])[0])
            self.public_id = uuid.UUID(str(self.scope["url_route"]["kwargs"]["public_id"]))
        except ValueError:
            await self.close(code=BAD_REQUEST)
            return
        await self.accept()
        if "secret" in query:
            await self._authorise(query["secret"][0])

    async def receive_json(self, content, **kwargs) -> None:
        if self.group is None and isinstance(content, dict) and isinstance(content.get("secret"), str):
            await self._authorise(content["secret"])

    async def _authorise(self, secret: str) -> None:
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
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def report_event(self, message: dict) -> None:
        await self._forward(message["payload"])

    async def _forward(self, payload: dict) -> None:
        if payload["seq"] <= max(self.last_seq, self.after):
            return
        self.last_seq = payload["seq"]
        await self.send_json(payload)


@database_sync_to_async
def missed_payloads(events) -> list[dict]:
    return [event_payload(event) for event in events]
