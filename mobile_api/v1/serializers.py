"""Input of the citizen API: what the app sends, checked field by field."""

from __future__ import annotations

import hashlib
import re

from django.contrib.gis.geos import Point
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from geo.models import Category
from mobile_api.fields import Coordinate
from reports import filters

MAX_PHOTOS = 5
# Control characters other than tab and newline have no place in a description.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def checked(parse, value):
    """``parse(value)`` (one of reports.filters'), its InvalidParameter as the field's validation error."""
    try:
        return parse(value)
    except filters.InvalidParameter as exc:
        raise serializers.ValidationError(exc.message, code=exc.code) from None


class PointQuerySerializer(serializers.Serializer):
    lat = Coordinate(min_value=-90, max_value=90, required=False)
    lon = Coordinate(min_value=-180, max_value=180, required=False)

    def validate(self, attrs):
        if ("lat" in attrs) != ("lon" in attrs):
            missing = "lon" if "lat" in attrs else "lat"
            raise serializers.ValidationError({missing: _("Give lat and lon together.")})
        return attrs

    def point(self) -> Point | None:
        data = self.validated_data
        return Point(data["lon"], data["lat"], srid=4326) if "lat" in data else None


class ReportSubmissionSerializer(PointQuerySerializer):
    category = serializers.SlugRelatedField(slug_field="slug", queryset=Category.objects.filter(active=True))
    description = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    photos = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True), required=False, default=list, max_length=MAX_PHOTOS
    )

    def validate_description(self, value: str) -> str:
        return _CONTROL.sub("", value).strip()

    def validate_name(self, value: str) -> str:
        return _CONTROL.sub("", value).strip()

    def fingerprint(self, photo_bytes: list[bytes]) -> str:
        """What makes two submissions the same request (for Idempotency-Key)."""
        data = self.validated_data
        digest = hashlib.sha256()
        for part in (data["category"].slug, data.get("lat"), data.get("lon"), data["description"], data["email"], data["name"]):
            digest.update(repr(part).encode())
        for content in photo_bytes:
            digest.update(hashlib.sha256(content).digest())
        return digest.hexdigest()


class NearbyQuerySerializer(PointQuerySerializer):
    lat = Coordinate(min_value=-90, max_value=90)
    lon = Coordinate(min_value=-180, max_value=180)
    category = serializers.SlugRelatedField(slug_field="slug", queryset=Category.objects.filter(active=True))
    radius = serializers.IntegerField(min_value=1, max_value=500, required=False)


class SupportSerializer(serializers.Serializer):
    device_id = serializers.CharField(min_length=8, max_length=200, required=False)
    email = serializers.EmailField(required=False)

    def validate(self, attrs):
        if not attrs.get("device_id") and not attrs.get("email"):
            raise serializers.ValidationError({"device_id": _("Give a device_id or an email.")})
        return attrs

    def supporter(self) -> str:
        return self.validated_data.get("device_id") or self.validated_data["email"]
