"""The public map: clusters per cell at low zoom, anonymised points at high zoom, within a bounded view."""

from __future__ import annotations

import math

from django.contrib.gis.db.models.functions import SnapToGrid
from django.db.models import Avg, Count, QuerySet, Sum

from geo.models import Category
from reports.errors import InvalidParameter
from reports.filters import BBox, bbox_polygon, parse_bbox, parse_integer
from reports.mapcells import POINTS_FROM_ZOOM, cell_size
from reports.models import MapCell, Report
from reports.publicdata import version
from reports.publicdata.lists import Filters, PointX, PointY, visible_reports
from reports.workflow import STATUS_TYPE

# A map view may span at most this many tiles across (4096 px): bounds clusters and points per request.
MAX_TILES_ACROSS = 16
# Points are capped even within a valid view; ``truncated`` says when there were more.
MAX_POINTS = 5000


def max_view_degrees(zoom: int) -> float:
    return 360.0 * MAX_TILES_ACROSS / (2**zoom)


def too_large(bbox: BBox, zoom: int) -> bool:
    """Whether a view is wider or taller than a map answers at this zoom (``max_view_degrees``)."""
    limit = max_view_degrees(zoom)
    return bbox[2] - bbox[0] > limit or bbox[3] - bbox[1] > limit


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
        reports = filters.apply(visible_reports()).in_area(frame)
        features, properties["truncated"] = _points(reports)
    return {"type": "FeatureCollection", "features": features, "properties": properties}


def extent(bbox: BBox, zoom: int) -> BBox:
    """The area whose reports an answer for ``bbox`` at ``zoom`` is made from: clusters count whole cells, so at
    their zooms it widens to the cells the bbox touches (the answer's ``properties.bbox``)."""
    if zoom >= POINTS_FROM_ZOOM:
        return bbox
    size = cell_size(zoom)
    lon_from, lon_to = _cell_range(bbox[0], bbox[2], size)
    lat_from, lat_to = _cell_range(bbox[1], bbox[3], size)
    return (lon_from - 0.5) * size, (lat_from - 0.5) * size, (lon_to + 0.5) * size, (lat_to + 0.5) * size


def version_areas(query) -> list[int] | None:
    """The areas of the public data's version (``version.areas_of_view``) on which the map's answer to a query
    (``bbox`` and ``zoom`` as a client sent them) depends; None for a query that is not a valid view."""
    try:
        bbox = parse_bbox(query.get("bbox") or "")
        zoom = parse_integer(query.get("zoom") or "", minimum=0, maximum=22)
    except InvalidParameter:
        return None
    if too_large(bbox, zoom):
        return None
    return version.areas_of_view(extent(bbox, zoom))


def _cell_range(low: float, high: float, size: float) -> tuple[int, int]:
    # Cells are centred on multiples of size; take every cell that reaches into [low, high].
    return math.ceil((low - size / 2) / size - 1e-9), math.floor((high + size / 2) / size + 1e-9)


def _clusters(bbox, zoom: int, filters: Filters) -> tuple[list[dict], tuple[float, float, float, float]]:
    size = cell_size(zoom)
    lon_from, lon_to = _cell_range(bbox[0], bbox[2], size)
    lat_from, lat_to = _cell_range(bbox[1], bbox[3], size)
    covered = extent(bbox, zoom)
    margin = size / 4  # centres lie a whole cell apart: no float equality needed
    if filters.authorities or filters.area or filters.created_after or filters.created_before:
        # Not pre-counted: count the reports themselves (slower; the public map never asks this).
        frame = bbox_polygon(covered)
        reports = filters.apply(visible_reports()).in_area(frame)
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
        reports.annotate(cx=PointX(SnapToGrid("location", size)), cy=PointY(SnapToGrid("location", size)))
        .values("cx", "cy")
        .annotate(count=Count("pk"), lon=Avg(PointX("location")), lat=Avg(PointY("location")))
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
        reports.annotate(lon=PointX("location"), lat=PointY("location"))
        .values_list("public_id", "category__slug", "status", "lon", "lat")
        .order_by("-created_at", "-pk")[: MAX_POINTS + 1]
    )
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
            "properties": {
                "id": str(public_id), "category": category, "status": status, "status_type": STATUS_TYPE[status],
            },
        }
        for public_id, category, status, lon, lat in rows[:MAX_POINTS]
    ]
    return features, len(rows) > MAX_POINTS
