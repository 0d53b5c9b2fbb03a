"""The site's own 404 and 500 pages (German or English, in the public design) for HTML requests; the APIs keep
answering in their own formats (backend.api_errors).

Django shows its technical pages instead of the handlers when DEBUG is on. For the public site and the staff
app a visitor should see what they will see in production, so ``DebugErrorPages`` puts the designed pages in
front there too; the traceback of a 500 still goes to the log.
"""

from __future__ import annotations

import logging
import sys

from django.conf import settings
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext

logger = logging.getLogger("django.request")

# Paths that are no web pages of the site: APIs with their own error formats, the admin (Django's own design),
# files, and the health checks.
_NOT_PAGES = ("/api/", "/open311/", "/admin/", "/static/", "/media/", "/healthz", "/readyz")

_TEMPLATES = {404: "404.html", 500: "500.html", 503: "503.html"}


def is_site_page(request: HttpRequest) -> bool:
    return not request.path.startswith(_NOT_PAGES)


def error_page(request: HttpRequest, status: int) -> HttpResponse:
    """The designed page for ``status``; a plain text if even that cannot be drawn (a 500 may come from a broken
    template or database, and must not fail again)."""
    try:
        body = render_to_string(_TEMPLATES[status], {"request_path": request.path}, request=request)
    except Exception:  # noqa: BLE001 - the last resort of a failing request
        logger.exception("The %s page could not be drawn", status)
        text = gettext("A server error occurred.") if status >= 500 else gettext("Not found.")
        return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")
    response = HttpResponse(body, status=status)
    response.designed_error_page = True  # type: ignore[attr-defined]
    return response


class DebugErrorPages:
    """With DEBUG on: the designed 404 and 500 pages for HTML pages of the site, and the JSON error of the API
    for an unknown API address, instead of Django's technical pages (which would also show the settings and the
    URL list to whoever asks)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            settings.DEBUG
            and response.status_code == 404
            and not getattr(response, "designed_error_page", False)
            and response.get("Content-Type", "").startswith("text/html")
        ):
            if request.path.startswith("/api/"):
                body = {"errors": [{"field": None, "code": "not_found", "message": gettext("Not found.")}]}
                return JsonResponse(body, status=404)
            if is_site_page(request):
                return error_page(request, 404)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not settings.DEBUG or not is_site_page(request) or isinstance(
            exception, (Http404, PermissionDenied, BadRequest, SuspiciousOperation)
        ):
            return None
        logger.error(
            "Internal Server Error: %s", request.path, exc_info=sys.exc_info(), extra={"status_code": 500}
        )
        return error_page(request, 500)
