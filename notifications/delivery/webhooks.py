"""Webhooks: each public event of a report, POSTed as JSON to the systems registered for its authority
or department, signed so the receiver can trust it.

Body: the event as ``reports.serializers.WebhookEventMessageSerializer`` represents it: its REST
representation (the same as the citizen API and the websockets send) and a summary of the report without
any personal data, its status under the installation's label. Headers:

- ``X-OpenMelder-Signature: sha256=<hex>``: HMAC-SHA256 of the raw body with the webhook's secret;
- ``X-OpenMelder-Timestamp``: Unix time of sending (also in the body as ``sent_at``, so it is signed);
- ``X-OpenMelder-Delivery``: the delivery's id, the same on every attempt. Delivery is at least once
  (a worker killed after the receiver answered sends again): receivers deduplicate by this id.

Any 2xx is success. A 4xx other than 408 and 429 is permanent (the receiver refuses it; retrying
would not help); 408, 429, 5xx, timeouts and connection errors are retried with backoff.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request

from django.conf import settings
from django.utils import translation

from notifications.delivery.transports import DeliveryError
from notifications.models import Delivery
from reports.models import ReportEvent
from reports.serializers import WebhookEventMessageSerializer

SIGNATURE_HEADER = "X-OpenMelder-Signature"
TIMESTAMP_HEADER = "X-OpenMelder-Timestamp"
DELIVERY_HEADER = "X-OpenMelder-Delivery"
_RETRYABLE_CLIENT_ERRORS = {408, 429}


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def event_body(event: ReportEvent, *, sent_at: int) -> bytes:
    with translation.override(settings.LANGUAGE_CODE):
        payload = {**WebhookEventMessageSerializer(event).data, "sent_at": sent_at}
    return json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()


class WebhookTransport:
    def send(self, delivery: Delivery) -> None:
        webhook, event = delivery.webhook, delivery.event
        if webhook is None or event is None:  # a bug (planning sets both), retried like any unexpected error
            raise ValueError(f"delivery {delivery.pk} names no webhook or no event")
        now = int(time.time())
        body = event_body(event, sent_at=now)
        request = urllib.request.Request(
            webhook.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "OpenMelder-Webhook/1",
                SIGNATURE_HEADER: sign(webhook.secret, body),
                TIMESTAMP_HEADER: str(now),
                DELIVERY_HEADER: str(delivery.pk),
            },
        )
        timeout = settings.NOTIFICATIONS["WEBHOOK_TIMEOUT_SECONDS"]
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (http(s) URLs only, see the model)
                response.read(1024)
        except urllib.error.HTTPError as exc:
            permanent = 400 <= exc.code < 500 and exc.code not in _RETRYABLE_CLIENT_ERRORS
            raise DeliveryError(f"HTTP {exc.code} from {webhook.url}", permanent=permanent) from None
        except (urllib.error.URLError, OSError) as exc:  # refused, DNS, timeout, TLS
            reason = getattr(exc, "reason", exc)
            raise DeliveryError(f"{webhook.url}: {reason}", permanent=False) from None
