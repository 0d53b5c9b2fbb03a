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
from collections.abc import Iterable, Iterator

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db.models import Q, QuerySet

from notifications.groups import MAP_GROUP, department_group, report_group
from reports.models import EventKind, Report, ReportEvent
from reports.serializers import EventMessageSerializer, MapEventMessageSerializer, StaffEventMessageSerializer

logger = logging.getLogger(__name__)

# Events that take a report away from a department, which should still learn about it. A report's first
# "routed" event has no previous department; a correction's (reports.services.report_change) has one.
MOVES = frozenset({EventKind.REASSIGNED, EventKind.FORWARDED, EventKind.ROUTED})


# A push's payloads share one "summaries" dict (EventMessageSerializer.get_report): a submission's four events
# describe one report, whose summaries are then made once instead of once per event and group.
Summaries = dict | None


def event_payload(event: ReportEvent, summaries: Summaries = None) -> dict:
    """The REST representation of the event (with its seq) and the report's current state."""
    return dict(EventMessageSerializer(event, context={"summaries": summaries}).data)


def map_payload(event: ReportEvent, summaries: Summaries = None) -> dict:
    """For the public map: anonymised, nothing but what the map shows."""
    return dict(MapEventMessageSerializer(event, context={"summaries": summaries}).data)


def staff_payload(event: ReportEvent, summaries: Summaries = None) -> dict:
    """For the staff of a department: the event, public or not, and what a work list shows of the report."""
    return dict(StaffEventMessageSerializer(event, context={"summaries": summaries}).data)


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


def messages_for(event: ReportEvent, published: bool, summaries: Summaries = None) -> Iterator[tuple[str, dict]]:
    """(group, payload) pairs for one event."""
    if event.is_public:
        yield report_group(event.report.public_id), event_payload(event, summaries)
        if published:
            yield MAP_GROUP, map_payload(event, summaries)
    groups = staff_groups(event)
    if groups:
        payload = staff_payload(event, summaries)
        for group in groups:
            yield group, payload


def push_events(sender, event_ids: list[int], **kwargs) -> None:
    events = (
        ReportEvent.objects.filter(pk__in=event_ids)
        .select_related("report__category", "report__department", "report__authority")
        .order_by("id")
    )
    published = set(Report.objects.published().filter(events__in=event_ids).values_list("pk", flat=True))
    summaries: dict = {}
    messages = [
        (event.id, group, payload)
        for event in events
        for group, payload in messages_for(event, event.report_id in published, summaries)
    ]
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
