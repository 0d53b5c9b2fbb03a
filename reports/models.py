"""The ticket: a report, its photos and its append-only event history."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.gis.geos import GEOSGeometry, Point
from django.contrib.gis.measure import D
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from geo.models import Authority, BoundaryVersion, Category, Department
from geo.spatial_sql import envelope, index_candidates
from reports.workflow import OPEN_STATUSES, STATUS_TYPE, Status


class Source(models.TextChoices):
    APP = "app", _("App")
    WEB = "web", _("Web form")
    OPEN311 = "open311", _("Open311")
    STAFF = "staff", _("Staff")


class Moderation(models.TextChoices):
    PENDING = "pending", _("Awaiting review")
    PUBLISHED = "published", _("Published")
    HIDDEN = "hidden", _("Hidden")


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    # The secret is 256 random bits: a fast hash is enough, a slow KDF would only add latency.
    return hashlib.sha256(secret.encode()).hexdigest()


class ReportQuerySet(models.QuerySet["Report"]):
    def open(self) -> ReportQuerySet:
        return self.filter(status__in=OPEN_STATUSES)

    def published(self) -> ReportQuerySet:
        """Reports the public may see (``Report.is_published`` answers the same for one report)."""
        return self.filter(moderation=Moderation.PUBLISHED, category__is_public=True)

    def overdue(self, now=None) -> ReportQuerySet:
        return self.open().filter(due_at__lt=now or timezone.now())

    def for_staff(self, user) -> ReportQuerySet:
        """The reports of the authorities the user works for (all of them for superusers)."""
        if not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self
        return self.filter(authority__departments__memberships__user=user).distinct()

    def in_area(self, area: GEOSGeometry) -> ReportQuerySet:
        """Reports located in ``area`` (a box or a boundary; its border counts as inside), through the spatial index."""
        return self.filter(index_candidates(Report, "location", area)).filter(location__intersects=area)

    def near(self, point: Point, radius_m: float) -> ReportQuerySet:
        """Reports within ``radius_m`` metres of ``point`` (on PostGIS and SpatiaLite alike), index-prefiltered."""
        return self.in_area(envelope(point, radius_m)).filter(location__distance_lte=(point, D(m=radius_m)))


class Report(models.Model):
    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    reference = models.CharField(_("reference"), max_length=32, unique=True, editable=False)
    category = models.ForeignKey(Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="reports")
    location = models.PointField(_("location"), srid=4326)
    address = models.CharField(_("address"), max_length=300, blank=True)
    description = models.TextField(_("description"), blank=True)
    # What the public sees of the description when staff have redacted it (a phone number, a name); empty: the
    # description as written. The original stays for staff and the reporter (reports.services.photo_moderation).
    public_description = models.TextField(_("public description"), blank=True)
    # Answers to the category's extra questions (geo.CategoryQuestion), by question code: a string, or a list
    # of option keys for a multiple choice. Shown to staff, not public (free text may be personal).
    answers = models.JSONField(_("answers"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.NEW, db_index=True)
    authority = models.ForeignKey(
        Authority, verbose_name=_("authority"), on_delete=models.PROTECT, related_name="reports"
    )
    department = models.ForeignKey(
        Department, verbose_name=_("department"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="reports",
    )
    routing_reason = models.TextField(_("routing reason"), blank=True)
    # The version of the authority's boundary the report was routed with (forwarding by hand keeps it). PROTECT:
    # a version cannot go while a report refers to it; retention's deletion of reports frees it.
    boundary_version = models.ForeignKey(
        BoundaryVersion, verbose_name=_("routed with boundary version"), null=True, blank=True, editable=False,
        on_delete=models.PROTECT, related_name="reports",
    )
    # Private: never in any public output.
    reporter_name = models.CharField(_("reporter's name"), max_length=200, blank=True)
    reporter_email = models.EmailField(_("reporter's e-mail"), blank=True)
    reporter_phone = models.CharField(_("reporter's phone"), max_length=50, blank=True)
    secret_hash = models.CharField(max_length=64, editable=False)
    # The reporter's language (de/en), for the mails they get.
    language = models.CharField(_("language"), max_length=8, default="de")
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.APP)
    moderation = models.CharField(
        _("moderation"), max_length=10, choices=Moderation.choices, default=Moderation.PUBLISHED, db_index=True
    )
    duplicate_of = models.ForeignKey(
        "self", verbose_name=_("duplicate of"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="duplicates",
    )
    support_count = models.PositiveIntegerField(_("supporters"), default=0)
    idempotency_key = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    # A hash of the request that used the idempotency key: the same key with another body is a conflict.
    idempotency_fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), db_index=True)
    updated_at = models.DateTimeField(_("updated"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # When it should be closed: the category's target in working days, without the Land's public holidays.
    due_at = models.DateTimeField(_("due"), null=True, blank=True, db_index=True)

    objects = ReportQuerySet.as_manager()

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["authority", "status"]),
            models.Index(fields=["department", "status"]),
            # The public list of one category, newest first (a filter people use).
            models.Index(fields=["category", "-created_at", "-id"], name="report_category_newest"),
        ]

    def __str__(self) -> str:
        return self.reference

    def set_secret(self) -> str:
        """A new reporter secret; only its hash is stored, the clear value is returned once."""
        secret = new_secret()
        self.secret_hash = hash_secret(secret)
        return secret

    def check_secret(self, secret: str) -> bool:
        return bool(self.secret_hash) and hmac.compare_digest(self.secret_hash, hash_secret(secret))

    @property
    def is_overdue(self) -> bool:
        return self.status in OPEN_STATUSES and self.due_at is not None and self.due_at < timezone.now()

    @property
    def status_label(self) -> str:
        return StatusLabel.label(self.status)

    @property
    def is_published(self) -> bool:
        """Whether the public may see the report: what ``ReportQuerySet.published`` asks of the database."""
        return self.moderation == Moderation.PUBLISHED and self.category.is_public

    @property
    def is_much_supported(self) -> bool:
        """Whether staff see it as "viel unterstützt": ``SUPPORT_HIGHLIGHT_THRESHOLD`` supporters or more (0: never)."""
        threshold = settings.OPENMELDER["SUPPORT_HIGHLIGHT_THRESHOLD"]
        return threshold > 0 and self.support_count >= threshold

    @property
    def public_text(self) -> str:
        """The description as every public output shows it: staff's redaction if there is one."""
        return self.public_description or self.description


class ReferenceCounter(models.Model):
    """The last number handed out per prefix and year (HM-2026-000123)."""

    prefix = models.CharField(max_length=8)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["prefix", "year"], name="reference_counter_unique")]

    @classmethod
    def next_reference(cls, prefix: str, year: int) -> str:
        """Must run inside the report's transaction: the UPDATE locks the counter row until commit."""
        number = cls._increment(prefix, year)
        if number is None:  # the first reference of this prefix and year
            cls.objects.get_or_create(prefix=prefix, year=year)
            number = cls._increment(prefix, year)
        return f"{prefix}-{year}-{number:06d}"

    @classmethod
    def _increment(cls, prefix: str, year: int) -> int | None:
        """The counter's next number, in one statement (PostgreSQL and SQLite since 3.35 return the updated value);
        None if there is no counter yet."""
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {quote(cls._meta.db_table)} SET {quote('last')} = {quote('last')} + 1 "
                f"WHERE {quote('prefix')} = %s AND {quote('year')} = %s RETURNING {quote('last')}",
                [prefix, year],
            )
            row = cursor.fetchone()
        return row[0] if row is not None else None


class Support(models.Model):
    """A "me too" for a report, once per device or person (kept only as a hash)."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="supports")
    supporter_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("support")
        verbose_name_plural = _("supports")
        constraints = [models.UniqueConstraint(fields=["report", "supporter_hash"], name="support_once_per_supporter")]


class PhotoKind(models.TextChoices):
    REPORT = "report", _("Report photo")
    FIX = "fix", _("Fix photo")


def _photo_path(instance: Photo, filename: str) -> str:
    return f"photos/{instance.report.public_id}/{uuid.uuid4().hex}.jpg"


def _thumbnail_path(instance: Photo, filename: str) -> str:
    return f"photos/{instance.report.public_id}/{uuid.uuid4().hex}_thumb.jpg"


def _original_path(instance: Photo, filename: str) -> str:
    # No ".jpg": reports.media serves only the names of the JPEGs below, so an upload as sent is never served.
    return f"photos/{instance.report.public_id}/{uuid.uuid4().hex}_upload"


def _public_path(instance: Photo, filename: str) -> str:
    return f"photos/{instance.report.public_id}/{uuid.uuid4().hex}_public.jpg"


def _public_thumbnail_path(instance: Photo, filename: str) -> str:
    return f"photos/{instance.report.public_id}/{uuid.uuid4().hex}_public_thumb.jpg"


class PhotoQuerySet(models.QuerySet["Photo"]):
    def published(self) -> PhotoQuerySet:
        """Photos the public may see (``Photo.is_published``), whatever the report's own visibility."""
        return self.filter(is_public=True, report__authority__publish_photos=True).exclude(public_image="")


class Photo(models.Model):
    """A photo as sent, then re-encoded with all metadata stripped, and its public rendition.

    A request stores the upload as sent in ``upload`` (private, never served) with the facts read from its
    header. The worker (reports.services.renditions) decodes it once and makes everything else: ``image`` and
    ``thumbnail`` as the reporter took them (upright, downscaled, without metadata), for staff only; and
    ``public_image`` and ``public_thumbnail``, what everyone else sees: faces and number plates blurred
    (reports.blurring), plus the areas staff marked. Then the upload is deleted. Until the worker has made
    them those files are empty, and the public sees no photo. An upload whose pixels turn out to be broken
    is deleted and the photo marked ``unreadable``.
    """

    report = models.ForeignKey(Report, verbose_name=_("report"), on_delete=models.CASCADE, related_name="photos")
    kind = models.CharField(_("kind"), max_length=10, choices=PhotoKind.choices, default=PhotoKind.REPORT)
    upload = models.FileField(_("upload as sent"), upload_to=_original_path, blank=True)
    unreadable = models.BooleanField(_("unreadable"), default=False)
    # Dimensions come from the upload's header (reports.photos.inspect_photo), not from decoding the image.
    image = models.ImageField(_("image"), upload_to=_photo_path, blank=True)
    thumbnail = models.ImageField(_("thumbnail"), upload_to=_thumbnail_path, blank=True)
    width = models.PositiveIntegerField(_("width"), default=0)
    height = models.PositiveIntegerField(_("height"), default=0)
    size_bytes = models.PositiveIntegerField(_("size (bytes)"), default=0)
    is_public = models.BooleanField(_("public"), default=True)
    # Private, for plausibility checks by staff; never published.
    captured_at = models.DateTimeField(_("captured"), null=True, blank=True)
    exif_location = models.PointField(_("position in the photo"), srid=4326, null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    public_image = models.ImageField(_("public image"), upload_to=_public_path, blank=True)
    public_thumbnail = models.ImageField(_("public thumbnail"), upload_to=_public_thumbnail_path, blank=True)
    # Areas blurred in the public rendition, as [x, y, width, height] in pixels of ``image``: what the
    # detectors found ({"kind": "face"|"plate", "box": [...], "score": 0.9}) and what staff marked by hand.
    detected_areas = models.JSONField(_("detected areas"), default=list, blank=True)
    blur_areas = models.JSONField(_("areas blurred by hand"), default=list, blank=True)
    rendered_at = models.DateTimeField(_("public rendition made"), null=True, blank=True)

    objects = PhotoQuerySet.as_manager()

    class Meta:
        verbose_name = _("photo")
        verbose_name_plural = _("photos")
        ordering = ["created_at", "id"]

    @property
    def is_published(self) -> bool:
        """Whether the public may see this photo (of a report the public may see): shown by staff, its
        blurred rendition made, and its authority publishes photos."""
        return self.is_public and bool(self.public_image) and self.report.authority.publish_photos


class EventKind(models.TextChoices):
    CREATED = "created", _("Created")
    ROUTED = "routed", _("Routed")
    STATUS_CHANGED = "status_changed", _("Status changed")
    PUBLIC_ANSWER = "public_answer", _("Public answer")
    INTERNAL_NOTE = "internal_note", _("Internal note")
    REASSIGNED = "reassigned", _("Reassigned")
    FORWARDED = "forwarded", _("Forwarded")
    MERGED = "merged", _("Merged")
    PHOTO_ADDED = "photo_added", _("Photo added")
    CATEGORY_CHANGED = "category_changed", _("Category changed")
    LOCATION_CHANGED = "location_changed", _("Location changed")
    ADDRESS_RESOLVED = "address_resolved", _("Address resolved")
    SUPPORTED = "supported", _("Supported")
    ANONYMISED = "anonymised", _("Personal data removed")
    MODERATED = "moderated", _("Publication changed")
    COMMENT = "comment", _("Comment")


class ReportEvent(models.Model):
    """One entry of a report's append-only history; its id (``seq``) orders everything clients see.

    Events are never edited: every push, e-mail and webhook is derived from these rows.
    """

    report = models.ForeignKey(Report, verbose_name=_("report"), on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("kind"), max_length=20, choices=EventKind.choices)
    is_public = models.BooleanField(_("public"), default=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("actor"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    from_status = models.CharField(_("from status"), max_length=20, choices=Status.choices, blank=True)
    to_status = models.CharField(_("to status"), max_length=20, choices=Status.choices, blank=True)
    message = models.TextField(_("message"), blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), db_index=True)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["id"]
        indexes = [models.Index(fields=["report", "id"])]

    @property
    def seq(self) -> int:
        return self.id

    @property
    def to_status_label(self) -> str:
        """The label of the status this event set, as the installation names it (StatusLabel)."""
        return StatusLabel.label(self.to_status) if self.to_status else ""

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and not self._state.adding:
            raise ValueError("Report events are append-only and cannot be changed.")
        super().save(*args, **kwargs)


class StatusLabel(models.Model):
    """The label a status shows, editable per installation; the status code and its type are fixed."""

    status = models.CharField(_("status"), max_length=20, choices=Status.choices, unique=True)
    label_de = models.CharField(_("label (German)"), max_length=60)
    label_en = models.CharField(_("label (English)"), max_length=60)

    class Meta:
        verbose_name = _("status label")
        verbose_name_plural = _("status labels")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.label_de

    @property
    def type(self) -> str:
        return STATUS_TYPE[self.status]

    @classmethod
    def label(cls, status: str, language: str | None = None) -> str:
        """The label in the given (default: the active) language, falling back to the built-in one."""
        labels = cls._labels()
        if status not in labels:
            return str(Status(status).label)
        german, english = labels[status]
        return english if (language or get_language() or "de").startswith("en") else german

    @classmethod
    def _labels(cls) -> dict[str, tuple[str, str]]:
        # A page shows dozens of labels: one read of the shared cache per request (and per
        # LABELS_MEMO_SECONDS in the worker), not one per label, which cost a Redis round trip each.
        global _labels_memo
        memo = _labels_memo  # read once: another request's thread may forget it meanwhile (it did, a 500)
        if memo is not None and time.monotonic() - memo[0] < LABELS_MEMO_SECONDS:
            return memo[1]
        labels = cache.get(_LABELS_CACHE_KEY)
        if labels is None:
            labels = {row.status: (row.label_de, row.label_en) for row in cls.objects.all()}
            cache.set(_LABELS_CACHE_KEY, labels, 300)
        _labels_memo = (time.monotonic(), labels)
        return labels

    @staticmethod
    def forget_memo(**kwargs) -> None:
        """Read the labels from the shared cache again (at every request's start; after edits)."""
        global _labels_memo
        _labels_memo = None

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        cache.delete(_LABELS_CACHE_KEY)
        self.forget_memo()

    def delete(self, *args, **kwargs):
        cache.delete(_LABELS_CACHE_KEY)
        self.forget_memo()
        return super().delete(*args, **kwargs)


_LABELS_CACHE_KEY = "reports:status-labels"
LABELS_MEMO_SECONDS = 10
_labels_memo: tuple[float, dict[str, tuple[str, str]]] | None = None


class ResponseTemplate(models.Model):
    """A prepared public answer offered to staff, per category and status (either may be left open).

    The text may use placeholders: {reference}, {category}, {address}, {authority}, {department}.
    """

    title = models.CharField(_("title"), max_length=100)
    title_en = models.CharField(_("title (English)"), max_length=100, blank=True)
    text = models.TextField(_("text (German)"))
    text_en = models.TextField(_("text (English)"), blank=True)
    status = models.CharField(_("for status"), max_length=20, choices=Status.choices, blank=True)
    category = models.ForeignKey(
        Category, verbose_name=_("category"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    authority = models.ForeignKey(
        Authority, verbose_name=_("authority"), null=True, blank=True, on_delete=models.CASCADE, related_name="+",
        help_text=_("Empty: offered to every authority."),
    )
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("response template")
        verbose_name_plural = _("response templates")
        ordering = ["sort_order", "title"]

    def __str__(self) -> str:
        return self.title


class MapCell(models.Model):
    """Visible reports per grid cell of the public map, per zoom level, category and status.

    The public map's clusters come from here, not from counting a million reports per request.
    Only database triggers on the report table write it (reports/mapcells.py), so every change —
    through services, the admin or a bulk update — keeps it exact.
    """

    zoom = models.PositiveSmallIntegerField()
    # The cell's centre, as ST_SnapToGrid(location, cell size) gives it.
    cell_lon = models.FloatField()
    cell_lat = models.FloatField()
    # No foreign key: written by triggers, and categories are never deleted while they have reports.
    category_id = models.BigIntegerField()
    status = models.CharField(max_length=20)
    count = models.IntegerField(default=0)
    # Sums of the reports' coordinates: the cluster's position is their mean.
    sum_lon = models.FloatField(default=0)
    sum_lat = models.FloatField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["zoom", "cell_lon", "cell_lat", "category_id", "status"], name="reports_mapcell_key"
            )
        ]


class PublicDataVersion(models.Model):
    """Values that change after every commit that may change what the public sees: row 1 with every change,
    row 2 with every change not confined to known places, and a row per area of the map grid that has seen one.

    Public read answers (map, lists, statistics, Open311) are cached and given ETags under these values
    (``reports.publicdata.version``). A change sets a new random value rather than counting up: a
    database restored from a backup, or a test's rolled-back transaction, never meets a value that was
    used for other data since.
    """

    value = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("public data version")
