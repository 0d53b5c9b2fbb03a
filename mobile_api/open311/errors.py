"""Open311 errors: ``<errors><error><code>…</code><description>…</description></error></errors>``.

Every failure a client can cause is answered in this shape with its HTTP status, never as a 500. What the
domain refuses (reports.errors: no place, outside the service area, a bad photo) is mapped here, once.
"""

from __future__ import annotations

from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

from mobile_api.open311.renderers import Document
from reports.errors import DomainError

# The domain's input names that GeoReport v2 calls otherwise; the others (such as "location", which Open311
# sends as lat and long or address_string) are not named in the description.
_PARAMETERS = {"photos": "media"}


class Open311Error(Exception):
    def __init__(self, http_status: int, *descriptions: str) -> None:
        self.http_status = http_status
        self.descriptions = [str(d) for d in descriptions]
        super().__init__(http_status, *self.descriptions)


def error_document(http_status: int, descriptions: list[str]) -> Document:
    return Document("errors", [{"code": http_status, "description": description} for description in descriptions])


def _flatten(detail, field: str | None = None) -> list[str]:
    if isinstance(detail, dict):
        return [text for key, value in detail.items()
                for text in _flatten(value, None if key in ("non_field_errors", "detail") else str(key))]
    if isinstance(detail, list):
        return [text for item in detail for text in _flatten(item, field)]
    return [f"{field}: {detail}" if field else str(detail)]


def _domain_description(error: DomainError) -> str:
    parameter = _PARAMETERS.get((error.field or "").split(".")[0])
    return f"{parameter}: {error}" if parameter else str(error)


def exception_handler(exc: Exception, context) -> Response | None:
    headers = {}
    if isinstance(exc, Open311Error):
        http_status, descriptions = exc.http_status, exc.descriptions
    elif isinstance(exc, DomainError):
        http_status, descriptions = exc.kind.http_status, [_domain_description(exc)]
    elif isinstance(exc, Http404):
        http_status, descriptions = status.HTTP_404_NOT_FOUND, [str(exceptions.NotFound.default_detail)]
    elif isinstance(exc, exceptions.APIException):
        http_status, descriptions = exc.status_code, _flatten(exc.detail)
        wait = getattr(exc, "wait", None) if isinstance(exc, exceptions.Throttled) else None  # not in the stubs
        if wait is not None:
            headers["Retry-After"] = str(int(wait))
        if isinstance(exc, exceptions.MethodNotAllowed):
            headers["Allow"] = ", ".join(context["view"].allowed_methods)
    else:
        return None
    return Response(error_document(http_status, descriptions), status=http_status, headers=headers)
