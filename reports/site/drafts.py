"""Photos of a web report that could not be sent yet, kept so that a validation error loses nothing.

The photos are kept as sent and checked (``reports.photos.inspect_photo``), with the facts read from them
and a thumbnail for the form (the only place a request decodes a photo: a form sent back with a mistake),
under ``MEDIA_ROOT/drafts/<random id>/``, which ``reports.media`` never serves. The form carries the id signed
with the site's key; only whoever holds the form sees the thumbnails, through ``thumbnail`` below. A draft
is removed when its report is filed, and drafts older than ``MAX_AGE`` whenever a new draft is made.
"""

from __future__ import annotations

import json
import secrets
import shutil
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core import signing

from reports.photos import THUMBNAIL_QUALITY, PhotoError, PhotoUpload, develop, encode_jpeg, thumbnail_of

MAX_AGE = 3 * 3600  # seconds: a visitor correcting a form is done long before
_SALT = "reports.site.drafts"


@dataclass(frozen=True)
class DraftPhoto:
    number: int
    photo: PhotoUpload


def _root() -> Path:
    return Path(settings.MEDIA_ROOT) / "drafts"


def _directory(token: str) -> Path | None:
    """The draft's directory for a signed token from a form; None for a forged, expired or unknown one."""
    try:
        draft_id = signing.loads(token, salt=_SALT, max_age=MAX_AGE)
    except signing.BadSignature:  # also SignatureExpired
        return None
    if not isinstance(draft_id, str) or not draft_id.isalnum():
        return None
    directory = _root() / draft_id
    return directory if directory.is_dir() else None


def load(token: str) -> list[DraftPhoto]:
    directory = _directory(token) if token else None
    if directory is None:
        return []
    photos = []
    for meta_file in sorted(directory.glob("*.json"), key=lambda p: int(p.stem)):
        meta = json.loads(meta_file.read_text())
        number = int(meta_file.stem)
        captured = meta.get("captured_at")
        photos.append(DraftPhoto(number, PhotoUpload(
            raw=(directory / f"{number}.upload").read_bytes(),
            source_format=meta["source_format"], width=meta["width"], height=meta["height"],
            captured_at=datetime.fromisoformat(captured) if captured else None,
            gps=tuple(meta["gps"]) if meta.get("gps") else None,
        )))
    return photos


def save(photos: list[PhotoUpload]) -> str:
    """Keeps ``photos`` in a new draft; returns the signed token for the form ("" for no photos)."""
    remove_expired()
    if not photos:
        return ""
    draft_id = secrets.token_hex(16)
    directory = _root() / draft_id
    directory.mkdir(parents=True, mode=0o700)
    for number, photo in enumerate(photos):
        (directory / f"{number}.upload").write_bytes(photo.raw)
        preview = _preview(photo)
        if preview is not None:
            (directory / f"{number}_thumb.jpg").write_bytes(preview)
        (directory / f"{number}.json").write_text(json.dumps({
            "width": photo.width, "height": photo.height,
            "captured_at": photo.captured_at.isoformat() if photo.captured_at else None,
            "gps": list(photo.gps) if photo.gps else None, "source_format": photo.source_format,
        }))
    return signing.dumps(draft_id, salt=_SALT)


def _preview(photo: PhotoUpload) -> bytes | None:
    """The thumbnail the form shows; None if the pixels cannot be decoded (the worker will say so to staff)."""
    try:
        return encode_jpeg(thumbnail_of(develop(photo.raw)), THUMBNAIL_QUALITY)
    except PhotoError:
        return None


def thumbnail(token: str, number: int) -> bytes | None:
    directory = _directory(token)
    path = directory / f"{number}_thumb.jpg" if directory is not None else None
    return path.read_bytes() if path is not None and path.is_file() else None


def discard(token: str) -> None:
    directory = _directory(token) if token else None
    if directory is not None:
        shutil.rmtree(directory, ignore_errors=True)


def remove_expired() -> None:
    root = _root()
    if not root.is_dir():
        return
    limit = time.time() - MAX_AGE
    for directory in root.iterdir():
        if directory.is_dir() and directory.stat().st_mtime < limit:
            shutil.rmtree(directory, ignore_errors=True)
