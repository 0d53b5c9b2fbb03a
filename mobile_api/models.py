"""Client applications that may submit reports through Open311, each with its own API key."""

from __future__ import annotations

import hashlib
import secrets

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def hash_key(key: str) -> str:
    # Keys are 256 random bits: a fast hash suffices, a slow KDF would only add latency to every POST.
    return hashlib.sha256(key.encode()).hexdigest()


class Open311ClientQuerySet(models.QuerySet["Open311Client"]):
    def authenticate(self, key: str) -> Open311Client | None:
        """The active client holding this key, or None. Only hashes are compared; the key is never stored."""
        if not key:
            return None
        # Looked up by the hash of the key: timing reveals nothing about stored keys.
        return self.filter(active=True, key_hash=hash_key(key)).first()


class Open311Client(models.Model):
    """A third-party application or city system allowed to POST service requests (Open311 ``api_key``)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True, editable=False)
    # The first characters of the key let operators tell keys apart without storing them.
    key_prefix = models.CharField(_("key begins with"), max_length=8, editable=False)
    active = models.BooleanField(_("active"), default=True)
    contact = models.CharField(_("contact"), max_length=200, blank=True, help_text=_("Who runs this application."))
    submissions_per_hour = models.PositiveIntegerField(
        _("submissions per hour"), default=600,
        help_text=_("How many service requests and updates this key may send per hour (its own budget, "
                    "not shared with other clients)."),
    )
    media_hosts = models.TextField(
        _("photo hosts"), blank=True,
        help_text=_("Host names (one per line) whose media_url photos are downloaded. Empty: none is downloaded."),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)

    objects = Open311ClientQuerySet.as_manager()

    class Meta:
        verbose_name = _("Open311 client")
        verbose_name_plural = _("Open311 clients")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def new_key(self) -> str:
        """Replace the key; the clear key is returned once and only its hash is kept."""
        key = secrets.token_urlsafe(32)
        self.key_hash = hash_key(key)
        self.key_prefix = key[:8]
        return key

    def mark_used(self) -> None:
        now = timezone.now()
        type(self).objects.filter(pk=self.pk).update(last_used_at=now)
        self.last_used_at = now
