"""Staff download the list as they filtered it, as CSV or XLSX (/staff/export.csv|xlsx and the same under
/api/staff/reports/): exactly the filtered reports of their own authority, nothing a spreadsheet would run as a
formula, no reporter contact.

Personas (tests/personas.py): the Hameln Bauhof worker and lead, the Hildesheim clerk.
"""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from tests.mobile_api.staff.conftest import Client, staff_client, submit
from tests.reports.staff.test_staff_pages import Browser, logged_in

pytestmark = pytest.mark.django_db

FORMULA = "=HYPERLINK(\"http://evil.example\";\"Klick\")"
GERMAN_HEADERS = [
    "Aktenzeichen", "Erstellt", "Kategorie", "Status", "Abteilung", "Adresse", "Gemeinde", "Breitengrad",
    "Längengrad", "Fälligkeit", "Unterstützende", "Öffentliche Beschreibung",
]
ENGLISH_HEADERS = [
    "Reference number", "Created", "Category", "Status", "Department", "Street address", "Municipality", "Latitude",
    "Longitude", "Due date", "Supporters", "Public description",
]


def read_csv(response, delimiter: str = ";") -> list[list[str]]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode()), "a BOM: Excel reads UTF-8"
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=delimiter))


def read_xlsx(response):
    assert response.status_code == 200, response.content
    assert response["Content-Disposition"].startswith("attachment; filename=") and ".xlsx" in response[
        "Content-Disposition"]
    return openpyxl.load_workbook(io.BytesIO(response.content)).active


@pytest.fixture
def reports(personas, hildesheim_report) -> dict:
    """Three Hameln reports (one acknowledged, one whose text is a formula) and one in Hildesheim."""
    plain = submit(description="Schlagloch vor der Post", email="anna@example.org", name="Anna Beispiel")
    formula = submit(description=FORMULA)
    other = submit(description="Noch ein Loch")
    lead = staff_client(personas.hameln_lead)
    assert lead.post(f"/api/staff/reports/{plain['id']}/transition/", {"to": "acknowledged"},
                     format="json").status_code == 200
    return {"plain": plain, "formula": formula, "other": other, "hildesheim": hildesheim_report}


class TestTheApi:
    def test_the_csv_holds_exactly_the_filtered_reports_with_german_headers(self, personas, reports):
        worker = staff_client(personas.hameln_worker, language="de")

        rows = read_csv(worker.get("/api/staff/reports/export.csv?status=new&ordering=-created_at"))

        assert rows[0] == GERMAN_HEADERS
        assert [row[0] for row in rows[1:]] == [reports["other"]["reference"], reports["formula"]["reference"]]
        other = dict(zip(rows[0], rows[1], strict=True))
        assert other["Kategorie"] == "Schlagloch / Straßenschaden" and other["Status"] == "Neu"
        assert other["Abteilung"] == "Bauhof Hameln" and "Hameln" in other["Gemeinde"]
        assert other["Breitengrad"] == "52,103900" and other["Längengrad"] == "9,357600", "decimal commas in German"
        assert other["Öffentliche Beschreibung"] == "Noch ein Loch"
        assert other["Unterstützende"] == "0" and other["Fälligkeit"][:2] == "20"

    def test_a_cell_that_a_spreadsheet_would_run_as_a_formula_is_made_inert(self, personas, reports):
        worker = staff_client(personas.hameln_worker, language="de")

        rows = read_csv(worker.get(f"/api/staff/reports/export.csv?q={reports['formula']['reference']}"))

        assert [row[-1] for row in rows[1:]] == ["'" + FORMULA]

    def test_english_headers_commas_and_points_in_english(self, personas, reports):
        worker = staff_client(personas.hameln_worker, language="en")

        rows = read_csv(worker.get("/api/staff/reports/export.csv?status=acknowledged"), delimiter=",")

        assert rows[0] == ENGLISH_HEADERS
        assert [row[0] for row in rows[1:]] == [reports["plain"]["reference"]]
        assert rows[1][7:9] == ["52.103900", "9.357600"] and rows[1][3] == "Acknowledged"

    def test_the_xlsx_holds_the_same_reports_in_typed_cells_and_no_formula(self, personas, reports):
        worker = staff_client(personas.hameln_worker, language="de")

        sheet = read_xlsx(worker.get("/api/staff/reports/export.xlsx?ordering=-created_at"))

        rows = list(sheet.iter_rows(values_only=True))
        assert list(rows[0]) == GERMAN_HEADERS
        assert [row[0] for row in rows[1:]] == [
            reports["other"]["reference"], reports["formula"]["reference"], reports["plain"]["reference"]
        ]
        formula_cell = sheet.cell(row=3, column=12)
        assert formula_cell.data_type == "s" and formula_cell.value == FORMULA and formula_cell.quotePrefix
        assert not any(cell.data_type == "f" for row in sheet.iter_rows() for cell in row)
        assert rows[1][7] == pytest.approx(52.1039) and rows[1][10] == 0
        assert rows[1][1].year >= 2026, "a real date, not text"

    def test_no_reporter_contact_and_no_other_authority_in_any_export(self, personas, reports):
        worker = staff_client(personas.hameln_worker)

        content = worker.get("/api/staff/reports/export.csv").content
        assert b"anna@example.org" not in content and b"Anna Beispiel" not in content
        assert reports["hildesheim"]["reference"].encode() not in content
        assert reports["plain"]["reference"].encode() in content
        sheet = read_xlsx(worker.get("/api/staff/reports/export.xlsx"))
        values = {str(cell) for row in sheet.iter_rows(values_only=True) for cell in row}
        assert "anna@example.org" not in values and "Anna Beispiel" not in values
        assert reports["hildesheim"]["reference"] not in values and reports["plain"]["reference"] in values

    def test_the_hildesheim_clerk_exports_only_hildesheim(self, personas, reports):
        clerk = staff_client(personas.hildesheim_clerk)

        rows = read_csv(clerk.get("/api/staff/reports/export.csv"), delimiter=",")

        assert [row[0] for row in rows[1:]] == [reports["hildesheim"]["reference"]]

    def test_a_list_longer_than_the_limit_is_refused_with_a_400(self, personas, reports, settings):
        settings.STAFF_EXPORT_MAX_ROWS = 2
        worker = staff_client(personas.hameln_worker)

        refused = worker.get("/api/staff/reports/export.xlsx", HTTP_ACCEPT="text/csv")
        allowed = worker.get("/api/staff/reports/export.csv?status=new")

        assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == "too_many"
        assert "3" in refused.json()["errors"][0]["message"]
        assert len(read_csv(allowed, delimiter=",")) == 3

    def test_a_filter_that_cannot_be_understood_is_a_400_and_strangers_get_nothing(self, personas, reports):
        worker = staff_client(personas.hameln_worker)

        bad = worker.get("/api/staff/reports/export.csv?department=abc")
        anonymous = Client().get("/api/staff/reports/export.csv")

        assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "department"
        assert anonymous.status_code in (401, 403) and b"Hameln" not in anonymous.content


class TestTheWebApp:
    def test_the_list_links_its_exports_with_its_filters(self, personas, reports):
        browser = logged_in(personas.hameln_worker)

        page = browser.get("/staff/?status=new&q=Loch").content.decode()

        assert 'href="/staff/export.csv?status=new&amp;q=Loch"' in page
        assert 'href="/staff/export.xlsx?status=new&amp;q=Loch"' in page

    def test_the_csv_and_xlsx_hold_exactly_the_filtered_reports(self, personas, reports):
        browser = logged_in(personas.hameln_worker)
        browser.defaults["HTTP_ACCEPT_LANGUAGE"] = "de"

        rows = read_csv(browser.get("/staff/export.csv?status=new&q=noch"))
        sheet = read_xlsx(browser.get("/staff/export.xlsx?status=new&q=noch"))

        assert rows[0] == GERMAN_HEADERS
        assert [row[0] for row in rows[1:]] == [reports["other"]["reference"]]
        assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == [reports["other"]["reference"]]

    def test_the_default_list_exports_the_open_reports_of_my_departments_only(self, personas, reports):
        browser = logged_in(personas.hameln_worker)

        rows = read_csv(browser.get("/staff/export.csv"), delimiter=",")

        assert sorted(row[0] for row in rows[1:]) == sorted(
            reports[name]["reference"] for name in ("plain", "formula", "other")
        )
        assert "'" + FORMULA in [row[-1] for row in rows]

    def test_a_list_longer_than_the_limit_goes_back_to_the_list_saying_so(self, personas, reports, settings):
        settings.STAFF_EXPORT_MAX_ROWS = 2
        browser = logged_in(personas.hameln_worker)

        response = browser.get("/staff/export.xlsx?status=any", follow=True)

        assert response.redirect_chain[-1][0] == "/staff/?status=any"
        assert "an export holds at most 2" in response.content.decode()

    def test_only_staff_export(self, personas, reports):
        response = Browser().get("/staff/export.csv")

        assert response.status_code == 302 and "/staff/login/" in response["Location"]
