"""What the public may see of reports, in bulk: map clusters and points, list filters, statistics, open data.

Plain functions without HTTP; the public pages and ``/api/v1/`` render their results.
``lists`` (which reports are public, filters, the list), ``map``, ``stats`` and ``export`` (open data).

Two sets of reports are public:
- *visible* reports (map, list, statistics): published ones, and those of authorities that publish
  after review which are still waiting for it — of those the public sees category, location and
  status only (``is_released``); hidden reports and non-public categories never appear;
- *released* reports (open-data export): published ones only (``Report.objects.published()``).

Nothing here ever reads a reporter's name, e-mail, phone or device, an internal note or a photo.
"""

from reports.publicdata.export import LICENSE, csv_chunks, export_batches, geojson_chunks
from reports.publicdata.lists import (
    Filters,
    ListPaginator,
    is_released,
    public_list,
    released_reports,
    statuses_for,
    visible_reports,
)
from reports.publicdata.map import MAX_POINTS, map_features
from reports.publicdata.map import too_large as map_view_too_large
from reports.publicdata.map import version_areas as map_version_areas
from reports.publicdata.stats import statistics, statistics_last_12_months, twelve_months_ago

__all__ = [
    "LICENSE", "MAX_POINTS", "Filters", "ListPaginator", "csv_chunks", "export_batches", "geojson_chunks",
    "is_released", "map_features", "map_version_areas", "map_view_too_large", "public_list", "released_reports",
    "statistics", "statistics_last_12_months", "statuses_for", "twelve_months_ago", "visible_reports",
]
