"""Structured logs (``LOG_FORMAT=json``): every record of the standard library's logging as one JSON object per
line, with the request id of the request it was made in (bound by backend.middleware.RequestId).

    {"event": "Not Found: /api/v1/nothing/", "request_id": "3f2a…", "level": "warning",
     "logger": "django.request", "timestamp": "2026-12-07T06:30:00.123456Z", "status_code": 404}

The application logs through ``logging.getLogger(__name__)`` as before; structlog only renders.
"""

from __future__ import annotations

import logging

import structlog

# What a record's ``extra`` may add: Django's status code, and the request line's fields (backend.middleware).
EXTRA_KEYS = ["status_code", "method", "path", "status", "duration_ms"]


def json_formatter() -> logging.Formatter:
    """The formatter of LOGGING's "json" handler."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.contextvars.merge_contextvars,  # request_id
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            # logger.info(..., extra={...}) of these keys only: Django's own records carry the whole request too.
            structlog.stdlib.ExtraAdder(allow=EXTRA_KEYS),
            structlog.processors.TimeStamper(fmt="iso", utc=True),
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            # An exception as data, not as lines of text; without the frames' local variables (a request's data).
            structlog.processors.ExceptionRenderer(structlog.tracebacks.ExceptionDictTransformer(show_locals=False)),
            structlog.processors.JSONRenderer(default=str),
        ],
    )
