"""What the public may see of reports, in bulk: map clusters and points, list filters, statistics, open data.

Plain functions without HTTP; the public pages and ``/api/v1/`` render their results.

Two sets of reports are public:
- *visible* reports (map, list, statistics): published ones, and those of authorities that publish
  after review which are still waiting for it — of those the public sees category, location and
  status only (``is_released``); hidden reports and non-public categories never appear;
- *released* reports (open-data export): published ones only (``Report.objects.published()``).

Nothing here ever reads a reporter's name, e-mail, phone or device, an internal note or a photo.
"""

from __future__ import annotations

import csv
import io
import json
import math
import statistics as stats
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.gis.db.models.functions import SnapToGrid
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import Avg, Count, F, FloatField, Func, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import get_language

from geo.models import Authority, Category
from geo.spatial_sql import index_candidates
from reports.filters import BBox, bbox_polygon
from reports.mapcells import POINTS_FROM_ZOOM, cell_size
from reports.models import MapCell, Moderation, Report, StatusLabel
from reports.workflow import OPEN_STATUSES, STATUS_TYPE, Status, StatusType

# Open data licence of the exports (https://www.govdata.de/dl-de/by-2-0).
LICENSE = {
    "name": "Datenlizenz Deutschland – Namensnennung – Version 2.0",
    "id": "dl-de/by-2-0",
    "url": "https://www.govdata.de/dl-de/by-2-0",
}

# A map view may span at most this many tiles across (4096 px): bounds clusters and points per request.
MAX_TILES_ACROSS = 16
# Points are capped even within a valid view; ``truncated`` says when there were more.
MAX_POINTS = 5000


def visible_reports() -> QuerySet[Report]:
    """Reports on the public map, list and statistics (see the module's docstring)."""
    return Report.objects.filter(
        moderation__in=[Moderation.PUBLISHED, Moderation.PENDING], category__is_public=True
    )


def released_reports() -> QuerySet[Report]:
    """Reports whose text and photos are public: the open-data export."""
    return Report.objects.published()


def is_released(report: Report) -> bool:
    """Whether the public may see the report's text and photos, not only category, location and status."""
    return report.moderation == Moderation.PUBLISHED


def statuses_for(names: list[str]) -> set[str]:
    """Concrete statuses for a mix of status types (open, closed, fixed) and statuses; ValueError for others."""
    result: set[str] = set()
    for name in names:
        if name in StatusType.values:
            result |= {status for status, kind in STATUS_TYPE.items() if kind == name}
        elif name in Status.values:
            result.add(name)
        else:
            raise ValueError(name)
    return result


@dataclass(frozen=True)
class Filters:
    """Filters of the public list, the map and the export; empty means "all"."""

    categories: tuple[str, ...] = ()  # category slugs
    statuses: frozenset[str] = frozenset()  # concrete statuses (see statuses_for)
    authorities: tuple[str, ...] = ()  # responsible authority slugs, each with all authorities below it
    area: Authority | None = None  # reports located within this authority's boundary (a Gemeinde)
    created_after: datetime | None = None  # inclusive
    created_before: datetime | None = None  # exclusive

    def apply(self, reports: QuerySet[Report]) -> QuerySet[Report]:
        if self.categories:
            # By id, looked up first: a join on the slug keeps PostgreSQL from walking the report index on
            # (category, created_at) newest first, and it scanned a million reports for a rare category.
            ids = list(Category.objects.filter(slug__in=self.categories).values_list("pk", flat=True))
            reports = reports.filter(category_id__in=ids)
        if self.statuses:
            reports = reports.filter(status__in=self.statuses)
        if self.authorities:
            responsible = Authority.objects.filter(slug__in=self.authorities).with_descendants()
            reports = reports.filter(authority__in=responsible)
        if self.area is not None and self.area.boundary is not None:
            reports = reports.filter(index_candidates(Report, "location", self.area.boundary)).filter(
                location__within=self.area.boundary
            )
        if self.created_after is not None:
            reports = reports.filter(created_at__gte=self.created_after)
        if self.created_before is not None:
            reports = reports.filter(created_at__lt=self.created_before)
        return reports


def public_list(filters: Filters = Filters()) -> QuerySet[Report]:
    """The public list, newest first; paginate it. Show text and photos only where ``is_released``."""
    return (
        filters.apply(visible_reports())
        .select_related("category", "authority")
        .defer("reporter_name", "reporter_email", "reporter_phone", "secret_hash", "idempotency_fingerprint")
        .order_by("-created_at", "-pk")
    )


class ListPaginator(Paginator):
    """Pages of the public list that count at most ``settings.OPENMELDER["LIST_COUNT_LIMIT"]`` reports.

    Counting every visible report for every page view costs about 0.75 s with a Land's million
    (a full scan), more than the page itself; beyond the limit the list says "more than …" and
    offers the newest ones' pages, and the filters narrow it down.
    """

    def __init__(self, object_list, per_page: int) -> None:
        super().__init__(object_list, per_page)
        self.limit: int = settings.OPENMELDER["LIST_COUNT_LIMIT"]

    @cached_property
    def _counted(self) -> int:
        return self.object_list[: self.limit + 1].count()

    @cached_property
    def count(self) -> int:
        return min(self._counted, self.limit)

    @cached_property
    def capped(self) -> bool:
        """Whether there are more reports than counted."""
        return self._counted > self.limit


# --- The map ---------------------------------------------------------------------------------

class _X(Func):
    function = "ST_X"
    output_field = FloatField()


class _Y(Func):
    function = "ST_Y"
    output_field = FloatField()


def max_view_degrees(zoom: int) -> float:
    return 360.0 * MAX_TILES_ACROSS / (2**zoom)


def map_features(*, bbox: BBox, zoom: int, filters: Filters = Filters()) -> dict:
    """GeoJSON FeatureCollection of the visible reports in bbox (min_lon, min_lat, max_lon, max_lat).

    Below POINTS_FROM_ZOOM: one Point per non-empty grid cell (ST_SnapToGrid, cell_size(zoom)) at
    the mean position of its reports, ``{"cluster": true, "count": n}``. Cells are counted whole,
    so the area widens to the cells the bbox touches; ``properties.bbox`` is the area the counts
    cover exactly. From POINTS_FROM_ZOOM on: one Point per report, ``{"id", "category", "status",
    "status_type"}`` and nothing else.
    """
    properties: dict = {"zoom": zoom, "clustered": zoom < POINTS_FROM_ZOOM, "truncated": False}
    if zoom < POINTS_FROM_ZOOM:
        features, covered = _clusters(bbox, zoom, filters)
        properties["bbox"] = [round(v, 9) for v in covered]
    else:
        frame = bbox_polygon(bbox)
        reports = filters.apply(visible_reports()).filter(index_candidates(Report, "location", frame)).filter(
            location__intersects=frame
        )
        features, properties["truncated"] = _points(reports)
    return {"type": "FeatureCollection", "features": features, "properties": properties}


def _cell_range(low: float, high: float, size: float) -> tuple[int, int]:
    # Cells are centred on multiples of size; take every cell that reaches into [low, high].
    return math.ceil((low - size / 2) / size - 1e-9), math.floor((high + size / 2) / size + 1e-9)


def _clusters(bbox, zoom: int, filters: Filters) -> tuple[list[dict], tuple[float, float, float, float]]:
    size = cell_size(zoom)
    lon_from, lon_to = _cell_range(bbox[0], bbox[2], size)
    lat_from, lat_to = _cell_range(bbox[1], bbox[3], size)
    covered = ((lon_from - 0.5) * size, (lat_from - 0.5) * size, (lon_to + 0.5) * size, (lat_to + 0.5) * size)
    margin = size / 4  # centres lie a whole cell apart: no float equality needed
    if filters.authorities or filters.area or filters.created_after or filters.created_before:
        # Not pre-counted: count the reports themselves (slower; the public map never asks this).
        frame = bbox_polygon(covered)
        reports = filters.apply(visible_reports()).filter(index_candidates(Report, "location", frame)).filter(
            location__intersects=frame
        )
        return _live_clusters(reports, size), covered
    categories = Category.objects.filter(is_public=True)
    if filters.categories:
        categories = categories.filter(slug__in=filters.categories)
    cells = MapCell.objects.filter(
        # The index is (zoom, cell_lon, cell_lat, …): one short range scan per column of cells instead
        # of a scan over every latitude. Centres are multiples of a power-of-two fraction of 90°, exact
        # in floating point, so they compare equal to ST_SnapToGrid's.
        zoom=zoom,
        cell_lon__in=[k * size for k in range(lon_from, lon_to + 1)],
        cell_lat__gte=lat_from * size - margin, cell_lat__lte=lat_to * size + margin,
        category_id__in=categories.values("pk"),
    )
    if filters.statuses:
        cells = cells.filter(status__in=filters.statuses)
    rows = (
        cells.values("cell_lon", "cell_lat")
        .annotate(n=Sum("count"), lon=Sum("sum_lon"), lat=Sum("sum_lat"))
        .filter(n__gt=0)
        .values_list("n", "lon", "lat")
        .order_by()
    )
    return [_cluster(n, lon / n, lat / n) for n, lon, lat in rows], covered


def _live_clusters(reports: QuerySet[Report], size: float) -> list[dict]:
    cells = (
        reports.annotate(cx=_X(SnapToGrid("location", size)), cy=_Y(SnapToGrid("location", size)))
        .values("cx", "cy")
        .annotate(count=Count("pk"), lon=Avg(_X("location")), lat=Avg(_Y("location")))
        .values_list("count", "lon", "lat")
        .order_by()
    )
    return [_cluster(count, lon, lat) for count, lon, lat in cells]


def _cluster(count: int, lon: float, lat: float) -> dict:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
        "properties": {"cluster": True, "count": count},
    }


def _points(reports: QuerySet[Report]) -> tuple[list[dict], bool]:
    rows = list(
        reports.annotate(lon=_X("location"), lat=_Y("location"))
        .values_list("public_id", "category__slug", "status", "lon", "lat")
        .order_by("-created_at", "-pk")[: MAX_POINTS + 1]
    )
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
            "properties": {"id": str(public_id), "category": category, "status": status, "status_type": STATUS_TYPE[status]},
        }
        for public_id, category, status, lon, lat in rows[:MAX_POINTS]
    ]
    return features, len(rows) > MAX_POINTS


# --- Statistics ------------------------------------------------------------------------------

def twelve_months_ago(now: datetime) -> datetime:
    """The same moment a year earlier (29 February: the 28th)."""
    try:
        return now.replace(year=now.year - 1)
    except ValueError:
        return now.replace(year=now.year - 1, day=28)


STATISTICS_CACHE_SECONDS = 300


def statistics_last_12_months() -> dict:
    """statistics() of the last 12 months in the active language, cached for a few minutes: with a
    million reports the figures take about a second to compute and change slowly."""
    key = f"publicdata:statistics:{(get_language() or 'de')[:2]}"
    figures = cache.get(key)
    if figures is None:
        figures = statistics(since=twelve_months_ago(timezone.now()))
        cache.set(key, figures, STATISTICS_CACHE_SECONDS)
    return figures


def statistics(*, since: datetime, until: datetime | None = None) -> dict:
    """Figures of the visible reports created in [since, until): per category and per authority the
    number of reports, how many are open and fixed, and the median days from report to fix (of those
    now fixed, from ``closed_at``); plus the open backlog today, whenever reported.

    Names are in the active language; rows are sorted by number of reports, then name.
    """
    until = until or timezone.now()
    period = visible_reports().filter(created_at__gte=since, created_at__lt=until)
    english = (get_language() or "de").startswith("en")
    days_to_fix = _days_to_fix(period)

    by_category = _counts(period, "category", "category__slug", "category__name_en" if english else "category__name_de")
    by_authority = _counts(period, "authority", "authority__slug", "authority__name", "authority__designation")
    for row in by_category:
        row["median_days_to_fix"] = _median(days_to_fix["category"].get(row.pop("key")))
    for row in by_authority:
        row["median_days_to_fix"] = _median(days_to_fix["authority"].get(row.pop("key")))
    every = [d for ds in days_to_fix["category"].values() for d in ds]
    return {
        "period": {"since": since.isoformat(), "until": until.isoformat()},
        "totals": {
            "reports": sum(r["reports"] for r in by_category),
            "open": sum(r["open"] for r in by_category),
            "fixed": sum(r["fixed"] for r in by_category),
            "median_days_to_fix": _median(every),
        },
        "by_category": by_category,
        "by_authority": by_authority,
        "backlog": _backlog(),
    }


def _counts(reports: QuerySet[Report], key: str, slug: str, name: str, designation: str | None = None) -> list[dict]:
    fields = [key, slug, name] + ([designation] if designation else [])
    rows = (
        reports.values(*fields)
        .annotate(
            reports=Count("pk"),
            open=Count("pk", filter=Q(status__in=OPEN_STATUSES)),
            fixed=Count("pk", filter=Q(status=Status.FIXED)),
        )
        .order_by()
    )
    result = [
        {
            "key": row[key],
            "slug": row[slug],
            "name": f"{row[designation]} {row[name]}".strip() if designation else row[name],
            "reports": row["reports"],
            "open": row["open"],
            "fixed": row["fixed"],
        }
        for row in rows
    ]
    return sorted(result, key=lambda r: (-r["reports"], r["name"]))


def _days_to_fix(reports: QuerySet[Report]) -> dict[str, dict[int, list[float]]]:
    # Medians are computed here, not in SQL: PostGIS has percentile_cont, SQLite has nothing alike.
    result: dict[str, dict[int, list[float]]] = {"category": defaultdict(list), "authority": defaultdict(list)}
    fixed = reports.filter(status=Status.FIXED, closed_at__isnull=False).values_list(
        "category_id", "authority_id", "created_at", "closed_at"
    )
    for category_id, authority_id, created_at, closed_at in fixed.iterator(chunk_size=5000):
        days = (closed_at - created_at).total_seconds() / 86400
        result["category"][category_id].append(days)
        result["authority"][authority_id].append(days)
    return result


def _median(days: list[float] | None) -> float | None:
    return round(stats.median(days), 1) if days else None


def _backlog() -> dict:
    open_reports = visible_reports().open()
    now = timezone.now()
    rows = (
        open_reports.values("authority", "authority__slug", "authority__name", "authority__designation")
        .annotate(open=Count("pk"), overdue=Count("pk", filter=Q(due_at__lt=now)))
        .order_by()
    )
    by_authority = sorted(
        (
            {
                "slug": row["authority__slug"],
                "name": f"{row['authority__designation']} {row['authority__name']}".strip(),
                "open": row["open"],
                "overdue": row["overdue"],
            }
            for row in rows
        ),
        key=lambda r: (-r["open"], r["name"]),
    )
    return {
        "open": sum(r["open"] for r in by_authority),
        "overdue": sum(r["overdue"] for r in by_authority),
        "by_authority": by_authority,
    }


# --- Open data -------------------------------------------------------------------------------

EXPORT_FIELDS = [
    "id", "reference", "category", "category_name", "status", "status_type", "status_label", "authority",
    "authority_ags", "lat", "lon", "address", "description", "support_count", "created_at", "updated_at", "closed_at",
]
EXPORT_BATCH = 2000


def export_batches(filters: Filters = Filters(), *, batch_size: int | None = None) -> Iterator[list[dict]]:
    """The released reports matching the filters as rows of EXPORT_FIELDS, oldest first, in batches.

    Each batch is its own query (keyset on the primary key), so a consumer may pause between
    batches, e.g. to hand them out over a slow connection, without holding a cursor open.
    """
    english = (get_language() or "de").startswith("en")
    reports = (
        filters.apply(released_reports())
        .annotate(lon=_X("location"), lat=_Y("location"), category_name=F("category__name_en" if english else "category__name_de"))
        .values(
            "pk", "public_id", "reference", "category__slug", "category_name", "status", "authority__name",
            "authority__designation", "authority__ags", "lat", "lon", "address", "description", "support_count",
            "created_at", "updated_at", "closed_at",
        )
        .order_by("pk")
    )
    return _keyset_batches(reports, batch_size or EXPORT_BATCH)


def _keyset_batches(reports: QuerySet, batch_size: int) -> Iterator[list[dict]]:
    last = 0
    while True:
        rows = list(reports.filter(pk__gt=last)[:batch_size])
        if not rows:
            return
        last = rows[-1]["pk"]
        yield [_export_row(row) for row in rows]
        if len(rows) < batch_size:
            return


def _export_row(row: dict) -> dict:
    return {
        "id": str(row["public_id"]),
        "reference": row["reference"],
        "category": row["category__slug"],
        "category_name": row["category_name"],
        "status": row["status"],
        "status_type": str(STATUS_TYPE[row["status"]]),
        "status_label": StatusLabel.label(row["status"]),
        "authority": f"{row['authority__designation']} {row['authority__name']}".strip(),
        "authority_ags": row["authority__ags"] or None,
        "lat": round(row["lat"], 6),
        "lon": round(row["lon"], 6),
        "address": row["address"],
        "description": row["description"],
        "support_count": row["support_count"],
        "created_at": _iso(row["created_at"]),
        "updated_at": _iso(row["updated_at"]),
        "closed_at": _iso(row["closed_at"]),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def csv_chunks(batches: Iterator[list[dict]]) -> Iterator[str]:
    """CSV text (header, then one chunk per batch)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_FIELDS, lineterminator="\r\n")
    writer.writeheader()
    yield _drain(buffer)
    for batch in batches:
        writer.writerows([{key: _inert(value) for key, value in row.items()} for row in batch])
        yield _drain(buffer)


# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection): such text gets a
# leading apostrophe, which spreadsheets show as text and hide.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _inert(value):
    return "'" + value if isinstance(value, str) and value.startswith(_FORMULA_STARTS) else value


def geojson_chunks(batches: Iterator[list[dict]], *, attribution: str) -> Iterator[str]:
    """A GeoJSON FeatureCollection with a ``license`` member, streamed a batch at a time."""
    head = {"type": "FeatureCollection", "license": {**LICENSE, "attribution": attribution}}
    yield json.dumps(head, ensure_ascii=False)[:-1] + ', "features": ['
    first = True
    for batch in batches:
        features = ",".join(json.dumps(_feature(row), ensure_ascii=False) for row in batch)
        yield ("" if first else ",") + features
        first = False
    yield "]}"


def _feature(row: dict) -> dict:
    properties = {k: v for k, v in row.items() if k not in ("lat", "lon")}
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [row["lon"], row["lat"]]}, "properties": properties}


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
