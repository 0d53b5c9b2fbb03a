"""Open311 test helpers: API keys, reports made through the real services, schema validation, XML parsing."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

SCHEMAS = Path(__file__).resolve().parent / "schemas"
BASE = "/open311/v2"
HAMELN_MARKET = (52.1039, 9.3576)  # lat, lon


def _registry() -> Registry:
    resources = []
    for path in SCHEMAS.glob("*.json"):
        resources.append((path.name, Resource.from_contents(json.loads(path.read_text()))))
    return Registry().with_resources(resources)


_REGISTRY = _registry()


def validate(name: str, document) -> None:
    """Validate a JSON document against tests/mobile_api/open311/schemas/<name>.json (raises on the first error)."""
    schema = json.loads((SCHEMAS / f"{name}.json").read_text())
    Draft202012Validator(schema, registry=_REGISTRY, format_checker=FormatChecker()).validate(document)


def xml(response) -> ElementTree.Element:
    assert response["Content-Type"].startswith("text/xml")
    assert response.content.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    return ElementTree.fromstring(response.content)


def xml_records(root: ElementTree.Element) -> list[dict[str, str]]:
    """The children of a list document (<services>, <service_requests>) as flat dicts of their texts."""
    return [{child.tag: (child.text or "") for child in record} for record in root]


def get(client, path: str, HTTP_ACCEPT: str = "*/*", **params):
    return client.get(f"{BASE}/{path}", params, secure=True, HTTP_ACCEPT_LANGUAGE="en", HTTP_ACCEPT=HTTP_ACCEPT)


def post(client, path: str, data: dict, **extra):
    return client.post(f"{BASE}/{path}", data, secure=True, HTTP_ACCEPT_LANGUAGE="en", **extra)


@pytest.fixture
def api_key(db) -> str:
    from mobile_api.models import Open311Client

    client = Open311Client(name="FixMyStreet")
    key = client.new_key()
    client.save()
    return key


@pytest.fixture
def make_report(demo):
    """A report submitted through reports.services, as the app would; returns the stored Report."""
    from django.contrib.gis.geos import Point

    from geo.models import Category
    from reports.services import report_submit

    def make(category: str = "schlagloch", at: tuple[float, float] = HAMELN_MARKET, **kwargs):
        lat, lon = at
        place = Point(lon, lat, srid=4326)
        return report_submit(category=Category.objects.get(slug=category), device_location=place, **kwargs).report

    return make


def record(report, kind: str, message: str = "", *, public: bool = True, to_status: str = "") -> None:
    """History as staff would leave it: events on the report (and its status), written as test data."""
    from django.utils import timezone

    from reports.models import Report, ReportEvent
    from reports.workflow import is_open

    now = timezone.now()
    ReportEvent.objects.create(report=report, kind=kind, is_public=public, message=message, created_at=now,
                               from_status=report.status if to_status else "", to_status=to_status)
    if to_status:
        closed_at = None if is_open(to_status) else now
        Report.objects.filter(pk=report.pk).update(status=to_status, updated_at=now, closed_at=closed_at)
        report.status = to_status


def errors_of(response, status: int) -> list[str]:
    """The descriptions of an Open311 error document (JSON or XML), after checking its shape and status."""
    assert response.status_code == status, response.content
    if response["Content-Type"].startswith("application/json"):
        body = response.json()
        validate("errors", body)
        assert {error["code"] for error in body} == {status}
        return [error["description"] for error in body]
    root = xml(response)
    assert root.tag == "errors"
    assert {error.findtext("code") for error in root} == {str(status)}
    return [error.findtext("description") for error in root]
