"""The status workflow of a report: statuses, their types, who may move a report where, and what each move needs.

Statuses are fixed codes with a fixed type (open / closed / fixed); their German and English
labels are data (``reports.StatusLabel``), editable in the admin. Open311 maps the types to
``open``/``closed``. This module is pure: the services that perform a transition call
``check_transition`` (which raises reports.errors.TransitionError) and record the event.
"""

from __future__ import annotations

from enum import Enum

from django.db import models
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from geo.models import StaffRole
from reports.errors import TransitionError


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

# The status graph: where a report can go from where it is, whoever asks.
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


# Who acts on a report: a staff member in one of the stored roles (geo.StaffRole, per department), or the
# reporter, who holds no account and no stored role and acts only through the signed link of their report.
REPORTER = "reporter"

_STAFF = frozenset(StaffRole)
_LEADS = frozenset({StaffRole.LEAD, StaffRole.AUTHORITY_ADMIN})

# Who may move a report into a status. Workers do the field work; turning a report down,
# handing it to another body or reopening a closed one is for leads. A reporter may only say
# "not fixed" (reopen a fixed report, from the follow-up mail).
ROLES_FOR_TARGET: dict[str, frozenset[str]] = {
    Status.ACKNOWLEDGED: _STAFF,
    Status.IN_PROGRESS: _STAFF,
    Status.FIXED: _STAFF,
    Status.DUPLICATE: _STAFF,
    Status.REJECTED: _LEADS,
    Status.FORWARDED: _LEADS,
    Status.REOPENED: _LEADS | {REPORTER},
}
REPORTER_REOPENS_FROM = frozenset({Status.FIXED})


def may_move_to_another_authority(role: str) -> bool:
    """Whether ``role`` may send a report to another authority. A corrected category or location that routes
    the report away has the same effect as forwarding it, so it needs the same role: otherwise a worker could
    hand a report to another authority by moving its pin, which forwarding forbids them."""
    return role in ROLES_FOR_TARGET[Status.FORWARDED]


class Need(Enum):
    """What a transition needs besides the target status."""

    REASON = "message"  # a public reason, for rejected
    ORIGINAL = "duplicate_of"  # the original report, for duplicate
    TARGET = "authority"  # where it goes, for forwarded


NEEDS: dict[str, Need] = {
    Status.REJECTED: Need.REASON,
    Status.DUPLICATE: Need.ORIGINAL,
    Status.FORWARDED: Need.TARGET,
}

NEED_MESSAGES = {
    Need.REASON: _("A rejection needs a public reason in 'message'."),
    Need.ORIGINAL: _("Marking a duplicate needs the original report in 'duplicate_of'."),
    Need.TARGET: _("Forwarding needs the receiving authority in 'authority'."),
}


def is_open(status: str) -> bool:
    return status in OPEN_STATUSES


def allowed_transitions(status: str, role: str | None = None) -> list[str]:
    """Where a report in ``status`` may go; for ``role`` only what that role may do. Sorted as the graph reads."""
    order = list(Status.values)
    targets: frozenset[str] | set[str] = TRANSITIONS.get(status, frozenset())
    if role is not None:
        targets = {t for t in targets if _role_may(role, status, t)}
    return sorted(targets, key=order.index)


def can_transition(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())


def _role_may(role: str, from_status: str, to_status: str) -> bool:
    if role not in ROLES_FOR_TARGET.get(to_status, frozenset()):
        return False
    return role != REPORTER or from_status in REPORTER_REOPENS_FROM


def check_transition(from_status: str, to_status: str, role: str, *, given: set[Need]) -> None:
    """Raise TransitionError unless ``role`` may move a report from ``from_status`` to ``to_status`` with ``given``."""
    allowed = tuple(allowed_transitions(from_status, role))
    if to_status not in Status.values:
        raise TransitionError("invalid_choice", "to", format_lazy(_("Unknown status '{}'."), to_status), allowed)
    if to_status not in allowed:
        names = ", ".join(allowed) or str(_("none"))
        if can_transition(from_status, to_status):
            message = format_lazy(_("Your role may not set this status. Allowed for you: {}."), names)
            raise TransitionError("not_permitted", "to", message, allowed)
        message = format_lazy(
            _("A report in status '{}' cannot go to '{}'. Allowed: {}."), from_status, to_status, names
        )
        raise TransitionError("invalid_transition", "to", message, allowed)
    need = NEEDS.get(to_status)
    if need is not None and need not in given:
        raise TransitionError("required", need.value, NEED_MESSAGES[need], allowed)
