"""What the public sees of a report, decided per photo and for its description (DSGVO: a passer-by's face, a
phone number a citizen wrote).

Leads and authority administrators hide a photo from the public or show it again, and replace the description
the public reads with a redacted text; staff and the reporter keep the original. Each is one transaction with an
internal MODERATED event (data ``{"photo": id, "from": …, "to": …}`` or ``{"description": "redacted"}``); the
report's listeners hear of it as of every change (publish_after_commit through record).

A photo of a citizen's comment held for review is non-public until staff publish the comment
(reports.services.comments): showing it here would bypass that review, so it is refused.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from geo.models import StaffRole
from reports.errors import InvalidChange
from reports.models import EventKind, Photo, Report, ReportEvent
from reports.services.comments import comment_awaits_review
from reports.services.common import locked_with_role, new_event, note_events, record
from reports.validation import TEXT_MAX_LENGTH

_MODERATORS = (StaffRole.LEAD, StaffRole.AUTHORITY_ADMIN)
PHOTO_SHOWN, PHOTO_HIDDEN = "public", "hidden"
_MAX_ID = 2**63 - 1  # a bigint: a larger id from a URL is no photo, not a database error


def report_hide_photo(*, report: Report, photo: Photo | int, actor, note: str = "") -> Report:
    """Take one photo of the report (any kind) out of every public output, its files included."""
    return _set_photo_public(report, photo, actor, note, public=False)


def report_show_photo(*, report: Report, photo: Photo | int, actor, note: str = "") -> Report:
    """Show a hidden photo to the public again (not one whose comment still awaits review)."""
    return _set_photo_public(report, photo, actor, note, public=True)


def locked_photo(report: Report, photo: Photo | int, actor, *, refusal: InvalidChange) -> tuple[Report, Photo]:
    """The report and one of its photos, both locked, for a moderator (lead, authority admin); call inside a
    transaction. Anyone else gets ``refusal``; a photo that is not the report's, "not_found"."""
    photo_id = photo.pk if isinstance(photo, Photo) else photo
    if not isinstance(photo_id, int) or not 0 < photo_id <= _MAX_ID:
        raise InvalidChange("photo", _("There is no such photo on this report."), "not_found")
    report, role = locked_with_role(report, actor)
    if role not in _MODERATORS:
        raise refusal
    current = Photo.objects.select_for_update().filter(pk=photo_id, report=report).first()
    if current is None:
        raise InvalidChange("photo", _("There is no such photo on this report."), "not_found")
    return report, current


def _set_photo_public(report: Report, photo: Photo | int, actor, note: str, *, public: bool) -> Report:
    with transaction.atomic():
        report, current = locked_photo(report, photo, actor, refusal=InvalidChange(
            "photo", _("Only leads may hide or show photos."), "not_permitted"))
        if current.is_public == public:
            raise InvalidChange("photo", _("The photo is already shown to the public.") if public
                                else _("The photo is already hidden from the public."))
        if public and current.pk in photos_awaiting_review(report):
            raise InvalidChange(
                "photo", _("The photo belongs to a comment that awaits review: publish the comment instead."),
                "awaits_review",
            )
        states = (PHOTO_HIDDEN, PHOTO_SHOWN) if public else (PHOTO_SHOWN, PHOTO_HIDDEN)
        events = [
            new_event(report, EventKind.MODERATED, actor, public=False,
                      data={"photo": current.pk, "from": states[0], "to": states[1]}),
            *note_events(report, actor, note),
        ]
        Photo.objects.filter(pk=current.pk).update(is_public=public)
        record(report, events)
    return report


def photos_awaiting_review(report: Report) -> set[int]:
    """The ids of the report's photos that came with a citizen's comment still awaiting review (attached to it,
    or fetched later from its media_url): the comment's publication shows them, not a moderator's hand."""
    held = {
        event.pk: {int(pk) for pk in event.data.get("photos") or []}
        for event in ReportEvent.objects.filter(report=report, kind=EventKind.COMMENT, is_public=False)
        if event.data.get("pending_review") and comment_awaits_review(report, event.pk)
    }
    if not held:
        return set()
    # Attached photos' events say "comment": True (the comment lists them); fetched ones name the comment's id.
    for data in ReportEvent.objects.filter(report=report, kind=EventKind.PHOTO_ADDED, data__comment__in=list(held)) \
            .values_list("data", flat=True):
        comment = data["comment"]
        if not isinstance(comment, bool):  # SQLite matches true with 1
            held[comment].add(int(data["photo"]))
    return set().union(*held.values())


def report_redact_description(*, report: Report, actor, text: str, note: str = "") -> Report:
    """Replace what the public reads of the description with ``text``; the original stays for staff and the
    reporter. ``text`` equal to the original description ends the redaction."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise InvalidChange("text", _("Give the text the public should read."), "required")
    if len(text) > TEXT_MAX_LENGTH:
        raise InvalidChange("text", _("The text is too long."), "max_length")
    if any(ord(c) < 32 and c not in "\t\n" or ord(c) == 127 for c in text):
        raise InvalidChange("text", _("The text contains control characters."), "invalid")
    with transaction.atomic():
        report, role = locked_with_role(report, actor)
        if role not in _MODERATORS:
            raise InvalidChange("text", _("Only leads may redact the public description."), "not_permitted")
        if text == report.public_text:
            raise InvalidChange("text", _("The public already reads this text."))
        restored = text == report.description
        events = [
            new_event(report, EventKind.MODERATED, actor, public=False,
                      data={"description": "restored" if restored else "redacted"}),
            *note_events(report, actor, note),
        ]
        report.public_description = "" if restored else text
        record(report, events, "public_description")
    return report
