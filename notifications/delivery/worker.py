"""Sending deliveries: claim one, send it through its channel's transport, record what happened.

See ``notifications.delivery`` for the guarantees. The ``deliver`` task lives here, next to the
``enqueue`` that queues it, because a retry queues the next attempt from inside a send.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django_tasks import task

from notifications.delivery.transports import DeliveryError, NotApplicable, transport_for
from notifications.models import Delivery, DeliveryStatus

logger = logging.getLogger(__name__)


def option(name: str):
    return settings.NOTIFICATIONS[name]


@task()
def deliver(delivery_id: int) -> str:
    return send(delivery_id)


def enqueue(deliveries: Iterable[Delivery]) -> None:
    """One task per delivery, in the caller's transaction; a task due later waits for its time."""
    now = timezone.now()
    for delivery in deliveries:
        when = delivery.next_attempt_at
        (deliver.using(run_after=when) if when > now else deliver).enqueue(delivery.pk)


# --- Sending: claim, send, record ----------------------------------------------------------

def claim(delivery_id: int, now: datetime | None = None) -> Delivery | None:
    """Take the delivery for this worker, or None if it is not due, done, or held by a live worker."""
    now = now or timezone.now()
    token = secrets.token_hex(16)
    claimed = (
        Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=now + timedelta(seconds=option("LEASE_SECONDS")), lease_token=token,
                attempts=F("attempts") + 1)
    )
    if not claimed:
        return None
    return Delivery.objects.select_related(
        "address", "webhook", "report__category", "report__authority", "report__department", "event", "recipient_user"
    ).get(pk=delivery_id)


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(option("RETRY_BASE_SECONDS") * 2 ** (attempts - 1), 6 * 3600))


def send(delivery_id: int) -> str:
    """Send one delivery if this worker can claim it; returns what happened (the task's result)."""
    delivery = claim(delivery_id)
    if delivery is None:
        return "not claimed"
    try:
        _attempt(delivery)
    except NotApplicable as exc:
        return _record(delivery, status=DeliveryStatus.SKIPPED, error=str(exc))
    except DeliveryError as exc:
        if exc.permanent or delivery.attempts >= option("MAX_ATTEMPTS"):
            logger.warning("delivery %s failed for good after %s attempts: %s", delivery.pk, delivery.attempts, exc)
            return _record(delivery, status=DeliveryStatus.FAILED, error=str(exc))
        return _retry(delivery, error=str(exc))
    return _record(delivery, status=DeliveryStatus.SENT, error="")


def _attempt(delivery: Delivery) -> None:
    """Send through the channel's transport; anything unexpected (a bug, a broken template) counts as a
    temporary failure, so it is retried up to the limit instead of being re-queued forever by the sweeper."""
    try:
        transport_for(delivery.channel).send(delivery)
    except (NotApplicable, DeliveryError):
        raise
    except Exception as exc:  # noqa: BLE001
        logger.exception("delivery %s raised unexpectedly", delivery.pk)
        raise DeliveryError(f"{type(exc).__name__}: {exc}", permanent=False) from exc


def _mine(delivery: Delivery):
    # Only the worker holding the lease records the outcome.
    return Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.PENDING, lease_token=delivery.lease_token)


def _record(delivery: Delivery, *, status: str, error: str) -> str:
    now = timezone.now()
    _mine(delivery).update(
        status=status, last_error=error[:2000], lease_until=None, sent_at=now if status == DeliveryStatus.SENT else None
    )
    return status


def _retry(delivery: Delivery, *, error: str) -> str:
    when = timezone.now() + backoff(delivery.attempts)
    with transaction.atomic():
        if _mine(delivery).update(next_attempt_at=when, lease_until=None, last_error=error[:2000]):
            delivery.next_attempt_at = when
            enqueue([delivery])
    return "retry"


# --- Recovery: deliveries whose worker died ----------------------------------------------------

def requeue_stale(now: datetime | None = None, limit: int = 1000) -> int:
    """Give deliveries whose worker died (lease expired) or whose task never ran a new task."""
    now = now or timezone.now()
    stale_before = now - timedelta(seconds=option("LEASE_SECONDS"))
    with transaction.atomic():
        ids = list(
            Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=stale_before)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            # Due again now: the next sweep leaves them alone for another lease period.
            Delivery.objects.filter(pk__in=ids).update(next_attempt_at=now)
            enqueue(Delivery(pk=pk, next_attempt_at=now) for pk in ids)
    if ids:
        logger.info("re-queued %d deliveries whose worker stopped", len(ids))
    return len(ids)
