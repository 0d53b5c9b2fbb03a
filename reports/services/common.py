"""What every use case shares: handing events to listeners, storing photo files, recording events."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import cast

from django.contrib.gis.geos import Point
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Model
from django.db.models.fields.files import FieldFile
from django.utils import timezone
from geopy.distance import geodesic

from reports.errors import NotPermitted
from reports.models import EventKind, Photo, Report, ReportEvent
from reports.permissions import actor_role
from reports.photos import PhotoUpload
from reports.publicdata.version import changed as public_version_changed
from reports.publicdata.version import places_of
from reports.signals import events_committed, events_recorded
from reports.workflow import REPORTER

logger = logging.getLogger(__name__)


_written_files: ContextVar[list[str] | None] = ContextVar("written_files", default=None)


@contextmanager
def files_removed_on_failure() -> Iterator[None]:
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


def store_photo(report: Report, photo: PhotoUpload, kind: str) -> Photo:
    """Store an upload as sent (privately) with the facts from its header, and queue the worker that makes
    the photo and its public rendition from it (reports.services.renditions)."""
    stored = Photo(report=report, kind=kind, size_bytes=len(photo.raw), captured_at=photo.captured_at,
                   width=photo.width, height=photo.height,
                   exif_location=Point(photo.gps[1], photo.gps[0], srid=4326) if photo.gps else None)
    save_file(stored.upload, "upload", photo.raw)
    stored.save()
    queue_rendition(stored)
    return stored


def save_file(field: FieldFile, name: str, content: bytes) -> None:
    """Write one of a photo's files (the model is saved by the caller), inside files_removed_on_failure()."""
    written = _written_files.get()
    if written is None:
        raise RuntimeError("photos are stored inside files_removed_on_failure()")
    field.save(name, ContentFile(content), save=False)
    written.append(cast(str, field.name))  # set by save()


def queue_rendition(photo: Photo) -> None:
    """Queue the photo's public rendition (reports.services.renditions) in the transaction that stores or
    changes the photo: the task row is as durable as the photo, and gone with it on a rollback."""
    from reports.tasks import render_photo  # the task module imports the use cases

    render_photo.enqueue(photo.pk)


def publish_after_commit(events: list[ReportEvent], *, reports_as_committed: bool = False) -> None:
    """Hand new events to listeners: durable work now, in this transaction; pushes after commit.

    Must be called inside the transaction that saved the events. ``reports_as_committed``: each event's ``report``
    is the instance the transaction saved, holding all it wrote, with its category, authority and department (a
    new report): listeners may use the events as they are instead of reading them back. Not for a use case that
    changes the report by a query (``update()``, ``F()``) or holds only part of it; a caller that changes the new
    report further in its own, outer transaction changes the instance too (mobile_api.open311.submission).
    """
    events_recorded.send(sender=ReportEvent, events=events)
    # Confined to the places of the events' reports (the report's own save says so if it moved), where their
    # instances are at hand; else anything may have changed.
    public_version_changed(places=places_of(
        event.report if ReportEvent.report.is_cached(event) else None for event in events  # never a query
    ))
    event_ids = [event.pk for event in events]
    if reports_as_committed:
        committed = list(events)
        transaction.on_commit(
            lambda: events_committed.send(sender=ReportEvent, event_ids=event_ids, events=committed)
        )
    else:
        transaction.on_commit(lambda: events_committed.send(sender=ReportEvent, event_ids=event_ids))


def keep_as_prefetched(instance: Model, related_name: str, objects: list) -> None:
    """Let ``instance.<related_name>.all()`` answer ``objects`` without a query, as ``prefetch_related`` would have
    filled it: for rows a use case has just written and knows to be all there are (a new report's photos and events),
    so that its answer does not read them back."""
    cached = getattr(instance, related_name).all()
    cached._result_cache = list(objects)
    cached._prefetch_done = True  # (how Django's prefetch marks a filled queryset)
    instance.__dict__.setdefault("_prefetched_objects_cache", {})[related_name] = cached


def new_event(report: Report, kind: str, actor, *, public: bool = True, message: str = "", data: dict | None = None,
           from_status: str = "", to_status: str = "", at=None) -> ReportEvent:
    return ReportEvent(
        report=report, kind=kind, is_public=public, actor=actor, message=message, data=data or {},
        from_status=from_status, to_status=to_status, created_at=at or timezone.now(),
    )


def record(report: Report, events: list[ReportEvent], *fields: str) -> list[ReportEvent]:
    report.updated_at = timezone.now()
    report.save(update_fields=[*fields, "updated_at"])
    saved = ReportEvent.objects.bulk_create(events)
    publish_after_commit(saved)
    return saved


def metres_between(a: Point, b: Point) -> float:
    return geodesic((a.y, a.x), (b.y, b.x)).meters


def locked_with_role(report: Report, actor) -> tuple[Report, str]:
    """The report, re-read under a row lock, and the actor's role (REPORTER for actor None); NotPermitted for
    anyone who may not act on it. Every staff use case starts here, inside its transaction."""
    # of=self: PostgreSQL cannot lock the nullable side of the outer join to department.
    current = (
        Report.objects.select_for_update(of=("self",))
        .select_related("category", "authority", "department")
        .get(pk=report.pk)
    )
    role = REPORTER if actor is None else actor_role(actor, current)
    if role is None:
        raise NotPermitted
    return current, role


def note_events(report: Report, actor, note: str) -> list[ReportEvent]:
    """The internal note a staff action may come with (none for blank text)."""
    note = note.strip()
    return [new_event(report, EventKind.INTERNAL_NOTE, actor, public=False, message=note)] if note else []
