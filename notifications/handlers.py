"""Report events → websocket groups, after commit.

Pushes are best effort: a client that missed one (offline, or Redis briefly away) catches up with
``?after=<seq>`` from the report's history, so a failed push is logged, never raised into the
request that committed the event.
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from notifications.groups import MAP_GROUP, report_group
from reports.models import Report, ReportEvent
from reports.serializers import EventSerializer

logger = logging.getLogger(__name__)


def event_payload(event: ReportEvent) -> dict:
    """The REST representation of the event (with its seq) and the report's current state."""
    report = event.report
    return {
        **EventSerializer(event).data,
        "report": {
            "id": str(report.public_id),
            "status": report.status,
            "status_label": report.get_status_display(),
            "support_count": report.support_count,
        },
    }


def map_payload(event: ReportEvent) -> dict:
    """For the public map: anonymised, nothing but what the map shows."""
    report = event.report
    return {
        "seq": event.id,
        "kind": event.kind,
        "report": {
            "id": str(report.public_id),
            "category": report.category.slug,
            "status": report.status,
            "location": {"lat": report.location.y, "lon": report.location.x},
        },
    }


def push_events(sender, event_ids: list[int], **kwargs) -> None:
    events = (
        ReportEvent.objects.filter(pk__in=event_ids, is_public=True)
        .select_related("report__category")
        .order_by("id")
    )
    published = set(Report.objects.published().filter(events__in=event_ids).values_list("pk", flat=True))
    layer = get_channel_layer()
    for event in events:
        messages = [(report_group(event.report.public_id), event_payload(event))]
        if event.report_id in published:
            messages.append((MAP_GROUP, map_payload(event)))
        for group, payload in messages:
            try:
                async_to_sync(layer.group_send)(group, {"type": "report.event", "payload": payload})
            except Exception:  # noqa: BLE001 (any layer failure: the event is committed, clients catch up)
                logger.warning("push of event %s to %s failed; clients will catch up", event.id, group, exc_info=True)
