"""Each photo made from its upload, its public rendition (reports.blurring), and the areas staff blur by hand.

A request stores a photo's upload as sent and queues a rendition task in the same transaction
(``common.store_photo``, ``common.queue_rendition``): the task row is as durable as the photo and gone with it on
a rollback. The worker runs ``render_public_photo``: it decodes the upload once (``reports.photos.develop``),
stores the photo for staff (upright, no metadata) and deletes the upload; it finds faces and number plates
(unless the photo's authority turned that off), blurs them and the hand-marked areas, and stores the two
public JPEGs. Until then the photo has no public rendition and no public output shows it; if the worker is
down, photos wait, unpublished. An upload that cannot be decoded after all is deleted and the photo marked
unreadable, with an internal event.

Leads and authority administrators mark an area to blur (``photo_blur_area``) or remove the areas they marked
(``photo_clear_blur_areas``). Each is one transaction with an internal MODERATED event; the old rendition is
withdrawn at once (the public sees no photo) and a new one is queued.
"""

from __future__ import annotations

import io
import logging
from typing import Any, cast

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from PIL import Image

from reports import blurring, photos
from reports.errors import InvalidChange, PhotoError
from reports.models import EventKind, Photo, Report
from reports.services.common import (
    files_removed_on_failure,
    new_event,
    note_events,
    queue_rendition,
    record,
    save_file,
)
from reports.services.photo_moderation import locked_photo

logger = logging.getLogger(__name__)

# More hand-marked areas than this on one photo: hide the photo instead.
MAX_BLUR_AREAS = 20
# Smaller than this (pixels of the stored photo) is a slip of the mouse, not an area.
MIN_AREA_SIDE = 4


def render_public_photo(photo_id: int, detectors: tuple[blurring.Detector, ...] | None = None) -> str:
    """Make the photo's public rendition now; for a new photo, first the photo itself from its upload (decoded
    once, for both). Returns what happened, for the worker's log."""
    photo = Photo.objects.select_related("report__authority").filter(pk=photo_id).first()
    if photo is None:
        return "gone"
    if photo.unreadable:
        return "unreadable"
    developing = bool(photo.upload)
    source = cast(str, photo.upload.name if developing else photo.image.name)
    try:
        with default_storage.open(source) as file:
            content = file.read()
    except FileNotFoundError:
        logger.error("photo %s: file %s is missing", photo_id, source)
        return "missing"
    if developing:
        try:
            image = photos.develop(content)
        except PhotoError as error:
            logger.warning("photo %s: the upload cannot be decoded (%s)", photo_id, error.code)
            return _unreadable(photo_id)
    else:
        with Image.open(io.BytesIO(content)) as opened:
            image = opened.convert("RGB")
    manual = [blurring.Area.from_json(area) for area in photo.blur_areas]
    detected: list[blurring.Area] = []
    if photo.report.authority.blur_photos:
        detected = blurring.detect(image, detectors or blurring.default_detectors())
    rendition = blurring.render(image, [*detected, *manual])
    private = _encoded(image) if developing else None
    with transaction.atomic(), files_removed_on_failure():
        current = Photo.objects.select_for_update().filter(pk=photo_id).first()
        if current is None:
            return "gone"
        if current.blur_areas != photo.blur_areas:
            return "changed"  # marked again meanwhile; that change queued a rendition of its own
        withdrawn = _withdraw(current)
        fields = ["public_image", "public_thumbnail", "detected_areas", "rendered_at"]
        if private is not None and current.upload:
            withdrawn.append(cast(str, current.upload.name))
            save_file(current.image, "photo.jpg", private[0])
            save_file(current.thumbnail, "thumb.jpg", private[1])
            current.upload = cast(Any, "")
            current.width, current.height = image.size
            current.size_bytes = len(private[0])
            fields += ["image", "thumbnail", "upload", "width", "height", "size_bytes"]
        save_file(current.public_image, "public.jpg", rendition.image)
        save_file(current.public_thumbnail, "public_thumb.jpg", rendition.thumbnail)
        current.detected_areas = [area.as_json() for area in detected]
        current.rendered_at = timezone.now()
        current.save(update_fields=fields)
        transaction.on_commit(lambda: _delete(withdrawn))
    return f"rendered ({len(detected)} found, {len(manual)} by hand)"


def _encoded(image: Image.Image) -> tuple[bytes, bytes]:
    """The photo as staff see it, and its thumbnail."""
    return (photos.encode_jpeg(image, photos.JPEG_QUALITY),
            photos.encode_jpeg(photos.thumbnail_of(image), photos.THUMBNAIL_QUALITY))


def _unreadable(photo_id: int) -> str:
    """The upload's pixels are broken after all: delete it, mark the photo, tell staff in the history."""
    with transaction.atomic():
        current = Photo.objects.select_for_update().select_related("report").filter(pk=photo_id).first()
        if current is None or not current.upload:
            return "gone"
        withdrawn = [cast(str, current.upload.name)]
        current.upload = cast(Any, "")
        current.unreadable = True
        current.save(update_fields=["upload", "unreadable"])
        report = current.report
        record(report, [new_event(report, EventKind.MODERATED, None, public=False,
                                  data={"photo": current.pk, "unreadable": True})])
        transaction.on_commit(lambda: _delete(withdrawn))
    return "unreadable"


def photo_blur_area(*, report: Report, photo: Photo | int, actor, area: Any, note: str = "") -> Photo:
    """Blur ``area`` ([x, y, width, height] in pixels of the stored photo) in the public rendition."""
    box = _box(area)
    with transaction.atomic():
        current = _locked_photo(report, photo, actor)
        x, y, width, height = box
        if x + width > current.width or y + height > current.height:
            raise InvalidChange(
                "area", _("The area must lie within the photo (%(width)d × %(height)d pixels).")
                % {"width": current.width, "height": current.height}, "out_of_bounds",
            )
        if len(current.blur_areas) >= MAX_BLUR_AREAS:
            raise InvalidChange("area", _("This photo has too many blurred areas: hide the photo instead."),
                                "too_many")
        current.blur_areas = [*current.blur_areas, blurring.Area("manual", *box).as_json()]
        _changed(current, actor, note, {"photo": current.pk, "blurred": list(box)})
    return current


def photo_clear_blur_areas(*, report: Report, photo: Photo | int, actor, note: str = "") -> Photo:
    """Remove every area staff marked on the photo (what the detectors found stays blurred)."""
    with transaction.atomic():
        current = _locked_photo(report, photo, actor)
        if not current.blur_areas:
            raise InvalidChange("area", _("No area of this photo was marked by hand."))
        current.blur_areas = []
        _changed(current, actor, note, {"photo": current.pk, "blurred": None})
    return current


def _locked_photo(report: Report, photo: Photo | int, actor) -> Photo:
    return locked_photo(report, photo, actor, refusal=InvalidChange(
        "area", _("Only leads may blur areas of photos."), "not_permitted"))[1]


def _changed(photo: Photo, actor, note: str, data: dict) -> None:
    """Store the new areas, withdraw the public rendition until the new one is made, record the event."""
    withdrawn = _withdraw(photo)
    photo.save(update_fields=["blur_areas", "public_image", "public_thumbnail"])
    transaction.on_commit(lambda: _delete(withdrawn))
    queue_rendition(photo)
    report = photo.report
    record(report, [new_event(report, EventKind.MODERATED, actor, public=False, data=data),
                    *note_events(report, actor, note)])


def _withdraw(photo: Photo) -> list[str]:
    """Unset the photo's public files (not saved yet); returns their names, to delete after commit."""
    names = [name for name in (photo.public_image.name, photo.public_thumbnail.name) if name]
    photo.public_image = cast(Any, "")
    photo.public_thumbnail = cast(Any, "")
    return names


def _delete(names: list[str]) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            logger.warning("could not remove the old rendition %s", name, exc_info=True)


def _box(area: Any) -> tuple[int, int, int, int]:
    """[x, y, width, height] as four whole, non-negative numbers of sane size, or an InvalidChange."""
    if not isinstance(area, (list, tuple)) or len(area) != 4:
        raise InvalidChange("area", _("Give the area as x, y, width and height in pixels."), "invalid")
    values = []
    for value in area:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise InvalidChange("area", _("Give the area as x, y, width and height in pixels."), "invalid")
        try:
            number = float(value)
        except ValueError:
            raise InvalidChange("area", _("Give the area as x, y, width and height in pixels."), "invalid") \
                from None
        if not 0 <= number <= 100_000 or number != number:
            raise InvalidChange("area", _("The area must lie within the photo."), "out_of_bounds")
        values.append(round(number))
    x, y, width, height = values
    if width < MIN_AREA_SIDE or height < MIN_AREA_SIDE:
        raise InvalidChange("area", _("The area is too small: at least %(n)d pixels wide and high.")
                            % {"n": MIN_AREA_SIDE}, "too_small")
    return x, y, width, height
