"""Hanging up test sockets without a fixed wait."""

from __future__ import annotations

import asyncio

from channels.testing import WebsocketCommunicator

# How long to wait for a consumer to end after its client hung up, before the communicator cancels it. With the
# in-memory channel layer a consumer ends within milliseconds, and an error it raises on the way out fails the
# test. With channels_redis it does not end by itself: its cancelled receive() of the consumer's channel hangs in
# redis-py until the communicator cancels the whole application (measured: still pending after 10 s), so any
# wait here is pure cost (it was the 1 s of WebsocketCommunicator.disconnect's default, in ~100 tests).
HANG_UP_WAIT_S = 0.1


async def hang_up(*sockets: WebsocketCommunicator) -> None:
    """The clients hang up (websocket.disconnect), all at once; each consumer ends or is cancelled."""
    await asyncio.gather(*(socket.disconnect(timeout=HANG_UP_WAIT_S) for socket in sockets))
