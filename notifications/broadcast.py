"""One channel-layer listener per server process for the public map, instead of one per socket.

Every map socket used to be its own channel in the ``map`` group: one event became one layer message
per socket (with channels_redis: one Redis message, one msgpack decode and one consumer dispatch each)
and one JSON serialisation per socket. Here each event loop (= server process) has one ``Broadcaster``:
its single channel joins the group, receives each event once, serialises the payload once and hands
the same ASGI message to every local socket's ``FrameWriter``, which sends it without making the
broadcaster (or any other socket) wait for that client.
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from channels.layers import get_channel_layer

from notifications.groups import MAP_GROUP

logger = logging.getLogger(__name__)

Send = Callable[[Any], Awaitable[None]]  # an ASGI send: takes the event dict

# A client this many frames behind is not reading (or is gone): it is closed with 1013 ("try again
# later") instead of piling up frames; the public map reconnects and reloads what it shows.
MAX_BACKLOG = 100
# Group membership is renewed this often (at most half the layer's group_expiry): channels' layers drop
# members older than group_expiry, and a Redis that restarted too quickly to fail a read has lost the
# group. So after such a restart map sockets get events again within this time.
REFRESH_S = 60.0
# After a failed receive (e.g. Redis is away) the broadcaster waits, then joins the group again.
RETRY_MIN_S = 0.5
RETRY_MAX_S = 10.0
TRY_AGAIN_LATER = 1013


class FrameWriter:
    """The outgoing frames of one websocket, sent in order by a short task of its own.

    ``offer`` never waits: a client whose connection is slow (the server's send waits until its buffer
    drains) only delays its own frames. Frames offered before ``start`` (the socket is not accepted
    yet) are kept and sent after it.
    """

    def __init__(self, send: Send, max_backlog: int = MAX_BACKLOG) -> None:
        self._send = send
        self._max_backlog = max_backlog
        self._pending: deque[dict[str, Any]] = deque()
        self._task: asyncio.Task | None = None
        self._started = False
        self.closed = False

    def offer(self, message: dict[str, Any]) -> bool:
        """Queue an ASGI message for this socket; False once it takes no more (forget the writer then)."""
        if self.closed:
            return False
        if len(self._pending) < self._max_backlog:
            self._pending.append(message)
        else:
            logger.info("a map socket fell %s frames behind; closing it", len(self._pending))
            self._pending.clear()
            self._pending.append({"type": "websocket.close", "code": TRY_AGAIN_LATER})
            self.closed = True
        self._wake()
        return not self.closed

    def start(self) -> None:
        """The socket is accepted: send what is pending, and from now on as it comes."""
        self._started = True
        self._wake()

    def close(self) -> None:
        """The socket disconnected: drop what is pending; a send in progress ends by itself."""
        self.closed = True
        self._pending.clear()

    def _wake(self) -> None:
        if self._started and self._task is None and self._pending:
            self._task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self._pending:
                await self._send(self._pending.popleft())
        except Exception:  # noqa: BLE001 (the socket closed under us: servers raise OSError or RuntimeError)
            logger.debug("a map socket went away while sending", exc_info=True)
            self.close()
        finally:
            self._task = None


class Broadcaster:
    """Receives a group's events once per event loop and writes each to every local socket.

    Started by the first socket (``add``), stopped when the last one leaves (``discard``). Its one
    channel stays the same for its lifetime; when receiving fails (Redis outage) it logs, waits and
    joins the group again, without touching the sockets.
    """

    def __init__(self, group: str, on_stop: Callable[[Broadcaster], None]) -> None:
        self.group = group
        self._on_stop = on_stop
        self._writers: set[FrameWriter] = set()
        layer = get_channel_layer()
        if layer is None:  # the settings always configure one (in memory, or Redis)
            raise RuntimeError("no channel layer is configured")
        self._layer = layer
        self._channel: str | None = None
        self._tasks: list[asyncio.Task] = []
        self._first_join = asyncio.Event()

    async def add(self, writer: FrameWriter) -> None:
        """Register a socket's writer; returns once the group is joined (or the first attempt failed),
        so an event sent after the socket is accepted reaches it."""
        self._writers.add(writer)
        if not self._tasks:
            self._tasks = [asyncio.create_task(self._receive()), asyncio.create_task(self._refresh())]
        try:
            await self._first_join.wait()
        except asyncio.CancelledError:
            self.discard(writer)
            raise

    def discard(self, writer: FrameWriter) -> None:
        self._writers.discard(writer)
        if not self._writers:
            self._stop()

    def _stop(self) -> None:
        self._on_stop(self)
        for task in self._tasks:
            task.cancel()
        self._tasks = []

    async def _receive(self) -> None:
        delay = RETRY_MIN_S
        failing = False
        try:
            while True:
                try:
                    if self._channel is None:
                        self._channel = await self._layer.new_channel()
                    await self._layer.group_add(self.group, self._channel)
                    self._first_join.set()
                    if failing:
                        logger.info("map broadcaster joined the %r group again", self.group)
                        failing, delay = False, RETRY_MIN_S
                    while True:
                        self._deliver(await self._layer.receive(self._channel))
                except Exception:  # noqa: BLE001 (any layer failure: wait, join again; the sockets stay open)
                    self._first_join.set()
                    logger.log(
                        logging.DEBUG if failing else logging.WARNING,
                        "map broadcaster cannot receive from the channel layer; retrying in %.1f s", delay,
                        exc_info=not failing,
                    )
                    failing = True
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, RETRY_MAX_S)
        finally:
            await self._leave()

    async def _leave(self) -> None:
        if self._channel is None:
            return
        try:
            await self._layer.group_discard(self.group, self._channel)
        except Exception:  # noqa: BLE001 (the membership expires by itself after group_expiry)
            logger.debug("map broadcaster could not leave the group", exc_info=True)

    async def _refresh(self) -> None:
        interval = min(REFRESH_S, getattr(self._layer, "group_expiry", 86400) / 2)
        while True:
            await asyncio.sleep(interval)
            if self._channel is None:
                continue
            try:
                await self._layer.group_add(self.group, self._channel)
            except Exception:  # noqa: BLE001 (an outage: the receive loop reports it and joins again)
                logger.debug("map broadcaster could not renew its group membership", exc_info=True)

    def _deliver(self, message: dict[str, Any]) -> None:
        if message.get("type") != "report.event":
            logger.debug("map broadcaster ignores a %r message", message.get("type"))
            return
        try:
            # Encoded once for every socket, exactly as AsyncJsonWebsocketConsumer.send_json encodes.
            frame = {"type": "websocket.send", "text": json.dumps(message["payload"])}
        except (KeyError, TypeError, ValueError):
            logger.exception("map broadcaster cannot encode a message; dropped")
            return
        done = [writer for writer in self._writers if not writer.offer(frame)]
        for writer in done:
            self.discard(writer)


_broadcasters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Broadcaster] = weakref.WeakKeyDictionary()


def map_broadcaster() -> Broadcaster:
    """The running event loop's broadcaster for the map group (a new one if none is running)."""
    loop = asyncio.get_running_loop()
    broadcaster = _broadcasters.get(loop)
    if broadcaster is None:
        broadcaster = _broadcasters[loop] = Broadcaster(MAP_GROUP, on_stop=_forget)
    return broadcaster


def _forget(broadcaster: Broadcaster) -> None:
    for loop, current in list(_broadcasters.items()):
        if current is broadcaster:
            del _broadcasters[loop]
