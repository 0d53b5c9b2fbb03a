"""What the links in mails do: confirm an address, reopen a report that is not fixed after all."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from notifications.delivery.email import last_status_event, read_reopen_token
from notifications.models import EmailAddress, hash_token
from reports.models import Report
from reports.services import report_transition
from reports.workflow import Status


def address_confirm(*, token: str) -> EmailAddress | None:
    """Confirm the address the token was sent to; None if the token is unknown or was used already."""
    if not token:
        return None
    with transaction.atomic():
        address = EmailAddress.objects.select_for_update().filter(token_hash=hash_token(token)).first()
        if address is None:
            return None
        # Conditional, so two clicks at once confirm once.
        EmailAddress.objects.filter(pk=address.pk, token_hash=address.token_hash).update(
            token_hash="", confirmed_at=address.confirmed_at or timezone.now()
        )
    address.refresh_from_db()
    return address


def reopen_target(token: str) -> Report | None:
    """The report a follow-up link may reopen: still fixed by the same status change the mail was about."""
    data = read_reopen_token(token)
    if data is None:
        return None
    public_id, fixed_event_id = data
    report = Report.objects.filter(public_id=public_id).first()
    if report is None or report.status != Status.FIXED:
        return None
    latest = last_status_event(report)
    if latest is None or latest.pk != fixed_event_id:
        return None
    return report


def report_reopen_by_reporter(*, token: str, message: str) -> Report | None:
    """Reopen through the workflow (actor None: the reporter via the mail link); None if the link does not apply."""
    with transaction.atomic():
        report = reopen_target(token)
        if report is None:
            return None
        report = Report.objects.select_for_update().get(pk=report.pk)
        if report.status != Status.FIXED:
            return None
        report_transition(report=report, to=Status.REOPENED, actor=None, message=message)
    return report
