"""Photos that an Open311 client names by ``media_url``: fetched in the worker, never in the request.

``schedule_media_fetch`` checks at once what needs no network (https, the host on the client's list of photo
hosts, ``Open311Client.media_hosts``) and queues ``fetch_media`` after the report's transaction commits. The
task downloads through ``reports.remote_photos`` (the SSRF rules live there), runs the photo pipeline (re-encoded,
metadata stripped) and stores the photo with its PHOTO_ADDED event in one transaction. Whatever goes wrong is
recorded on the report as an internal note with ``{"media_url", "error": code}``; the task never raises for it,
so nothing is retried in a loop. Network failures are not retried: the client can send the photo again.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.http import QueryDict
from django.utils import translation
from django.utils.translation import gettext as _
from django_tasks import task
from rest_framework import serializers

from mobile_api.models import Open311Client
from mobile_api.open311.errors import Open311Error
from reports.errors import PhotoError
from reports.models import EventKind, Photo, PhotoKind, Report, ReportEvent
from reports.photos import MAX_PHOTOS_PER_UPLOAD, PhotoUpload, inspected_photos
from reports.remote_photos import FetchRefused, check_url, fetch_image
from reports.services.comments import comment_awaits_review
from reports.services.common import files_removed_on_failure, new_event, record, store_photo

_MEDIA_URL = serializers.URLField(max_length=2000)


def media_urls(data: QueryDict) -> list[str]:
    """Every ``media_url`` a request or an update names (FixMyStreet's multi_photos sends one per photo), each
    a valid http(s) URL, at most MAX_PHOTOS_PER_UPLOAD; anything else is a 400 before anything is stored.
    Whether one is fetched is decided later (``schedule_media_fetch``: https, the client's hosts)."""
    urls = [value.strip() for value in data.getlist("media_url") if value.strip()]
    if len(urls) > MAX_PHOTOS_PER_UPLOAD:
        raise Open311Error(400, _("At most %(n)d media files.") % {"n": MAX_PHOTOS_PER_UPLOAD})
    for url in urls:
        try:
            _MEDIA_URL.run_validation(url)
        except serializers.ValidationError as error:
            raise Open311Error(400, *(f"media_url: {message}" for message in error.detail)) from None
        if not url.lower().startswith(("http://", "https://")):
            raise Open311Error(400, _("media_url must be an http or https address."))
    return urls


def client_hosts(client: Open311Client | None) -> set[str]:
    """The client's photo hosts in lower case (``[::1]`` may be written with or without brackets)."""
    if client is None or not client.active:
        return set()
    return {line.strip().strip("[]").rstrip(".").lower() for line in client.media_hosts.splitlines() if line.strip()}


def schedule_media_fetch(
    report: Report, url: str, client: Open311Client, *, comment: ReportEvent | None = None
) -> None:
    """Fetch the photo at ``url`` for ``report`` in the background, or record at once why it is not fetched.
    A ``comment``'s photo is held back with it while the comment awaits review (reports.services.comments)."""
    try:
        check_url(url, hosts=client_hosts(client))
    except FetchRefused as refusal:
        _record_failure(report.pk, url, refusal.code, refusal.message)
        return
    report_id, client_id, comment_id = report.pk, client.pk, comment.pk if comment else None
    transaction.on_commit(lambda: fetch_media.enqueue(report_id, url, client_id, comment_id))


@task()
def fetch_media(report_id: int, url: str, client_id: int, comment_id: int | None = None) -> str:
    """Returns what happened: "added", "gone" or the refusal's code (recorded on the report)."""
    with translation.override(settings.LANGUAGE_CODE):  # the notes are for staff, in the site's language
        return _fetch(report_id, url, client_id, comment_id)


def _fetch(report_id: int, url: str, client_id: int, comment_id: int | None = None) -> str:
    if not Report.objects.filter(pk=report_id).exists():
        return "gone"
    # The list as it is now: a host the operator removed since the submission is no longer fetched from.
    hosts = client_hosts(Open311Client.objects.filter(pk=client_id).first())
    try:
        [photo] = inspected_photos([fetch_image(url, hosts=hosts)], field="media_url")
    except FetchRefused as refusal:
        _record_failure(report_id, url, refusal.code, refusal.message)
        return refusal.code
    except PhotoError as error:
        _record_failure(report_id, url, "bad_image", str(error.message))
        return "bad_image"
    return "added" if _store(report_id, photo, comment_id) else "gone"


def _store(report_id: int, photo: PhotoUpload, comment_id: int | None) -> bool:
    with files_removed_on_failure(), transaction.atomic():
        report = Report.objects.select_for_update().filter(pk=report_id).first()
        if report is None:
            return False
        stored = store_photo(report, photo, PhotoKind.REPORT)
        if comment_id is None:
            record(report, [new_event(report, EventKind.PHOTO_ADDED, None, data={"photo": stored.pk})])
            return True
        held = comment_awaits_review(report, comment_id)
        if held:
            Photo.objects.filter(pk=stored.pk).update(is_public=False)
        record(report, [new_event(report, EventKind.PHOTO_ADDED, None, public=not held,
                                  data={"photo": stored.pk, "kind": PhotoKind.REPORT, "comment": comment_id})])
    return True


def _record_failure(report_id: int, url: str, code: str, reason: str) -> None:
    with transaction.atomic():
        report = Report.objects.select_for_update().filter(pk=report_id).first()
        if report is None:
            return
        message = _("The photo at %(url)s was not added: %(reason)s.") % {"url": url, "reason": reason}
        record(report, [new_event(report, EventKind.INTERNAL_NOTE, None, public=False, message=message,
                                  data={"media_url": url, "error": code})])
