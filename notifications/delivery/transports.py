"""The one interface every delivery channel implements (after healthchecks' Transport.notify), and the
registry that finds a channel's transport by name.

A transport sends one ``Delivery`` or raises ``DeliveryError`` saying whether trying again could
help; ``NotApplicable`` means the message should no longer be sent at all (e.g. the report was
reopened before its follow-up mail was due).

``TRANSPORTS`` names each channel's transport by dotted path, imported on first use (healthchecks'
``hc/api/models.py`` does the same): the worker depends on this module only, never on a transport, so
transports may import the worker's neighbours without forming an import cycle.
"""

from __future__ import annotations

from functools import cache
from typing import Protocol

from django.utils.module_loading import import_string

from notifications.models import Channel, Delivery


class DeliveryError(Exception):
    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class NotApplicable(Exception):
    """The delivery no longer applies; it is recorded as skipped, not as failed."""


class Transport(Protocol):
    def send(self, delivery: Delivery) -> None: ...


TRANSPORTS: dict[str, str] = {
    Channel.EMAIL: "notifications.delivery.email.EmailTransport",
    Channel.WEBHOOK: "notifications.delivery.webhooks.WebhookTransport",
    Channel.WEB_PUSH: "notifications.delivery.webpush.WebPushTransport",
    Channel.MATCH: "notifications.alerts.MatchTransport",
}


@cache
def transport_for(channel: str) -> Transport:
    """The channel's transport; transports keep no state between sends, so one instance serves all."""
    return import_string(TRANSPORTS[channel])()
