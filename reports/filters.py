"""The numbers, places and dates clients send in query parameters, parsed and range-checked once for every API.

Every value passes through here before it reaches GEOS or the database, because what lies beyond
these ranges does not fail politely there:
- GEOS aborts the whole server process ("stack smashing detected" in its WKT writer) for a polygon
  with a coordinate such as 1e200, taking every other request of that process with it;
- an integer beyond 64 bits overflows PostgreSQL's bigint and SQLite's INTEGER (a 500);
- a date near year 1 or 9999 overflows Python's datetime once moved to UTC or by a day (a 500).

The parsers raise reports.errors.InvalidParameter (a DomainError without a field: the caller knows the
parameter's name); each front end puts it into its own error format (JSON field + message for the citizen
and staff APIs, the GeoReport v2 error document for Open311).

The staff lists (the staff API and the staff web app's "Meine Aufgaben") filter with the one ReportFilter
and take bbox, near and ordering through ListOptions; both are Django forms underneath, so every front end
reads their errors the same way and none depends on another's.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

import django_filters
from django import forms
from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import Point, Polygon
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from geo.models import Authority, Category
from reports.errors import InvalidParameter
from reports.models import Report, ReportQuerySet
from reports.workflow import CLOSED_STATUSES, OPEN_STATUSES, Status

# (min_lon, min_lat, max_lon, max_lat) in WGS 84 degrees.
BBox = tuple[float, float, float, float]

# The largest id or sequence number either database can hold (bigint, SQLite INTEGER).
MAX_ID = 2**63 - 1
# Dates clients may filter by (DATE_RANGE: 1900-01-01 to 9998-12-31, whole days): wide enough for any
# report, narrow enough that adding a day or moving to UTC never leaves Python's datetime range (years 1
# to 9999). A day's margin on either side lets those dates pass in every time zone.
EARLIEST = datetime(1899, 12, 31, tzinfo=UTC)
LATEST = datetime(9999, 1, 2, tzinfo=UTC)

BBOX_FORMAT = _("Give four numbers: min_lon,min_lat,max_lon,max_lat.")
BBOX_RANGE = _("Longitudes lie within -180..180 and latitudes within -90..90, minimum before maximum.")
LAT_LON_FORMAT = _("Give lat,lon.")
LAT_LON_RANGE = _("Latitudes lie within -90..90 and longitudes within -180..180.")
ID_FORMAT = _("Give whole numbers from 1 to %(max)s, comma-separated.")
INTEGER_RANGE = _("Give a whole number from %(min)s to %(max)s.")
# ASCII digits only (str.isdigit also takes "²", which int() refuses); 25 digits are plenty for any range here.
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]{1,25}")

DATE_RANGE = _("Give a date from 1900-01-01 to 9998-12-31.")

# Search text of the staff lists: long enough for any reference, address or phrase, short enough for LIKE.
SEARCH_MAX_LENGTH = 200
# A reference's running number as typed alone ("290"): at most 9 digits, far beyond any year's reports.
_REFERENCE_NUMBER = re.compile(r"[0-9]{1,9}")
_REFERENCE_NUMBER_MAX = 10**9 - 1


def _finite_numbers(value: str, count: int, message: str | Promise) -> list[float]:
    try:
        numbers = [float(part) for part in str(value).split(",")]
    except ValueError:
        raise InvalidParameter("invalid", message) from None
    if len(numbers) != count or not all(math.isfinite(n) for n in numbers):
        raise InvalidParameter("invalid", message)
    return numbers


def is_latitude(value: float) -> bool:
    return math.isfinite(value) and -90 <= value <= 90


def is_longitude(value: float) -> bool:
    return math.isfinite(value) and -180 <= value <= 180


def parse_bbox(value: str) -> BBox:
    """``min_lon,min_lat,max_lon,max_lat``: four finite numbers within WGS 84, each minimum below its maximum."""
    min_lon, min_lat, max_lon, max_lat = _finite_numbers(value, 4, BBOX_FORMAT)
    if not (is_longitude(min_lon) and is_longitude(max_lon) and min_lon < max_lon
            and is_latitude(min_lat) and is_latitude(max_lat) and min_lat < max_lat):
        raise InvalidParameter("out_of_range", BBOX_RANGE)
    return min_lon, min_lat, max_lon, max_lat


def bbox_polygon(bbox: BBox) -> Polygon:
    """The polygon of a bbox that parse_bbox accepted (never build one from unchecked numbers: see above)."""
    polygon = Polygon.from_bbox(bbox)
    polygon.srid = 4326
    return polygon


def parse_lat_lon(value: str) -> Point:
    """``lat,lon`` (the order people and the staff app say it in) as a point."""
    lat, lon = _finite_numbers(value, 2, LAT_LON_FORMAT)
    if not (is_latitude(lat) and is_longitude(lon)):
        raise InvalidParameter("out_of_range", LAT_LON_RANGE)
    return Point(lon, lat, srid=4326)


def parse_integer(value: str | int, *, minimum: int, maximum: int) -> int:
    """A whole number in [minimum, maximum] (digits only: no 1e3, no 2.0, no 20 digits a bigint cannot hold)."""
    text = str(value).strip()
    if not _WHOLE_NUMBER.fullmatch(text):
        raise InvalidParameter("invalid", INTEGER_RANGE % {"min": minimum, "max": maximum})
    number = int(text)
    if not minimum <= number <= maximum:
        raise InvalidParameter("out_of_range", INTEGER_RANGE % {"min": minimum, "max": maximum})
    return number


def parse_ids(value: str) -> list[int]:
    """Comma-separated database ids (1 .. MAX_ID); empty items are ignored."""
    items = [item.strip() for item in str(value).split(",") if item.strip()]
    try:
        return [parse_integer(item, minimum=1, maximum=MAX_ID) for item in items]
    except InvalidParameter as exc:
        raise InvalidParameter(exc.code, ID_FORMAT % {"max": MAX_ID}) from None


def check_moment(moment: datetime) -> datetime:
    """An aware date and time within EARLIEST .. LATEST (so that neither database nor a day's arithmetic overflows)."""
    try:
        in_utc = moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise InvalidParameter("out_of_range", DATE_RANGE) from None
    if not EARLIEST <= in_utc < LATEST:
        raise InvalidParameter("out_of_range", DATE_RANGE)
    return moment


# --- The staff report lists -------------------------------------------------------------------

class IdListField(forms.CharField):
    """Comma-separated database ids: garbage or ids beyond a bigint are a 400, not a database error."""

    def clean(self, value) -> list[int]:
        try:
            return parse_ids(super().clean(value) or "")
        except InvalidParameter as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from None


class KnownListField(forms.CharField):
    """Comma-separated names that must each be one of ``known()``: a typo is a 400, not an empty list."""

    def __init__(self, *, known, **kwargs) -> None:
        self.known = known
        super().__init__(**kwargs)

    def clean(self, value) -> list[str]:
        names = list(dict.fromkeys(n.strip() for n in (super().clean(value) or "").split(",") if n.strip()))
        unknown = sorted(set(names) - set(self.known(names)))
        if unknown:
            raise forms.ValidationError(_("Unknown: %(names)s.") % {"names": ", ".join(unknown)}, code="unknown")
        return names


class IdListFilter(django_filters.Filter):
    field_class = IdListField


class KnownListFilter(django_filters.Filter):
    field_class = KnownListField


def _known_statuses(names: list[str]) -> list[str]:
    return [name for name in names if name in Status.values]


def _known_categories(names: list[str]) -> list[str]:
    return list(Category.objects.filter(slug__in=names).values_list("slug", flat=True))


def _known_authorities(names: list[str]) -> list[str]:
    return list(Authority.objects.filter(slug__in=names).values_list("slug", flat=True))


class ReportFilter(django_filters.FilterSet):
    """The filters of the staff lists, over a queryset the caller has already limited to what the user may see."""

    status = KnownListFilter(field_name="status", lookup_expr="in", known=_known_statuses)
    category = KnownListFilter(field_name="category__slug", lookup_expr="in", known=_known_categories)
    department = IdListFilter(field_name="department_id", lookup_expr="in")
    authority = KnownListFilter(field_name="authority__slug", lookup_expr="in", known=_known_authorities)
    open = django_filters.BooleanFilter(method="filter_open")
    overdue = django_filters.BooleanFilter(method="filter_overdue")
    q = django_filters.CharFilter(method="filter_text", max_length=SEARCH_MAX_LENGTH)

    class Meta:
        model = Report
        fields: list[str] = []

    def filter_open(self, queryset, name, value):
        return queryset.filter(status__in=OPEN_STATUSES if value else CLOSED_STATUSES)

    def filter_overdue(self, queryset, name, value):
        overdue = Q(status__in=OPEN_STATUSES, due_at__lt=timezone.now())
        return queryset.filter(overdue) if value else queryset.exclude(overdue)

    def filter_text(self, queryset, name, value):
        text = value.strip()
        if not text:
            return queryset
        return queryset.filter(
            reference_matches(text) | Q(description__icontains=text) | Q(address__icontains=text)
            | Q(category__name_de__icontains=text) | Q(category__name_en__icontains=text)
        )


def reference_matches(text: str) -> Q:
    """Reports whose reference is ``text`` or contains it, in any case ("hm-2026-000290", "2026-000290", "000290");
    digits alone are the running number without its leading zeros ("290" finds HM-2026-000290, not
    HM-2026-002901), which is what people read off a sign or say on the phone."""
    text = text.strip()
    matches = Q(reference__icontains=text)
    if _REFERENCE_NUMBER.fullmatch(text):
        number = parse_integer(text, minimum=0, maximum=_REFERENCE_NUMBER_MAX)
        matches = Q(reference__iendswith=f"-{number:06d}")
    return matches


ORDERINGS = ("due_at", "-due_at", "created_at", "-created_at", "distance", "-support_count")
# The staff API has always answered with these texts (they were its serializer's); the msgids are DRF's, so
# its translations still apply.
_BLANK = _("This field may not be blank.")
_NOT_A_CHOICE = _('"{input}" is not a valid choice.')


class _ParsedField(forms.Field):
    """A query parameter read by one of this module's parsers. Absent is fine; sent but empty is an error."""

    def __init__(self, parse, **kwargs) -> None:
        self.parse = parse
        super().__init__(required=False, **kwargs)

    def clean(self, value):
        if value is None:
            return None
        if value == "":
            raise forms.ValidationError(_BLANK, code="blank")
        try:
            return self.parse(value)
        except InvalidParameter as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from None


class _OrderingField(forms.Field):
    def __init__(self, **kwargs) -> None:
        super().__init__(required=False, **kwargs)

    def clean(self, value) -> str | None:
        if value is None:
            return None
        if value not in ORDERINGS:
            raise forms.ValidationError(str(_NOT_A_CHOICE).format(input=value), code="invalid_choice")
        return value


class ListOptions(forms.Form):
    """Where and in which order to list: ``bbox`` (a Polygon), ``near`` (a Point), ``ordering`` (one of ORDERINGS)."""

    bbox = _ParsedField(lambda value: bbox_polygon(parse_bbox(value)), help_text="min_lon,min_lat,max_lon,max_lat")
    near = _ParsedField(parse_lat_lon, help_text="lat,lon: sorted by distance from there")
    ordering = _OrderingField()

    def clean(self) -> dict:
        data = super().clean() or self.cleaned_data  # Form.clean returns cleaned_data
        if not self.errors and data.get("ordering") == "distance" and data.get("near") is None:
            message = _("Sorting by distance needs near=lat,lon.")
            self.add_error("ordering", forms.ValidationError(message, code="invalid"))
        return {key: value for key, value in data.items() if value is not None}


def within_bbox(queryset: ReportQuerySet, bbox: Polygon) -> ReportQuerySet:
    """The reports whose location lies in ``bbox`` (from ListOptions), through the spatial index where there is one."""
    return queryset.in_area(bbox)


def order_reports(queryset: QuerySet, options: dict, *, default: str) -> QuerySet:
    """Sort by ``options["ordering"]`` (ListOptions); with ``near``, by distance unless told otherwise."""
    near = options.get("near")
    ordering = options.get("ordering") or ("distance" if near is not None else default)
    if near is not None:
        queryset = queryset.annotate(distance=Distance("location", near))
    if ordering == "due_at":
        return queryset.order_by(F("due_at").asc(nulls_last=True), "pk")
    return queryset.order_by(ordering, "pk")
