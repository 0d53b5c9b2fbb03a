"""Photos are served to whoever may see them now, not to whoever knows their URL.

A photo's URL outlives the decision to show it: it was in an API answer, a mail, a browser history, before
the report was hidden or while it waited for review. So every request under ``/media/`` is checked against
the photo's report at the time of the request:

- anyone: the public rendition (faces and number plates blurred) of a published photo of a published report
  in a public category (what the public pages show);
- the reporter (``Authorization: Bearer <secret>``, as in the citizen API): the public renditions of their
  report's public photos;
- staff (session or API token) with access to the report: all its photos as taken and their renditions,
  hidden or held for review.

A photo as taken (``Photo.image``, ``Photo.thumbnail``) is served to staff only, whatever its state.

Everyone else gets 404, the same answer as for a file that does not exist, so a URL reveals nothing. A
report published again serves its photos again: nothing is moved or deleted.

Delivery: with ``MEDIA_ACCEL_REDIRECT`` (production) Django answers with ``X-Accel-Redirect`` and the
reverse proxy sends the file from an internal location; otherwise (``SERVE_MEDIA``, the embedded default)
Django streams it from the storage. With neither, Django serves no media.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse

from reports import permissions
from reports.models import Moderation, Photo, Report

# reports.models._photo_path, _thumbnail_path, _public_path, _public_thumbnail_path:
# photos/<report public id>/<random hex>[_thumb|_public|_public_thumb].jpg
_PHOTO_NAME = re.compile(
    r"photos/(?P<public_id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/[^/]+\.jpg"
)
# Long enough to spare the server repeated requests for a map's thumbnails, short enough that a hidden
# report's photos leave shared caches soon.
_PUBLIC_MAX_AGE = 300


def serve_photo(request: HttpRequest, path: str) -> HttpResponse | FileResponse:
    if not (settings.SERVE_MEDIA or settings.MEDIA_ACCEL_REDIRECT):
        raise Http404
    match = _PHOTO_NAME.fullmatch(path)
    if match is None:
        raise Http404
    report = Report.objects.select_related("category").filter(public_id=match["public_id"]).first()
    if report is None:
        raise Http404
    photos = report.photos.select_related("report__authority").all()
    photo = next((p for p in photos if path in (p.public_image.name, p.public_thumbnail.name)), None)
    if photo is not None:  # a public rendition
        if is_public(photo):
            return _deliver(path, public=True)
        if (photo.is_public and _is_reporter(request, report)) or _is_staff_of(request, report):
            return _deliver(path, public=False)
        raise Http404
    photo = next((p for p in photos if path in (p.image.name, p.thumbnail.name)), None)
    if photo is not None and _is_staff_of(request, report):  # as taken: staff only
        return _deliver(path, public=False)
    raise Http404


def is_public(photo: Photo) -> bool:
    """Whether anyone may see the photo's public rendition: the rule of the public pages and the citizen API."""
    report = photo.report
    return photo.is_published and report.moderation == Moderation.PUBLISHED and report.category.is_public


def _is_reporter(request: HttpRequest, report: Report) -> bool:
    authorization = request.headers.get("Authorization", "")
    return authorization.startswith("Bearer ") and report.check_secret(authorization.removeprefix("Bearer ").strip())


def _is_staff_of(request: HttpRequest, report: Report) -> bool:
    user = request.user
    if not user.is_authenticated:
        user = _token_user(request)
    return permissions.may_see(user, report)


def _token_user(request: HttpRequest):
    """The user of a staff API token (``Authorization: Token <key>``), as the staff apps send it."""
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    return permissions.token_user(key) if scheme == "Token" else None


def _deliver(name: str, *, public: bool) -> HttpResponse | FileResponse:
    if settings.MEDIA_ACCEL_REDIRECT:
        # The proxy sends the file from its internal location (README: Production); Django only decided.
        response: HttpResponse | FileResponse = HttpResponse(content_type="image/jpeg")
        response["X-Accel-Redirect"] = settings.MEDIA_ACCEL_REDIRECT.rstrip("/") + "/" + quote(name)
    else:
        try:
            file = default_storage.open(name)
        except FileNotFoundError:
            raise Http404 from None
        # Every stored photo is a JPEG made by reports.photos: the type never comes from the name.
        response = FileResponse(file, content_type="image/jpeg")
    # What a shared cache keeps is what anyone may see; photos only staff or the reporter see are theirs.
    response["Cache-Control"] = f"public, max-age={_PUBLIC_MAX_AGE}" if public else "private, no-cache"
    response["Vary"] = "Cookie, Authorization"
    response["X-Content-Type-Options"] = "nosniff"
    return response
