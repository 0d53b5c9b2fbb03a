"""A citizen's report arrives: located, routed, stored with its photos and first events, in one transaction."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from geo.models import Category, PublishingPolicy
from geo.routing import Decision, route
from reports.answers import clean_answers
from reports.deadlines import due_at
from reports.errors import IdempotencyConflict, MissingLocation
from reports.models import EventKind, Moderation, PhotoKind, ReferenceCounter, Report, ReportEvent, Source, hash_secret
from reports.photos import PhotoUpload
from reports.services.common import (
    files_removed_on_failure,
    keep_as_prefetched,
    metres_between,
    new_event,
    publish_after_commit,
    record,
    store_photo,
)
from reports.workflow import Status

# A device position and a photo's position further apart than this are worth a note to staff.
LOCATION_DISCREPANCY_M = 200


@dataclass(frozen=True)
class SubmitResult:
    # A new report (created) with its category, authority, department, photos and events at hand (as if
    # prefetched); an earlier one (a replay) as read, without them.
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


def submission_fingerprint(values: Iterable[object], photos: Iterable[bytes]) -> str:
    """What makes two submissions the same request, for an idempotency key: the values a front end received
    (in its fixed order) and the photos' bytes. A replay must give the same fingerprint, another request never."""
    digest = hashlib.sha256()
    for value in values:
        digest.update(repr(value).encode())
    for content in photos:
        digest.update(hashlib.sha256(content).digest())
    return digest.hexdigest()


def report_submit(
    *,
    category: Category,
    device_location: Point | None,
    description: str = "",
    photos: Sequence[PhotoUpload] = (),
    reporter_name: str = "",
    reporter_email: str = "",
    source: str = Source.APP,
    language: str = "de",
    idempotency_key: uuid.UUID | None = None,
    fingerprint: str = "",
    answers: Mapping[str, object] | None = None,
    keep_unknown_answers: bool = False,
) -> SubmitResult:
    """Store a new report, its photos and its first events; or, for a repeated idempotency key, the earlier one.

    ``answers`` are the answers to the category's extra questions, checked by reports.answers.clean_answers (code →
    text, or a list of keys) and stored on the report; ``keep_unknown_answers`` keeps codes the category does not
    ask for (Open311 clients' own). None: the door does not take answers (it checked them itself), none are stored.
    Raises MissingLocation, OutsideServiceArea, IdempotencyConflict or AnswerErrors (reports.errors).
    """
    if idempotency_key is not None:
        earlier = earlier_submission(idempotency_key, fingerprint)
        if earlier is not None:
            return earlier
    cleaned_answers = {} if answers is None else clean_answers(category, answers, keep_unknown=keep_unknown_answers)
    location, location_note = resolve_location(device_location, list(photos))
    if location is None:
        raise MissingLocation
    decision = route(category, location)
    try:
        with files_removed_on_failure(), transaction.atomic():
            report, secret = _create(
                category=category, location=location, decision=decision, description=description, photos=photos,
                reporter_name=reporter_name, reporter_email=reporter_email, source=source, language=language,
                idempotency_key=idempotency_key, fingerprint=fingerprint, location_note=location_note,
                answers=cleaned_answers,
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
        raise IdempotencyConflict
    return SubmitResult(report=report, secret=replay_secret(idempotency_key, report.public_id), created=False)


def _create(*, category, location, decision, description, photos, reporter_name, reporter_email, source, language,
            idempotency_key, fingerprint, location_note, answers) -> tuple[Report, str]:
    now = timezone.now()
    report = Report(
        category=category,
        location=location,
        description=description,
        answers=answers,
        authority=decision.authority,
        department=decision.department,
        routing_reason=decision.reason,
        # Read with the boundary routing tested the point against (geo.models.Authority.boundary_version).
        boundary_version_id=decision.authority.boundary_version_id,
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
            ReportEvent(
                report=report, kind=EventKind.INTERNAL_NOTE, is_public=False, created_at=now, data=location_note,
                message=str(
                    _("The device position and the photo's position differ by %(m)d m; the device position was used.")
                    % {"m": location_note["distance_m"]}
                ),
            )
        )
    stored_photos = [store_photo(report, photo, PhotoKind.REPORT) for photo in photos]
    events += [
        ReportEvent(report=report, kind=EventKind.PHOTO_ADDED, created_at=now, data={"photo": stored.pk})
        for stored in stored_photos
    ]
    for event in events:
        event.report = report
    saved = ReportEvent.objects.bulk_create(events)
    publish_after_commit(saved, reports_as_committed=True)
    # The report comes back complete (its category, authority and department are those it was made with): the
    # answer to the submission shows it without reading anything back.
    keep_as_prefetched(report, "photos", stored_photos)
    keep_as_prefetched(report, "events", saved)
    return report, secret


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
                "boundary_version": decision.authority.boundary_version_id,
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


def resolve_location(device: Point | None, photos: list[PhotoUpload]) -> tuple[Point | None, dict | None]:
    """The report's location: the device's position, else the first photo's valid GPS position.

    Returns the location and, when device and photo disagree by more than 200 m, a note for staff.
    """
    photo_position = next((Point(p.gps[1], p.gps[0], srid=4326) for p in photos if p.gps), None)
    if device is None:
        return photo_position, None
    if photo_position is None:
        return device, None
    distance = metres_between(device, photo_position)
    if distance <= LOCATION_DISCREPANCY_M:
        return device, None
    return device, {"photo_location": [photo_position.y, photo_position.x], "distance_m": round(distance)}




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
        event = new_event(report, EventKind.ADDRESS_RESOLVED, None, message=address, data={"address": address})
        record(report, [event], "address")
    return True
