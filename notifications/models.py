"""Who is told what: e-mail addresses (double opt-in), subscriptions, webhooks and the delivery queue.

A ``Delivery`` is one message to one recipient, written in the same transaction as the report event
that causes it (notifications/delivery/planning.py) and sent by the worker (notifications/delivery/worker.py).
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.contrib.gis.db import models as gis
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from geo.models import Authority, Category, Department
from reports.models import Report, ReportEvent


def normalise_address(address: str) -> str:
    # Mailbox names are case-sensitive by the RFC, but no provider treats them so; one row per person.
    return address.strip().lower()


def hash_token(token: str) -> str:
    # Tokens are 256 random bits: a fast hash suffices.
    return hashlib.sha256(token.encode()).hexdigest()


class DoubleOptIn(models.Model):
    """An address that gets nothing but its confirmation mail until the link in it is used (double opt-in)."""

    language = models.CharField(_("language"), max_length=8, default="de")
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    # Only the hash of the newest confirmation link's token; it is cleared when used.
    token_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        abstract = True

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None

    def new_token(self) -> str:
        """A fresh confirmation token; earlier links stop working. Only its hash is kept."""
        token = secrets.token_urlsafe(32)
        self.token_hash = hash_token(token)
        return token


def confirm_by_token(rows: models.QuerySet, token: str):
    """Confirm the row of ``rows`` whose newest confirmation link carries ``token``; None if the token is unknown
    or was used already. Conditional, so two clicks at once confirm once."""
    row = rows.filter(token_hash=hash_token(token)).first() if token else None
    if row is None:
        return None
    if not rows.model.objects.filter(pk=row.pk, token_hash=row.token_hash).update(
        token_hash="", confirmed_at=row.confirmed_at or timezone.now()
    ):
        return None
    row.refresh_from_db()
    return row


class EmailAddress(DoubleOptIn):
    """A reporter's address: confirmed once, for all of its reports."""

    address = models.EmailField(_("address"), unique=True)

    class Meta:
        verbose_name = _("e-mail address")
        verbose_name_plural = _("e-mail addresses")
        ordering = ["address"]

    def __str__(self) -> str:
        return self.address


class Subscription(models.Model):
    """An address follows a report (the reporter's own, for now)."""

    report = models.ForeignKey(Report, verbose_name=_("report"), on_delete=models.CASCADE, related_name="subscriptions")
    address = models.ForeignKey(
        EmailAddress, verbose_name=_("address"), on_delete=models.CASCADE, related_name="subscriptions"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        constraints = [models.UniqueConstraint(fields=["report", "address"], name="subscription_once")]

    def __str__(self) -> str:
        return f"{self.address} → {self.report}"


class Follower(DoubleOptIn):
    """Someone who follows a published report from its public page (not its reporter). Double opt-in for this
    report alone: nothing but the confirmation mail until its link is used; then the report's status mails,
    each with a link to stop them. Removed with the report's personal data (retention)."""

    report = models.ForeignKey(Report, verbose_name=_("report"), on_delete=models.CASCADE, related_name="followers")
    address = models.EmailField(_("address"))

    class Meta:
        verbose_name = _("follower")
        verbose_name_plural = _("followers")
        constraints = [models.UniqueConstraint(fields=["report", "address"], name="follower_once")]

    def __str__(self) -> str:
        return f"{self.address} → {self.report}"


class AlertScope(models.TextChoices):
    MUNICIPALITY = "municipality", _("Municipality")
    RADIUS = "radius", _("Radius around a place")
    AREA = "area", _("Drawn area")


class AreaAlert(DoubleOptIn):
    """Someone who wants to hear of new reports and/or status changes in an area (notifications/alerts.py).

    Double opt-in: nothing but the confirmation mail until its link is used; unconfirmed alerts are deleted
    after a week. Stored (DSGVO): the address, the language, the area and what to hear of; nothing else.
    A municipality is kept as the authority (its current boundary counts); a radius as its centre and metres
    plus a polygon circumscribing the circle (the index prefilter); a drawn area as its polygon.
    """

    address = models.EmailField(_("address"))
    scope = models.CharField(_("area kind"), max_length=20, choices=AlertScope.choices)
    authority = models.ForeignKey(
        Authority, verbose_name=_("municipality"), null=True, blank=True, on_delete=models.CASCADE,
        related_name="area_alerts",
    )
    area = gis.PolygonField(_("area"), srid=4326, null=True, blank=True)
    center = gis.PointField(_("centre"), srid=4326, null=True, blank=True)
    radius_m = models.PositiveIntegerField(_("radius (m)"), null=True, blank=True)
    new_reports = models.BooleanField(_("new reports"), default=True)
    status_changes = models.BooleanField(_("status changes"), default=False)
    # None chosen: every public category.
    categories = models.ManyToManyField(Category, verbose_name=_("categories"), blank=True, related_name="+")
    # The same address asking for the same alert again gets no second row (and no second mail).
    spec_hash = models.CharField(max_length=64, editable=False)

    class Meta:
        verbose_name = _("area alert")
        verbose_name_plural = _("area alerts")
        constraints = [models.UniqueConstraint(fields=["address", "spec_hash"], name="area_alert_once")]

    def __str__(self) -> str:
        return f"{self.address} → {self.get_scope_display()}"


class Webhook(models.Model):
    """Another system (e.g. an authority's ticket system) that receives the public events of its reports."""

    authority = models.ForeignKey(
        Authority, verbose_name=_("authority"), null=True, blank=True, on_delete=models.CASCADE, related_name="webhooks"
    )
    department = models.ForeignKey(
        Department, verbose_name=_("department"), null=True, blank=True, on_delete=models.CASCADE,
        related_name="webhooks",
    )
    url = models.URLField(_("URL"), max_length=500, validators=[URLValidator(schemes=["http", "https"])])
    secret = models.CharField(
        _("secret"), max_length=200, default=secrets.token_urlsafe,
        help_text=_("The receiver checks the X-OpenMelder-Signature header with this key (HMAC-SHA256 of the body)."),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("webhook")
        verbose_name_plural = _("webhooks")
        constraints = [
            models.CheckConstraint(
                condition=Q(authority__isnull=False) | Q(department__isnull=False), name="webhook_has_an_owner"
            )
        ]

    def __str__(self) -> str:
        return self.url

    def clean(self) -> None:
        if self.authority_id is None and self.department_id is None:
            raise ValidationError(_("Choose an authority or a department."))


class PushSource(models.TextChoices):
    BROWSER = "browser", _("Browser (public page)")
    APP = "app", _("App (the reporter's own report)")


class PushSubscription(models.Model):
    """A Web Push endpoint told about one report's status changes: a browser from the report's public page, or
    the reporter's app for its own report. The endpoint and keys identify a device: personal data, removed with
    the report's personal data and when the push service says the subscription is gone (404/410)."""

    report = models.ForeignKey(
        Report, verbose_name=_("report"), on_delete=models.CASCADE, related_name="push_subscriptions"
    )
    endpoint = models.CharField(_("endpoint"), max_length=1000)
    # The browser's ECDH public key (P-256, uncompressed, base64url) and its 16-byte auth secret (base64url).
    p256dh = models.CharField(max_length=100)
    auth = models.CharField(max_length=40)
    source = models.CharField(_("source"), max_length=10, choices=PushSource.choices)
    language = models.CharField(_("language"), max_length=8, default="de")
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("push subscription")
        verbose_name_plural = _("push subscriptions")
        constraints = [models.UniqueConstraint(fields=["report", "endpoint"], name="push_subscription_once")]

    def __str__(self) -> str:
        return f"{self.get_source_display()} → {self.report}"


class Channel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    WEBHOOK = "webhook", _("Webhook")
    WEB_PUSH = "web_push", _("Web Push")
    # Not a message: finding the area alerts a report event matches, queued like one (retries, leases).
    MATCH = "match", _("Matching")


class DeliveryKind(models.TextChoices):
    CONFIRMATION = "confirmation", _("Address confirmation")
    STATUS = "status", _("Status change")
    FOLLOW_UP = "follow_up", _("Fixed? follow-up")
    DIGEST = "digest", _("Overdue digest")
    EVENT = "event", _("Event (webhook)")
    FORWARD = "forward", _("Report forwarded to an external body")
    # A report that arrived at a department (new, reassigned, forwarded or routed there anew), to its address;
    # or, for an external body without a department on the platform, to the body's address.
    RESPONSIBLE = "responsible", _("Report for the responsible department")
    # To someone who wants to follow a report from its public page: the link that starts the status mails.
    FOLLOW_CONFIRMATION = "follow_confirm", _("Follow confirmation")
    # Area alerts (notifications/alerts.py): the confirmation mail; the search for the alerts an event matches
    # (channel "match", run by the worker, not in the request); and the mail to one matching alert.
    ALERT_CONFIRMATION = "alert_confirm", _("Area alert confirmation")
    ALERT_MATCH = "alert_match", _("Area alert matching")
    ALERT = "alert", _("Area alert")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    # Not sent because it no longer applied when its time came (e.g. reopened before the follow-up).
    SKIPPED = "skipped", _("Skipped")


class Delivery(models.Model):
    """One message to one recipient. ``key`` makes it unique: it is never created, nor sent, twice.

    A worker sends it only after claiming it with a conditional UPDATE that sets ``lease_until``;
    if the worker dies, the lease expires and the sweeper hands it to another worker.
    """

    key = models.CharField(max_length=300, unique=True, editable=False)
    event = models.ForeignKey(
        ReportEvent, verbose_name=_("event"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    report = models.ForeignKey(
        Report, verbose_name=_("report"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    kind = models.CharField(_("kind"), max_length=20, choices=DeliveryKind.choices)
    # The e-mail address or the webhook URL, as it was when the delivery was queued.
    target = models.CharField(_("recipient"), max_length=500)
    address = models.ForeignKey(
        EmailAddress, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries", editable=False
    )
    webhook = models.ForeignKey(
        Webhook, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries", editable=False
    )
    recipient_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+", editable=False
    )
    # Kind-specific details, e.g. the events a status mail tells about.
    data = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    lease_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["-id"]
        indexes = [
            # The sweeper's query: pending deliveries by due time.
            models.Index(
                fields=["next_attempt_at"], name="delivery_pending_due", condition=Q(status="pending")
            ),
            models.Index(fields=["status", "channel"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.target}"
