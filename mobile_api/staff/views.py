"""The staff API (/api/staff/): thin views over reports.services for Bauhof staff and their apps.

Staff authenticate with a token (apps) or a session (the staff web app). A report of an
authority the user does not work for does not exist for them (404). Every change goes through
a service that writes the report and its event in one transaction; what it refuses (reports.errors)
is answered by backend.api_errors (404, 400, or 409 with the allowed transitions).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from django import forms
from django.conf import settings
from django.contrib.gis.geos import Point
from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.exceptions import ErrorDetail, PermissionDenied, ValidationError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from geo.models import Authority, Category, Department
from reports import exports, filters, permissions, services
from reports.models import EventKind, Moderation, Report, ReportQuerySet
from reports.photos import MAX_PHOTOS_PER_UPLOAD, inspected_photos
from reports.selectors import forward_targets, get_staff_report, staff_reports
from reports.serializers import StaffReportDetailSerializer, StaffReportSerializer
from reports.validation import max_text_length
from reports.workflow import Status


class IsStaff(BasePermission):
    """Works for at least one department (or is a superuser)."""

    message = gettext_lazy("This is for staff accounts only.")

    def has_permission(self, request, view) -> bool:
        roles = permissions.staff_roles(request.user)
        request.staff_roles = roles
        return bool(roles) or request.user.is_superuser


class StaffView(APIView):
    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [IsStaff]
    throttle_scope = "staff"

    def context(self, request: Request) -> dict:
        return {"request": request, "roles": request.staff_roles}  # type: ignore[attr-defined]  # set by IsStaff


# --- Token -----------------------------------------------------------------------------------

class TokenLogin(APIView):
    """Exchange username and password for an API token (for staff apps)."""

    authentication_classes: list = []
    throttle_scope = "login"
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(
        request=AuthTokenSerializer, responses=inline_serializer("Token", {"token": serializers.CharField()})
    )
    def post(self, request: Request) -> Response:
        if not settings.LOCAL_LOGIN_ENABLED:
            # Staff sign in through the single sign-on provider only (README "Single sign-on for staff").
            raise PermissionDenied(_("Logging in with a password is turned off."), code="local_login_disabled")
        serializer = AuthTokenSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        if not permissions.staff_roles(user):
            raise ValidationError({"username": [_("This is for staff accounts only.")]}, code="not_staff")
        token, _created = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class TokenLogout(StaffView):
    """Revoke the token this request is made with (a lost phone: an admin deletes it in the admin)."""

    throttle_scope = "login"

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request) -> Response:
        Token.objects.filter(user=request.user, key=getattr(request.auth, "key", None)).delete()  # type: ignore[misc]  # IsStaff: a User
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- List and detail -------------------------------------------------------------------------

class StaffPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request) -> int:
        # DRF ignores a bad page_size silently; a client that sent one should hear about it.
        if self.page_size_query_param not in request.query_params:
            return self.page_size
        field = serializers.IntegerField(min_value=1, max_value=self.max_page_size)
        try:
            return field.run_validation(request.query_params[self.page_size_query_param])
        except ValidationError as exc:
            raise ValidationError({self.page_size_query_param: exc.detail}) from None

    def get_page_number(self, request, paginator) -> str | int:
        # Beyond the last page stays a 404 (DRF's "Invalid page."); what is no page number at all is a 400.
        number = super().get_page_number(request, paginator)
        if number in self.last_page_strings:
            return number
        try:
            return filters.parse_integer(number, minimum=1, maximum=filters.MAX_ID)
        except filters.InvalidParameter as exc:
            raise ValidationError({self.page_query_param: [ErrorDetail(str(exc.message), code=exc.code)]}) from None


def form_errors(form: forms.Form) -> ValidationError:
    """A Django form's errors (reports.filters' ListOptions, ReportFilter) as this API's 400."""
    return ValidationError({
        field: [ErrorDetail(error["message"], code=error["code"]) for error in errors]
        for field, errors in form.errors.get_json_data().items()
    })


LIST_PARAMETERS = [
    OpenApiParameter("bbox", str, description="min_lon,min_lat,max_lon,max_lat"),
    OpenApiParameter("near", str, description="lat,lon: sorted by distance from there"),
    OpenApiParameter("ordering", str, enum=filters.ORDERINGS),
]


def filtered_reports(request: Request, reports: ReportQuerySet):
    """``reports`` with the list's filters and order from the query (a 400 for one that cannot be understood)."""
    query = filters.ListOptions(request.query_params)
    if not query.is_valid():
        raise form_errors(query)
    options = query.cleaned_data
    report_filter = filters.ReportFilter(request.query_params, queryset=reports)
    if not report_filter.is_valid():
        raise form_errors(report_filter.form)
    queryset = cast(ReportQuerySet, report_filter.qs)
    if "bbox" in options:
        queryset = filters.within_bbox(queryset, options["bbox"])
    return filters.order_reports(queryset, options, default="-created_at")


class ReportList(StaffView, generics.ListAPIView):
    serializer_class = StaffReportSerializer
    pagination_class = StaffPagination

    def get_queryset(self):
        return filtered_reports(self.request, staff_reports(self.request.user))

    def get_serializer_context(self):
        return self.context(self.request)

    @extend_schema(parameters=LIST_PARAMETERS)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class ErrorsAsJSON(BaseContentNegotiation):
    """A file download answers its errors in JSON, whatever the client accepts (``Accept: text/csv`` is no 406)."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class Export(StaffView):
    """The list as filtered (the list's query parameters, every page) as a CSV or XLSX file (reports.exports)."""

    content_negotiation_class = ErrorsAsJSON
    renderer_classes = [JSONRenderer]
    kind = "csv"

    @extend_schema(parameters=LIST_PARAMETERS, responses={(200, "text/csv"): OpenApiTypes.BINARY,
                                                          (200, exports.XLSX_TYPE): OpenApiTypes.BINARY})
    def get(self, request: Request) -> HttpResponse:
        rows = exports.export_rows(filtered_reports(request, Report.objects.for_staff(request.user)))
        if self.kind == "xlsx":
            response = HttpResponse(exports.xlsx_bytes(rows), content_type=exports.XLSX_TYPE)
        else:
            response = HttpResponse(exports.csv_text(rows), content_type="text/csv; charset=utf-8; header=present")
        response["Content-Disposition"] = f'attachment; filename="{exports.filename(self.kind)}"'
        return response


class ChangeSerializer(serializers.Serializer):
    category = serializers.SlugRelatedField(
        slug_field="slug", queryset=Category.objects.filter(active=True), required=False
    )
    lat = serializers.FloatField(min_value=-90, max_value=90, required=False)
    lon = serializers.FloatField(min_value=-180, max_value=180, required=False)
    note = serializers.CharField(validators=[max_text_length], required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if ("lat" in attrs) != ("lon" in attrs):
            raise serializers.ValidationError({"lon" if "lat" in attrs else "lat": _("Give lat and lon together.")})
        if "category" not in attrs and "lat" not in attrs:
            raise serializers.ValidationError({"category": _("Give a new category, or lat and lon.")})
        return attrs


class ReportResponses:
    context: Callable[[Request], dict]  # StaffView's, which these views also are

    def detail(self, request: Request, report: Report, code: int = status.HTTP_200_OK) -> Response:
        return Response(StaffReportDetailSerializer(report, context=self.context(request)).data, status=code)

    def after_change(self, request: Request, report: Report) -> Response:
        """The report as it now is; if the change moved it out of the user's reach, only a short receipt."""
        try:
            return self.detail(request, get_staff_report(request.user, str(report.public_id)))
        except Http404:
            return Response({"id": str(report.public_id), "reference": report.reference, "status": report.status,
                             "moved": True, "authority": str(report.authority)})


class ReportDetail(ReportResponses, StaffView):
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(responses=StaffReportDetailSerializer)
    def get(self, request: Request, key: str) -> Response:
        return self.detail(request, get_staff_report(request.user, key))

    @extend_schema(request=ChangeSerializer, responses=StaffReportDetailSerializer)
    def patch(self, request: Request, key: str) -> Response:
        """Correct the category or the location: the report is routed anew and the decision recorded."""
        report = get_staff_report(request.user, key)
        change = ChangeSerializer(data=request.data)
        change.is_valid(raise_exception=True)
        data = change.validated_data
        location = Point(data["lon"], data["lat"], srid=4326) if "lat" in data else None
        report = services.report_change(
            report=report, actor=request.user, category=data.get("category"), location=location, note=data["note"]
        )
        return self.after_change(request, report)


class ActionView(ReportResponses, StaffView):
    """A POST that changes one report through one service; subclasses say which."""

    input_serializer: type[serializers.Serializer]

    def post(self, request: Request, key: str) -> Response:
        report = get_staff_report(request.user, key)
        data_in = self.input_serializer(data=request.data, context={"request": request, "report": report})
        data_in.is_valid(raise_exception=True)
        report = self.perform(request, report, data_in.validated_data)
        return self.after_change(request, report)

    def perform(self, request: Request, report: Report, data: dict) -> Report:
        raise NotImplementedError


class VisibleReportField(serializers.CharField):
    """Another report the user can see, by id or reference."""

    def to_internal_value(self, data):
        key = super().to_internal_value(data)
        request = self.context["request"]
        try:
            return get_staff_report(request.user, key)
        except Http404:
            raise serializers.ValidationError(_("No such report.")) from None


class TransitionInput(serializers.Serializer):
    to = serializers.ChoiceField(choices=Status.choices)
    message = serializers.CharField(validators=[max_text_length], required=False, allow_blank=True, default="")
    note = serializers.CharField(validators=[max_text_length], required=False, allow_blank=True, default="")
    duplicate_of = VisibleReportField(required=False)
    authority = serializers.SlugRelatedField(
        slug_field="slug", queryset=Authority.objects.filter(active=True), required=False
    )


class Transition(ActionView):
    """Move the report to another status (409 with the allowed ones if it cannot go there)."""

    input_serializer = TransitionInput

    @extend_schema(request=TransitionInput, responses=StaffReportDetailSerializer)
    def post(self, request: Request, key: str) -> Response:
        return super().post(request, key)

    def perform(self, request, report, data):
        return services.report_transition(
            report=report, to=data["to"], actor=request.user, message=data["message"], note=data["note"],
            duplicate_of=data.get("duplicate_of"), authority=data.get("authority"),
        )


class MessageInput(serializers.Serializer):
    message = serializers.CharField(validators=[max_text_length])


class Answer(ActionView):
    """A public answer, seen by the reporter and on the public report."""

    input_serializer = MessageInput

    @extend_schema(request=MessageInput, responses=StaffReportDetailSerializer)
    def post(self, request: Request, key: str) -> Response:
        return super().post(request, key)

    def perform(self, request, report, data):
        return services.report_answer(report=report, actor=request.user, message=data["message"])


class ModerateInput(serializers.Serializer):
    moderation = serializers.ChoiceField(choices=Moderation.choices)
    note = serializers.CharField(validators=[max_text_length], required=False, allow_blank=True, default="")


class Moderate(ActionView):
    """Release a report held for review, or hide one (leads)."""

    input_serializer = ModerateInput

    @extend_schema(request=ModerateInput, responses=StaffReportDetailSerializer)
    def post(self, request: Request, key: str) -> Response:
        return super().post(request, key)

    def perform(self, request, report, data):
        return services.report_moderate(
            report=report, actor=request.user, moderation=data["moderation"], note=data["note"]
        )


class PhotoVisibilityInput(serializers.Serializer):
    note = serializers.CharField(validators=[max_text_length], required=False, allow_blank=True, default="")


class PhotoVisibility(ReportResponses, StaffView):
    """Hide one photo of the report (any kind) from the public, its files included, or show it again (leads)."""

    parser_classes = [JSONParser, FormParser, MultiPartParser]
    show = False

    @extend_schema(request=PhotoVisibilityInput, responses=StaffReportDetailSerializer)
    def post(self, request: Request, key: str, photo_id: int) -> Response:
        report = get_staff_report(request.user, key)
        data_in = PhotoVisibilityInput(data=request.data)
        data_in.is_valid(raise_exception=True)
        change = services.report_show_photo if self.show else services.report_hide_photo
        report = change(report=report, photo=photo_id, actor=request.user, note=data_in.validated_data["note"])
        return self.after_change(request, report)


class BlurAreaInput(serializers.Serializer):
    area = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=100_000), min_length=4, max_length=4,
        help_text="[x, y, width, height] in pixels of the photo as taken (its width and height are in the "
                  "report's photos), from the top-left corner.",
    )
    note = serializers.CharField(validators=[max_text_length], required=False, allow_blank=True, default="")


class BlurArea(ReportResponses, StaffView):
    """Blur an area of one photo in what the public sees (leads), or remove the areas marked by hand. The public
    sees no photo until the worker has made the new rendition."""

    parser_classes = [JSONParser, FormParser, MultiPartParser]
    clear = False

    @extend_schema(request=BlurAreaInput, responses=StaffReportDetailSerializer)
    def post(self, request: Request, key: str, photo_id: int) -> Response:
        report = get_staff_report(request.user, key)
        if self.clear:
            data_in: serializers.Serializer = PhotoVisibilityInput(data=request.data)
            data_in.is_valid(raise_exception=True)
            services.photo_clear_blur_areas(report=report, photo=photo_id, actor=request.user,
                                            note=data_in.validated_data["note"])
        else:
            data_in = BlurAreaInput(data=request.data)
            data_in.is_valid(raise_exception=True)
            services.photo_blur_area(report=report, photo=photo_id, actor=request.user,
                                     area=data_in.validated_data["area"], note=data_in.validated_data["note"])
        return self.after_change(request, report)


class RedactInput(serializers.Serializer):
    text = serializers.CharField(validators=[max_text_length])
    note = serializers.CharField(validators=[max_text_length], required=False, allow_blank=True, default="")


class Redact(ActionView):
    """Replace what the public reads of the description (leads); staff and the reporter keep the original."""

    input_serializer = RedactInput

    @extend_schema(request=RedactInput, responses=StaffReportDetailSerializer)
    def post(self, request: Request, key: str) -> Response:
        return super().post(request, key)

    def perform(self, request, report, data):
        return services.report_redact_description(
            report=report, actor=request.user, text=data["text"], note=data["note"]
        )


class NoteInput(serializers.Serializer):
    note = serializers.CharField(validators=[max_text_length])


class Note(ActionView):
    """An internal note: staff only."""

    input_serializer = NoteInput

    @extend_schema(request=NoteInput, responses=StaffReportDetailSerializer)
    def post(self, request: Request, key: str) -> Response:
        return super().post(request, key)

    def perform(self, request, report, data):
        return services.report_note(report=report, actor=request.user, note=data["note"])


class ReassignInput(serializers.Serializer):
    department = serializers.SlugRelatedField(slug_field="slug", queryset=Department.objects.all())
    note = serializers.CharField(validators=[max_text_length], required=False, allow_blank=True, default="")


class Reassign(ActionView):
    input_serializer = ReassignInput

    @extend_schema(request=ReassignInput, responses=StaffReportDetailSerializer)
    def post(self, request: Request, key: str) -> Response:
        return super().post(request, key)

    def perform(self, request, report, data):
        return services.report_reassign(
            report=report, department=data["department"], actor=request.user, note=data["note"]
        )


class ForwardInput(serializers.Serializer):
    authority = serializers.SlugRelatedField(slug_field="slug", queryset=Authority.objects.filter(active=True))
    message = serializers.CharField(validators=[max_text_length], required=False, allow_blank=True, default="")
    note = serializers.CharField(validators=[max_text_length], required=False, allow_blank=True, default="")


class Forward(ActionView):
    """To another authority in the platform, or to an external body by e-mail."""

    input_serializer = ForwardInput

    @extend_schema(request=ForwardInput, responses=StaffReportDetailSerializer)
    def post(self, request: Request, key: str) -> Response:
        return super().post(request, key)

    def perform(self, request, report, data):
        return services.report_forward(
            report=report, authority=data["authority"], actor=request.user, message=data["message"], note=data["note"]
        )


class DuplicateInput(serializers.Serializer):
    original = VisibleReportField()
    message = serializers.CharField(validators=[max_text_length], required=False, allow_blank=True, default="")
    note = serializers.CharField(validators=[max_text_length], required=False, allow_blank=True, default="")


class Duplicate(ActionView):
    """Close as a duplicate; supporters and subscribers move to the original."""

    input_serializer = DuplicateInput

    @extend_schema(request=DuplicateInput, responses=StaffReportDetailSerializer)
    def post(self, request: Request, key: str) -> Response:
        return super().post(request, key)

    def perform(self, request, report, data):
        return services.report_mark_duplicate(
            report=report, original=data["original"], actor=request.user, message=data["message"], note=data["note"]
        )


class PhotosInput(serializers.Serializer):
    photos = serializers.ListField(
        child=serializers.FileField(max_length=255, allow_empty_file=False), min_length=1,
        max_length=MAX_PHOTOS_PER_UPLOAD,
    )


class Photos(ActionView):
    """Add fix photos (multipart ``photos``), through the citizen photos' pipeline."""

    input_serializer = PhotosInput
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": PhotosInput}, responses=StaffReportDetailSerializer)
    def post(self, request: Request, key: str) -> Response:
        return super().post(request, key)

    def perform(self, request, report, data):
        return services.report_add_photos(report=report, actor=request.user, photos=inspected_photos(data["photos"]))


class PublishComment(ReportResponses, StaffView):
    """Publish a citizen's comment held for review: a new public comment with its text (the held one stays)."""

    @extend_schema(request=None, responses=StaffReportDetailSerializer)
    def post(self, request: Request, key: str, event_id: int) -> Response:
        report = get_staff_report(request.user, key)
        held = report.events.filter(pk=event_id, kind=EventKind.COMMENT).first()
        if held is None:
            raise Http404
        services.report_publish_comment(report=report, event=held, actor=request.user)
        return self.after_change(request, report)


class Templates(StaffView):
    """Prepared answers for this report, placeholders filled in (``?status=`` for a target status)."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, key: str) -> Response:
        report = get_staff_report(request.user, key)
        target = request.query_params.get("status") or None
        if target is not None and target not in Status.values:
            raise ValidationError({"status": [_("Unknown status.")]})
        templates = services.response_templates(report, status=target, language=request.LANGUAGE_CODE)
        return Response({"templates": templates})


class BulkInput(serializers.Serializer):
    action = serializers.ChoiceField(choices=services.BulkAction.choices)
    reports = serializers.ListField(
        child=serializers.CharField(max_length=services.MAX_KEY_LENGTH), allow_empty=False,
        max_length=services.MAX_BULK_REPORTS,
        help_text="Public ids or references of the reports, at most 200.",
    )
    department = serializers.SlugRelatedField(
        slug_field="slug", queryset=Department.objects.all(), required=False,
        help_text="For reassign: the department (of the reports' authority) to hand them to.",
    )
    message = serializers.CharField(validators=[max_text_length], required=False, allow_blank=True, default="")
    note = serializers.CharField(validators=[max_text_length], required=False, allow_blank=True, default="")


def bulk_result(outcome: services.BulkOutcome) -> dict:
    """One report's outcome: what it now is, or why it was refused (a report the user may not see is "not found",
    with nothing about it)."""
    if outcome.report is not None and outcome.error is None:
        report = outcome.report
        return {"report": outcome.key, "ok": True, "id": str(report.public_id), "reference": report.reference,
                "status": report.status, "department": report.department.slug if report.department else None}
    error = outcome.error
    if error is None:  # neither report nor error: not made by reports_bulk_action
        raise ValueError(outcome)
    return {"report": outcome.key, "ok": False, **error.extra, "errors": [
        {"field": error.field, "code": error.code, "message": str(error.message)}
    ]}


class Bulk(StaffView):
    """Acknowledge, start work on or reassign several reports at once. Each report changes on its own, with its
    own event and notifications, as a single action would: one that cannot change is refused with its errors
    while the others change. The answer lists every report in the order given."""

    # A JSON body only: a list of ids has no unambiguous form encoding.
    parser_classes = [JSONParser]

    @extend_schema(request=BulkInput, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        data_in = BulkInput(data=request.data)
        data_in.is_valid(raise_exception=True)
        data = data_in.validated_data
        outcomes = services.reports_bulk_action(
            actor=request.user, action=data["action"], keys=data["reports"], department=data.get("department"),
            message=data["message"], note=data["note"],
        )
        results = [bulk_result(outcome) for outcome in outcomes]
        succeeded = sum(1 for result in results if result["ok"])
        return Response({"succeeded": succeeded, "failed": len(results) - succeeded, "results": results})


class Departments(StaffView):
    """The departments of the user's authorities (for reassigning), and authorities to forward to."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        roles = request.staff_roles  # type: ignore[attr-defined]  # set by IsStaff
        departments = (
            Department.objects.select_related("authority").filter(authority_id__in=list(roles))
            .order_by("authority__name", "name")
        )
        authorities = forward_targets()
        return Response({
            "departments": [
                {"id": d.pk, "slug": d.slug, "name": d.name, "authority": str(d.authority)} for d in departments
            ],
            "authorities": [{"slug": a.slug, "name": str(a), "kind": a.kind} for a in authorities],
        })
