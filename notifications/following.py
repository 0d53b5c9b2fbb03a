"""Following a published report from its public page by e-mail (double opt-in per report)."""

from __future__ import annotations

import secrets

from django.db import IntegrityError, transaction

from notifications.delivery.email import read_unfollow_token
from notifications.delivery.worker import enqueue
from notifications.models import (
    Channel,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Follower,
    confirm_by_token,
    hash_token,
    normalise_address,
)
from reports.models import Report


def followable_reports():
    """Reports whose public page offers to follow them: published, in a public category."""
    return Report.objects.published().filter(category__is_public=True)


def follow_request(*, report: Report, address: str, language: str) -> None:
    """Queue the confirmation mail, unless the address already follows or a confirmation mail is still on its way.

    The caller answers the same either way: whether an address follows a report is nobody else's business.
    """
    normalised = normalise_address(address)
    with transaction.atomic():
        try:
            with transaction.atomic():
                follower, _created = Follower.objects.get_or_create(
                    report=report, address=normalised, defaults={"language": language}
                )
        except IntegrityError:  # a concurrent request created it
            follower = Follower.objects.get(report=report, address=normalised)
        if follower.is_confirmed:
            return
        waiting = Delivery.objects.filter(
            kind=DeliveryKind.FOLLOW_CONFIRMATION, data__follower=follower.pk, status=DeliveryStatus.PENDING
        )
        if waiting.exists():
            return
        delivery = Delivery.objects.create(
            key=f"follow_confirm:{follower.pk}:{secrets.token_hex(8)}", report=report, channel=Channel.EMAIL,
            kind=DeliveryKind.FOLLOW_CONFIRMATION, target=follower.address, data={"follower": follower.pk},
        )
        enqueue([delivery])


def follower_for_token(token: str) -> Follower | None:
    if not token:
        return None
    return Follower.objects.select_related("report").filter(token_hash=hash_token(token)).first()


def follow_confirm(*, token: str) -> Follower | None:
    """Start the status mails; None if the token is unknown or was used already."""
    return confirm_by_token(Follower.objects.select_related("report"), token)


def unfollow_target(token: str) -> Follower | None:
    data = read_unfollow_token(token)
    if data is None:
        return None
    follower_id, public_id = data
    return Follower.objects.select_related("report").filter(pk=follower_id, report__public_id=public_id).first()


def unfollow(*, token: str) -> Report | None:
    """Stop the mails of this report to this address (queued ones are skipped when their time comes)."""
    follower = unfollow_target(token)
    if follower is None:
        return None
    report = follower.report
    Delivery.objects.filter(data__follower=follower.pk, status=DeliveryStatus.PENDING).update(target="")
    follower.delete()
    return report
