"""One error shape for every JSON API: ``{"errors": [{"field": …, "code": …, "message": …}]}``.

The message is in the request's language (Accept-Language, German by default); ``field`` is null
for errors that concern the whole request. A domain error (geo.errors.DomainError: what a service, the
workflow, the photo pipeline or routing refuses) is answered here for every DRF JSON API, with the status
of its kind and its extra keys (e.g. ``allowed_transitions``); the views do not catch them.
"""

from __future__ import annotations

import errno
import sys

from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, DataError, IntegrityError, InterfaceError
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views import defaults
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler, set_rollback

from backend import error_pages
from geo.errors import DomainError


def _flatten(detail, field: str | None = None) -> list[dict]:
    if isinstance(detail, dict):
        errors = []
        for key, value in detail.items():
            name = None if key in ("non_field_errors", "detail") else (f"{field}.{key}" if field else str(key))
            errors.extend(_flatten(value, name))
        return errors
    if isinstance(detail, list):
        return [error for item in detail for error in _flatten(item, field)]
    return [{"field": field, "code": getattr(detail, "code", "invalid"), "message": str(detail)}]


def domain_error_response(error: DomainError) -> Response:
    """A domain error as this format's answer: 400, 404 or 409 by its kind; one that carries several problems
    (``errors``, e.g. reports.errors.AnswerErrors) lists each."""
    set_rollback()
    problems = getattr(error, "errors", None) or [error]
    errors = [{"field": problem.field, "code": problem.code, "message": str(problem.message)} for problem in problems]
    body = {"errors": errors, **error.extra}
    return Response(body, status=error.kind.http_status)


def api_exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return domain_error_response(exc)
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.APIException):
        response.data = {"errors": _flatten(exc.detail), **getattr(exc, "extra", {})}
    elif isinstance(response.data, dict) and set(response.data) == {"detail"}:
        # Django's Http404 and PermissionDenied, as DRF turned them into responses.
        code = "not_found" if response.status_code == 404 else "permission_denied"
        response.data = {"errors": [{"field": None, "code": code, "message": str(response.data["detail"])}]}
    return response


def error_response(request, status: int, code: str, message, field: str | None = None) -> HttpResponse:
    """An error in the format of the API the request went to: JSON under /api/, the GeoReport v2 error
    document under /open311/ (XML unless the URL ends in .json), plain text elsewhere."""
    message = str(message)
    if request.path.startswith("/api/"):
        return JsonResponse({"errors": [{"field": field, "code": code, "message": message}]}, status=status)
    if request.path.startswith("/open311/"):
        from mobile_api.open311.errors import error_document
        from mobile_api.open311.renderers import JSONRenderer, XMLRenderer

        renderer = JSONRenderer() if request.path.endswith(".json") else XMLRenderer()
        body = renderer.render(error_document(status, [f"{field}: {message}" if field else message]))
        return HttpResponse(body, status=status, content_type=f"{renderer.media_type}; charset=utf-8")
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


def bad_request(request, exception=None):
    """400 for requests Django refuses before any view (413 for a body over the size limits)."""
    if isinstance(exception, RequestDataTooBig):
        return error_response(request, 413, "too_large", _("The request is too large."))
    if request.path.startswith(("/api/", "/open311/")):
        return error_response(request, 400, "bad_request", _("The request could not be read."))
    return defaults.bad_request(request, exception)


def _json_or_page(request, status: int, code: str, message, page_view, **kwargs):
    if request.path.startswith("/api/"):
        return JsonResponse({"errors": [{"field": None, "code": code, "message": str(message)}]}, status=status)
    return page_view(request, **kwargs)


def not_found(request, exception=None):
    """404 for URLs no view matched: JSON under /api/, the site's designed page for its web pages, Django's
    plain page elsewhere (the admin, files)."""
    if request.path.startswith("/api/") or not error_pages.is_site_page(request):
        return _json_or_page(request, 404, "not_found", _("Not found."), defaults.page_not_found, exception=exception)
    return error_pages.error_page(request, 404)


# A database that is down or a full or failing media disk is a temporary outage, not a bug:
# clients get 503 and are told when to try again. (Only an interrupted transaction's work is lost,
# and that was never committed.)
RETRY_AFTER_SECONDS = 30
_STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EACCES}


def _outage(exc: BaseException | None) -> bool:
    if isinstance(exc, (DatabaseError, InterfaceError)) and not isinstance(exc, (IntegrityError, DataError)):
        return True
    return isinstance(exc, OSError) and exc.errno in _STORAGE_ERRNOS


def server_error(request):
    """500 (or 503 for an outage): JSON under /api/ with no detail, a plain page elsewhere."""
    if _outage(sys.exc_info()[1]):
        message = _("The service is briefly unavailable. Please try again in a moment.")
        if request.path.startswith("/api/"):
            response = JsonResponse(
                {"errors": [{"field": None, "code": "service_unavailable", "message": str(message)}]}, status=503
            )
        elif error_pages.is_site_page(request):
            response = error_pages.error_page(request, 503)
        else:
            response = HttpResponse(str(message), content_type="text/plain; charset=utf-8", status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    if request.path.startswith("/api/") or not error_pages.is_site_page(request):
        return _json_or_page(request, 500, "server_error", _("A server error occurred."), defaults.server_error)
    return error_pages.error_page(request, 500)
