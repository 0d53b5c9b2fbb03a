"""Public data of the citizen API: the map, statistics and the open-data export. Thin views over reports.publicdata."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime, time, timedelta

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from geo.models import Authority, Category
from mobile_api.public_cache import PublicReadCache
from mobile_api.v1.serializers import checked
from mobile_api.v1.views import CitizenView
from reports import filters, publicdata


class SlugList(serializers.CharField):
    """A comma-separated list of slugs, each of which must exist in ``queryset``."""

    default_error_messages = {"unknown": _("Unknown: {names}.")}

    def __init__(self, *, queryset, **kwargs) -> None:
        self.queryset = queryset
        super().__init__(required=False, **kwargs)

    def to_internal_value(self, data) -> tuple[str, ...]:  # type: ignore[override]  # a CharField parsed into a list
        names = tuple(dict.fromkeys(n.strip() for n in super().to_internal_value(data).split(",") if n.strip()))
        unknown = set(names) - set(self.queryset.filter(slug__in=names).values_list("slug", flat=True))
        if unknown:
            self.fail("unknown", names=", ".join(sorted(unknown)))
        return names


class StatusList(serializers.CharField):
    default_error_messages = {
        "unknown": _("Unknown status: {names}. Use open, closed, fixed or a status such as in_progress.")
    }

    def __init__(self, **kwargs) -> None:
        super().__init__(required=False, **kwargs)

    def to_internal_value(self, data) -> frozenset[str]:  # type: ignore[override]  # a CharField parsed into a set
        names = [n.strip() for n in super().to_internal_value(data).split(",") if n.strip()]
        try:
            return frozenset(publicdata.statuses_for(names))
        except ValueError as exc:
            self.fail("unknown", names=str(exc))


@extend_schema_field({"type": "string", "description": "A date (2026-03-31) or a date and time (ISO 8601)."})
class Moment(serializers.Field):
    """A date (2026-03-31: the whole day, local time) or a date and time (ISO 8601)."""

    default_error_messages = {"invalid": _("Give a date (2026-03-31) or a date and time (2026-03-31T12:00:00+02:00).")}

    def __init__(self, *, end_of_day: bool = False, **kwargs) -> None:
        self.end_of_day = end_of_day
        super().__init__(required=False, **kwargs)

    def to_internal_value(self, data) -> datetime:
        text = str(data).strip()
        try:
            if len(text) == 10:
                day = date.fromisoformat(text) + timedelta(days=1 if self.end_of_day else 0)
                moment = timezone.make_aware(datetime.combine(day, time.min))
            else:
                moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
                moment = moment if timezone.is_aware(moment) else timezone.make_aware(moment)
        except OverflowError:  # 9999-12-31 and the day after it
            raise serializers.ValidationError(filters.DATE_RANGE, code="out_of_range") from None
        except ValueError:
            self.fail("invalid")
        return checked(filters.check_moment, moment)


class FilterSerializer(serializers.Serializer):
    category = SlugList(queryset=Category.objects.filter(is_public=True), help_text="Category codes, comma-separated.")
    status = StatusList(help_text="open, closed, fixed or statuses (new, in_progress, …), comma-separated.")

    def filters(self, **extra) -> publicdata.Filters:
        data = self.validated_data
        return publicdata.Filters(
            categories=data.get("category", ()), statuses=data.get("status", frozenset()), **extra
        )


class MapQuerySerializer(FilterSerializer):
    bbox = serializers.CharField(help_text="min_lon,min_lat,max_lon,max_lat (WGS 84)")
    zoom = serializers.IntegerField(min_value=0, max_value=22)

    default_error_messages = {
        "bbox_size": _("This area is too large for the zoom level; zoom in or ask for a smaller area."),
    }

    def validate_bbox(self, value: str) -> filters.BBox:
        return checked(filters.parse_bbox, value)

    def validate(self, attrs):
        if publicdata.map_view_too_large(attrs["bbox"], attrs["zoom"]):
            raise serializers.ValidationError({"bbox": [self.error_messages["bbox_size"]]}, code="too_large")
        return attrs


class ExportQuerySerializer(FilterSerializer):
    authority = SlugList(
        queryset=Authority.objects.all(),
        help_text="Responsible authorities (slugs); a Landkreis includes its Gemeinden.",
    )
    area = serializers.SlugRelatedField(
        slug_field="slug", queryset=Authority.objects.filter(boundary__isnull=False), required=False,
        help_text="Only reports located within this authority's boundary (slug), e.g. a Gemeinde.",
    )
    created_after = Moment(help_text="Created on or after (date or date and time).")
    created_before = Moment(end_of_day=True, help_text="Created before; a date includes that day.")

    def filters(self, **extra) -> publicdata.Filters:
        data = self.validated_data
        return super().filters(
            authorities=data.get("authority", ()), area=data.get("area"),
            created_after=data.get("created_after"), created_before=data.get("created_before"), **extra,
        )


def _query(serializer_class, request: Request):
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query


class MapView(PublicReadCache, CitizenView):
    """Reports on the public map as GeoJSON: grid clusters with counts at low zoom, single reports from zoom 14."""

    throttle_scope = "read"
    # Cached answers depend on the version of the reports within the view only (mobile_api.public_cache).
    public_read_areas = staticmethod(publicdata.map_version_areas)

    @extend_schema(parameters=[MapQuerySerializer], responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        query = _query(MapQuerySerializer, request)
        data = query.validated_data
        return Response(publicdata.map_features(bbox=data["bbox"], zoom=data["zoom"], filters=query.filters()))


class StatsView(PublicReadCache, CitizenView):
    """Reports per category and authority, median days to fix, and the open backlog, for the last 12 months."""

    throttle_scope = "read"

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        return Response(publicdata.statistics_last_12_months())


def _attribution() -> str:
    return f"OpenMelder, {settings.PUBLIC_URL}"


# RFC 8288 "license" link; header values must be Latin-1, hence the ASCII dashes.
_LICENSE_LINK = (
    f'<{publicdata.LICENSE["url"]}>; rel="license"; '
    'title="Datenlizenz Deutschland - Namensnennung - Version 2.0"'
)


async def _async_chunks(chunks: Iterator[str]) -> AsyncIterator[str]:
    # Each batch is one short query in Django's sync thread: an ASGI server streams without buffering.
    while (chunk := await sync_to_async(next)(chunks, None)) is not None:  # type: ignore[call-arg]  # next's overloads
        yield chunk


def _stream(request: Request, chunks: Iterator[str], content_type: str, filename: str) -> StreamingHttpResponse:
    body = _async_chunks(chunks) if isinstance(request._request, ASGIRequest) else chunks
    response = StreamingHttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Link"] = _LICENSE_LINK
    return response


_EXPORT_DOC = extend_schema(
    parameters=[ExportQuerySerializer],
    responses={200: OpenApiResponse(description="Released reports without personal data; licence dl-de/by-2-0.")},
)


class ExportCSV(CitizenView):
    """Open data: released reports as CSV (UTF-8, header row); the licence is in the Link header."""

    throttle_scope = "read"

    @_EXPORT_DOC
    def get(self, request: Request) -> StreamingHttpResponse:
        filters = _query(ExportQuerySerializer, request).filters()
        chunks = publicdata.csv_chunks(publicdata.export_batches(filters))
        return _stream(request, chunks, "text/csv; charset=utf-8; header=present", "openmelder-reports.csv")


class ExportGeoJSON(CitizenView):
    """Open data: released reports as a GeoJSON FeatureCollection with a ``license`` member."""

    throttle_scope = "read"

    @_EXPORT_DOC
    def get(self, request: Request) -> StreamingHttpResponse:
        filters = _query(ExportQuerySerializer, request).filters()
        chunks = publicdata.geojson_chunks(publicdata.export_batches(filters), attribution=_attribution())
        return _stream(request, chunks, "application/geo+json", "openmelder-reports.geojson")
