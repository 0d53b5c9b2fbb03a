"""The one interface every delivery channel implements (after healthchecks' Transport.notify).

A transport sends one ``Delivery`` or raises ``DeliveryError`` saying whether trying again could
help; ``NotApplicable`` means the message should no longer be sent at all (e.g. the report was
reopened before its follow-up mail was due).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from notifications.models import Delivery


class DeliveryError(Exception):
    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class NotApplicable(Exception):
    """The delivery no longer applies; it is recorded as skipped, not as failed."""


class Transport(Protocol):
    def send(self, delivery: Delivery) -> None: ...


def transport_for(channel: str) -> Transport:
    from notifications.email import EmailTransport
    from notifications.models import Channel
    from notifications.webhooks import WebhookTransport

    return {Channel.EMAIL: EmailTransport(), Channel.WEBHOOK: WebhookTransport()}[channel]
