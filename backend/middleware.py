"""Request checks and response headers that hold for every endpoint, before any view or database sees the input."""

from __future__ import annotations

import logging
import re
import time
import uuid
from urllib.parse import urlsplit

import structlog
from django.conf import settings
from django.http import HttpResponse
from django.utils.translation import gettext as _

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

request_log = logging.getLogger("openmelder.request")

# An id a proxy or an app sent along (X-Request-ID) is taken if it looks like one; anything else (too long,
# spaces, quotes, line breaks) is replaced by a new one, so a client cannot write into the logs.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")


def request_id(given: str) -> str:
    """The id of a request: the one the client sent if it is plausible, else a new one."""
    return given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


def log_request(method: str, path: str, status: int, started: float) -> None:
    """The "request" line of JSON logs (``RequestId``)."""
    if settings.LOG_FORMAT == "json" and path != "/metrics":  # a scrape every few seconds is no news
        request_log.info("request", extra={
            "method": method, "path": path[:200], "status": status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        })


class RequestId:
    """Every request gets an id: the client's ``X-Request-ID`` if it is a plausible one, else a new random one.
    It is returned as ``X-Request-ID``, and every log record made while the request is handled carries it
    (structlog's context variables; rendered with ``LOG_FORMAT=json``, backend.logs). With JSON logs, one
    "request" line per request: method, path (never the query string), status and duration; no address, no
    user, nothing personal."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = request_id_ = request_id(request.headers.get("X-Request-ID", ""))
        # A fresh context per request; it is not cleared at the end, so that the handler's own records after the
        # middleware (Django's "Not Found: …") still carry the id. Under ASGI every request has a context of its own.
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id_)
        started = time.perf_counter()
        response = self.get_response(request)
        response["X-Request-ID"] = request_id_
        log_request(request.method, request.path, response.status_code, started)
        return response


class RejectNulCharacters:
    """A NUL character is never valid text here, and PostgreSQL cannot store or even compare it: a request
    carrying one in a parameter, a form field or JSON gets a 400 in the format of its API, not a 500."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        field = self._field_with_nul(request)
        if field is not None:
            return self._refuse(request, field)
        return self.get_response(request)

    def _field_with_nul(self, request) -> str | None:
        for key, value in request.GET.lists():
            if "\x00" in key or any("\x00" in item for item in value):
                return key.replace("\x00", "")
        if request.method not in ("POST", "PUT", "PATCH"):
            return None
        content_type = request.content_type or ""
        if content_type.startswith(FORM_TYPES):
            # Parsed once here; Django keeps the result and DRF reads it from there.
            for key, value in request.POST.lists():
                if "\x00" in key or any("\x00" in item for item in value):
                    return key.replace("\x00", "")
            for key in request.FILES:
                if "\x00" in key:
                    return key.replace("\x00", "")
        elif content_type == "application/json" and (b"\\u0000" in request.body or b"\x00" in request.body):
            return ""  # somewhere in the document
        return None

    def _refuse(self, request, field: str) -> HttpResponse:
        from backend.api_errors import error_response

        return error_response(
            request, 400, "null_characters", _("Text must not contain NUL characters."), field or None
        )


# Pages whose third-party templates still carry inline scripts (the admin, django-leaflet's map tag on
# staff pages, Swagger UI): they keep 'unsafe-inline' for scripts. All public pages are strict.
INLINE_SCRIPT_PATHS = ("/admin/", "/staff/", "/api/docs/")


def _tile_origin(url: str) -> str:
    parts = urlsplit(url.replace("{s}", "tiles"))
    host = parts.netloc.replace("tiles.", "*.", 1) if "{s}" in url else parts.netloc
    return f"{parts.scheme}://{host}" if parts.scheme and host else ""


class SecurityHeaders:
    """A Content-Security-Policy and a Permissions-Policy on every HTML page (Django 5.2 has no CSP of its own;
    SecurityMiddleware and XFrameOptionsMiddleware set the other headers)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.tiles = _tile_origin(settings.TILE_URL)

    def __call__(self, request):
        response = self.get_response(request)
        if not response.get("Content-Type", "").startswith("text/html") or "Content-Security-Policy" in response:
            return response
        host = request.get_host()
        scripts = "'self' 'unsafe-inline'" if request.path.startswith(INLINE_SCRIPT_PATHS) else "'self'"
        styles = "'self' 'unsafe-inline'" if request.path.startswith(INLINE_SCRIPT_PATHS) else "'self'"
        response["Content-Security-Policy"] = "; ".join([
            "default-src 'self'",
            f"script-src {scripts}",
            f"style-src {styles}",
            f"img-src 'self' data: blob: {self.tiles}".strip(),
            f"connect-src 'self' ws://{host} wss://{host}",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ])
        # The staff app asks for the position (sorting by distance) and the camera (fix photos).
        response["Permissions-Policy"] = "geolocation=(self), camera=(self), microphone=(), payment=(), usb=()"
        return response
