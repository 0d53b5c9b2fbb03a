"""Web Push: a report's status change, sent with pywebpush to the push service of each registered endpoint,
signed with the installation's VAPID key (RFC 8292) and encrypted for the device (aes128gcm, RFC 8291).

The payload is small JSON without personal data: the report's reference, its status and label (in the
subscriber's language), a title and text for the notification, and the URL of the report's public page.

A 2xx is success. 404 and 410 say the subscription is gone: it is deleted and the delivery fails for good.
408, 429, 5xx, timeouts and connection errors are retried with backoff; any other answer (400, 401/403 for a
VAPID key the service does not accept, 413) is permanent. Redirects are not followed: a push service does
not redirect, and following one could lead into a private network that the endpoint check refused.
"""

from __future__ import annotations

import json
from functools import cache

import requests
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from py_vapid import Vapid
from pywebpush import WebPushException, webpush

from geo.errors import DomainError
from notifications.delivery.transports import DeliveryError, NotApplicable
from notifications.models import Delivery, PushSubscription
from notifications.webpush import check_endpoint, forget_push_subscriptions, push_enabled
from reports.models import Report

# How long a push service keeps a message for a device that is offline (seconds): a status is news for a day.
TTL_SECONDS = 24 * 3600
_RETRYABLE = {408, 429}


@cache
def vapid_key(private_key: str) -> Vapid:
    """The signing key from VAPID_PRIVATE_KEY: PEM, or base64url of the raw 32 bytes or of DER."""
    if private_key.startswith("-----BEGIN"):
        return Vapid.from_pem(private_key.encode())
    return Vapid.from_string(private_key)


class _NoRedirects(requests.Session):
    def request(self, *args, **kwargs):
        kwargs["allow_redirects"] = False
        return super().request(*args, **kwargs)


def payload(report: Report, language: str) -> bytes:
    with translation.override(language):
        label = report.status_label
        body = {
            "reference": report.reference,
            "status": report.status,
            "status_label": label,
            "title": _("Report %(reference)s") % {"reference": report.reference},
            "body": _("New status: %(status)s") % {"status": label},
            "url": settings.PUBLIC_URL + reverse("public:detail", args=[report.reference]),
            "lang": language,
        }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


class WebPushTransport:
    def send(self, delivery: Delivery) -> None:
        if not push_enabled():
            raise NotApplicable("Web Push is turned off (no VAPID keys)")
        push_id = delivery.data.get("push") if isinstance(delivery.data, dict) else None
        subscription = (
            PushSubscription.objects.select_related("report").filter(pk=push_id).first() if push_id else None
        )
        if subscription is None:
            raise NotApplicable("the push subscription is gone")
        try:
            check_endpoint(subscription.endpoint)  # DNS may have changed since it was registered
        except DomainError as exc:
            raise DeliveryError(f"endpoint refused: {exc}", permanent=True) from None
        info = {"endpoint": subscription.endpoint, "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth}}
        with _NoRedirects() as session:
            try:
                webpush(
                    subscription_info=info, data=payload(subscription.report, subscription.language),
                    vapid_private_key=vapid_key(settings.VAPID_PRIVATE_KEY),
                    vapid_claims={"sub": settings.VAPID_SUBJECT},  # aud and exp are added per message
                    content_encoding="aes128gcm", ttl=TTL_SECONDS,
                    timeout=settings.NOTIFICATIONS["WEB_PUSH_TIMEOUT_SECONDS"], requests_session=session,
                )
            except WebPushException as exc:
                self._refused(delivery, subscription, exc)
            except requests.RequestException as exc:  # refused, DNS, timeout, TLS
                raise DeliveryError(f"{delivery.target}: {type(exc).__name__}", permanent=False) from None

    @staticmethod
    def _refused(delivery: Delivery, subscription: PushSubscription, exc: WebPushException) -> None:
        response = exc.response
        if response is None:  # refused before sending (e.g. a key pywebpush cannot use)
            raise DeliveryError(f"not sent: {exc.message}", permanent=True) from None
        code = response.status_code
        if code in (404, 410):
            forget_push_subscriptions(PushSubscription.objects.filter(pk=subscription.pk), sending=delivery.pk)
            raise DeliveryError(f"HTTP {code}: the subscription is gone and was deleted", permanent=True) from None
        retry = code in _RETRYABLE or code >= 500
        raise DeliveryError(f"HTTP {code} from the push service", permanent=not retry) from None
