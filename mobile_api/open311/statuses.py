"""How our workflow statuses read to Open311 clients that understand extended statuses (FixMyStreet).

FixMyStreet's client lower-cases an update's ``status`` and reads underscores as spaces, so ``IN_PROGRESS``
becomes its state "in progress"; FIXED, NOT_COUNCILS_RESPONSIBILITY, NO_FURTHER_ACTION, OPEN and CLOSED
are mapped to its own states. A table, not code: a new workflow status needs one row here.
``external_status_code`` carries our own status code next to it, for clients with finer mappings.
"""

from __future__ import annotations

from reports.workflow import Status

# Workflow status -> extended Open311 status (the upper-case form FixMyStreet sends and accepts).
EXTENDED_STATUS: dict[str, str] = {
    Status.NEW: "OPEN",
    Status.ACKNOWLEDGED: "INVESTIGATING",
    Status.IN_PROGRESS: "IN_PROGRESS",
    Status.REOPENED: "OPEN",
    Status.FIXED: "FIXED",
    # Turned down with a public reason: closed without a fix ("unable to fix" in FixMyStreet), not "closed",
    # which a client without extended statuses would read as fixed.
    Status.REJECTED: "NO_FURTHER_ACTION",
    Status.DUPLICATE: "DUPLICATE",
    # Handed to a body outside the platform (an internal forward reopens the report as "new" instead).
    Status.FORWARDED: "NOT_COUNCILS_RESPONSIBILITY",
}

# What FixMyStreet sends as ``status`` with a citizen's update (plain: OPEN/CLOSED; extended: the rest).
CLIENT_STATUSES = frozenset({
    "OPEN", "CLOSED", "FIXED", "IN_PROGRESS", "ACTION_SCHEDULED", "INVESTIGATING", "DUPLICATE",
    "NOT_COUNCILS_RESPONSIBILITY", "NO_FURTHER_ACTION", "INTERNAL_REFERRAL", "FOR_TRIAGE", "CANCELLED", "REOPEN",
})
# The statuses by which a citizen's update says "this is not fixed": a request to reopen a closed report.
REOPEN_REQUESTS = frozenset({"OPEN", "REOPEN"})


def extended_status(status: str) -> str:
    return EXTENDED_STATUS.get(status, "OPEN")
