"""Input of the citizen API: what the app sends, checked field by field."""

from __future__ import annotations

import json
from typing import cast

from django.contrib.gis.geos import Point
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from geo.models import Category
from mobile_api.fields import Coordinate
from reports import filters
from reports.answers import clean_answers
from reports.errors import AnswerErrors
from reports.photos import MAX_PHOTOS_PER_UPLOAD
from reports.services import submission_fingerprint
from reports.validation import max_text_length, without_control_characters


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


# A category asks a handful of questions; a request with more answers than this is not a report.
MAX_ANSWERS = 50


@extend_schema_field({
    "type": "object",
    "additionalProperties": {
        "oneOf": [{"type": "string"}, {"type": "number"}, {"type": "array", "items": {"type": "string"}}]
    },
    "description": (
        "Answers to the category's questions (GET /api/v1/categories/: questions): the question's code → the answer "
        "as text (number: a decimal number; datetime: ISO 8601), or for multivaluelist a list of option keys. "
        "In a multipart or form-encoded request: one field `answers` holding this object as a JSON string."
    ),
    "example": {"art": ["sperrmuell", "bauschutt"], "mastnummer": "HM-0815"},
})
class AnswersField(serializers.Field):
    """The answers as a JSON object; in a multipart request (with photos) the same object as a JSON string."""

    default_error_messages = {
        "invalid": _("Give the answers as a JSON object: question code → text, or a list of option keys."),
        "too_many": _("At most {max} answers."),
    }

    def to_internal_value(self, data) -> dict:
        if isinstance(data, str):
            try:
                data = json.loads(data) if data.strip() else {}
            except ValueError:
                self.fail("invalid")
        if not isinstance(data, dict) or not all(isinstance(key, str) and len(key) <= 50 for key in data):
            self.fail("invalid")
        if len(data) > MAX_ANSWERS:
            self.fail("too_many", max=MAX_ANSWERS)
        for value in data.values():
            items = value if isinstance(value, list) else [value]
            if not all(item is None or isinstance(item, (str, int, float)) and not isinstance(item, bool)
                       for item in items):
                self.fail("invalid")
        return data

    def to_representation(self, value):
        return value


class SubmittedCategoryField(serializers.SlugRelatedField):
    """The category by its slug, read with its questions (the answers are checked against them here, and again by
    the use case), and kept for the answers' check: one query each for category and questions."""

    def __init__(self, **kwargs) -> None:
        super().__init__(
            slug_field="slug", queryset=Category.objects.filter(active=True).prefetch_related("questions"), **kwargs
        )
        self.found: Category | None = None

    def to_internal_value(self, data) -> Category:
        self.found = super().to_internal_value(data)
        return self.found


class ReportSubmissionSerializer(PointQuerySerializer):
    # Declared before answers: DRF checks the fields in this order, so validate_answers finds the category.
    category = SubmittedCategoryField()
    description = serializers.CharField(validators=[max_text_length], required=False, allow_blank=True, default="")
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    photos = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True), required=False, default=list,
        max_length=MAX_PHOTOS_PER_UPLOAD,
    )
    answers = AnswersField(required=False, default=dict)

    def validate_answers(self, value: dict) -> dict:
        """Checked against the category's questions here, so that every mistake is answered at once."""
        category = cast(SubmittedCategoryField, self.fields["category"]).found
        if category is None:
            return value  # the category's own error says what is wrong
        try:
            return clean_answers(category, value)
        except AnswerErrors as problems:
            raise serializers.ValidationError(
                {error.question: [serializers.ErrorDetail(str(error.message), code=error.code)]
                 for error in problems.errors}
            ) from None

    def validate_description(self, value: str) -> str:
        return without_control_characters(value)

    def validate_name(self, value: str) -> str:
        return without_control_characters(value)

    def fingerprint(self, photo_bytes: list[bytes]) -> str:
        """What makes two submissions the same request (for Idempotency-Key)."""
        data = self.validated_data
        values = (
            data["category"].slug, data.get("lat"), data.get("lon"), data["description"], data["email"], data["name"],
            # Only with answers, so that a request without them keeps its earlier fingerprint.
            *((json.dumps(data["answers"], sort_keys=True),) if data["answers"] else ()),
        )
        return submission_fingerprint(values, photo_bytes)


class NearbyQuerySerializer(PointQuerySerializer):
    lat = Coordinate(min_value=-90, max_value=90)
    lon = Coordinate(min_value=-180, max_value=180)
    category = serializers.SlugRelatedField(slug_field="slug", queryset=Category.objects.filter(active=True))
    radius = serializers.IntegerField(min_value=1, max_value=500, required=False)

    def point(self) -> Point:  # lat and lon are required here
        return Point(self.validated_data["lon"], self.validated_data["lat"], srid=4326)


class SupportSerializer(serializers.Serializer):
    device_id = serializers.CharField(min_length=8, max_length=200, required=False)
    email = serializers.EmailField(required=False)

    def validate(self, attrs):
        if not attrs.get("device_id") and not attrs.get("email"):
            raise serializers.ValidationError({"device_id": _("Give a device_id or an email.")})
        return attrs

    def supporter(self) -> str:
        return self.validated_data.get("device_id") or self.validated_data["email"]
