"""Websocket consumers: they authenticate, authorise, join a group and forward; no business rules."""

from __future__ import annotations

from channels.generic.websocket import AsyncJsonWebsocketConsumer

MAP_GROUP = "map"


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
