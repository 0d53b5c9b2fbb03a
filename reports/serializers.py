"""Public representations of reports and their events.

One shape for every channel: the citizen API, Open311 extensions and the websocket pushes use
these, so a client sees the same report everywhere. Nothing here carries reporter identity,
contact, device data or photo metadata.
"""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from reports.models import EventKind, Photo, Report, ReportEvent


def _absolute(request, path: str) -> str:
    return request.build_absolute_uri(path) if request is not None else path


class PhotoSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()

    class Meta:
        model = Photo
        fields = ["url", "thumbnail_url", "width", "height"]

    def get_url(self, photo: Photo) -> str:
        return _absolute(self.context.get("request"), photo.image.url)

    def get_thumbnail_url(self, photo: Photo) -> str:
        return _absolute(self.context.get("request"), photo.thumbnail.url)


class EventSerializer(serializers.ModelSerializer):
    seq = serializers.IntegerField(source="id")
    kind_label = serializers.CharField(source="get_kind_display")
    status = serializers.SerializerMethodField()

    class Meta:
        model = ReportEvent
        fields = ["seq", "kind", "kind_label", "created_at", "from_status", "to_status", "status", "message"]

    @extend_schema_field({"type": "string", "nullable": True})
    def get_status(self, event: ReportEvent) -> str | None:
        return event.get_to_status_display() if event.to_status else None


class ReportSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    status_label = serializers.CharField(source="get_status_display")
    category = serializers.SerializerMethodField()
    location = serializers.SerializerMethodField()
    authority = serializers.SerializerMethodField()
    department = serializers.SerializerMethodField()
    reason = serializers.CharField(source="routing_reason")
    near_border = serializers.SerializerMethodField()
    photos = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()

    class Meta:
        model = Report
        fields = [
            "id", "reference", "status", "status_label", "category", "location", "address", "description",
            "authority", "department", "reason", "near_border", "photos", "support_count", "created_at",
            "updated_at", "closed_at", "links",
        ]

    @extend_schema_field({"type": "object", "properties": {"slug": {"type": "string"}, "name": {"type": "string"}}})
    def get_category(self, report: Report) -> dict:
        return {"slug": report.category.slug, "name": report.category.name}

    @extend_schema_field({"type": "object", "properties": {"lat": {"type": "number"}, "lon": {"type": "number"}}})
    def get_location(self, report: Report) -> dict:
        return {"lat": report.location.y, "lon": report.location.x}

    @extend_schema_field({"type": "object", "properties": {"name": {"type": "string"}, "ags": {"type": "string", "nullable": True}}})
    def get_authority(self, report: Report) -> dict:
        return {"name": str(report.authority), "ags": report.authority.ags or None}

    @extend_schema_field({"type": "object", "nullable": True, "properties": {"name": {"type": "string"}}})
    def get_department(self, report: Report) -> dict | None:
        return {"name": report.department.name} if report.department else None

    @extend_schema_field({"type": "object", "nullable": True})
    def get_near_border(self, report: Report) -> dict | None:
        routed = next((e for e in reversed(self._events(report)) if e.kind == EventKind.ROUTED), None)
        return routed.data.get("near_border") if routed else None

    @extend_schema_field(PhotoSerializer(many=True))
    def get_photos(self, report: Report) -> list:
        photos = [p for p in report.photos.all() if p.is_public]
        return PhotoSerializer(photos, many=True, context=self.context).data

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "string"}})
    def get_links(self, report: Report) -> dict:
        request = self.context.get("request")
        own = _absolute(request, reverse("api-v1:report-detail", args=[report.public_id]))
        websocket = _absolute(request, f"/ws/reports/{report.public_id}/")
        return {
            "self": own,
            "events": _absolute(request, reverse("api-v1:report-events", args=[report.public_id])),
            "websocket": websocket.replace("http://", "ws://", 1).replace("https://", "wss://", 1),
        }

    def _events(self, report: Report) -> list[ReportEvent]:
        return list(report.events.all())


class OwnReportSerializer(ReportSerializer):
    """What the reporter sees of their own report (authorised by the report's secret)."""

    reporter = serializers.SerializerMethodField()

    class Meta(ReportSerializer.Meta):
        fields = [*ReportSerializer.Meta.fields, "reporter"]

    @extend_schema_field({"type": "object", "properties": {"name": {"type": "string"}, "email": {"type": "string"}}})
    def get_reporter(self, report: Report) -> dict:
        return {"name": report.reporter_name, "email": report.reporter_email}


class CreatedReportSerializer(OwnReportSerializer):
    """The answer to a submission: the report and, once, the reporter's secret for it."""

    secret = serializers.SerializerMethodField()

    class Meta(OwnReportSerializer.Meta):
        fields = [*OwnReportSerializer.Meta.fields, "secret"]

    def get_secret(self, report: Report) -> str:
        return self.context["secret"]
