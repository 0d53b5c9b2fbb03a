"""Planning: which report events cause which messages, written as ``Delivery`` rows inside the report's
transaction and handed to the worker (``notifications.delivery``); and the daily digests for leads."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from notifications.alerts import plan_matching
from notifications.delivery.worker import enqueue, option
from notifications.models import (
    Channel,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    EmailAddress,
    Follower,
    PushSource,
    PushSubscription,
    Subscription,
    Webhook,
    normalise_address,
)
from notifications.webpush import forget_push_subscriptions, push_enabled
from reports.models import EventKind, Report, ReportEvent
from reports.workflow import CLOSED_STATUSES, Status, is_open

# Public events that a reporter hears about by mail.
MAIL_EVENT_KINDS = {EventKind.STATUS_CHANGED, EventKind.PUBLIC_ANSWER}


# --- Events → deliveries, inside the report's transaction ----------------------------------------

def queue_deliveries(sender, events: list[ReportEvent], **kwargs) -> None:
    planned: list[Delivery] = []
    for report, report_events in _by_report(events):
        planned += plan_for_report(report, report_events)
    if planned:
        enqueue(Delivery.objects.bulk_create(planned))


def _by_report(events: Iterable[ReportEvent]) -> list[tuple[Report, list[ReportEvent]]]:
    groups: dict[int, tuple[Report, list[ReportEvent]]] = {}
    for event in events:
        groups.setdefault(event.report_id, (event.report, []))[1].append(event)
    return list(groups.values())


def plan_for_report(report: Report, events: list[ReportEvent]) -> list[Delivery]:
    planned: list[Delivery] = responsible_mails(report, events)
    for event in events:
        if event.kind == EventKind.CREATED and report.reporter_email:
            planned += subscribe_reporter(report, event)
        elif event.kind == EventKind.MERGED:
            take_over_subscribers(report, event)
        elif event.kind == EventKind.ANONYMISED:
            forget_subscribers(report)
            forget_followers(report)
            forget_push_subscriptions(PushSubscription.objects.filter(report=report))
        elif event.kind == EventKind.FORWARDED and event.data.get("external") and event.data.get("email"):
            planned.append(Delivery(
                key=f"forward:{event.pk}", event=event, report=report, channel=Channel.EMAIL,
                kind=DeliveryKind.FORWARD, target=event.data["email"],
            ))
    mail_events = [e for e in events if e.is_public and e.kind in MAIL_EVENT_KINDS]
    if mail_events:
        planned += status_mails(report, mail_events)
        planned += follower_status_mails(report, mail_events)
        planned += push_messages(report, mail_events)
        fixed = [e for e in mail_events if e.kind == EventKind.STATUS_CHANGED and e.to_status == Status.FIXED]
        if fixed:
            planned += follow_up_mails(report, fixed[-1])
    planned += webhook_calls(report, [e for e in events if e.is_public])
    # Area alerts: the worker finds the matching ones (notifications/alerts.py), not this transaction.
    planned += plan_matching(report, events)
    return planned


# Events after which a report is with a department (or an external body) that has not had it before.
ARRIVALS = frozenset({EventKind.CREATED, EventKind.REASSIGNED, EventKind.FORWARDED, EventKind.ROUTED})


def responsible_mails(report: Report, events: list[ReportEvent]) -> list[Delivery]:
    """Tell whoever now holds the report, at their address: the department, or an external body (e.g. Autobahn
    GmbH) that routing gave the report to without a department of its own on the platform.

    Once per transaction: a new report's "created" and "routed" make one mail. Held reports (publishing policy
    "after review") are announced too: staff must see them to release them. A routing that left the report
    where it was (a corrected pin within the same department) and a forwarding out of the platform (which
    has its own mail, DeliveryKind.FORWARD) tell nobody.
    """
    arrival = next((e for e in events if e.kind in ARRIVALS and _arrived_somewhere_new(report, e)), None)
    if arrival is None:
        return []
    department = report.department
    if department is not None:
        address = department.email
    else:
        address = report.authority.email
    if not address or not is_open(report.status):
        return []
    return [Delivery(
        key=f"responsible:{arrival.pk}", event=arrival, report=report, channel=Channel.EMAIL,
        kind=DeliveryKind.RESPONSIBLE, target=address,
        data={"department": department.pk if department else None, "authority": report.authority_id},
    )]


def _arrived_somewhere_new(report: Report, event: ReportEvent) -> bool:
    if event.kind == EventKind.CREATED:
        return True
    data = event.data if isinstance(event.data, dict) else {}
    if event.kind == EventKind.ROUTED:
        # The first routing belongs to "created"; a correction's carries where the report was.
        return "previous_authority" in data and (
            data.get("from_department") != report.department_id or data["previous_authority"] != report.authority.slug
        )
    if event.kind == EventKind.FORWARDED:
        return not data.get("external")
    return True  # reassigned: always to another department


def report_language(report: Report) -> str:
    return getattr(report, "language", "") or settings.LANGUAGE_CODE


def subscribe_reporter(report: Report, event: ReportEvent) -> list[Delivery]:
    """The reporter follows their report; an unconfirmed address first gets the confirmation mail."""
    address = _address(normalise_address(report.reporter_email), report_language(report))
    Subscription.objects.get_or_create(report=report, address=address)
    if address.is_confirmed:
        return []
    return [
        Delivery(
            key=f"confirmation:{event.pk}:{address.pk}", event=event, report=report, channel=Channel.EMAIL,
            kind=DeliveryKind.CONFIRMATION, target=address.address, address=address,
        )
    ]


def take_over_subscribers(original: Report, merged: ReportEvent) -> None:
    """A duplicate was merged into ``original``: its subscribers now follow the original."""
    duplicate = Report.objects.filter(public_id=merged.data.get("duplicate_id")).first()
    if duplicate is None:
        return
    for subscription in Subscription.objects.filter(report=duplicate):
        Subscription.objects.get_or_create(report=original, address_id=subscription.address_id)
    # Who followed the duplicate by e-mail or push wanted to hear how the problem ends: the original tells them.
    for follower in Follower.objects.filter(report=duplicate, confirmed_at__isnull=False):
        Follower.objects.get_or_create(
            report=original, address=follower.address,
            defaults={"language": follower.language, "confirmed_at": follower.confirmed_at},
        )
    for push in PushSubscription.objects.filter(report=duplicate):
        PushSubscription.objects.get_or_create(
            report=original, endpoint=push.endpoint,
            defaults={"p256dh": push.p256dh, "auth": push.auth, "source": push.source, "language": push.language},
        )


def forget_subscribers(report: Report) -> None:
    """The report's personal data was removed (DSGVO): so go its subscriptions, the mails not yet sent to
    them, and every address that no longer follows any report."""
    addresses = list(Subscription.objects.filter(report=report).values_list("address_id", flat=True))
    Subscription.objects.filter(report=report).delete()
    Delivery.objects.filter(report=report, channel=Channel.EMAIL, address_id__in=addresses,
                            status=DeliveryStatus.PENDING).update(status=DeliveryStatus.SKIPPED, target="")
    Delivery.objects.filter(report=report, address_id__in=addresses).update(target="")
    EmailAddress.objects.filter(pk__in=addresses, subscriptions__isnull=True).delete()


def _address(normalised: str, language: str) -> EmailAddress:
    try:
        with transaction.atomic():  # a savepoint: a concurrent insert must not break the report's transaction
            return EmailAddress.objects.get_or_create(address=normalised, defaults={"language": language})[0]
    except IntegrityError:
        return EmailAddress.objects.get(address=normalised)


def confirmed_subscriptions(report: Report):
    return Subscription.objects.filter(report=report, address__confirmed_at__isnull=False).select_related("address")


def status_mails(report: Report, events: list[ReportEvent]) -> list[Delivery]:
    """One mail per confirmed subscriber for what happened in this transaction (status and answer together)."""
    last = events[-1]
    return [
        Delivery(
            key=f"status:{last.pk}:{sub.address_id}", event=last, report=report, channel=Channel.EMAIL,
            kind=DeliveryKind.STATUS, target=sub.address.address, address=sub.address,
            data={"events": [e.pk for e in events]},
        )
        for sub in confirmed_subscriptions(report)
    ]


def follower_status_mails(report: Report, events: list[ReportEvent]) -> list[Delivery]:
    """The same status mail to each confirmed follower of a published report (not twice to a subscriber)."""
    if not Report.objects.published().filter(pk=report.pk).exists():
        return []
    subscribed = {sub.address.address for sub in confirmed_subscriptions(report)}
    last = events[-1]
    return [
        Delivery(
            key=f"status:{last.pk}:follower:{follower.pk}", event=last, report=report, channel=Channel.EMAIL,
            kind=DeliveryKind.STATUS, target=follower.address,
            data={"events": [e.pk for e in events], "follower": follower.pk},
        )
        for follower in Follower.objects.filter(report=report, confirmed_at__isnull=False).order_by("pk")
        if follower.address not in subscribed
    ]


def push_messages(report: Report, events: list[ReportEvent]) -> list[Delivery]:
    """One Web Push message per endpoint for what happened in this transaction, when the follower mails go:
    to browsers that follow the published report, and to the reporter's app whether or not it is published."""
    if not push_enabled():
        return []
    subscriptions = PushSubscription.objects.filter(report=report).order_by("pk")
    if not Report.objects.published().filter(pk=report.pk).exists():
        subscriptions = subscriptions.filter(source=PushSource.APP)
    last = events[-1]
    return [
        Delivery(
            key=f"push:{last.pk}:{subscription.pk}", event=last, report=report, channel=Channel.WEB_PUSH,
            kind=DeliveryKind.STATUS, target=_origin(subscription.endpoint),
            data={"events": [e.pk for e in events], "push": subscription.pk},
        )
        for subscription in subscriptions
    ]


def _origin(url: str) -> str:
    # The push service, not the device's endpoint: the queue's rows name no device.
    scheme, _sep, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def forget_followers(report: Report) -> None:
    """The report's personal data was removed (DSGVO): so go its followers and the mails not yet sent to them."""
    followers = list(Follower.objects.filter(report=report).values_list("pk", flat=True))
    if not followers:
        return
    mails = Delivery.objects.filter(report=report, data__follower__in=followers)  # status and confirmation mails
    mails.filter(status=DeliveryStatus.PENDING).update(status=DeliveryStatus.SKIPPED, target="")
    mails.update(target="")
    Follower.objects.filter(pk__in=followers).delete()


# An address that never confirmed following a report is deleted after this many days.
UNCONFIRMED_FOLLOWER_DAYS = 7


def forget_expired_followers(now: datetime | None = None) -> int:
    """Followers go with the retention of personal data even when the report had no reporter data to anonymise
    (so no "anonymised" event): those of reports closed longer than RETENTION_DAYS ago, and those who never
    confirmed within UNCONFIRMED_FOLLOWER_DAYS. Run by the periodic sweep; returns how many reports it touched."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.OPENMELDER["RETENTION_DAYS"])
    expired = Report.objects.filter(
        status__in=CLOSED_STATUSES, closed_at__lt=cutoff, followers__isnull=False
    ).distinct()
    count = 0
    for report in expired.iterator():
        forget_followers(report)
        count += 1
    forget_push_subscriptions(PushSubscription.objects.filter(
        report__status__in=CLOSED_STATUSES, report__closed_at__lt=cutoff
    ))
    stale = Follower.objects.filter(
        confirmed_at__isnull=True, created_at__lt=now - timedelta(days=UNCONFIRMED_FOLLOWER_DAYS)
    )
    stale_ids = list(stale.values_list("pk", flat=True))
    if stale_ids:
        Delivery.objects.filter(data__follower__in=stale_ids).update(target="")
        Follower.objects.filter(pk__in=stale_ids).delete()
    return count


def follow_up_mails(report: Report, fixed: ReportEvent) -> list[Delivery]:
    due = timezone.now() + timedelta(days=option("FOLLOW_UP_DAYS"))
    return [
        Delivery(
            key=f"follow_up:{fixed.pk}:{sub.address_id}", event=fixed, report=report, channel=Channel.EMAIL,
            kind=DeliveryKind.FOLLOW_UP, target=sub.address.address, address=sub.address,
            data={"fixed_event": fixed.pk}, next_attempt_at=due,
        )
        for sub in confirmed_subscriptions(report)
    ]


def webhooks_for(report: Report):
    owners = Q(authority_id=report.authority_id)
    if report.department_id is not None:
        owners |= Q(department_id=report.department_id)
    return Webhook.objects.filter(owners, active=True)


def webhook_calls(report: Report, events: list[ReportEvent]) -> list[Delivery]:
    if not events:
        return []
    hooks = list(webhooks_for(report))
    return [
        Delivery(
            key=f"webhook:{event.pk}:{hook.pk}", event=event, report=report, channel=Channel.WEBHOOK,
            kind=DeliveryKind.EVENT, target=hook.url, webhook=hook,
        )
        for event in events
        for hook in hooks
    ]


# --- The daily digest for department leads -----------------------------------------------------

def overdue_for_lead(user) -> list[Report]:
    overdue = getattr(Report.objects, "overdue", None)
    if overdue is None or user is None:  # before reports has due dates
        return []
    departments = user.memberships.filter(role="lead").values("department")
    return list(overdue().filter(department__in=departments).select_related("category").order_by("due_at"))


def queue_digests(now: datetime | None = None) -> int:
    """Once a day, from NOTIFY_DIGEST_HOUR (local time), one digest per department lead with overdue reports."""
    now = now or timezone.now()
    local = timezone.localtime(now)
    if local.hour < option("DIGEST_HOUR"):
        return 0
    leads = get_user_model().objects.filter(memberships__role="lead", is_active=True).exclude(email="").distinct()
    queued = 0
    for user in leads:
        key = f"digest:{local.date().isoformat()}:{user.pk}"
        if Delivery.objects.filter(key=key).exists() or not overdue_for_lead(user):
            continue
        try:
            with transaction.atomic():
                delivery = Delivery.objects.create(
                    key=key, channel=Channel.EMAIL, kind=DeliveryKind.DIGEST, target=user.email, recipient_user=user
                )
                enqueue([delivery])
        except IntegrityError:  # another worker's sweep queued it first
            continue
        queued += 1
    return queued
