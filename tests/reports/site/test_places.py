"""Places on the public pages: the street address when geocoding found one, and the Stadt or Gemeinde where
the place lies (not the authority that answers for it, which may be the Landkreis)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from geo.models import Authority
from reports.models import Report
from tests.reports.site.conftest import BAD_PYRMONT, file_report

pytestmark = pytest.mark.django_db


def _queries(visitor, path: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert visitor.get(path).status_code == 200
    return len(queries)


def test_the_list_names_the_gemeinde_of_the_place_even_when_the_landkreis_is_responsible(demo, visitor):
    dumping = file_report(
        category="wilder-muell", at=BAD_PYRMONT, description="Sperrmüll am Waldrand",
        answers={"muellart": ["sperrmuell"]},
    )
    assert dumping.authority.kind == "county"  # the Landkreis' Abfallwirtschaft answers for it
    pyrmont = Authority.objects.get(slug="bad-pyrmont")

    page = visitor.get("/meldungen/").content.decode()
    row = page.split(f">{dumping.reference}</a>")[1].split("</tr>")[0]

    assert f'<span class="municipality">{pyrmont}</span>' in row
    assert "Landkreis" not in row


def test_the_list_and_the_report_page_show_the_street_address_once_it_is_known(demo, visitor):
    report = file_report()
    Report.objects.filter(pk=report.pk).update(address="Pferdemarkt 1, 31785 Hameln")

    listed = visitor.get("/meldungen/").content.decode()
    page = visitor.get(f"/meldungen/{report.reference}/").content.decode()

    for html in (listed, page):
        assert '<span class="address">Pferdemarkt 1, 31785 Hameln</span>' in html
        assert f'<span class="municipality">{Authority.objects.get(slug="hameln")}</span>' in html


def test_a_page_of_the_list_costs_the_same_queries_for_one_report_as_for_many(demo, visitor):
    file_report()
    _queries(visitor, "/meldungen/")  # the first view also loads what is cached for later ones
    one = _queries(visitor, "/meldungen/")
    for _ in range(6):
        file_report(at=BAD_PYRMONT)
    assert _queries(visitor, "/meldungen/") == one


def test_the_gemeinde_filter_of_the_list_and_of_area_alerts_reads_no_boundary(demo, visitor):
    # Every list page offers each Stadt and Gemeinde to filter by; a Land's boundaries (about a thousand, of
    # thousands of points each) read and parsed for a choice of names would cost every page view about a second.
    for path in ("/meldungen/", "/mail/alerts/"):
        with CaptureQueriesContext(connection) as queries:
            page = visitor.get(path)
        assert page.status_code == 200
        assert '<option value="bad-pyrmont">' in page.content.decode()
        selected = [query["sql"].split(" FROM ")[0] for query in queries if '"geo_authority"' in query["sql"]]
        assert selected and not [columns for columns in selected if "boundary" in columns], selected
