"""Use cases that change reports. Each runs in one transaction with the events it emits."""

from __future__ import annotations

import hashlib
import hmac
import logging
import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import Point
from django.contrib.gis.measure import D
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import override
from geopy.distance import geodesic

from geo.models import Authority, AuthorityKind, Category, Department, PublishingPolicy, StaffRole
from geo.routing import Decision, route
from geo.spatial_sql import envelope, index_candidates
from reports.models import (
    EventKind, Moderation, Photo, PhotoKind, ReferenceCounter, Report, ReportEvent, ResponseTemplate, Source, Support,
    hash_secret,
)
from reports.deadlines import due_at
from reports.photos import ProcessedPhoto
from reports.signals import events_committed, events_recorded
from reports.permissions import actor_role
from reports.workflow import REPORTER, Need, Status, check_transition, is_open, may_move_to_another_authority

logger = logging.getLogger(__name__)

# A device position and a photo's position further apart than this are worth a note to staff.
LOCATION_DISCREPANCY_M = 200


class MissingLocation(Exception):
    """Neither the device nor a photo gave a usable position."""

    message = _("Give the place as lat and lon, or attach a photo with a GPS position.")


class IdempotencyConflict(Exception):
    """The idempotency key was used before for a different request."""

    message = _("This Idempotency-Key was already used for a different report.")


@dataclass(frozen=True)
class SubmitResult:
    report: Report
    secret: str
    created: bool


def replay_secret(idempotency_key: uuid.UUID, public_id: uuid.UUID) -> str:
    """The reporter secret of an idempotent submission, reproducible for a replay of the same request.

    Only its hash is stored; whoever knows the (random, client-chosen) idempotency key of the
    original request can get the same answer again, which is what idempotency promises.
    """
    message = f"reporter-secret:{idempotency_key}:{public_id}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def report_submit(
    *,
    category: Category,
    device_location: Point | None,
    description: str = "",
    photos: list[ProcessedPhoto] = (),
    reporter_name: str = "",
    reporter_email: str = "",
    source: str = Source.APP,
    language: str = "de",
    idempotency_key: uuid.UUID | None = None,
    fingerprint: str = "",
) -> SubmitResult:
    """Store a new report, its photos and its first events; or, for a repeated idempotency key, the earlier one.

    Raises MissingLocation, geo.routing.OutsideServiceArea or IdempotencyConflict.
    """
    if idempotency_key is not None:
        earlier = earlier_submission(idempotency_key, fingerprint)
        if earlier is not None:
            return earlier
    location, location_note = resolve_location(device_location, list(photos))
    if location is None:
        raise MissingLocation()
    decision = route(category, location)
    try:
        with _files_removed_on_failure(), transaction.atomic():
            report, secret = _create(
                category=category, location=location, decision=decision, description=description, photos=photos,
                reporter_name=reporter_name, reporter_email=reporter_email, source=source, language=language,
                idempotency_key=idempotency_key, fingerprint=fingerprint, location_note=location_note,
            )
    except IntegrityError:
        # A concurrent request with the same key won the race: answer as for a replay.
        if idempotency_key is None:
            raise
        earlier = earlier_submission(idempotency_key, fingerprint)
        if earlier is None:
            raise
        return earlier
    return SubmitResult(report=report, secret=secret, created=True)


def earlier_submission(idempotency_key: uuid.UUID, fingerprint: str) -> SubmitResult | None:
    """The answer already given for this idempotency key, if any (IdempotencyConflict for another request)."""
    report = Report.objects.filter(idempotency_key=idempotency_key).first()
    if report is None:
        return None
    if not hmac.compare_digest(report.idempotency_fingerprint, fingerprint):
        raise IdempotencyConflict()
    return SubmitResult(report=report, secret=replay_secret(idempotency_key, report.public_id), created=False)


def _create(*, category, location, decision, description, photos, reporter_name, reporter_email, source, language,
            idempotency_key, fingerprint, location_note) -> tuple[Report, str]:
    now = timezone.now()
    report = Report(
        category=category,
        location=location,
        description=description,
        authority=decision.authority,
        department=decision.department,
        routing_reason=decision.reason,
        reporter_name=reporter_name,
        reporter_email=reporter_email,
        source=source,
        language="en" if language.startswith("en") else "de",
        due_at=due_at(now, category.target_working_days, decision.authority.ars),
        moderation=(
            Moderation.PENDING
            if decision.authority.publishing_policy == PublishingPolicy.AFTER_REVIEW
            else Moderation.PUBLISHED
        ),
        idempotency_key=idempotency_key,
        idempotency_fingerprint=fingerprint,
        created_at=now,
        updated_at=now,
        reference=ReferenceCounter.next_reference(decision.authority.get_reference_prefix(), now.year),
    )
    if idempotency_key is not None:
        secret = replay_secret(idempotency_key, report.public_id)
        report.secret_hash = hash_secret(secret)
    else:
        secret = report.set_secret()
    report.save()
    events = opening_events(decision, now)
    if location_note:
        events.append(
            ReportEvent(report=report, kind=EventKind.INTERNAL_NOTE, is_public=False, created_at=now, data=location_note,
                        message=str(_("The device position and the photo's position differ by %(m)d m; the device position was used.")
                                    % {"m": location_note["distance_m"]}))
        )
    for photo in photos:
        stored = _store_photo(report, photo, PhotoKind.REPORT)
        events.append(ReportEvent(report=report, kind=EventKind.PHOTO_ADDED, created_at=now, data={"photo": stored.pk}))
    for event in events:
        event.report = report
    publish_after_commit(ReportEvent.objects.bulk_create(events))
    return report, secret


_written_files: ContextVar[list[str] | None] = ContextVar("written_files", default=None)


@contextmanager
def _files_removed_on_failure():
    """Photo files are written before their transaction commits: if it does not, remove them again,
    so a failed submission (database or disk failing half-way) leaves neither rows nor files behind."""
    written: list[str] = []
    token = _written_files.set(written)
    try:
        yield
    except BaseException:
        for name in written:
            try:
                default_storage.delete(name)
            except OSError:
                logger.warning("could not remove %s after a failed submission", name, exc_info=True)
        raise
    finally:
        _written_files.reset(token)


def _store_photo(report: Report, photo: ProcessedPhoto, kind: str) -> Photo:
    written = _written_files.get()
    if written is None:
        raise RuntimeError("photos are stored inside _files_removed_on_failure()")
    stored = Photo(report=report, kind=kind, size_bytes=len(photo.image), captured_at=photo.captured_at,
                   width=photo.width, height=photo.height,
                   exif_location=Point(photo.gps[1], photo.gps[0], srid=4326) if photo.gps else None)
    stored.image.save("photo.jpg", ContentFile(photo.image), save=False)
    written.append(stored.image.name)
    stored.thumbnail.save("thumb.jpg", ContentFile(photo.thumbnail), save=False)
    written.append(stored.thumbnail.name)
    stored.save()
    return stored


def publish_after_commit(events: list[ReportEvent]) -> None:
    """Hand new events to listeners: durable work now, in this transaction; pushes after commit.

    Must be called inside the transaction that saved the events.
    """
    events_recorded.send(sender=ReportEvent, events=events)
    event_ids = [event.pk for event in events]
    transaction.on_commit(lambda: events_committed.send(sender=ReportEvent, event_ids=event_ids))


def opening_events(decision: Decision, at) -> list[ReportEvent]:
    """The first entries of every report's history: created, and where routing sent it and why."""
    near_border = decision.near_border
    return [
        ReportEvent(kind=EventKind.CREATED, to_status=Status.NEW, created_at=at),
        ReportEvent(
            kind=EventKind.ROUTED,
            created_at=at,
            data={
                "authority": decision.authority.slug,
                "department": decision.department.slug if decision.department else None,
                "reason": decision.reason,
                "near_border": (
                    {
                        "distance_m": round(near_border.distance_m, 1),
                        "candidates": [{"name": str(a), "ags": a.ags or None} for a in near_border.candidates],
                    }
                    if near_border
                    else None
                ),
            },
        ),
    ]


def resolve_location(device: Point | None, photos: list[ProcessedPhoto]) -> tuple[Point | None, dict | None]:
    """The report's location: the device's position, else the first photo's valid GPS position.

    Returns the location and, when device and photo disagree by more than 200 m, a note for staff.
    """
    photo_position = next((Point(p.gps[1], p.gps[0], srid=4326) for p in photos if p.gps), None)
    if device is None:
        return photo_position, None
    if photo_position is None:
        return device, None
    distance = _metres_between(device, photo_position)
    if distance <= LOCATION_DISCREPANCY_M:
        return device, None
    return device, {"photo_location": [photo_position.y, photo_position.x], "distance_m": round(distance)}


def _metres_between(a: Point, b: Point) -> float:
    return geodesic((a.y, a.x), (b.y, b.x)).meters


def report_support(*, report: Report, supporter: str) -> tuple[int, bool]:
    """Count a "me too" once per supporter (a device id or an e-mail address); returns (count, new)."""
    supporter_hash = hashlib.sha256(f"{report.pk}:{supporter.strip().lower()}".encode()).hexdigest()
    try:
        with transaction.atomic():
            Support.objects.create(report=report, supporter_hash=supporter_hash)
            Report.objects.filter(pk=report.pk).update(support_count=F("support_count") + 1, updated_at=timezone.now())
            count = Report.objects.values_list("support_count", flat=True).get(pk=report.pk)
            event = ReportEvent.objects.create(
                report=report, kind=EventKind.SUPPORTED, created_at=timezone.now(), data={"support_count": count}
            )
            publish_after_commit([event])
    except IntegrityError:
        return Report.objects.values_list("support_count", flat=True).get(pk=report.pk), False
    return count, True


def reports_nearby(*, category: Category, point: Point, radius_m: int):
    """Open, published reports of the category within the radius, nearest first."""
    frame = envelope(point, radius_m)
    return (
        Report.objects.open()
        .published()
        .filter(category=category)
        .filter(index_candidates(Report, "location", frame))
        .filter(location__intersects=frame)
        .filter(location__distance_lte=(point, D(m=radius_m)))
        .annotate(distance=Distance("location", point))
        .order_by("distance", "pk")
    )


# --- Staff work on a report -------------------------------------------------------------------
# Each use case locks the report row, checks who may do what, changes the report and appends
# its events in one transaction; listeners hear of the events through publish_after_commit.

class NotPermitted(Exception):
    """The actor may not do this to this report (the API answers 404 for reports it cannot see)."""


class InvalidChange(Exception):
    """A change that cannot be made as asked: ``field`` names the input, ``message`` says why."""

    def __init__(self, field: str, message, code: str = "invalid") -> None:
        super().__init__(field)
        self.field, self.message, self.code = field, message, code


def _locked(report: Report, actor) -> tuple[Report, str]:
    """The report, re-read under a row lock, and the actor's role (REPORTER for actor None)."""
    # of=self: PostgreSQL cannot lock the nullable side of the outer join to department.
    current = (
        Report.objects.select_for_update(of=("self",)).select_related("category", "authority", "department").get(pk=report.pk)
    )
    role = REPORTER if actor is None else actor_role(actor, current)
    if role is None:
        raise NotPermitted()
    return current, role


def _event(report: Report, kind: str, actor, *, public: bool = True, message: str = "", data: dict | None = None,
           from_status: str = "", to_status: str = "", at=None) -> ReportEvent:
    return ReportEvent(
        report=report, kind=kind, is_public=public, actor=actor, message=message, data=data or {},
        from_status=from_status, to_status=to_status, created_at=at or timezone.now(),
    )


def _record(report: Report, events: list[ReportEvent], *fields: str) -> list[ReportEvent]:
    report.updated_at = timezone.now()
    report.save(update_fields=[*fields, "updated_at"])
    saved = ReportEvent.objects.bulk_create(events)
    publish_after_commit(saved)
    return saved


def _note_event(report: Report, actor, note: str) -> list[ReportEvent]:
    note = note.strip()
    return [_event(report, EventKind.INTERNAL_NOTE, actor, public=False, message=note)] if note else []


def _status_change(report: Report, to: str, actor, message: str, data: dict | None = None) -> ReportEvent:
    event = _event(report, EventKind.STATUS_CHANGED, actor, message=message.strip(), data=data,
                   from_status=report.status, to_status=to)
    now = event.created_at
    report.status = to
    if is_open(to):
        report.closed_at = None
        if event.from_status and not is_open(event.from_status):
            # A reopened report gets a fresh deadline from now.
            report.due_at = due_at(now, report.category.target_working_days, report.authority.ars)
    else:
        report.closed_at = now
    return event


def report_transition(
    *, report: Report, to: str, actor, message: str = "", note: str = "",
    duplicate_of: Report | None = None, authority: Authority | None = None,
) -> Report:
    """Move a report to status ``to``. ``actor`` None is the reporter (through the follow-up mail's link).

    Raises NotPermitted, workflow.TransitionError or InvalidChange.
    """
    if to == Status.DUPLICATE and duplicate_of is not None:
        return report_mark_duplicate(report=report, original=duplicate_of, actor=actor, message=message, note=note)
    if to == Status.FORWARDED and authority is not None:
        return report_forward(report=report, authority=authority, actor=actor, message=message, note=note)
    with transaction.atomic():
        report, role = _locked(report, actor)
        given = {Need.REASON} if message.strip() else set()
        check_transition(report.status, to, role, given=given)
        events = [_status_change(report, to, actor, message), *_note_event(report, actor, note)]
        _record(report, events, "status", "closed_at", "due_at")
    return report


def report_answer(*, report: Report, actor, message: str) -> Report:
    """A public answer without a status change."""
    if not message.strip():
        raise InvalidChange("message", _("The answer is empty."), "required")
    with transaction.atomic():
        report, _role = _locked(report, actor)
        _record(report, [_event(report, EventKind.PUBLIC_ANSWER, actor, message=message.strip())])
    return report


def report_note(*, report: Report, actor, note: str) -> Report:
    """An internal note: staff only, never in a public output."""
    if not note.strip():
        raise InvalidChange("note", _("The note is empty."), "required")
    with transaction.atomic():
        report, _role = _locked(report, actor)
        _record(report, _note_event(report, actor, note))
    return report


def report_moderate(*, report: Report, actor, moderation: str, note: str = "") -> Report:
    """Release a report held for review (publishing policy "after review"), or hide one from the public.

    For leads and authority admins: what the public sees of a report is the authority's word.
    """
    if moderation not in Moderation.values:
        raise InvalidChange("moderation", _("Unknown moderation state."))
    with transaction.atomic():
        report, role = _locked(report, actor)
        if role not in (StaffRole.LEAD, StaffRole.AUTHORITY_ADMIN):
            raise InvalidChange("moderation", _("Only leads may release or hide reports."), "not_permitted")
        if report.moderation == moderation:
            raise InvalidChange("moderation", _("The report is already in this state."))
        events = [
            _event(report, EventKind.MODERATED, actor, public=False, data={"from": report.moderation, "to": moderation}),
            *_note_event(report, actor, note),
        ]
        report.moderation = moderation
        _record(report, events, "moderation")
    return report


def report_reassign(*, report: Report, department: Department, actor, note: str = "") -> Report:
    """Hand the report to another department of the same authority (forward it to reach another authority)."""
    with transaction.atomic():
        report, _role = _locked(report, actor)
        if department.authority_id != report.authority_id:
            raise InvalidChange("department", _("This department belongs to another authority; forward the report instead."))
        if department.pk == report.department_id:
            raise InvalidChange("department", _("The report is already with this department."))
        _require_open(report)
        events = [
            _event(report, EventKind.REASSIGNED, actor, message=department.name, data={
                "from_department": report.department_id, "to_department": department.pk,
                "from_department_name": report.department.name if report.department else None,
                "to_department_name": department.name,
            }),
            *_note_event(report, actor, note),
        ]
        report.department = department
        _record(report, events, "department")
    return report


def report_forward(*, report: Report, authority: Authority, actor, message: str = "", note: str = "") -> Report:
    """Forward to another authority: within the platform it moves there and starts anew; an external body
    (e.g. the state road authority) gets it by e-mail and the report closes as forwarded."""
    with transaction.atomic():
        report, role = _locked(report, actor)
        check_transition(report.status, Status.FORWARDED, role, given={Need.TARGET})
        if authority.pk == report.authority_id:
            raise InvalidChange("authority", _("The report is already with this authority."))
        external = authority.kind == AuthorityKind.EXTERNAL or authority.default_department_id is None
        if external and not authority.email:
            raise InvalidChange("authority", _("This authority has no e-mail address to forward to."))
        data = {"from_authority": report.authority.slug, "from_authority_name": str(report.authority),
                "to_authority": authority.slug,
                "to_authority_name": str(authority), "external": external,
                "from_department": report.department_id}
        if external:
            data["email"] = authority.email
        events = [_event(report, EventKind.FORWARDED, actor, message=message.strip(), data=data)]
        if external:
            events.append(_status_change(report, Status.FORWARDED, actor, "", {"authority": authority.slug}))
        else:
            report.authority = authority
            report.department = authority.default_department
            if report.status != Status.NEW:
                events.append(_status_change(report, Status.NEW, actor, ""))
            report.routing_reason = str(_("Forwarded by %(from)s.") % {"from": data["from_authority_name"]})
            report.due_at = due_at(timezone.now(), report.category.target_working_days, authority.ars)
        events += _note_event(report, actor, note)
        _record(report, events, "status", "closed_at", "authority", "department", "routing_reason", "due_at")
    return report


def report_mark_duplicate(*, report: Report, original: Report, actor, message: str = "", note: str = "") -> Report:
    """Close a report as a duplicate of ``original``; its supporters (and, through the event, its subscribers) move there."""
    with transaction.atomic():
        report, role = _locked(report, actor)
        check_transition(report.status, Status.DUPLICATE, role, given={Need.ORIGINAL})
        original = Report.objects.select_for_update().get(pk=(original.duplicate_of_id or original.pk))
        if original.pk == report.pk:
            raise InvalidChange("duplicate_of", _("A report cannot be a duplicate of itself."))
        if original.authority_id != report.authority_id and actor_role(actor, original) is None:
            raise InvalidChange("duplicate_of", _("The original report was not found."), "not_found")
        moved = Support.objects.filter(report=report).update(report=original)
        report.duplicate_of = original
        events = [
            _status_change(report, Status.DUPLICATE, actor, message, {"original": original.reference}),
            *_note_event(report, actor, note),
        ]
        _record(report, events, "status", "closed_at", "duplicate_of")
        # The duplicate's reporter counts as one more supporter of the original.
        original.support_count = F("support_count") + moved + 1
        merged = _event(original, EventKind.MERGED, actor, data={
            "duplicate": report.reference, "duplicate_id": str(report.public_id),
        })
        _record(original, [merged], "support_count")
        report.duplicate_of.refresh_from_db(fields=["support_count"])
    return report


def report_add_photos(*, report: Report, actor, photos: list[ProcessedPhoto], kind: str = PhotoKind.FIX) -> Report:
    """Add photos (staff: usually of the fix), through the same pipeline as the citizen's."""
    if not photos:
        raise InvalidChange("photos", _("Attach at least one photo."), "required")
    with _files_removed_on_failure(), transaction.atomic():
        report, _role = _locked(report, actor)
        events = []
        for photo in photos:
            stored = _store_photo(report, photo, kind)
            events.append(_event(report, EventKind.PHOTO_ADDED, actor, data={"photo": stored.pk, "kind": kind}))
        _record(report, events)
    return report


def report_change(*, report: Report, actor, category: Category | None = None, location: Point | None = None,
                  note: str = "") -> Report:
    """Correct a report's category or location; routing decides anew and the decision is recorded.

    Raises geo.routing.OutsideServiceArea for a location outside the service area, and InvalidChange
    (code "not_permitted") when the new routing would take the report to another authority and the actor's
    role may not forward reports.
    """
    with transaction.atomic():
        report, role = _locked(report, actor)
        _require_open(report)
        events = []
        if category is not None and category.pk != report.category_id:
            events.append(_event(report, EventKind.CATEGORY_CHANGED, actor, data={
                "from": report.category.slug, "to": category.slug,
            }))
            report.category = category
            report.due_at = due_at(report.created_at, category.target_working_days, report.authority.ars)
        if location is not None and not location.equals_exact(report.location, tolerance=1e-9):
            events.append(_event(report, EventKind.LOCATION_CHANGED, actor, data={
                "from": [report.location.y, report.location.x], "to": [location.y, location.x],
                "distance_m": round(_metres_between(report.location, location), 1),
            }))
            report.location = location
            report.address = ""
        if not events:
            raise InvalidChange("category", _("Nothing to change: give another category or location."))
        decision = route(report.category, report.location)
        if decision.authority.pk != report.authority_id and not may_move_to_another_authority(role):
            raise InvalidChange(
                "location" if location is not None else "category",
                _("This change would move the report to %(authority)s. Only leads may hand a report to another "
                  "authority: ask a lead to forward it.") % {"authority": decision.authority},
                "not_permitted",
            )
        routed = opening_events(decision, timezone.now())[1]
        routed.actor = actor
        routed.data["previous_authority"] = report.authority.slug
        routed.data["previous_department"] = report.department.slug if report.department else None
        # The department's id, as reassigned and forwarded events carry it: the department the report
        # leaves still hears of the move (notifications.handlers), live and on catch-up.
        routed.data["from_department"] = report.department_id
        events.append(routed)
        if decision.authority.pk != report.authority_id:
            report.due_at = due_at(timezone.now(), report.category.target_working_days, decision.authority.ars)
        report.authority, report.department, report.routing_reason = decision.authority, decision.department, decision.reason
        for event in events:
            event.report = report
        events += _note_event(report, actor, note)
        _record(report, events, "category", "location", "address", "authority", "department", "routing_reason", "due_at")
    return report


def _require_open(report: Report) -> None:
    if not is_open(report.status):
        raise InvalidChange("status", _("The report is closed; reopen it first."), "closed")


class _Placeholders(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def response_templates(report: Report, *, status: str | None = None, language: str = "de") -> list[dict]:
    """The prepared answers offered for this report (and a target status), placeholders filled in, in ``language``."""
    with override(language):
        return _response_templates(report, status, language)


def _response_templates(report: Report, status: str | None, language: str) -> list[dict]:
    templates = ResponseTemplate.objects.filter(
        Q(category__isnull=True) | Q(category=report.category_id),
        Q(authority__isnull=True) | Q(authority=report.authority_id),
    )
    if status:
        templates = templates.filter(Q(status="") | Q(status=status))
    # The most specific first: a category's own answers before the general ones.
    templates = templates.order_by(F("category").asc(nulls_last=True), "sort_order", "title")
    values = _Placeholders(
        reference=report.reference, category=report.category.name, address=report.address or "",
        authority=str(report.authority), department=report.department.name if report.department else "",
    )
    result = []
    for template in templates:
        text = template.text_en if language.startswith("en") and template.text_en else template.text
        result.append({"id": template.pk, "title": template.title, "status": template.status or None,
                       "text": text.format_map(values)})
    return result


def report_set_address(*, report: Report, address: str) -> bool:
    """Record the address found for the report's location (by the geocoding task) with a public event.

    Returns False, changing nothing, when the report already shows this address.
    """
    address = address.strip()[: Report._meta.get_field("address").max_length]
    if not address:
        return False
    with transaction.atomic():
        report = Report.objects.select_for_update().get(pk=report.pk)
        if report.address == address:
            return False
        report.address = address
        _record(report, [_event(report, EventKind.ADDRESS_RESOLVED, None, message=address, data={"address": address})],
                "address")
    return True
