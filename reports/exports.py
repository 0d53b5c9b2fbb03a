"""Staff export the list they filtered (staff web app and staff API) as CSV or XLSX, for the Bauhof's spreadsheet.

What a row holds: reference, created, category, status, department, address, municipality, coordinates, due
date, supporters and the public description — no reporter contact (names and e-mail addresses do not leave the
system in files that nobody can recall), no internal notes. Headers are in the request's language (German by
default).

CSV is written for the spreadsheet a German office opens it with: UTF-8 with a byte order mark, and in German
``;`` between fields and a decimal comma (German Excel reads ``52.1039`` as a thousands-separated whole number);
in English ``,`` and a decimal point. Dates are local time, ``YYYY-MM-DD HH:MM``. XLSX has typed cells (numbers,
dates) and needs no such choice.

A text cell that a spreadsheet would run as a formula (one starting with ``= + - @``, a tab or a carriage return)
is made inert: in CSV it gets a leading apostrophe, in XLSX it is a text cell marked as quoted (Excel's own "text
that looks like a formula").

Exports are bounded (``settings.STAFF_EXPORT_MAX_ROWS``): a list with more reports is refused with a request to
narrow the filters, so one export never holds the server for minutes. The rows are read in chunks.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from reports.errors import DomainError, lazy_message
from reports.models import Report, StatusLabel

COLUMNS = [
    ("reference", _("Reference number")),
    ("created", _("Created")),
    ("category", _("Category")),
    ("status", _("Status")),
    ("department", _("Department")),
    ("address", _("Street address")),
    ("locality", _("Municipality")),
    ("lat", _("Latitude")),
    ("lon", _("Longitude")),
    ("due", _("Due date")),
    ("supporters", _("Supporters")),
    ("description", _("Public description")),
]
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DATE_FORMAT = "%Y-%m-%d %H:%M"
CHUNK = 500


class ExportTooLarge(DomainError):
    """The filtered list has more reports than one export may hold."""

    code = "too_many"

    def __init__(self, count: int, maximum: int) -> None:
        template = _("The list has %(count)d reports; an export holds at most %(max)d. Narrow the filters.")
        params = {"count": count, "max": maximum}
        super().__init__(lazy_message(lambda: str(template) % params), field=None, code=self.code)


def export_rows(reports: QuerySet[Report]) -> list[dict[str, Any]]:
    """The rows of an export of ``reports`` (already filtered to what the user may see, in the list's order).

    Raises ExportTooLarge beyond ``settings.STAFF_EXPORT_MAX_ROWS`` reports."""
    maximum = settings.STAFF_EXPORT_MAX_ROWS
    count = reports.count()
    if count > maximum:
        raise ExportTooLarge(count, maximum)
    chosen = reports.select_related("category", "authority", "department").prefetch_related(None)
    return [_row(report) for report in chosen.iterator(chunk_size=CHUNK)]


def _row(report: Report) -> dict[str, Any]:
    return {
        "reference": report.reference,
        "created": _local(report.created_at),
        "category": report.category.name,
        "status": StatusLabel.label(report.status),
        "department": report.department.name if report.department else "",
        "address": report.address,
        "locality": str(report.authority),
        "lat": round(report.location.y, 6),
        "lon": round(report.location.x, 6),
        "due": _local(report.due_at),
        "supporters": report.support_count,
        "description": report.public_text,
    }


def _local(moment: datetime | None) -> datetime | None:
    """Local wall-clock time without a zone: what a spreadsheet shows and XLSX stores."""
    return timezone.localtime(moment).replace(tzinfo=None) if moment else None


def headers() -> list[str]:
    return [str(label) for _key, label in COLUMNS]


def is_formula_like(value: object) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def _german() -> bool:
    return not (get_language() or "de").startswith("en")


def csv_text(rows: list[dict[str, Any]]) -> str:
    """The rows as CSV for a spreadsheet in the active language (see the module's docstring), with its BOM."""
    german = _german()
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";" if german else ",", lineterminator="\r\n")
    writer.writerow(headers())
    for row in rows:
        writer.writerow([_csv_cell(row[key], german) for key, _label in COLUMNS])
    return buffer.getvalue()


def _csv_cell(value: object, german: bool) -> object:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime(DATE_FORMAT)
    if isinstance(value, float):
        text = f"{value:.6f}"
        return text.replace(".", ",") if german else text
    if is_formula_like(value):
        return "'" + str(value)
    return value


def xlsx_bytes(rows: list[dict[str, Any]]) -> bytes:
    """The rows as an XLSX workbook: one sheet, a bold header row with a filter, typed cells."""
    from xlsxwriter import Workbook  # only exports need it: not loaded by every process at start

    output = io.BytesIO()
    workbook = Workbook(output, {"in_memory": True})
    sheet = workbook.add_worksheet(str(_("Reports"))[:31])
    bold = workbook.add_format({"bold": True})
    dates = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    coordinates = workbook.add_format({"num_format": "0.000000"})
    formats = {"dates": dates, "coordinates": coordinates, "quoted": workbook.add_format({"quote_prefix": True})}
    for column, title in enumerate(headers()):
        sheet.write_string(0, column, title, bold)
    for number, row in enumerate(rows, start=1):
        for column, (key, _label) in enumerate(COLUMNS):
            _xlsx_cell(sheet, number, column, key, row[key], formats)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(len(rows), 1), len(COLUMNS) - 1)
    for column, width in enumerate([16, 16, 24, 16, 24, 32, 24, 11, 11, 16, 10, 60]):
        sheet.set_column(column, column, width)
    workbook.close()
    return output.getvalue()


def _xlsx_cell(sheet, row: int, column: int, key: str, value: object, formats: dict) -> None:
    # Every text goes through write_string: XlsxWriter's write() would store "=…" as a formula.
    if value is None or value == "":
        sheet.write_blank(row, column, None)
    elif isinstance(value, datetime):
        sheet.write_datetime(row, column, value, formats["dates"])
    elif isinstance(value, (int, float)):
        sheet.write_number(row, column, value, formats["coordinates"] if key in ("lat", "lon") else None)
    else:
        text = str(value)
        sheet.write_string(row, column, text, formats["quoted"] if is_formula_like(text) else None)


def filename(extension: str) -> str:
    return f"meldungen-{timezone.localdate():%Y-%m-%d}.{extension}"
