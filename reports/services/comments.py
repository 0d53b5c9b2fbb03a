"""Citizens' comments on a report (Open311 ``servicerequestupdates`` and any later front end), and their
publication by staff.

A comment is a COMMENT event. It is moderated as a report's description is: where the authority publishes
only after review (geo.PublishingPolicy.AFTER_REVIEW) it is stored non-public with ``pending_review``, and
staff publish it by appending a public copy (events are append-only; nothing is marked in place). The author's
name and e-mail address stay in the event's data, which only staff representations show.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from geo.models import PublishingPolicy
from reports.errors import InvalidChange, NotPermitted, TransitionError
from reports.models import EventKind, Photo, PhotoKind, Report, ReportEvent
from reports.permissions import actor_role
from reports.photos import PhotoUpload
from reports.services.common import files_removed_on_failure, new_event, record, store_photo
from reports.services.staff_actions import report_transition
from reports.validation import TEXT_MAX_LENGTH, without_control_characters
from reports.workflow import Status, is_open


@dataclass(frozen=True)
class CommentResult:
    event: ReportEvent  # the COMMENT event (the earlier one when the same comment arrives again)
    replayed: bool  # the sender had sent this comment before: nothing new was stored
    reopened: bool  # the comment asked for reopening and the report was reopened


def report_comment(
    *, report: Report, message: str, photos: Sequence[PhotoUpload] = (), author_name: str = "",
    author_email: str = "", source: str, sender: str = "", client_ref: str = "", media_urls: Sequence[str] = (),
    reopen: bool = False, sent_at: datetime | None = None,
) -> CommentResult:
    """A citizen's comment on ``report``, with photos (stored as report photos) and remote photo addresses
    (``data["media_url"]``, a list, fetched elsewhere).

    ``sender`` names who sent it within ``source`` (e.g. one Open311 client) and ``client_ref`` the sender's
    own id of the comment: the same pair again returns the first comment and stores nothing. ``reopen``
    asks, as the reporter would, to reopen a fixed report; where the workflow refuses, or the comment was
    written (``sent_at``) before the report was closed, the comment is stored all the same and an internal
    note says why the report stayed closed.
    """
    message = without_control_characters(message)
    if len(message) > TEXT_MAX_LENGTH:
        raise InvalidChange("message", gettext_lazy("The comment is too long."), "max_length")
    if not message and not photos and not media_urls:
        raise InvalidChange("message", gettext_lazy("The comment is empty."), "required")
    with files_removed_on_failure(), transaction.atomic():
        report = Report.objects.select_for_update(of=("self",)).select_related("authority").get(pk=report.pk)
        if sender and client_ref:
            earlier = (
                ReportEvent.objects.filter(report=report, kind=EventKind.COMMENT, data__sender=sender,
                                           data__client_ref=client_ref)
                .order_by("id").first()
            )
            if earlier is not None:
                return CommentResult(earlier, replayed=True, reopened=False)
        pending = report.authority.publishing_policy == PublishingPolicy.AFTER_REVIEW
        data: dict = {"source": source, "sender": sender, "client_ref": client_ref}
        # Personal: only staff representations show them, and retention removes them (retention.COMMENT_AUTHOR).
        data.update({key: value.strip() for key, value in (("author_name", author_name),
                                                           ("author_email", author_email)) if value.strip()})
        if pending:
            data["pending_review"] = True
        if media_urls:
            data["media_url"] = list(media_urls)
        if sent_at is not None:
            data["sent_at"] = sent_at.isoformat()
        stored = [store_photo(report, photo, PhotoKind.REPORT) for photo in photos]
        if pending and stored:
            Photo.objects.filter(pk__in=[p.pk for p in stored]).update(is_public=False)
        data["photos"] = [p.pk for p in stored]
        comment = new_event(report, EventKind.COMMENT, None, public=not pending, message=message, data=data)
        events = [comment, *(
            new_event(report, EventKind.PHOTO_ADDED, None, public=not pending,
                      data={"photo": p.pk, "kind": PhotoKind.REPORT, "comment": True})
            for p in stored
        )]
        comment = record(report, events)[0]
        reopened = False
        if reopen and not is_open(report.status):
            # Clients send whole seconds (FixMyStreet does): a comment of the closing's second is not earlier.
            closed = report.closed_at.replace(microsecond=0) if report.closed_at else None
            if sent_at is not None and closed is not None and sent_at < closed:
                # Written before the report was closed (the sender had not heard of it yet): "open" described
                # the report as the sender saw it, it did not ask to undo the closing.
                _refused(report, _("A comment sent with status open was written before the report was closed; "
                                   "the report stays closed."), "written_before_closing")
            else:
                reopened = _reopen(report)
    return CommentResult(comment, replayed=False, reopened=reopened)


def _reopen(report: Report) -> bool:
    """Reopen as the reporter (actor None); a refusal becomes an internal note for staff."""
    try:
        report_transition(report=report, to=Status.REOPENED, actor=None)
    except TransitionError as refused:
        note = _("A comment asked to reopen the report; the workflow refused: %(reason)s") % {
            "reason": refused.message}
        _refused(report, note, refused.code)
        return False
    return True


def _refused(report: Report, note: str, code: str) -> None:
    record(report, [new_event(report, EventKind.INTERNAL_NOTE, None, public=False, message=note,
                              data={"reopen_refused": code})])


def comment_awaits_review(report: Report, comment_id: int) -> bool:
    """Whether the comment is still held for review (and its photos with it)."""
    held = ReportEvent.objects.filter(pk=comment_id, report=report, kind=EventKind.COMMENT, is_public=False).first()
    if held is None or not held.data.get("pending_review"):
        return False
    return not ReportEvent.objects.filter(report=report, kind=EventKind.COMMENT, data__published_from=held.pk).exists()


def report_publish_comment(*, report: Report, event: ReportEvent, actor) -> ReportEvent:
    """Publish a comment held for review: a new public COMMENT event with its text and photos
    (``data["published_from"]`` is the held one). For staff who may work the report."""
    with transaction.atomic():
        report = Report.objects.select_for_update(of=("self",)).select_related("authority").get(pk=report.pk)
        if actor is None or actor_role(actor, report) is None:
            raise NotPermitted
        held = ReportEvent.objects.filter(pk=event.pk, report=report, kind=EventKind.COMMENT).first()
        if held is None:
            raise InvalidChange("comment", gettext_lazy("There is no such comment on this report."), "not_found")
        if held.is_public or not held.data.get("pending_review"):
            raise InvalidChange("comment", gettext_lazy("This comment is public already."), "public")
        if ReportEvent.objects.filter(report=report, kind=EventKind.COMMENT, data__published_from=held.pk).exists():
            raise InvalidChange("comment", gettext_lazy("This comment has been published already."), "published")
        photos = [int(pk) for pk in held.data.get("photos", [])]
        photos += [int(pk) for pk in ReportEvent.objects.filter(  # fetched later from the comment's media_url
            report=report, kind=EventKind.PHOTO_ADDED, data__comment=held.pk).values_list("data__photo", flat=True)]
        Photo.objects.filter(report=report, pk__in=photos).update(is_public=True)
        data = {"published_from": held.pk, "source": held.data.get("source", ""),
                "sender": held.data.get("sender", ""), "photos": photos}
        published = new_event(report, EventKind.COMMENT, actor, message=held.message, data=data)
        return record(report, [published])[0]
