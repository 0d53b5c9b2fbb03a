"""Staff act on several reports at once: acknowledge them, start work on them, or hand them to a department.

Each report goes through the same use case as a single action (``report_transition``, ``report_reassign``), in a
transaction of its own with its own event and its own notifications: one report that cannot be changed (another
authority's, already acknowledged, closed) is refused on its own and the others still change. The answer lists
the outcome per report, in the order asked.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from geo.models import Department
from reports.errors import DomainError, InvalidChange, NotPermitted
from reports.models import Report
from reports.permissions import staff_roles
from reports.services.staff_actions import report_reassign, report_transition
from reports.workflow import Status

# How many reports one request may change: a page of the staff list (the API's largest page is 200).
MAX_BULK_REPORTS = 200
# A report key is a public id (36 characters) or a reference (e.g. HM-2026-000123).
MAX_KEY_LENGTH = 64


class BulkAction(models.TextChoices):
    ACKNOWLEDGE = "acknowledge", _("Acknowledge")
    IN_PROGRESS = "in_progress", _("Start work")
    REASSIGN = "reassign", _("Hand over to a department")


TARGET_STATUS = {BulkAction.ACKNOWLEDGE: Status.ACKNOWLEDGED, BulkAction.IN_PROGRESS: Status.IN_PROGRESS}


@dataclass
class BulkOutcome:
    """What became of one report: ``report`` as it now is, or the ``error`` that refused it."""

    key: str
    report: Report | None = None
    error: DomainError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def bulk_keys(keys: Sequence[object]) -> list[str]:
    """The report keys of a bulk request, each once, in the order given. Raises InvalidChange (field "reports")
    for an empty list, too many reports or a key that is no text."""
    if not keys:
        raise InvalidChange("reports", _("Select at least one report."), "required")
    unique: list[str] = []
    seen: set[str] = set()
    for key in keys:
        if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY_LENGTH:
            raise InvalidChange("reports", _("Each report is given by its id or its reference."))
        if _normal(key.strip()) not in seen:
            seen.add(_normal(key.strip()))
            unique.append(key.strip())
    if len(unique) > MAX_BULK_REPORTS:
        raise InvalidChange(
            "reports", _("At most %(max)d reports at once.") % {"max": MAX_BULK_REPORTS}, "too_many"
        )
    return unique


def assignable_departments(roles: dict[int, str]):
    """The departments a staff member may hand reports to: the active ones of the authorities they work for
    (``roles``: reports.permissions.staff_roles)."""
    return Department.objects.filter(authority_id__in=list(roles), active=True)


def reports_bulk_action(
    *, actor, action: str, keys: Sequence[object], department: Department | None = None, message: str = "",
    note: str = "",
) -> list[BulkOutcome]:
    """Apply ``action`` to the reports named by ``keys`` (public ids or references), one transaction per report.

    Raises InvalidChange for a request that cannot be carried out at all (unknown action, no or too many reports,
    reassign without a department); what concerns one report only is in its outcome. A report the actor may not
    see is refused as "not found", as a report that does not exist: its existence is not leaked.
    """
    if action not in BulkAction.values:
        raise InvalidChange("action", _("Unknown action."), "invalid_choice")
    if action != BulkAction.REASSIGN:
        department = None
    elif department is None:
        raise InvalidChange("department", _("Choose the department to hand the reports to."), "required")
    elif not assignable_departments(staff_roles(actor)).filter(pk=department.pk).exists():
        raise InvalidChange("department", _("You cannot hand reports to this department."), "not_found")
    wanted = bulk_keys(keys)
    found = _visible_reports(actor, wanted)
    outcomes = []
    for key in wanted:
        report = found.get(_normal(key))
        if report is None:
            outcomes.append(BulkOutcome(key, error=NotPermitted()))
            continue
        try:
            if department is not None:
                changed = report_reassign(report=report, department=department, actor=actor, note=note)
            else:
                changed = report_transition(
                    report=report, to=TARGET_STATUS[BulkAction(action)], actor=actor, message=message, note=note
                )
        except DomainError as error:
            outcomes.append(BulkOutcome(key, report=report, error=error))
        else:
            outcomes.append(BulkOutcome(key, report=changed))
    return outcomes


def _normal(key: str) -> str:
    """A key as ``_visible_reports`` files it: a public id in its canonical form, a reference in capitals."""
    try:
        return str(uuid.UUID(key))
    except ValueError:
        return key.upper()


def _visible_reports(actor, keys: list[str]) -> dict[str, Report]:
    """The reports among ``keys`` the actor may see, by public id (as text) and by reference."""
    ids, references = [], []
    for key in keys:
        try:
            ids.append(uuid.UUID(key))
        except ValueError:
            references.append(_normal(key))
    reports = Report.objects.for_staff(actor).filter(Q(public_id__in=ids) | Q(reference__in=references))
    found: dict[str, Report] = {}
    for report in reports.select_related("category", "authority", "department"):
        found[str(report.public_id)] = report
        found[report.reference] = report
    return found
