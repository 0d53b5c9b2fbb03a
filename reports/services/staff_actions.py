"""Staff work on a report.

Each use case locks the report row, checks who may do what, changes the report and appends its events in
one transaction; listeners hear of the events through publish_after_commit.
"""

from __future__ import annotations

from django.contrib.gis.geos import Point
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import get_language, override
from django.utils.translation import gettext_lazy as _

from geo.models import Authority, AuthorityKind, Category, Department, StaffRole
from geo.routing import route
from reports.deadlines import due_at
from reports.errors import InvalidChange
from reports.models import EventKind, Moderation, PhotoKind, Report, ReportEvent, ResponseTemplate, Support
from reports.permissions import actor_role
from reports.photos import PhotoUpload
from reports.services.common import (
    files_removed_on_failure,
    locked_with_role,
    metres_between,
    new_event,
    note_events,
    record,
    store_photo,
)
from reports.services.submission import opening_events
from reports.workflow import Need, Status, check_transition, is_open, may_move_to_another_authority


def _status_change(report: Report, to: str, actor, message: str, data: dict | None = None) -> ReportEvent:
    event = new_event(report, EventKind.STATUS_CHANGED, actor, message=message.strip(), data=data,
                   from_status=report.status, to_status=to)
    now = event.created_at
    report.status = to
    if is_open(to):
        report.closed_at = None
        if event.from_status and not is_open(event.from_status):
            # A reopened report gets a fresh deadline from now.
            report.due_at = due_at(now, report.category.target_working_days, report.authority.ars)
    else:
        report.closed_at = now
    return event


def report_transition(
    *, report: Report, to: str, actor, message: str = "", note: str = "",
    duplicate_of: Report | None = None, authority: Authority | None = None,
) -> Report:
    """Move a report to status ``to``. ``actor`` None is the reporter (through the follow-up mail's link).

    Raises NotPermitted, TransitionError or InvalidChange (reports.errors).
    """
    if to == Status.DUPLICATE and duplicate_of is not None:
        return report_mark_duplicate(report=report, original=duplicate_of, actor=actor, message=message, note=note)
    if to == Status.FORWARDED and authority is not None:
        return report_forward(report=report, authority=authority, actor=actor, message=message, note=note)
    with transaction.atomic():
        report, role = locked_with_role(report, actor)
        given = {Need.REASON} if message.strip() else set()
        check_transition(report.status, to, role, given=given)
        events = [_status_change(report, to, actor, message), *note_events(report, actor, note)]
        record(report, events, "status", "closed_at", "due_at")
    return report


def report_answer(*, report: Report, actor, message: str) -> Report:
    """A public answer without a status change."""
    if not message.strip():
        raise InvalidChange("message", _("The answer is empty."), "required")
    with transaction.atomic():
        report, _role = locked_with_role(report, actor)
        record(report, [new_event(report, EventKind.PUBLIC_ANSWER, actor, message=message.strip())])
    return report


def report_note(*, report: Report, actor, note: str) -> Report:
    """An internal note: staff only, never in a public output."""
    if not note.strip():
        raise InvalidChange("note", _("The note is empty."), "required")
    with transaction.atomic():
        report, _role = locked_with_role(report, actor)
        record(report, note_events(report, actor, note))
    return report


def report_moderate(*, report: Report, actor, moderation: str, note: str = "") -> Report:
    """Release a report held for review (publishing policy "after review"), or hide one from the public.

    For leads and authority admins: what the public sees of a report is the authority's word.
    """
    if moderation not in Moderation.values:
        raise InvalidChange("moderation", _("Unknown moderation state."))
    with transaction.atomic():
        report, role = locked_with_role(report, actor)
        if role not in (StaffRole.LEAD, StaffRole.AUTHORITY_ADMIN):
            raise InvalidChange("moderation", _("Only leads may release or hide reports."), "not_permitted")
        if report.moderation == moderation:
            raise InvalidChange("moderation", _("The report is already in this state."))
        events = [
            new_event(
                report, EventKind.MODERATED, actor, public=False, data={"from": report.moderation, "to": moderation}
            ),
            *note_events(report, actor, note),
        ]
        report.moderation = moderation
        record(report, events, "moderation")
    return report


def report_reassign(*, report: Report, department: Department, actor, note: str = "") -> Report:
    """Hand the report to another department of the same authority (forward it to reach another authority)."""
    with transaction.atomic():
        report, _role = locked_with_role(report, actor)
        if department.authority_id != report.authority_id:
            raise InvalidChange(
                "department", _("This department belongs to another authority; forward the report instead.")
            )
        if department.pk == report.department_id:
            raise InvalidChange("department", _("The report is already with this department."))
        _require_open(report)
        events = [
            new_event(report, EventKind.REASSIGNED, actor, message=department.name, data={
                "from_department": report.department_id, "to_department": department.pk,
                "from_department_name": report.department.name if report.department else None,
                "to_department_name": department.name,
            }),
            *note_events(report, actor, note),
        ]
        report.department = department
        record(report, events, "department")
    return report


def report_forward(*, report: Report, authority: Authority, actor, message: str = "", note: str = "") -> Report:
    """Forward to another authority: within the platform it moves there and starts anew; an external body
    (e.g. the state road authority) gets it by e-mail and the report closes as forwarded."""
    with transaction.atomic():
        report, role = locked_with_role(report, actor)
        check_transition(report.status, Status.FORWARDED, role, given={Need.TARGET})
        if authority.pk == report.authority_id:
            raise InvalidChange("authority", _("The report is already with this authority."))
        external = authority.kind == AuthorityKind.EXTERNAL or authority.default_department_id is None
        if external and not authority.email:
            raise InvalidChange("authority", _("This authority has no e-mail address to forward to."))
        data = {"from_authority": report.authority.slug, "from_authority_name": str(report.authority),
                "to_authority": authority.slug,
                "to_authority_name": str(authority), "external": external,
                "from_department": report.department_id}
        if external:
            data["email"] = authority.email
        events = [new_event(report, EventKind.FORWARDED, actor, message=message.strip(), data=data)]
        if external:
            events.append(_status_change(report, Status.FORWARDED, actor, "", {"authority": authority.slug}))
        else:
            report.authority = authority
            report.department = authority.default_department
            if report.status != Status.NEW:
                events.append(_status_change(report, Status.NEW, actor, ""))
            report.routing_reason = str(_("Forwarded by %(from)s.") % {"from": data["from_authority_name"]})
            report.due_at = due_at(timezone.now(), report.category.target_working_days, authority.ars)
        events += note_events(report, actor, note)
        record(report, events, "status", "closed_at", "authority", "department", "routing_reason", "due_at")
    return report


def report_mark_duplicate(*, report: Report, original: Report, actor, message: str = "", note: str = "") -> Report:
    """Close a report as a duplicate of ``original``; its supporters (and, through the event, its subscribers)
    move there."""
    with transaction.atomic():
        report, role = locked_with_role(report, actor)
        check_transition(report.status, Status.DUPLICATE, role, given={Need.ORIGINAL})
        original = Report.objects.select_for_update().get(pk=(original.duplicate_of_id or original.pk))
        if original.pk == report.pk:
            raise InvalidChange("duplicate_of", _("A report cannot be a duplicate of itself."))
        if original.authority_id != report.authority_id and actor_role(actor, original) is None:
            raise InvalidChange("duplicate_of", _("The original report was not found."), "not_found")
        moved = Support.objects.filter(report=report).update(report=original)
        report.duplicate_of = original
        events = [
            _status_change(report, Status.DUPLICATE, actor, message, {"original": original.reference}),
            *note_events(report, actor, note),
        ]
        record(report, events, "status", "closed_at", "duplicate_of")
        # The duplicate's reporter counts as one more supporter of the original.
        original.support_count = F("support_count") + moved + 1
        merged = new_event(original, EventKind.MERGED, actor, data={
            "duplicate": report.reference, "duplicate_id": str(report.public_id),
        })
        record(original, [merged], "support_count")
        report.duplicate_of.refresh_from_db(fields=["support_count"])
    return report


def report_add_photos(*, report: Report, actor, photos: list[PhotoUpload], kind: str = PhotoKind.FIX) -> Report:
    """Add photos (staff: usually of the fix), through the same pipeline as the citizen's."""
    if not photos:
        raise InvalidChange("photos", _("Attach at least one photo."), "required")
    with files_removed_on_failure(), transaction.atomic():
        report, _role = locked_with_role(report, actor)
        events = []
        for photo in photos:
            stored = store_photo(report, photo, kind)
            events.append(new_event(report, EventKind.PHOTO_ADDED, actor, data={"photo": stored.pk, "kind": kind}))
        record(report, events)
    return report


def report_change(*, report: Report, actor, category: Category | None = None, location: Point | None = None,
                  note: str = "") -> Report:
    """Correct a report's category or location; routing decides anew and the decision is recorded.

    Raises OutsideServiceArea (reports.errors) for a location outside the service area, and InvalidChange
    (code "not_permitted") when the new routing would take the report to another authority and the actor's
    role may not forward reports.
    """
    with transaction.atomic():
        report, role = locked_with_role(report, actor)
        _require_open(report)
        events = []
        if category is not None and category.pk != report.category_id:
            events.append(new_event(report, EventKind.CATEGORY_CHANGED, actor, data={
                "from": report.category.slug, "to": category.slug,
            }))
            report.category = category
            report.due_at = due_at(report.created_at, category.target_working_days, report.authority.ars)
        if location is not None and not location.equals_exact(report.location, tolerance=1e-9):
            events.append(new_event(report, EventKind.LOCATION_CHANGED, actor, data={
                "from": [report.location.y, report.location.x], "to": [location.y, location.x],
                "distance_m": round(metres_between(report.location, location), 1),
            }))
            report.location = location
            report.address = ""
        if not events:
            raise InvalidChange("category", _("Nothing to change: give another category or location."))
        decision = route(report.category, report.location)
        if decision.authority.pk != report.authority_id and not may_move_to_another_authority(role):
            raise InvalidChange(
                "location" if location is not None else "category",
                _("This change would move the report to %(authority)s. Only leads may hand a report to another "
                  "authority: ask a lead to forward it.") % {"authority": decision.authority},
                "not_permitted",
            )
        routed = opening_events(decision, timezone.now())[1]
        routed.actor = actor
        routed.data["previous_authority"] = report.authority.slug
        routed.data["previous_department"] = report.department.slug if report.department else None
        # The department's id, as reassigned and forwarded events carry it: the department the report
        # leaves still hears of the move (notifications.handlers), live and on catch-up.
        routed.data["from_department"] = report.department_id
        events.append(routed)
        if decision.authority.pk != report.authority_id:
            report.due_at = due_at(timezone.now(), report.category.target_working_days, decision.authority.ars)
        report.authority, report.department = decision.authority, decision.department
        report.routing_reason = decision.reason
        report.boundary_version_id = decision.authority.boundary_version_id  # the version current now
        for event in events:
            event.report = report
        events += note_events(report, actor, note)
        record(
            report, events, "category", "location", "address", "authority", "department", "routing_reason",
            "boundary_version", "due_at",
        )
    return report


def _require_open(report: Report) -> None:
    if not is_open(report.status):
        raise InvalidChange("status", _("The report is closed; reopen it first."), "closed")


class _Placeholders(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def response_templates(report: Report, *, status: str | None = None, language: str = "de") -> list[dict]:
    """The prepared answers offered for this report (and a target status), placeholders filled in, in ``language``;
    their titles in the language of the staff member who reads them."""
    reader_english = (get_language() or "de").startswith("en")
    with override(language):
        return _response_templates(report, status, language, reader_english)


def _response_templates(report: Report, status: str | None, language: str, reader_english: bool) -> list[dict]:
    templates = ResponseTemplate.objects.filter(
        Q(category__isnull=True) | Q(category=report.category_id),
        Q(authority__isnull=True) | Q(authority=report.authority_id),
    )
    if status:
        templates = templates.filter(Q(status="") | Q(status=status))
    # The most specific first: a category's own answers before the general ones.
    templates = templates.order_by(F("category").asc(nulls_last=True), "sort_order", "title")
    values = _Placeholders(
        reference=report.reference, category=report.category.name, address=report.address or "",
        authority=str(report.authority), department=report.department.name if report.department else "",
    )
    result = []
    for template in templates:
        text = template.text_en if language.startswith("en") and template.text_en else template.text
        title = template.title_en if reader_english and template.title_en else template.title
        result.append({"id": template.pk, "title": title, "status": template.status or None,
                       "text": text.format_map(values)})
    return result
