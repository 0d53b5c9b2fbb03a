"""Which service requests a GET /requests asks for: GeoReport v2 parameters and the common extensions.

Only published reports of public categories are ever visible. Bad parameters raise Open311Error (400).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.contrib.gis.geos import Point
from django.db.models import OuterRef, Prefetch, Q, QuerySet, Subquery
from django.http import QueryDict
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from geo.models import Authority, Category
from mobile_api.open311.errors import Open311Error
from reports import filters
from reports.models import EventKind, Photo, Report, ReportEvent, ReportQuerySet
from reports.workflow import CLOSED_STATUSES, OPEN_STATUSES

DEFAULT_DAYS = 90
MAX_PAGE_SIZE = 1000
MAX_PAGE = 1_000_000
DEFAULT_RADIUS_M = 1000
MAX_RADIUS_M = 50_000
# What Open311 calls status notes: public events that carry a message for the citizen.
NOTE_KINDS = (EventKind.STATUS_CHANGED, EventKind.PUBLIC_ANSWER)
STATUS_FILTERS = {"open": OPEN_STATUSES, "closed": CLOSED_STATUSES}


def public_notes() -> QuerySet:
    return ReportEvent.objects.filter(is_public=True, kind__in=NOTE_KINDS).exclude(message="")


def visible_requests(*, extensions: bool = False) -> ReportQuerySet:
    """Published reports with what their representation needs, in a fixed number of queries."""
    last_note = public_notes().filter(report=OuterRef("pk")).order_by("-id").values("message")[:1]
    queryset = (
        Report.objects.published()
        .select_related("category", "authority", "department")
        .annotate(last_public_note=Subquery(last_note))
        .prefetch_related(Prefetch("photos", queryset=Photo.objects.published(), to_attr="public_photos"))
    )
    if extensions:
        notes = Prefetch("events", queryset=public_notes().order_by("id"), to_attr="notes")
        queryset = queryset.prefetch_related(notes)
    return queryset


def jurisdiction(params: QueryDict) -> Authority | None:
    """The authority named by ``jurisdiction_id`` (its AGS or slug); 404 if there is none."""
    value = params.get("jurisdiction_id", "").strip()
    if not value:
        return None
    found = Authority.objects.filter(Q(slug=value) | Q(ags=value), active=True).order_by("pk").first()
    if found is None:
        raise Open311Error(404, _("jurisdiction_id %(value)s was not found.") % {"value": value})
    return found


@dataclass(frozen=True)
class Page:
    number: int
    size: int

    def slice(self, queryset: QuerySet) -> QuerySet:
        start = (self.number - 1) * self.size
        return queryset[start:start + self.size]


def paging(params: QueryDict) -> Page:
    """``page`` and ``page_size`` (at most MAX_PAGE_SIZE, the default)."""
    return Page(
        # Bounded: an offset beyond a bigint is a database error, not an empty page.
        _integer(params, "page", 1, minimum=1, maximum=MAX_PAGE),
        _integer(params, "page_size", MAX_PAGE_SIZE, minimum=1, maximum=MAX_PAGE_SIZE),
    )


def id_list(params: QueryDict, name: str) -> list[str]:
    """A comma-separated (or repeated) parameter's values."""
    return _list(params, name)


def date_window(params: QueryDict, *, max_days: int) -> tuple[datetime, datetime]:
    """``start_date``/``end_date`` as a window of at most ``max_days``: a missing end is now, a missing start
    the end minus ``max_days``."""
    start, end = _date(params, "start_date"), _date(params, "end_date")
    longest = timedelta(days=max_days)
    if start is not None and end is not None and end < start:
        raise Open311Error(400, _("end_date must not be before start_date."))
    if end is None:
        end = max(timezone.now(), start) if start is not None else timezone.now()
    if start is None:
        start = end - longest
    if end - start > longest:
        raise Open311Error(400, _("start_date and end_date may be at most %(days)d days apart.") % {"days": max_days})
    return start, end


def filter_requests(queryset: ReportQuerySet, params: QueryDict) -> tuple[ReportQuerySet, Page]:
    ids = _list(params, "service_request_id")
    page = paging(params)
    if ids:
        # The spec: a list of ids overrides every other argument.
        return queryset.filter(reference__in=ids[:MAX_PAGE_SIZE]).order_by("-created_at", "-pk"), page
    codes = _list(params, "service_code")
    if codes:
        known = set(Category.objects.filter(slug__in=codes).values_list("slug", flat=True))
        unknown = [code for code in codes if code not in known]
        if unknown:
            raise Open311Error(400, *(_("service_code %(code)s was not found.") % {"code": code} for code in unknown))
        queryset = queryset.filter(category__slug__in=codes)
    queryset = _by_status(queryset, params)
    queryset = _by_dates(queryset, params)
    queryset = _by_bbox(queryset, params)
    queryset = _by_radius(queryset, params)
    return queryset.order_by("-created_at", "-pk"), page


# A comma list names at most this many values (a page's worth), so one query string cannot become a huge IN.
MAX_LIST_VALUES = 1000


def _list(params: QueryDict, name: str) -> list[str]:
    values = [item.strip() for value in params.getlist(name) for item in value.split(",") if item.strip()]
    if len(values) > MAX_LIST_VALUES:
        message = _("%(name)s lists at most %(count)d values.")
        raise Open311Error(400, message % {"name": name, "count": MAX_LIST_VALUES})
    return values


def _integer(params: QueryDict, name: str, default: int, *, minimum: int, maximum: int) -> int:
    raw = params.get(name, "").strip()
    if not raw:
        return default
    try:
        return filters.parse_integer(raw, minimum=minimum, maximum=maximum)
    except filters.InvalidParameter:
        bounds = f"{minimum}–{maximum}"
        raise Open311Error(
            400, _("%(name)s must be a whole number (%(bounds)s).") % {"name": name, "bounds": bounds}
        ) from None


def _number(params: QueryDict, name: str, minimum: float, maximum: float) -> float | None:
    raw = params.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not minimum <= value <= maximum:
        message = _("%(name)s must be a number from %(min)s to %(max)s.")
        raise Open311Error(400, message % {"name": name, "min": minimum, "max": maximum})
    return value


def parse_w3c_datetime(name: str, raw: str) -> datetime:
    """A W3C date-time (2026-01-01T00:00:00Z, with offset) or a date; without a zone, local time."""
    try:
        value = parse_datetime(raw)
        if value is None and (day := parse_date(raw)) is not None:
            value = datetime.combine(day, time.min)
    except ValueError:
        value = None
    if value is None:
        raise Open311Error(400, _("%(name)s must be a W3C date-time such as 2026-01-01T00:00:00Z.") % {"name": name})
    try:
        # Range-checked: 0001-01-01 in local time lies before year 1 in UTC, and end_date minus 90 days must exist.
        return filters.check_moment(value if timezone.is_aware(value) else timezone.make_aware(value))
    except (filters.InvalidParameter, OverflowError) as exc:
        raise Open311Error(400, f"{name}: {getattr(exc, 'message', filters.DATE_RANGE)}") from None


def _date(params: QueryDict, name: str) -> datetime | None:
    raw = params.get(name, "").strip()
    return parse_w3c_datetime(name, raw) if raw else None


def _by_status(queryset: ReportQuerySet, params: QueryDict) -> ReportQuerySet:
    wanted = _list(params, "status")
    unknown = [value for value in wanted if value not in STATUS_FILTERS]
    if unknown:
        raise Open311Error(400, _("status must be open or closed."))
    if not wanted:
        return queryset
    return queryset.filter(status__in=set().union(*(STATUS_FILTERS[value] for value in wanted)))


def _by_dates(queryset: ReportQuerySet, params: QueryDict) -> ReportQuerySet:
    start, end = _date(params, "start_date"), _date(params, "end_date")
    updated_after, updated_before = _date(params, "updated_after"), _date(params, "updated_before")
    if start and end and start > end:
        raise Open311Error(400, _("start_date must not be after end_date."))
    if start is None and end is None and updated_after is None and updated_before is None:
        # The spec's default window: the most recent 90 days.
        start = timezone.now() - timedelta(days=DEFAULT_DAYS)
    elif start is None and end is not None:
        start = end - timedelta(days=DEFAULT_DAYS)
    if start:
        queryset = queryset.filter(created_at__gte=start)
    if end:
        queryset = queryset.filter(created_at__lte=end)
    if updated_after:
        queryset = queryset.filter(updated_at__gt=updated_after)
    if updated_before:
        queryset = queryset.filter(updated_at__lt=updated_before)
    return queryset


def _by_bbox(queryset: ReportQuerySet, params: QueryDict) -> ReportQuerySet:
    raw = params.get("bbox", "").strip()
    if not raw:
        return queryset
    try:
        box = filters.bbox_polygon(filters.parse_bbox(raw))
    except filters.InvalidParameter:
        raise Open311Error(400, _("bbox must be min_long,min_lat,max_long,max_lat in degrees.")) from None
    return queryset.in_area(box)


def _by_radius(queryset: ReportQuerySet, params: QueryDict) -> ReportQuerySet:
    lat, lon = _number(params, "lat", -90, 90), _number(params, "long", -180, 180)
    radius_given = bool(params.get("radius", "").strip())
    if lat is None and lon is None:
        if radius_given:
            raise Open311Error(400, _("radius needs lat and long."))
        return queryset
    if lat is None or lon is None:
        raise Open311Error(400, _("Give lat and long together."))
    radius = _integer(params, "radius", DEFAULT_RADIUS_M, minimum=1, maximum=MAX_RADIUS_M)
    point = Point(lon, lat, srid=4326)
    return queryset.near(point, radius)
