"""POST /requests: what a client application sends, checked field by field, and its submission.

The report goes through reports.services.report_submit like every other report (routing, photo
pipeline, moderation, events and so notifications), with source "open311". Photos come as multipart files
``media`` (GeoReport v2) or ``photo1``…``photoN`` (FixMyStreet's upload mode); any other file field is refused,
never dropped. A ``media_url`` (FixMyStreet sends several with multi_photos) is fetched by the worker
(mobile_api.open311.media: from the client's photo hosts only, with the SSRF rules of reports.remote_photos) and
kept for staff in an internal note. ``device_id`` and ``account_id`` are not stored. An
``address_string`` without coordinates is located with geo.geocoding (its best match); the client's
text is kept as the report's address.
"""

from __future__ import annotations

import re

from django.contrib.gis.geos import Point
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import serializers

from geo import geocoding
from geo.models import Authority, Category, CategoryQuestion
from mobile_api.fields import Coordinate
from mobile_api.models import Open311Client
from mobile_api.open311.errors import Open311Error
from mobile_api.open311.media import media_urls, schedule_media_fetch
from reports.answers import clean_answers
from reports.errors import AnswerErrors, PhotoError
from reports.models import EventKind, Report, ReportEvent, Source
from reports.photos import MAX_PHOTOS_PER_UPLOAD, inspected_photos
from reports.services import publish_after_commit, report_submit
from reports.validation import max_text_length, without_control_characters

MAX_ATTRIBUTES = 50
MAX_ATTRIBUTE_VALUES = 50
_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]{1,100})\](\[\])?$")
# FixMyStreet numbers its uploads from 1 (perllib/Open311.pm, _add_photos_to_upload).
_NUMBERED_PHOTO = re.compile(r"^photo([1-9][0-9]{0,5})$")


class ServiceRequestInput(serializers.Serializer):
    service_code = serializers.CharField(max_length=100)
    lat = Coordinate(min_value=-90, max_value=90, required=False)
    long = Coordinate(min_value=-180, max_value=180, required=False)
    address_string = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
    description = serializers.CharField(validators=[max_text_length], required=False, allow_blank=True, default="")
    media_url = serializers.URLField(max_length=2000, required=False, allow_blank=True, default="")
    device_id = serializers.CharField(max_length=200, required=False, allow_blank=True)
    account_id = serializers.CharField(max_length=200, required=False, allow_blank=True)

    default_error_messages = {"coordinates": gettext_lazy("Give lat and long together.")}

    def validate(self, attrs: dict) -> dict:
        if ("lat" in attrs) != ("long" in attrs):
            raise serializers.ValidationError({"long" if "lat" in attrs else "lat": self.error_messages["coordinates"]})
        for name in ("address_string", "first_name", "last_name", "phone", "description"):
            attrs[name] = without_control_characters(attrs[name])
        return attrs

    def point(self) -> Point | None:
        data = self.validated_data
        return Point(data["long"], data["lat"], srid=4326) if "lat" in data else None


def attributes(data) -> dict[str, str | list[str]]:
    """``attribute[code]=value`` and ``attribute[code][]=a&…`` (multivaluelist) as a dict.

    Attributes nobody asked for are stored with the report too (FixMyStreet's own): a client gets room for
    MAX_ATTRIBUTES of them with MAX_ATTRIBUTE_VALUES values each, not for a megabyte of JSON per report.
    """
    found: dict[str, str | list[str]] = {}
    for key in data:
        match = _ATTRIBUTE.match(key)
        if match:
            raw = data.getlist(key)
            if len(found) >= MAX_ATTRIBUTES or len(raw) > MAX_ATTRIBUTE_VALUES:
                raise Open311Error(400, _("At most %(attributes)d attributes with %(values)d values each.") % {
                    "attributes": MAX_ATTRIBUTES, "values": MAX_ATTRIBUTE_VALUES})
            values = [without_control_characters(str(v))[:1000] for v in raw]
            found[match.group(1)] = values if match.group(2) or len(values) > 1 else values[0]
    return found


def submit(*, data, files, client: Open311Client, jurisdiction: Authority | None) -> Report:
    """Check the request and store the report; raises Open311Error for anything the client got wrong, and the
    domain's errors (reports.errors: no place, outside the service area, a bad photo) as they come."""
    form = ServiceRequestInput(data=data)
    if not form.is_valid():
        raise Open311Error(400, *_descriptions(form.errors))
    fields = form.validated_data
    category = Category.objects.filter(slug=fields["service_code"], active=True).first()
    if category is None:
        raise Open311Error(400, _("service_code %(code)s was not found.") % {"code": fields["service_code"]})
    answers = attributes(data)
    try:  # checked before anything is looked up or decoded; report_submit stores them
        answers = clean_answers(category, answers, keep_unknown=True, label=_attribute_label)
    except AnswerErrors as problems:
        raise Open311Error(400, *(str(error.message) for error in problems.errors)) from None
    point = form.point()
    named = _named_uploads(files)
    uploads = [upload for _name, upload in named]
    urls = media_urls(data)
    if len(uploads) + len(urls) > MAX_PHOTOS_PER_UPLOAD:
        raise Open311Error(400, _("At most %(n)d media files.") % {"n": MAX_PHOTOS_PER_UPLOAD})
    if point is None and fields["address_string"] and not uploads:
        point = _located(fields["address_string"])
    if point is not None and jurisdiction is not None and not _covers(jurisdiction, point):
        raise Open311Error(400, _("The place lies outside the jurisdiction %(name)s.") % {"name": str(jurisdiction)})
    photos = _photos(named)
    name = " ".join(part for part in (fields["first_name"], fields["last_name"]) if part)
    with transaction.atomic():
        result = report_submit(
            category=category, device_location=point, description=fields["description"], photos=photos,
            reporter_name=name, reporter_email=fields["email"], source=Source.OPEN311,
            answers=answers, keep_unknown_answers=True,
        )
        _record_details(result.report, client=client, fields=fields, attributes=answers, media_urls=urls)
        for url in urls:
            schedule_media_fetch(result.report, url, client)
    client.mark_used()
    return Report.objects.get(pk=result.report.pk)


def _attribute_label(question: CategoryQuestion) -> str:
    return f"attribute[{question.code}]"


def _descriptions(errors: dict) -> list[str]:
    return [f"{field}: {message}" for field, messages in errors.items() for message in messages]


def _located(address: str) -> Point:
    """The best match of the configured geocoder; without one (or without a match) coordinates are required."""
    places = geocoding.search(address)
    if not places:
        raise Open311Error(400, _("address_string could not be located: give lat and long."))
    _label, lat, lon = places[0]
    return Point(lon, lat, srid=4326)


def _covers(authority: Authority, point: Point) -> bool:
    if authority.boundary is None:
        return True
    return Authority.objects.filter(pk=authority.pk, boundary__covers=point).exists()


def uploaded_files(files) -> list:
    """The uploaded photos in order: ``media`` (GeoReport v2), then ``photo1``…``photoN`` (FixMyStreet's upload
    mode) by number. Any other file field, and more than MAX_PHOTOS_PER_UPLOAD files in all, is a 400: an
    upload is never dropped silently."""
    return [upload for _name, upload in _named_uploads(files)]


def _named_uploads(files) -> list[tuple[str, object]]:
    if not files:
        return []
    numbered = []
    for name in files:
        match = _NUMBERED_PHOTO.match(name)
        if match:
            numbered.append((int(match.group(1)), name))
        elif name != "media":
            raise Open311Error(400, _("%(field)s: unknown file field; send photos as media or photo1, photo2, …")
                               % {"field": name})
    names = ["media"] * ("media" in files) + [name for _number, name in sorted(numbered)]
    named = [(name, upload) for name in names for upload in files.getlist(name)]
    if len(named) > MAX_PHOTOS_PER_UPLOAD:
        raise Open311Error(400, _("At most %(n)d media files.") % {"n": MAX_PHOTOS_PER_UPLOAD})
    return named


def _photos(named: list[tuple[str, object]]) -> list:
    """Each upload through the pipeline; a bad one is a 4xx naming its field (media, photo2)."""
    photos = []
    for name, upload in named:
        try:
            photos.extend(inspected_photos([upload], field=name))  # type: ignore[list-item]
        except PhotoError as error:
            raise Open311Error(error.kind.http_status, f"{name}: {error}") from None
    return photos


def _record_details(report: Report, *, client: Open311Client, fields: dict, attributes: dict,
                    media_urls: list[str]) -> None:
    """What Open311 carries beyond the app API: the phone (private, like the other contact fields), the
    client's address text, and for staff an internal note with the client, its attributes and media_url(s)."""
    updates = {}
    if fields["phone"]:
        updates["reporter_phone"] = fields["phone"]
    if fields["address_string"] and not report.address:
        updates["address"] = fields["address_string"]
    if updates:
        Report.objects.filter(pk=report.pk).update(**updates)
        # And on the instance: the new report's push after commit represents it as report_submit handed it on.
        for field, value in updates.items():
            setattr(report, field, value)
    details = {"open311_client": client.name, "attributes": attributes}
    lines = [_("Submitted through Open311 by %(client)s.") % {"client": client.name}]
    if media_urls:
        details["media_url"] = media_urls[0] if len(media_urls) == 1 else media_urls
    for url in media_urls:
        lines.append(_("The client refers to a photo at %(url)s.") % {"url": url})
    for code, value in attributes.items():
        lines.append(f"{code}: {', '.join(value) if isinstance(value, list) else value}")
    note = ReportEvent.objects.create(
        report=report, kind=EventKind.INTERNAL_NOTE, is_public=False, created_at=timezone.now(),
        message="\n".join(lines), data=details,
    )
    publish_after_commit([note])
