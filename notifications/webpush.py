"""Web Push subscriptions: a browser on a published report's page, or the reporter's app for its own report,
registers a push endpoint (RFC 8030) with its keys (RFC 8291) to be told about the report's status changes.

Everything a client sends is checked here before it is stored (and the endpoint again before each send,
notifications/delivery/webpush.py): an https URL of bounded length whose host resolves to public addresses
only (no SSRF into the municipality's network), a P-256 public key and a 16-byte auth secret in base64url.
``WEB_PUSH_ALLOW_INSECURE_ENDPOINTS`` (tests and development) also accepts private addresses, and plain http
to a loopback host. Web Push is off unless the VAPID keys are set.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from geo.errors import DomainError, Kind
from notifications.models import Delivery, DeliveryStatus, PushSource, PushSubscription
from reports.models import Report

MAX_ENDPOINT_LENGTH = 1000
P256DH_BYTES = 65  # an uncompressed P-256 point: 0x04, x, y
AUTH_BYTES = 16
# Each endpoint costs one request per status change: enough for every real follower of a pothole, too few for
# someone who registers endpoints in bulk to turn the worker into a request cannon.
MAX_SUBSCRIPTIONS_PER_REPORT = 500


class PushDisabled(DomainError):
    kind = Kind.NOT_FOUND
    code = "push_disabled"
    message = _("Push notifications are not offered by this installation.")


def push_enabled() -> bool:
    return bool(settings.VAPID_PUBLIC_KEY and settings.VAPID_PRIVATE_KEY)


def public_key() -> str:
    """The applicationServerKey browsers and apps subscribe with ("" when push is off)."""
    return settings.VAPID_PUBLIC_KEY if push_enabled() else ""


@dataclass(frozen=True)
class PushKeys:
    endpoint: str
    p256dh: str
    auth: str


def _invalid(field: str | None, message, code: str = "invalid") -> DomainError:
    return DomainError(message, field=field, code=code)


def b64url_bytes(value: str) -> bytes | None:
    """The bytes of an unpadded (or padded) base64url string; None if it is not one."""
    if not value or any(c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=" for c in value):
        return None
    try:
        return base64.urlsafe_b64decode(value.rstrip("=") + "=" * (-len(value.rstrip("=")) % 4))
    except (binascii.Error, ValueError):
        return None


def _insecure_allowed() -> bool:
    return bool(settings.WEB_PUSH_ALLOW_INSECURE_ENDPOINTS)


def _addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    found = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        found.append(address)
    return found


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return address.is_global and not address.is_multicast


def check_endpoint(endpoint: object) -> str:
    """The endpoint if a push service may be called there; a DomainError for field ``endpoint`` if not."""
    if not isinstance(endpoint, str) or not endpoint.strip():
        raise _invalid("endpoint", _("The push endpoint is missing."), "required")
    endpoint = endpoint.strip()
    if len(endpoint) > MAX_ENDPOINT_LENGTH:
        raise _invalid("endpoint", _("The push endpoint is too long: at most %(max)d characters.")
                       % {"max": MAX_ENDPOINT_LENGTH}, "max_length")
    try:
        parts = urlsplit(endpoint)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise _invalid("endpoint", _("The push endpoint is not a valid URL.")) from None
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host or parts.username or parts.password or parts.fragment \
            or any(c.isspace() for c in endpoint):
        raise _invalid("endpoint", _("The push endpoint must be an https URL."))
    addresses = _addresses(host, port)
    if not addresses:
        raise _invalid("endpoint", _("The host of the push endpoint cannot be found."), "unresolvable")
    if parts.scheme == "http" and not (_insecure_allowed() and all(a.is_loopback for a in addresses)):
        raise _invalid("endpoint", _("The push endpoint must be an https URL."))
    if not _insecure_allowed() and not all(_is_public(a) for a in addresses):
        raise _invalid("endpoint", _("The push endpoint must be on the internet, not in a private network."),
                       "forbidden_address")
    return endpoint


def check_subscription(data: object) -> PushKeys:
    """A browser's ``PushSubscription.toJSON()`` (endpoint, keys.p256dh, keys.auth), checked."""
    if not isinstance(data, dict):
        raise _invalid(None, _("Send the subscription as a JSON object."))
    endpoint = check_endpoint(data.get("endpoint"))
    keys = data.get("keys")
    if not isinstance(keys, dict):
        raise _invalid("keys", _("The subscription's keys (p256dh and auth) are missing."), "required")
    p256dh, auth = keys.get("p256dh"), keys.get("auth")
    raw_key = b64url_bytes(p256dh) if isinstance(p256dh, str) and len(p256dh) <= 100 else None
    if raw_key is None or len(raw_key) != P256DH_BYTES or raw_key[0] != 4:
        raise _invalid("keys.p256dh", _("The key p256dh must be a P-256 public key in base64url (65 bytes)."))
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw_key)
    except ValueError:
        raise _invalid("keys.p256dh", _("The key p256dh must be a P-256 public key in base64url (65 bytes).")) \
            from None
    raw_auth = b64url_bytes(auth) if isinstance(auth, str) and len(auth) <= 40 else None
    if raw_auth is None or len(raw_auth) != AUTH_BYTES:
        raise _invalid("keys.auth", _("The key auth must be 16 bytes in base64url."))
    return PushKeys(endpoint=endpoint, p256dh=p256dh.rstrip("="), auth=auth.rstrip("="))  # type: ignore[union-attr]


# --- Use cases -----------------------------------------------------------------------------------

def push_subscribe(*, report: Report, data: object, source: str, language: str) -> tuple[PushSubscription, bool]:
    """Store (or renew the keys of) the endpoint for this report; returns it and whether it is new."""
    if not push_enabled():
        raise PushDisabled()
    keys = check_subscription(data)
    values = {"p256dh": keys.p256dh, "auth": keys.auth, "source": source, "language": language[:8] or "de"}
    existing = PushSubscription.objects.filter(report=report)
    if (not existing.filter(endpoint=keys.endpoint).exists()
            and existing.count() >= MAX_SUBSCRIPTIONS_PER_REPORT):
        raise DomainError(_("This report has as many push subscriptions as it can take."), field=None,
                          code="too_many", kind=Kind.CONFLICT)
    try:
        with transaction.atomic():
            return PushSubscription.objects.update_or_create(report=report, endpoint=keys.endpoint, defaults=values)
    except IntegrityError:  # the same endpoint registered at the same moment
        subscription = PushSubscription.objects.get(report=report, endpoint=keys.endpoint)
        return subscription, False


def push_unsubscribe(*, report: Report, endpoint: object) -> bool:
    """Stop the messages of this report to this endpoint; False if it was not registered."""
    if not isinstance(endpoint, str) or not endpoint.strip() or len(endpoint) > MAX_ENDPOINT_LENGTH:
        raise _invalid("endpoint", _("The push endpoint is missing."), "required")
    return forget_push_subscriptions(PushSubscription.objects.filter(report=report, endpoint=endpoint.strip())) > 0


def forget_push_subscriptions(subscriptions, *, sending: int | None = None) -> int:
    """Delete these subscriptions and skip the messages still queued for them (except the one ``sending``,
    whose worker records its outcome)."""
    ids = list(subscriptions.values_list("pk", flat=True))
    if not ids:
        return 0
    pending = Delivery.objects.filter(data__push__in=ids, status=DeliveryStatus.PENDING)
    if sending is not None:
        pending = pending.exclude(pk=sending)
    pending.update(
        status=DeliveryStatus.SKIPPED, target=""
    )
    Delivery.objects.filter(data__push__in=ids).update(target="")
    PushSubscription.objects.filter(pk__in=ids).delete()
    return len(ids)


def app_push_endpoints(report: Report) -> list[dict]:
    """The reporter's own devices told about this report (part of what the platform holds about the reporter);
    browsers that followed the public page are other people's and are not listed."""
    return [
        {"endpoint": push.endpoint, "registered_at": push.created_at.isoformat()}
        for push in PushSubscription.objects.filter(report=report, source=PushSource.APP).order_by("pk")
    ]
