"""Photos of a web report that could not be sent yet, kept so that a validation error loses nothing.

The photos are kept as the pipeline made them (``reports.photos``: upright, re-encoded, metadata stripped;
the private capture time and GPS position beside them, as a report's photo keeps them), under
``MEDIA_ROOT/drafts/<random id>/``, which ``reports.media`` never serves. The form carries the id signed
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

from reports.photos import ProcessedPhoto

MAX_AGE = 3 * 3600  # seconds: a visitor correcting a form is done long before
_SALT = "reports.site.drafts"


@dataclass(frozen=True)
class DraftPhoto:
    number: int
    photo: ProcessedPhoto


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
        photos.append(DraftPhoto(number, ProcessedPhoto(
            image=(directory / f"{number}.jpg").read_bytes(),
            thumbnail=(directory / f"{number}_thumb.jpg").read_bytes(),
            width=meta["width"], height=meta["height"],
            thumbnail_width=meta["thumbnail_width"], thumbnail_height=meta["thumbnail_height"],
            captured_at=datetime.fromisoformat(captured) if captured else None,
            gps=tuple(meta["gps"]) if meta.get("gps") else None,
            source_format=meta.get("source_format"),
        )))
    return photos


def save(photos: list[ProcessedPhoto]) -> str:
    """Keeps ``photos`` in a new draft; returns the signed token for the form ("" for no photos)."""
    remove_expired()
    if not photos:
        return ""
    draft_id = secrets.token_hex(16)
    directory = _root() / draft_id
    directory.mkdir(parents=True, mode=0o700)
    for number, photo in enumerate(photos):
        (directory / f"{number}.jpg").write_bytes(photo.image)
        (directory / f"{number}_thumb.jpg").write_bytes(photo.thumbnail)
        (directory / f"{number}.json").write_text(json.dumps({
            "width": photo.width, "height": photo.height,
            "thumbnail_width": photo.thumbnail_width, "thumbnail_height": photo.thumbnail_height,
            "captured_at": photo.captured_at.isoformat() if photo.captured_at else None,
            "gps": list(photo.gps) if photo.gps else None, "source_format": photo.source_format,
        }))
    return signing.dumps(draft_id, salt=_SALT)


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
