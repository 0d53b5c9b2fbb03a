"""The citizen app's API, version 1. Thin views over reports.services.

What the domain refuses (reports.errors: no place, outside the service area, a bad photo, a reused
Idempotency-Key) reaches the client through backend.api_errors, in the one JSON error shape.
"""

from __future__ import annotations

import uuid

from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from geo.models import Category
from geo.routing import route
from mobile_api.public_cache import PublicReadCache
from mobile_api.v1.serializers import (
    NearbyQuerySerializer,
    PointQuerySerializer,
    ReportSubmissionSerializer,
    SupportSerializer,
)
from notifications.models import PushSource
from notifications.webpush import app_push_endpoints, public_key, push_subscribe, push_unsubscribe
from reports.filters import MAX_ID
from reports.models import Report, ReportEvent
from reports.photos import MAX_BYTES, inspected_photos
from reports.serializers import CreatedReportSerializer, EventSerializer, OwnReportSerializer, ReportSerializer
from reports.services import (
    earlier_submission,
    personal_data,
    report_anonymise,
    report_submit,
    report_support,
    reports_nearby,
)


class CitizenView(APIView):
    """The citizen API knows no accounts: a report's secret is its only credential."""

    authentication_classes: list = []


class CategoryList(PublicReadCache, CitizenView):
    """The categories a citizen can report, and at a point, who would receive each."""
    throttle_scope = "read"

    @extend_schema(
        parameters=[PointQuerySerializer], responses=OpenApiTypes.OBJECT,
        description=(
            "Each category lists its extra `questions` ({code, question in the request's language, datatype: "
            "string, text, number, datetime, singlevaluelist or multivaluelist, required, options: [{key, name}]}); "
            "a report in the category answers them in `answers`."
        ),
    )
    def get(self, request: Request) -> Response:
        query = PointQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        point = query.point()
        categories = []
        for category in Category.objects.filter(active=True).prefetch_related("questions"):
            item = {
                "slug": category.slug,
                "name": category.name,
                "group": category.group,
                "description": category.description_en if request.LANGUAGE_CODE == "en" else category.description_de,
                "is_public": category.is_public,
                "questions": [
                    {
                        "code": question.code, "question": question.question, "datatype": question.datatype,
                        "required": question.required,
                        "options": [{"key": key, "name": name} for key, name in question.choices()],
                    }
                    for question in category.questions.all()
                ],
            }
            if point is not None:
                decision = route(category, point)
                item["authority"] = {"name": str(decision.authority), "ags": decision.authority.ags or None}
                item["department"] = {"name": decision.department.name} if decision.department else None
            categories.append(item)
        return Response({"categories": categories})


def _reports():
    return Report.objects.select_related("category", "authority", "department").prefetch_related(
        "photos", Prefetch("events", queryset=ReportEvent.objects.order_by("id"))
    )


class ReportCreate(CitizenView):
    throttle_scope = "submit"
    # Multipart with photos (answers as one JSON string field), or JSON without photos.
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(
        request={
            "multipart/form-data": ReportSubmissionSerializer,
            "application/x-www-form-urlencoded": ReportSubmissionSerializer,
            "application/json": ReportSubmissionSerializer,
        },
        description=(
            "`answers` answers the category's questions (see GET /api/v1/categories/). A missing required answer, "
            "a key that is not an option or a code the category does not ask is a 400 with the field "
            "`answers.<code>`. The reporter sees their answers in their own report; public outputs never show them."
        ),
        parameters=[OpenApiParameter("Idempotency-Key", OpenApiTypes.UUID, OpenApiParameter.HEADER)],
        responses={201: CreatedReportSerializer, 200: CreatedReportSerializer},
    )
    def post(self, request: Request) -> Response:
        key = _idempotency_key(request)
        _refuse_unknown_files(request, "photos")
        submission = ReportSubmissionSerializer(data=request.data)
        submission.is_valid(raise_exception=True)
        data = submission.validated_data
        # Never more than the pipeline accepts (one byte more tells it the file is too large).
        contents = [upload.read(MAX_BYTES + 1) for upload in data["photos"]]
        fingerprint = submission.fingerprint(contents) if key else ""
        # A retry is answered from what is stored, without decoding its photos again.
        result = earlier_submission(key, fingerprint) if key else None
        if result is None:
            result = report_submit(
                category=data["category"], device_location=submission.point(), description=data["description"],
                photos=inspected_photos(contents), reporter_name=data["name"], reporter_email=data["email"],
                language=request.LANGUAGE_CODE, idempotency_key=key, fingerprint=fingerprint,
                answers=data["answers"],
            )
        # A new report comes from the use case complete; an earlier one is read with what the answer shows.
        report = result.report if result.created else _reports().get(pk=result.report.pk)
        body = CreatedReportSerializer(report, context={"request": request, "secret": result.secret}).data
        return Response(body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


def _refuse_unknown_files(request: Request, expected: str) -> None:
    """A file sent under another name is refused: an upload is never dropped silently."""
    unknown = sorted(name for name in request.FILES if name != expected)
    if unknown:
        message = _("Unknown file field: photos are sent as “%(expected)s”.") % {"expected": expected}
        raise ValidationError({name: [message] for name in unknown})


def _idempotency_key(request: Request) -> uuid.UUID | None:
    value = request.headers.get("Idempotency-Key")
    if value is None:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ValidationError({"Idempotency-Key": [_("The Idempotency-Key must be a UUID.")]}) from None


def _get_report(request: Request, public_id) -> tuple[Report, bool]:
    """The report and whether the request proves to be its reporter (Authorization: Bearer <secret>)."""
    report = get_object_or_404(_reports(), public_id=public_id)
    authorization = request.headers.get("Authorization", "")
    own = authorization.startswith("Bearer ") and report.check_secret(authorization.removeprefix("Bearer ").strip())
    if not own and not Report.objects.published().filter(pk=report.pk).exists():
        raise Http404
    return report, own


class ReportDetail(CitizenView):
    throttle_scope = "read"

    @extend_schema(responses={200: OwnReportSerializer})
    def get(self, request: Request, public_id: uuid.UUID) -> Response:
        report, own = _get_report(request, public_id)
        serializer = OwnReportSerializer if own else ReportSerializer
        return Response(serializer(report, context={"request": request}).data)


class ReportEvents(CitizenView):
    throttle_scope = "read"

    @extend_schema(
        parameters=[OpenApiParameter("after", OpenApiTypes.INT, description="Only events after this seq.")],
        responses=inline_serializer("Events", {"events": EventSerializer(many=True)}),
    )
    def get(self, request: Request, public_id: uuid.UUID) -> Response:
        report, _own = _get_report(request, public_id)
        # Bounded: a sequence number beyond a bigint overflows the database (a 500 instead of a 400).
        after = serializers.IntegerField(min_value=0, max_value=MAX_ID)
        raw = request.query_params.get("after", "0")
        try:
            after_seq = after.run_validation(raw)
        except ValidationError as exc:
            raise ValidationError({"after": exc.detail}) from None
        events = report.events.filter(is_public=True, id__gt=after_seq).order_by("id")
        return Response({"events": EventSerializer(events, many=True).data})


class ReportsNearby(PublicReadCache, CitizenView):
    """Open reports of a category near a place: "already reported — support it instead?"."""
    throttle_scope = "read"

    @extend_schema(
        parameters=[NearbyQuerySerializer],
        responses=inline_serializer("Nearby", {"reports": ReportSerializer(many=True)}),
    )
    def get(self, request: Request) -> Response:
        query = NearbyQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        category = query.validated_data["category"]
        radius = query.validated_data.get("radius", category.nearby_radius_m)
        nearby = reports_nearby(category=category, point=query.point(), radius_m=radius)[:20]
        reports = list(_reports().filter(pk__in=[r.pk for r in nearby]))
        distances = {r.pk: r.distance.m for r in nearby}
        reports.sort(key=lambda r: (distances[r.pk], r.pk))
        data = ReportSerializer(reports, many=True, context={"request": request}).data
        for item, report in zip(data, reports, strict=True):
            item["distance_m"] = round(distances[report.pk], 1)
        return Response({"radius_m": radius, "reports": data})


class ReportSupport(CitizenView):
    """ "Me too": once per device or person; the count is public."""
    throttle_scope = "support"

    @extend_schema(request=SupportSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, public_id: uuid.UUID) -> Response:
        report, _own = _get_report(request, public_id)
        supporter = SupportSerializer(data=request.data)
        supporter.is_valid(raise_exception=True)
        count, new = report_support(report=report, supporter=supporter.supporter())
        return Response(
            {"support_count": count, "supported": True}, status=status.HTTP_201_CREATED if new else status.HTTP_200_OK
        )


class PersonalData(CitizenView):
    """The reporter's own data (DSGVO Art. 15 and 17): see it all, or have it removed. Needs the report's secret."""

    throttle_scope = "support"

    def _own(self, request: Request, public_id) -> Report:
        report, own = _get_report(request, public_id)
        if not own:
            raise Http404
        return report

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, public_id: uuid.UUID) -> Response:
        report = self._own(request, public_id)
        return Response({**personal_data(report), "push_endpoints": app_push_endpoints(report)})

    @extend_schema(responses={204: None})
    def delete(self, request: Request, public_id: uuid.UUID) -> Response:
        report = self._own(request, public_id)
        report_anonymise(report=report, reason="reporter")
        return Response(status=status.HTTP_204_NO_CONTENT)


class PushEndpoint(CitizenView):
    """The reporter's app registers a Web Push endpoint for its own report (Authorization: Bearer <secret>) and is
    told of each status change while it is not in the foreground (the websocket serves the foreground)."""

    throttle_scope = "support"
    parser_classes = [JSONParser]

    def _own(self, request: Request, public_id) -> Report:
        report, own = _get_report(request, public_id)
        if not own:
            raise Http404
        return report

    @extend_schema(
        request=inline_serializer("PushSubscription", {
            "endpoint": serializers.URLField(),
            "keys": inline_serializer("PushKeys", {"p256dh": serializers.CharField(), "auth": serializers.CharField()}),
        }),
        responses={201: OpenApiTypes.OBJECT, 200: OpenApiTypes.OBJECT},
        description=(
            "The subscription as a browser's PushSubscription.toJSON() gives it: an https endpoint of the push "
            "service, the device's P-256 key `p256dh` and its 16-byte `auth` secret, both base64url. Messages are "
            "signed with the VAPID key in `application_server_key` (also on GET)."
        ),
    )
    def post(self, request: Request, public_id: uuid.UUID) -> Response:
        report = self._own(request, public_id)
        _subscription, created = push_subscribe(
            report=report, data=request.data, source=PushSource.APP, language=request.LANGUAGE_CODE
        )
        return Response(
            {"subscribed": True, "application_server_key": public_key()},
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, public_id: uuid.UUID) -> Response:
        self._own(request, public_id)
        return Response({"enabled": bool(public_key()), "application_server_key": public_key()})

    @extend_schema(
        request=inline_serializer("PushEndpointRemoval", {"endpoint": serializers.URLField()}),
        parameters=[OpenApiParameter("endpoint", OpenApiTypes.STR, description="Instead of the JSON body.")],
        responses={204: None},
    )
    def delete(self, request: Request, public_id: uuid.UUID) -> Response:
        report = self._own(request, public_id)
        data = request.data if isinstance(request.data, dict) else {}
        push_unsubscribe(report=report, endpoint=data.get("endpoint", request.query_params.get("endpoint")))
        return Response(status=status.HTTP_204_NO_CONTENT)
