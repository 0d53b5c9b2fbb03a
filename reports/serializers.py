"""Public representations of reports and their events.

One shape for every channel: the citizen API, Open311 extensions, the websocket pushes and the
webhooks use these, so a client sees the same report and event everywhere. Nothing here carries reporter identity,
contact, device data or photo metadata.
"""

from __future__ import annotations

import copy

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.relations import ManyRelatedField

from geo.models import Authority, Category, Department
from geo.routing_reasons import in_active_language
from reports.answers import displayed_answers
from reports.models import EventKind, Photo, Report, ReportEvent, StatusLabel


def _absolute(request, path: str) -> str:
    return request.build_absolute_uri(path) if request is not None else path


class FieldsOnce:
    """For a ModelSerializer whose fields depend on its class alone (never on the instance, context or request): DRF
    builds them, introspecting the model, for every serializer object (a submission's answer and pushes made seven),
    and deep-copies each declared field; here they are built once per class, and each object gets its own copies:
    plain fields shallow ones (binding a field to its serializer only sets attributes of its own), nested ones
    (serializers, many-related fields: their children are bound to them) deep ones."""

    def get_fields(self):
        built = type(self).__dict__.get("_fields_once")
        if built is None:
            built = super().get_fields()  # a ModelSerializer's
            type(self)._fields_once = built  # (a race builds them twice: harmless)
        return {
            name: copy.deepcopy(field) if isinstance(field, (serializers.BaseSerializer, ManyRelatedField))
            else copy.copy(field)
            for name, field in built.items()
        }


class PhotoSerializer(FieldsOnce, serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()

    class Meta:
        model = Photo
        fields = ["url", "thumbnail_url", "width", "height"]

    # The public rendition (faces and number plates blurred): only published photos are serialized here.
    def get_url(self, photo: Photo) -> str | None:
        return _absolute(self.context.get("request"), photo.public_image.url)

    def get_thumbnail_url(self, photo: Photo) -> str | None:
        return _absolute(self.context.get("request"), photo.public_thumbnail.url)


class EventSerializer(FieldsOnce, serializers.ModelSerializer):
    seq = serializers.IntegerField(source="id")
    kind_label = serializers.CharField(source="get_kind_display")
    status = serializers.SerializerMethodField()

    class Meta:
        model = ReportEvent
        fields = ["seq", "kind", "kind_label", "created_at", "from_status", "to_status", "status", "message"]

    @extend_schema_field({"type": "string", "nullable": True})
    def get_status(self, event: ReportEvent) -> str | None:
        return StatusLabel.label(event.to_status) if event.to_status else None


class ReportSerializer(FieldsOnce, serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    status_label = serializers.CharField()
    category = serializers.SerializerMethodField()
    location = serializers.SerializerMethodField()
    authority = serializers.SerializerMethodField()
    department = serializers.SerializerMethodField()
    reason = serializers.SerializerMethodField()
    near_border = serializers.SerializerMethodField()
    # What the public reads: staff's redaction where there is one (Report.public_text).
    description = serializers.CharField(source="public_text", read_only=True)
    photos = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()

    class Meta:
        model = Report
        fields = [
            "id", "reference", "status", "status_label", "category", "location", "address", "description",
            "authority", "department", "reason", "near_border", "photos", "support_count", "created_at",
            "updated_at", "closed_at", "links",
        ]

    @extend_schema_field(serializers.CharField())
    def get_reason(self, report: Report) -> str:
        """Why the report went where it did: stored in the installation's language, read in the client's."""
        return in_active_language(report.routing_reason)

    @extend_schema_field({"type": "object", "properties": {"slug": {"type": "string"}, "name": {"type": "string"}}})
    def get_category(self, report: Report) -> dict:
        return {"slug": report.category.slug, "name": report.category.name}

    @extend_schema_field({"type": "object", "properties": {"lat": {"type": "number"}, "lon": {"type": "number"}}})
    def get_location(self, report: Report) -> dict:
        return {"lat": report.location.y, "lon": report.location.x}

    @extend_schema_field(
        {"type": "object", "properties": {"name": {"type": "string"}, "ags": {"type": "string", "nullable": True}}}
    )
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
        photos = [p for p in report.photos.all() if p.is_published]
        return PhotoSerializer(photos, many=True, context=self.context).data  # type: ignore[return-value]  # many=True: a ReturnList

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
    """What the reporter sees of their own report (authorised by the report's secret), with their answers to the
    category's questions: answers may be free text, so the public representations above never carry them."""

    reporter = serializers.SerializerMethodField()
    answers = serializers.JSONField(read_only=True)
    description = serializers.CharField(read_only=True)  # as they wrote it, not as the public reads it

    class Meta(ReportSerializer.Meta):
        fields = [*ReportSerializer.Meta.fields, "reporter", "answers"]

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


# --- Staff representations: everything staff need, including internal notes and the reporter's contact.
# Never used by a public endpoint.

class StaffEventSerializer(EventSerializer):
    actor = serializers.SerializerMethodField()

    class Meta(EventSerializer.Meta):
        fields = [*EventSerializer.Meta.fields, "is_public", "actor", "data"]

    @extend_schema_field({"type": "string", "nullable": True})
    def get_actor(self, event: ReportEvent) -> str | None:
        if event.actor is None:
            return None
        return event.actor.get_full_name() or event.actor.get_username()


class StaffPhotoSerializer(PhotoSerializer):
    """The photo as taken (for staff), and what the public sees of it."""

    public_url = serializers.SerializerMethodField()
    blurred_areas = serializers.SerializerMethodField()

    class Meta(PhotoSerializer.Meta):
        # id: what the staff app names a photo by (hide, show again, blur an area).
        fields = ["id", *PhotoSerializer.Meta.fields, "state", "kind", "is_public", "captured_at", "public_url",
                  "blurred_areas"]

    state = serializers.SerializerMethodField()

    @extend_schema_field({"type": "string", "nullable": True})
    def get_url(self, photo: Photo) -> str | None:
        """The photo as taken (upright, no metadata); null until the worker has made it from the upload."""
        return _absolute(self.context.get("request"), photo.image.url) if photo.image else None

    @extend_schema_field({"type": "string", "nullable": True})
    def get_thumbnail_url(self, photo: Photo) -> str | None:
        return _absolute(self.context.get("request"), photo.thumbnail.url) if photo.thumbnail else None

    @extend_schema_field({"type": "string", "enum": ["processing", "ready", "unreadable"]})
    def get_state(self, photo: Photo) -> str:
        """processing: the worker has not made the photo from its upload yet; unreadable: it could not."""
        return "unreadable" if photo.unreadable else "ready" if photo.image else "processing"

    @extend_schema_field({"type": "string", "nullable": True})
    def get_public_url(self, photo: Photo) -> str | None:
        """The blurred rendition; null until the worker has made it."""
        return _absolute(self.context.get("request"), photo.public_image.url) if photo.public_image else None

    @extend_schema_field({"type": "array", "items": {"type": "object"}})
    def get_blurred_areas(self, photo: Photo) -> list[dict]:
        """Found faces and plates (kind "face", "plate") and areas marked by hand ("manual"): box is
        [x, y, width, height] in pixels of ``url``."""
        return [*photo.detected_areas, *photo.blur_areas]


class StaffReportSerializer(ReportSerializer):
    """A report as staff work on it. ``allowed_transitions`` is for the requesting user (context ``roles``)."""

    category = serializers.SerializerMethodField()
    department = serializers.SerializerMethodField()
    authority = serializers.SerializerMethodField()
    reporter = serializers.SerializerMethodField()
    due_at = serializers.DateTimeField()
    is_overdue = serializers.BooleanField()
    duplicate_of: serializers.SlugRelatedField[Report] = serializers.SlugRelatedField(
        slug_field="reference", read_only=True
    )
    allowed_transitions = serializers.SerializerMethodField()
    distance_m = serializers.SerializerMethodField()
    description = serializers.CharField(read_only=True)  # as written; the public reads public_description
    public_description = serializers.CharField(source="public_text", read_only=True)
    # From SUPPORT_HIGHLIGHT_THRESHOLD supporters on ("viel unterstützt"); never with the threshold 0.
    much_supported = serializers.BooleanField(source="is_much_supported", read_only=True)

    class Meta(ReportSerializer.Meta):
        fields = [
            "id", "reference", "status", "status_label", "category", "location", "address", "description",
            "public_description", "authority", "department", "reason", "near_border", "photos", "support_count",
            "much_supported",
            "created_at", "updated_at", "closed_at", "due_at", "is_overdue", "source", "moderation", "duplicate_of",
            "reporter", "allowed_transitions", "distance_m", "links",
        ]

    @extend_schema_field({"type": "object"})
    def get_category(self, report: Report) -> dict:
        return {"slug": report.category.slug, "name": report.category.name, "is_public": report.category.is_public}

    @extend_schema_field({"type": "object"})
    def get_authority(self, report: Report) -> dict:
        return {"slug": report.authority.slug, "name": str(report.authority), "ags": report.authority.ags or None}

    @extend_schema_field({"type": "object", "nullable": True})
    def get_department(self, report: Report) -> dict | None:
        department = report.department
        return {"id": department.pk, "slug": department.slug, "name": department.name} if department else None

    @extend_schema_field({"type": "object"})
    def get_reporter(self, report: Report) -> dict:
        return {"name": report.reporter_name, "email": report.reporter_email, "phone": report.reporter_phone}

    @extend_schema_field({"type": "array", "items": {"type": "string"}})
    def get_allowed_transitions(self, report: Report) -> list[str]:
        from reports.workflow import allowed_transitions

        role = self.context.get("roles", {}).get(report.authority_id)
        return allowed_transitions(report.status, role) if role else []

    @extend_schema_field({"type": "number", "nullable": True})
    def get_distance_m(self, report: Report) -> float | None:
        distance = getattr(report, "distance", None)
        return round(distance.m, 1) if distance is not None else None

    @extend_schema_field(StaffPhotoSerializer(many=True))
    def get_photos(self, report: Report) -> list:
        return StaffPhotoSerializer(report.photos.all(), many=True, context=self.context).data  # type: ignore[return-value]  # many=True: a ReturnList

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "string"}})
    def get_links(self, report: Report) -> dict:
        request = self.context.get("request")
        return {
            "self": _absolute(request, reverse("staff-api:report-detail", args=[report.public_id])),
            "public": _absolute(request, reverse("api-v1:report-detail", args=[report.public_id])),
        }


class StaffReportDetailSerializer(StaffReportSerializer):
    events = serializers.SerializerMethodField()
    answers = serializers.SerializerMethodField()
    boundary_version = serializers.SerializerMethodField()

    class Meta(StaffReportSerializer.Meta):
        fields = [*StaffReportSerializer.Meta.fields, "events", "answers", "boundary_version"]

    @extend_schema_field({"type": "object", "nullable": True, "properties": {
        "id": {"type": "integer"}, "authority": {"type": "string"}, "label": {"type": "string"},
        "valid_from": {"type": "string", "format": "date-time"},
        "valid_until": {"type": "string", "format": "date-time", "nullable": True},
        "current": {"type": "boolean"}, "source": {"type": "string"},
    }})
    def get_boundary_version(self, report: Report) -> dict | None:
        """The version of the boundary the report was routed with (null: routed before versions were kept)."""
        version = report.boundary_version
        if version is None:
            return None
        return {
            "id": version.pk, "authority": str(version.authority), "label": version.label,
            "valid_from": serializers.DateTimeField().to_representation(version.valid_from),
            "valid_until": (
                serializers.DateTimeField().to_representation(version.valid_until) if version.valid_until else None
            ),
            "current": version.valid_until is None, "source": version.source,
        }

    @extend_schema_field({"type": "array", "items": {"type": "object", "properties": {
        "code": {"type": "string"}, "question": {"type": "string"}, "answer": {"type": "string"}, "value": {},
    }}})
    def get_answers(self, report: Report) -> list[dict]:
        """The answers to the category's questions: the question and the answer as people read them (option names),
        and the stored value."""
        return displayed_answers(report.category.questions.all(), report.answers)

    @extend_schema_field(StaffEventSerializer(many=True))
    def get_events(self, report: Report) -> list:
        return StaffEventSerializer(self._events(report), many=True).data  # type: ignore[return-value]  # many=True: a ReturnList


# --- Event messages: one representation of an event for REST, websockets and webhooks.
# Each is the REST ``EventSerializer`` plus a summary of the report it is about, so an event and a report's
# status read the same on every channel (the installation's ``StatusLabel``, never the built-in name). The
# summaries differ only in how much of the report an audience may see; none carries the reporter.

def _location(report: Report) -> dict:
    return {"lat": report.location.y, "lon": report.location.x}


class ReportSummarySerializer(FieldsOnce, serializers.ModelSerializer):
    """The report as an event for its reporter's app carries it: which report, and its state now."""

    id = serializers.UUIDField(source="public_id")
    status_label = serializers.CharField()

    class Meta:
        model = Report
        fields = ["id", "status", "status_label", "support_count"]


class MapReportSummarySerializer(ReportSummarySerializer):
    """For the public map: anonymised, nothing but what the map shows."""

    category: serializers.SlugRelatedField[Category] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    location = serializers.SerializerMethodField()

    class Meta(ReportSummarySerializer.Meta):
        fields = ["id", "category", "status", "location"]

    def get_location(self, report: Report) -> dict:
        return _location(report)


class StaffReportSummarySerializer(ReportSummarySerializer):
    """For a department's staff: what a work list shows of the report."""

    category = serializers.SerializerMethodField()
    department = serializers.SerializerMethodField()
    authority = serializers.SerializerMethodField()
    location = serializers.SerializerMethodField()

    class Meta(ReportSummarySerializer.Meta):
        fields = ["id", "reference", "status", "status_label", "category", "department", "authority", "location"]

    def get_category(self, report: Report) -> dict:
        return {"slug": report.category.slug, "name": report.category.name}

    def get_department(self, report: Report) -> dict | None:
        department = report.department
        return {"id": department.pk, "name": department.name} if department else None

    def get_authority(self, report: Report) -> dict:
        return {"id": report.authority_id, "name": str(report.authority), "ags": report.authority.ags or None}

    def get_location(self, report: Report) -> dict:
        return _location(report)


class FilingReportSummarySerializer(ReportSummarySerializer):
    """For another system (a webhook's receiver): what it needs to file the report."""

    category: serializers.SlugRelatedField[Category] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    authority: serializers.SlugRelatedField[Authority] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    department: serializers.SlugRelatedField[Department] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    location = serializers.SerializerMethodField()
    created_at = serializers.SerializerMethodField()
    description = serializers.CharField(source="public_text", read_only=True)  # public events: the public text

    class Meta(ReportSummarySerializer.Meta):
        fields = [
            "id", "reference", "status", "status_label", "category", "authority", "department", "location",
            "address", "description", "created_at",
        ]

    def get_location(self, report: Report) -> dict:
        return _location(report)

    def get_created_at(self, report: Report) -> str:
        # As stored (UTC): receivers compare it across deliveries; the API's local rendering is for people.
        return report.created_at.isoformat()


class EventMessageSerializer(EventSerializer):
    """An event as the report's websocket pushes it: the REST event and the report's current state."""

    summary: type[ReportSummarySerializer] = ReportSummarySerializer
    report = serializers.SerializerMethodField()

    class Meta(EventSerializer.Meta):
        fields = [*EventSerializer.Meta.fields, "report"]

    def get_report(self, event: ReportEvent) -> dict:
        # Events committed together describe the same report as it is now: with a shared "summaries" dict in the
        # context, each kind of summary of a report is made once for all of them (notifications.handlers).
        summaries = self.context.get("summaries")
        if summaries is None:
            return dict(self.summary(event.report).data)
        key = (self.summary, event.report_id)
        if key not in summaries:
            summaries[key] = dict(self.summary(event.report).data)
        return summaries[key]


class MapEventMessageSerializer(EventMessageSerializer):
    """An event on the public map: which event of which report, anonymised."""

    summary = MapReportSummarySerializer

    class Meta(EventMessageSerializer.Meta):
        fields = ["seq", "kind", "report"]


class StaffEventMessageSerializer(EventMessageSerializer):
    """An event for a department's staff socket, public or not (never the reporter's identity)."""

    summary = StaffReportSummarySerializer
    public = serializers.BooleanField(source="is_public")

    class Meta(EventMessageSerializer.Meta):
        fields = [*EventSerializer.Meta.fields, "public", "report"]


class WebhookEventMessageSerializer(EventMessageSerializer):
    """A public event as a webhook posts it."""

    summary = FilingReportSummarySerializer
