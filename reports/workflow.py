"""The status workflow of a report: statuses, their types, and the allowed transitions.

Open311 maps the status types to ``open``/``closed``. Who may make a transition and what each
needs (a reason, the original, a target) is checked by the services that perform it.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    NEW = "new", _("New")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    IN_PROGRESS = "in_progress", _("In progress")
    REOPENED = "reopened", _("Reopened")
    FIXED = "fixed", _("Fixed")
    REJECTED = "rejected", _("Rejected")
    DUPLICATE = "duplicate", _("Duplicate")
    FORWARDED = "forwarded", _("Forwarded")


class StatusType(models.TextChoices):
    OPEN = "open", _("open")
    CLOSED = "closed", _("closed")
    FIXED = "fixed", _("fixed")


STATUS_TYPE: dict[str, StatusType] = {
    Status.NEW: StatusType.OPEN,
    Status.ACKNOWLEDGED: StatusType.OPEN,
    Status.IN_PROGRESS: StatusType.OPEN,
    Status.REOPENED: StatusType.OPEN,
    Status.FIXED: StatusType.FIXED,
    Status.REJECTED: StatusType.CLOSED,
    Status.DUPLICATE: StatusType.CLOSED,
    Status.FORWARDED: StatusType.CLOSED,
}

OPEN_STATUSES = frozenset(s for s, t in STATUS_TYPE.items() if t == StatusType.OPEN)
CLOSED_STATUSES = frozenset(STATUS_TYPE) - OPEN_STATUSES

_CLOSE = {Status.FIXED, Status.REJECTED, Status.DUPLICATE, Status.FORWARDED}

TRANSITIONS: dict[str, frozenset[str]] = {
    Status.NEW: frozenset({Status.ACKNOWLEDGED, Status.IN_PROGRESS, *_CLOSE}),
    Status.ACKNOWLEDGED: frozenset({Status.IN_PROGRESS, *_CLOSE}),
    Status.IN_PROGRESS: frozenset({Status.ACKNOWLEDGED, *_CLOSE}),
    Status.REOPENED: frozenset({Status.ACKNOWLEDGED, Status.IN_PROGRESS, *_CLOSE}),
    Status.FIXED: frozenset({Status.REOPENED}),
    Status.REJECTED: frozenset({Status.REOPENED}),
    Status.DUPLICATE: frozenset({Status.REOPENED}),
    Status.FORWARDED: frozenset({Status.REOPENED}),
}


def is_open(status: str) -> bool:
    return status in OPEN_STATUSES


def allowed_transitions(status: str) -> frozenset[str]:
    return TRANSITIONS[status]


def can_transition(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())
