"""Upgrading an installation: every boundary gets a first version, and the reports made since their authority last
changed refer to it (migrations geo 0005 and reports 0012, run by ``manage.py migrate`` as an operator would)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import manage

pytestmark = pytest.mark.backend_independent

BEFORE = """
from datetime import datetime, timezone as tz
from django.contrib.gis.geos import GEOSGeometry, Point
from django.db import connection
from django.db.migrations.loader import MigrationLoader

apps = MigrationLoader(connection).project_state(
    [("geo", "0004_authority_photo_settings"), ("reports", "0011_publicdataversion")]
).apps
Authority, Category = apps.get_model("geo", "Authority"), apps.get_model("geo", "Category")
Report, ReportEvent = apps.get_model("reports", "Report"), apps.get_model("reports", "ReportEvent")
square = GEOSGeometry("MULTIPOLYGON(((9.3 52.0, 9.4 52.0, 9.4 52.1, 9.3 52.1, 9.3 52.0)))", srid=4326)
hameln = Authority.objects.create(name="Hameln", slug="hameln", kind="municipality", boundary=square, area_km2=76.0)
Authority.objects.filter(pk=hameln.pk).update(updated_at=datetime(2026, 3, 1, tzinfo=tz.utc))
Authority.objects.create(name="Straßenbau", slug="strassenbau", kind="external")
category = Category.objects.create(slug="graffiti", name_de="Graffiti", name_en="Graffiti")

def report(reference, day):
    at = datetime(2026, *day, 12, tzinfo=tz.utc)
    return Report.objects.create(
        reference=reference, category=category, location=Point(9.35, 52.05, srid=4326), authority=hameln,
        secret_hash="x", created_at=at, updated_at=at,
    )

report("HM-2026-000001", (2, 1))
report("HM-2026-000002", (4, 1))
forwarded = report("HM-2026-000003", (4, 2))
ReportEvent.objects.create(report=forwarded, kind="forwarded", created_at=forwarded.created_at)
"""

AFTER = """
import json
from geo.models import Authority, BoundaryVersion
from reports.models import Report

print(json.dumps({
    "authorities": {a.slug: a.boundary_version_id for a in Authority.objects.all()},
    "versions": [
        [v.pk, v.authority.slug, v.valid_from.isoformat(), v.valid_until, v.area_km2,
         v.boundary.equals(v.authority.boundary)]
        for v in BoundaryVersion.objects.all()
    ],
    "reports": {r.reference: r.boundary_version_id for r in Report.objects.all()},
}))
"""


def test_migrating_gives_each_boundary_a_first_version_and_the_reports_made_since_refer_to_it(tmp_path):
    env = {"DEBUG": "true", "DATA_DIR": str(tmp_path), "DATABASE_URL": f"spatialite:///{tmp_path}/db.sqlite3"}
    for target in (("reports", "0011_publicdataversion"), ("geo", "0004_authority_photo_settings")):
        result = manage("migrate", *target, "-v0", env=env)
        assert result.returncode == 0, result.stderr
    result = manage("shell", "-c", BEFORE, env=env)
    assert result.returncode == 0, result.stderr

    result = manage("migrate", "-v0", env=env, timeout=300)
    assert result.returncode == 0, result.stderr

    result = manage("shell", "-c", AFTER, env=env)
    assert result.returncode == 0, result.stderr
    state = json.loads(result.stdout.strip().splitlines()[-1])
    [[version, slug, valid_from, valid_until, area, same_geometry]] = state["versions"]
    assert (slug, valid_from, valid_until, area, same_geometry) == (
        "hameln", "2026-03-01T00:00:00+00:00", None, 76.0, True
    )
    assert state["authorities"] == {"hameln": version, "strassenbau": None}
    # Made before Hameln last changed: its boundary then is unknown. Forwarded: not routed to Hameln by a boundary.
    assert state["reports"] == {"HM-2026-000001": None, "HM-2026-000002": version, "HM-2026-000003": None}
