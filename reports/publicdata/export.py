"""Open data: the released reports as CSV and GeoJSON, streamed in keyset batches, with their licence."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime

from django.db.models import F, QuerySet
from django.utils.translation import get_language

from reports.models import StatusLabel
from reports.publicdata.lists import Filters, PointX, PointY, released_reports
from reports.workflow import STATUS_TYPE

# Open data licence of the exports (https://www.govdata.de/dl-de/by-2-0).
LICENSE = {
    "name": "Datenlizenz Deutschland – Namensnennung – Version 2.0",
    "id": "dl-de/by-2-0",
    "url": "https://www.govdata.de/dl-de/by-2-0",
}


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
        .annotate(
            lon=PointX("location"), lat=PointY("location"),
            category_name=F("category__name_en" if english else "category__name_de"),
        )
        .values(
            "pk", "public_id", "reference", "category__slug", "category_name", "status", "authority__name",
            "authority__designation", "authority__ags", "lat", "lon", "address", "description", "public_description",
            "support_count",
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
        "description": row["public_description"] or row["description"],  # Report.public_text
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
    return {
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [row["lon"], row["lat"]]},
        "properties": properties,
    }


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
