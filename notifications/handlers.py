"""Report events → websocket groups, after commit.

Who hears what:

- ``report.<public_id>`` (the reporter's app): the public events, as their REST representation.
- ``map``: the public events of published reports, anonymised.
- ``department.<id>`` (staff): every event, internal notes included, with a summary of the report,
  to the report's department; an event that moved the report away (reassigned / forwarded / routed anew
  after a correction, with ``data["from_department"]``: the previous department's id) also to the
  previous department.

No payload carries the reporter's name, e-mail or phone: staff read those in the staff API only.

Pushes are best effort: a client that missed one (offline, or Redis briefly away) catches up with
``?after=<seq>`` from the history, so a failed push is logged, never raised into the request that
committed the event.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db.models import Q, QuerySet

from notifications.groups import MAP_GROUP, department_group, report_group
from reports.models import EventKind, ReportEvent
from reports.serializers import EventMessageSerializer, MapEventMessageSerializer, StaffEventMessageSerializer

logger = logging.getLogger(__name__)

# Events that take a report away from a department, which should still learn about it. A report's first
# "routed" event has no previous department; a correction's (reports.services.report_change) has one.
MOVES = frozenset({EventKind.REASSIGNED, EventKind.FORWARDED, EventKind.ROUTED})


# A push's payloads share one "summaries" dict (EventMessageSerializer.get_report): a submission's four events
# describe one report, whose summaries are then made once instead of once per event and group. Without one, the
# events of one call share theirs.
Summaries = dict | None


def _payloads(
    serializer: type[EventMessageSerializer], events: Sequence[ReportEvent], summaries: Summaries
) -> list[dict]:
    # One serializer for all the events: DRF builds a ModelSerializer's fields for every instance it represents,
    # which costs more than representing an event; with many=True it builds them once.
    if not events:
        return []
    context = {"summaries": {} if summaries is None else summaries}
    return [dict(item) for item in serializer(events, many=True, context=context).data]


def event_payloads(events: Sequence[ReportEvent], summaries: Summaries = None) -> list[dict]:
    """The REST representation of each event (with its seq) and its report's current state."""
    return _payloads(EventMessageSerializer, events, summaries)


def map_payloads(events: Sequence[ReportEvent], summaries: Summaries = None) -> list[dict]:
    """For the public map: anonymised, nothing but what the map shows."""
    return _payloads(MapEventMessageSerializer, events, summaries)


def staff_payloads(events: Sequence[ReportEvent], summaries: Summaries = None) -> list[dict]:
    """For the staff of a department: each event, public or not, and what a work list shows of its report."""
    return _payloads(StaffEventMessageSerializer, events, summaries)


def previous_department_id(event: ReportEvent) -> int | None:
    """The department a reassignment, forwarding or re-routing took the report away from, if the event says."""
    if event.kind not in MOVES or not isinstance(event.data, dict):
        return None
    value = event.data.get("from_department")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def staff_events(department_ids: Iterable[int]) -> QuerySet[ReportEvent]:
    """Every event the staff of these departments hear live, in seq order (for catch-up)."""
    department_ids = list(department_ids)
    return (
        ReportEvent.objects.filter(
            Q(report__department__in=department_ids)
            | Q(kind__in=MOVES, data__from_department__in=department_ids)
        )
        .select_related("report__category", "report__department", "report__authority")
        .order_by("id")
    )


def staff_groups(event: ReportEvent) -> list[str]:
    departments = [event.report.department_id, previous_department_id(event)]
    return [department_group(d) for d in dict.fromkeys(departments) if d is not None]


def messages_for(events: Sequence[ReportEvent]) -> list[tuple[int, str, dict]]:
    """(event id, group, payload) for events (seq order, their reports loaded), in the order they are sent: for each
    event its report's group, the map (public events of published reports), then the staff groups."""
    summaries: dict = {}
    public = [event for event in events if event.is_public]
    on_map = [event for event in public if event.report.is_published]
    groups = {event.pk: staff_groups(event) for event in events}
    for_staff = [event for event in events if groups[event.pk]]
    report_payloads = dict(zip([e.pk for e in public], event_payloads(public, summaries), strict=True))
    public_map = dict(zip([e.pk for e in on_map], map_payloads(on_map, summaries), strict=True))
    staff = dict(zip([e.pk for e in for_staff], staff_payloads(for_staff, summaries), strict=True))
    messages = []
    for event in events:
        if event.pk in report_payloads:
            messages.append((event.pk, report_group(event.report.public_id), report_payloads[event.pk]))
        if event.pk in public_map:
            messages.append((event.pk, MAP_GROUP, public_map[event.pk]))
        messages += [(event.pk, group, staff[event.pk]) for group in groups[event.pk]]
    return messages


def push_events(sender, event_ids: list[int], events: list[ReportEvent] | None = None, **kwargs) -> None:
    """Receiver of ``events_committed``. The events as the use case handed them on (a new report's), or else
    read back with their reports as they are now."""
    if events is None:
        events = list(
            ReportEvent.objects.filter(pk__in=event_ids)
            .select_related("report__category", "report__department", "report__authority")
            .defer("report__authority__boundary")
            .order_by("id")
        )
    messages = messages_for(events)
    if messages:
        # One trip into the event loop for all of them: each async_to_sync costs a few ms (a new loop when the
        # caller has none), and a submission sends four or five messages. Sent one after the other, in order.
        async_to_sync(_send_all)(get_channel_layer(), messages)


async def _send_all(layer, messages: list[tuple[int, str, dict]]) -> None:
    for event_id, group, payload in messages:
        try:
            await layer.group_send(group, {"type": "report.event", "payload": payload})
        except Exception:  # noqa: BLE001 (any layer failure: the event is committed, clients catch up)
            logger.warning("push of event %s to %s failed; clients will catch up", event_id, group, exc_info=True)
