"""servicerequestupdates: the public history of service requests as updates (GET), and citizens' updates
(POST), in the shapes FixMyStreet's Open311 client reads and sends.

An update is one public event of a visible report (queries.visible_requests): a status change, a public
answer, a forward, a merged duplicate, a published citizen comment or a photo of the fix. Internal notes,
comments held for review and everything about the reporter or a comment's author never appear.
"""

from __future__ import annotations

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import QueryDict
from django.utils.translation import gettext as _
from rest_framework import serializers

from geo.models import Authority
from mobile_api.open311 import queries
from mobile_api.open311.statuses import CLIENT_STATUSES
from reports.models import EventKind, Photo, PhotoKind, ReportEvent, StatusLabel
from reports.validation import max_text_length, without_control_characters
from reports.workflow import Status

# The longest start_date–end_date window one request may ask for (FixMyStreet asks for the last hours).
MAX_WINDOW_DAYS = queries.DEFAULT_DAYS
MESSAGE_KINDS = (EventKind.STATUS_CHANGED, EventKind.PUBLIC_ANSWER, EventKind.FORWARDED, EventKind.MERGED,
                 EventKind.COMMENT)


def sender_of(client) -> str:
    """How comments sent by one Open311 client are marked (reports.services.report_comment's ``sender``)."""
    return f"open311-client:{client.pk}"


def public_updates(params: QueryDict, *, authority: Authority | None, reader=None) -> tuple[QuerySet, queries.Page]:
    """The updates a GET asks for, oldest first, and the page of them to show.

    ``reader`` (the Open311 client of a valid api_key) does not get its own comments echoed back: it knows them,
    and a comment it sent that staff published after review has a new update_id it could not match.
    """
    start, end = queries.date_window(params, max_days=MAX_WINDOW_DAYS)
    # The report's status when the event happened: the last status an event up to it set (one subquery).
    status_then = (
        ReportEvent.objects.filter(report=OuterRef("report"), id__lte=OuterRef("id"))
        .exclude(to_status="").order_by("-id").values("to_status")[:1]
    )
    events = (
        ReportEvent.objects.filter(is_public=True, report__in=queries.visible_requests().values("pk"))
        .filter(Q(kind__in=MESSAGE_KINDS) | Q(kind=EventKind.PHOTO_ADDED, data__kind=PhotoKind.FIX))
        .filter(created_at__gte=start, created_at__lte=end)
        .select_related("report")
        # Only what an update shows: none of the report's private columns is read.
        .only("kind", "message", "data", "to_status", "created_at", "report__reference", "report__status")
        .annotate(status_then=Subquery(status_then))
        .order_by("id")
    )
    ids = queries.id_list(params, "service_request_id")
    if ids:
        events = events.filter(report__reference__in=ids[:queries.MAX_PAGE_SIZE])
    if authority is not None:
        events = events.filter(report__authority__in=Authority.objects.filter(pk=authority.pk).with_descendants())
    if reader is not None:
        events = events.exclude(Q(kind=EventKind.COMMENT) & Q(data__sender=sender_of(reader)))
    return events, queries.paging(params)


def public_photo_urls(events: list[ReportEvent]) -> dict[int, str]:
    """The image paths of the public photos the events attach, by photo id (one query for a whole page)."""
    wanted = {int(pk) for event in events for pk in _photo_ids(event)}
    if not wanted:
        return {}
    return {photo.pk: photo.public_image.url for photo in Photo.objects.published().filter(pk__in=wanted)}


def _photo_ids(event: ReportEvent) -> list:
    if event.kind == EventKind.PHOTO_ADDED:
        return [event.data["photo"]] if event.data.get("photo") is not None else []
    if event.kind == EventKind.COMMENT:
        return list(event.data.get("photos") or [])
    return []


def first_photo_path(event: ReportEvent, urls: dict[int, str]) -> str | None:
    return next((urls[int(pk)] for pk in _photo_ids(event) if int(pk) in urls), None)


def description(event: ReportEvent) -> str:
    """The update's public text: what staff or the citizen wrote, else a sentence in the reader's language."""
    if event.message:
        return event.message
    data = event.data
    if event.kind == EventKind.STATUS_CHANGED:
        if event.to_status == Status.DUPLICATE and data.get("original"):
            return _("Marked as a duplicate of %(reference)s.") % {"reference": data["original"]}
        return _("Status changed to “%(status)s”.") % {"status": StatusLabel.label(event.to_status)}
    if event.kind == EventKind.FORWARDED:
        return _("Forwarded to %(authority)s.") % {"authority": data.get("to_authority_name", "")}
    if event.kind == EventKind.MERGED:
        return _("Report %(reference)s was merged into this one as a duplicate.") % {
            "reference": data.get("duplicate", "")}
    if event.kind == EventKind.PHOTO_ADDED:
        return _("Photo of the fix added.")
    return ""


# --- POST ------------------------------------------------------------------------------------------

class UpdateInput(serializers.Serializer):
    """The fields FixMyStreet's send-comments posts (Open311::post_service_request_update)."""

    service_request_id = serializers.CharField(max_length=32)
    update_id = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    status = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    description = serializers.CharField(validators=[max_text_length], required=False, allow_blank=True, default="")
    updated_datetime = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    title = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    # Accepted and not stored, as with POST requests: the comment's author is known by name and e-mail.
    phone = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
    account_id = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    def validate_status(self, value: str) -> str:
        value = value.strip().upper()
        if value and value not in CLIENT_STATUSES:
            statuses = ", ".join(sorted(CLIENT_STATUSES))
            raise serializers.ValidationError(_("status must be one of: %(statuses)s.") % {"statuses": statuses})
        return value

    def validate(self, attrs: dict) -> dict:
        for name in ("update_id", "description", "title", "first_name", "last_name"):
            attrs[name] = without_control_characters(attrs[name])
        raw = attrs.pop("updated_datetime").strip()
        attrs["sent_at"] = queries.parse_w3c_datetime("updated_datetime", raw) if raw else None
        return attrs

    @property
    def author_name(self) -> str:
        data = self.validated_data
        # FixMyStreet sends "-" for a missing last name.
        parts = (data["title"], data["first_name"], data["last_name"] if data["last_name"] != "-" else "")
        return " ".join(part for part in parts if part)
