"""Area alerts by e-mail: new reports and/or status changes in a municipality, a radius or a drawn area.

- ``alert_request`` stores the alert (unconfirmed) and queues its confirmation mail; nothing else is sent
  until the link in it is used (``alert_confirm``). Unconfirmed alerts go after a week (the sweep).
- Matching is no work of the request that changed a report: the delivery planning, inside that transaction,
  writes one ``Delivery`` of channel "match" per event that may interest alerts (only if any alert is
  confirmed). The worker runs it through ``MatchTransport``: it finds the alerts the report matches and writes
  one mail ``Delivery`` per address (its key makes it once per event and address), so a retried matching
  never mails twice.
- Only published reports in public categories, and only what their public page shows.
- Every alert mail carries a signed link (and RFC 8058 headers) that deletes the alert.
"""

from __future__ import annotations

import hashlib
import json
import math
import secrets
from datetime import datetime, timedelta

from django.contrib.gis.geos import GEOSException, GEOSGeometry, LinearRing, Point, Polygon
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from geo.errors import DomainError
from geo.models import EQUAL_AREA_SRID, Authority, AuthorityKind, Category
from geo.spatial_sql import index_candidates
from notifications.delivery.transports import NotApplicable
from notifications.delivery.worker import enqueue
from notifications.models import (
    AlertScope,
    AreaAlert,
    Channel,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    confirm_by_token,
    hash_token,
    normalise_address,
)
from reports.models import EventKind, Moderation, Report, ReportEvent

RADIUS_MIN_M = 50
RADIUS_MAX_M = 10_000
AREA_MAX_VERTICES = 200
AREA_MAX_KM2 = 100.0
AREA_MAX_CHARS = 20_000
# An alert that was never confirmed is deleted after this many days (as followers are).
UNCONFIRMED_ALERT_DAYS = 7
# Vertices of the polygon that circumscribes a radius (the index prefilter; the exact distance decides).
CIRCLE_VERTICES = 64
EARTH_RADIUS_M = 6_371_008.8
UNSUBSCRIBE_SALT = "notifications.alert-unsubscribe"
MUNICIPAL_KINDS = (AuthorityKind.MUNICIPALITY, AuthorityKind.INDEPENDENT_CITY)

NEW = "new"
STATUS = "status"


# --- What an alert may cover ----------------------------------------------------------------------

def municipalities() -> QuerySet[Authority]:
    """The Gemeinden one can subscribe to: municipalities and independent cities with a boundary (not read: a form's
    choice needs only their names)."""
    return Authority.objects.filter(kind__in=MUNICIPAL_KINDS, boundary__isnull=False).only(
        *Authority.LABEL_FIELDS).order_by("name")


def alert_categories() -> QuerySet[Category]:
    """Categories whose reports are public: an alert can tell of no others."""
    return Category.objects.filter(is_public=True, active=True)


def _invalid(field: str, code: str, message) -> DomainError:
    return DomainError(message, field=field, code=code)


def in_service_area(geometry: GEOSGeometry) -> bool:
    """The geometry lies within the installation's area: the union of the boundaries of its top authorities."""
    tops = Authority.objects.filter(parent__isnull=True, boundary__isnull=False)
    boundaries: list[GEOSGeometry] = [
        a.boundary for a in tops.filter(index_candidates(Authority, "boundary", geometry))
        .filter(boundary__intersects=geometry) if a.boundary is not None
    ]
    if not boundaries:
        return False
    union = boundaries[0]
    for boundary in boundaries[1:]:
        union = union.union(boundary)
    return bool(union.covers(geometry))


def check_point(lat: float, lon: float) -> Point:
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise _invalid("location", "invalid", _("The place has no valid coordinates."))
    point = Point(lon, lat, srid=4326)
    if not in_service_area(point):
        raise _invalid("location", "outside_service_area", _("This place is outside the service area."))
    return point


def check_radius(radius: object) -> int:
    if isinstance(radius, bool) or not isinstance(radius, int) or not RADIUS_MIN_M <= radius <= RADIUS_MAX_M:
        raise _invalid("radius", "out_of_range", _("Choose a radius between %(low)d m and %(high)d km.") % {
            "low": RADIUS_MIN_M, "high": RADIUS_MAX_M // 1000})
    return radius


def parse_area(text: str) -> Polygon:
    """A drawn area from GeoJSON (a Polygon, or a Feature of one): one closed ring of [lon, lat] positions,
    a valid geometry, at most AREA_MAX_VERTICES corners and AREA_MAX_KM2, within the service area."""
    if len(text) > AREA_MAX_CHARS:
        raise _invalid("area", "too_long", _("The drawn area has too many corners."))
    try:
        data = json.loads(text)
    except ValueError:
        raise _invalid("area", "invalid", _("The area must be a GeoJSON polygon.")) from None
    if isinstance(data, dict) and data.get("type") == "Feature":
        data = data.get("geometry")
    if not isinstance(data, dict) or data.get("type") != "Polygon" or not isinstance(data.get("coordinates"), list):
        raise _invalid("area", "invalid", _("The area must be a GeoJSON polygon."))
    rings = data["coordinates"]
    if len(rings) != 1 or not isinstance(rings[0], list):
        raise _invalid("area", "invalid", _("The area must be one polygon without holes."))
    ring = rings[0]
    if len(ring) - 1 > AREA_MAX_VERTICES:
        raise _invalid("area", "too_many_vertices", _("The drawn area has too many corners: at most %(count)d.") % {
            "count": AREA_MAX_VERTICES})
    positions = []
    for position in ring:
        if (not isinstance(position, list) or len(position) != 2
                or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in position)
                or not (-180 <= position[0] <= 180 and -90 <= position[1] <= 90)):
            raise _invalid("area", "invalid", _("Every corner of the area needs a longitude and a latitude."))
        positions.append((float(position[0]), float(position[1])))
    if len(positions) < 4 or positions[0] != positions[-1]:
        raise _invalid("area", "not_closed", _("The area must be closed: at least three corners, the last one "
                                               "repeating the first."))
    try:
        polygon = Polygon(LinearRing(positions), srid=4326)
    except (GEOSException, ValueError, TypeError):
        raise _invalid("area", "invalid", _("The area must be a GeoJSON polygon.")) from None
    if not polygon.valid:
        raise _invalid("area", "invalid_geometry", _("The area's border must not cross itself."))
    if polygon.transform(EQUAL_AREA_SRID, clone=True).area / 1_000_000 > AREA_MAX_KM2:
        raise _invalid("area", "too_large", _("The drawn area is too large: at most %(km2)d km².") % {
            "km2": int(AREA_MAX_KM2)})
    if not in_service_area(polygon):
        raise _invalid("area", "outside_service_area", _("The drawn area must lie within the service area."))
    return polygon


def circle(center: Point, radius_m: float) -> Polygon:
    """A polygon that contains the circle of ``radius_m`` metres around ``center`` (on the sphere)."""
    outer = radius_m / math.cos(math.pi / CIRCLE_VERTICES) / EARTH_RADIUS_M  # angular radius, circumscribed
    lat1, lon1 = math.radians(center.y), math.radians(center.x)
    positions = []
    for i in range(CIRCLE_VERTICES):
        bearing = 2 * math.pi * i / CIRCLE_VERTICES
        lat2 = math.asin(math.sin(lat1) * math.cos(outer) + math.cos(lat1) * math.sin(outer) * math.cos(bearing))
        lon2 = lon1 + math.atan2(math.sin(bearing) * math.sin(outer) * math.cos(lat1),
                                 math.cos(outer) - math.sin(lat1) * math.sin(lat2))
        positions.append((math.degrees(lon2), math.degrees(lat2)))
    positions.append(positions[0])
    return Polygon(LinearRing(positions), srid=4326)


def distance_m(a: Point, b: Point) -> float:
    """Great-circle distance in metres (haversine)."""
    lat1, lat2 = math.radians(a.y), math.radians(b.y)
    dlat, dlon = lat2 - lat1, math.radians(b.x - a.x)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


# --- Subscribing -----------------------------------------------------------------------------------

def _spec_hash(alert: AreaAlert, category_ids: list[int]) -> str:
    spec = {
        "scope": alert.scope, "authority": alert.authority_id, "radius": alert.radius_m,
        "center": [round(alert.center.x, 6), round(alert.center.y, 6)] if alert.center else None,
        "area": alert.area.wkt if alert.area and alert.scope == AlertScope.AREA else None,
        "new": alert.new_reports, "status": alert.status_changes, "categories": sorted(category_ids),
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def alert_request(
    *, address: str, language: str, municipality: Authority | None = None, center: Point | None = None,
    radius_m: int | None = None, area: Polygon | None = None, new_reports: bool = True, status_changes: bool = False,
    categories: list[Category] | None = None,
) -> AreaAlert:
    """Store an unconfirmed alert and queue its confirmation mail, unless the same alert of the same address
    exists and is confirmed, or its confirmation mail is still on its way. The caller answers the same either way.

    Exactly one of ``municipality``, ``center`` with ``radius_m``, ``area`` (checked by the functions above).
    """
    if not (new_reports or status_changes):
        raise _invalid("events", "required", _("Choose new reports, status changes, or both."))
    alert = AreaAlert(address=normalise_address(address), language=language, new_reports=new_reports,
                      status_changes=status_changes)
    if municipality is not None:
        alert.scope, alert.authority = AlertScope.MUNICIPALITY, municipality
    elif center is not None and radius_m is not None:
        alert.scope, alert.center, alert.radius_m = AlertScope.RADIUS, center, check_radius(radius_m)
        alert.area = circle(center, radius_m)
    elif area is not None:
        alert.scope, alert.area = AlertScope.AREA, area
    else:
        raise _invalid("scope", "required", _("Choose a municipality, a place with a radius, or draw an area."))
    category_ids = sorted({c.pk for c in categories or []})
    alert.spec_hash = _spec_hash(alert, category_ids)
    with transaction.atomic():
        existing = AreaAlert.objects.filter(address=alert.address, spec_hash=alert.spec_hash).first()
        if existing is None:
            try:
                with transaction.atomic():
                    alert.save()
                    alert.categories.set(category_ids)
            except IntegrityError:  # a concurrent request stored it
                existing = AreaAlert.objects.get(address=alert.address, spec_hash=alert.spec_hash)
        if existing is not None:
            alert = existing
        if alert.is_confirmed:
            return alert
        waiting = Delivery.objects.filter(
            kind=DeliveryKind.ALERT_CONFIRMATION, data__alert=alert.pk, status=DeliveryStatus.PENDING
        )
        if not waiting.exists():
            delivery = Delivery.objects.create(
                key=f"alert_confirm:{alert.pk}:{secrets.token_hex(8)}", channel=Channel.EMAIL,
                kind=DeliveryKind.ALERT_CONFIRMATION, target=alert.address, data={"alert": alert.pk},
            )
            enqueue([delivery])
    return alert


def alert_for_token(token: str) -> AreaAlert | None:
    if not token:
        return None
    return AreaAlert.objects.filter(token_hash=hash_token(token)).first()


def alert_confirm(*, token: str) -> AreaAlert | None:
    """Start the alert's mails; None if the token is unknown or was used already."""
    return confirm_by_token(AreaAlert.objects.all(), token)


def unsubscribe_token(alert: AreaAlert) -> str:
    # Signed, without expiry; bound to the address too, so a reused row id cannot be stopped by an old link.
    return signing.dumps({"a": alert.pk, "h": hash_token(alert.address)[:16]}, salt=UNSUBSCRIBE_SALT)


def unsubscribe_target(token: str) -> AreaAlert | None:
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("a"), int) or not isinstance(data.get("h"), str):
        return None
    alert = AreaAlert.objects.filter(pk=data["a"]).first()
    if alert is None or hash_token(alert.address)[:16] != data["h"]:
        return None
    return alert


def _forget(alert_ids: list[int]) -> None:
    """Delete alerts and the address from their mails (queued ones are skipped when their time comes)."""
    Delivery.objects.filter(data__alert__in=alert_ids).update(target="")
    AreaAlert.objects.filter(pk__in=alert_ids).delete()


def alert_unsubscribe(*, token: str) -> bool:
    """Delete the alert the link names; False if the link is not (or no longer) valid."""
    alert = unsubscribe_target(token)
    if alert is None:
        return False
    _forget([alert.pk])
    return True


def forget_unconfirmed_alerts(now: datetime | None = None) -> int:
    """Alerts never confirmed within UNCONFIRMED_ALERT_DAYS are deleted (run by the periodic sweep)."""
    now = now or timezone.now()
    stale = list(AreaAlert.objects.filter(
        confirmed_at__isnull=True, created_at__lt=now - timedelta(days=UNCONFIRMED_ALERT_DAYS)
    ).values_list("pk", flat=True))
    if stale:
        _forget(stale)
    return len(stale)


# --- Events → matching → mails ---------------------------------------------------------------------

def alert_trigger(report: Report, events: list[ReportEvent]) -> tuple[ReportEvent, str, list[ReportEvent]] | None:
    """What of these events (one transaction of one report) alerts hear of: (event, NEW or STATUS, the events
    the mail tells of), or None. NEW: the report was created published, or released after review; STATUS: a
    public status change. Only for a report the public sees now."""
    if report.moderation != Moderation.PUBLISHED or not report.category.is_public:
        return None
    for event in events:
        released = (event.kind == EventKind.MODERATED and isinstance(event.data, dict)
                    and event.data.get("from") == Moderation.PENDING and event.data.get("to") == Moderation.PUBLISHED)
        if event.kind == EventKind.CREATED or released:
            return event, NEW, [event]
    told = [e for e in events if e.is_public and e.kind in (EventKind.STATUS_CHANGED, EventKind.PUBLIC_ANSWER)]
    if any(e.kind == EventKind.STATUS_CHANGED for e in told):
        return told[-1], STATUS, told
    return None


def plan_matching(report: Report, events: list[ReportEvent]) -> list[Delivery]:
    """Inside the report's transaction: one matching job for the worker, if any confirmed alert could care."""
    trigger = alert_trigger(report, events)
    if trigger is None:
        return []
    event, kind, told = trigger
    wanted = Q(new_reports=True) if kind == NEW else Q(status_changes=True)
    if not AreaAlert.objects.filter(wanted, confirmed_at__isnull=False).exists():
        return []
    return [Delivery(
        key=f"alert_match:{event.pk}", event=event, report=report, channel=Channel.MATCH,
        kind=DeliveryKind.ALERT_MATCH, target="", data={"trigger": kind, "events": [e.pk for e in told]},
    )]


def matching_alerts(report: Report, kind: str) -> list[AreaAlert]:
    """The confirmed alerts whose area holds the report and that want this kind of news of its category."""
    point = report.location
    authorities = Authority.objects.filter(index_candidates(Authority, "boundary", point)).filter(
        boundary__intersects=point)
    chosen = AreaAlert.categories.through.objects.all()
    drawn = AreaAlert.objects.filter(index_candidates(AreaAlert, "area", point)).filter(area__intersects=point)
    alerts = (
        AreaAlert.objects.filter(confirmed_at__isnull=False)
        .filter(Q(new_reports=True) if kind == NEW else Q(status_changes=True))
        .filter(Q(scope=AlertScope.MUNICIPALITY, authority__in=authorities.values("pk"))
                | Q(scope__in=[AlertScope.RADIUS, AlertScope.AREA], pk__in=drawn.values("pk")))
        # No join (and so no DISTINCT over geometry columns): alerts without categories, or with this one.
        .filter(~Q(pk__in=chosen.values("areaalert_id")) | Q(pk__in=chosen.filter(category_id=report.category_id)
                                                           .values("areaalert_id")))
        .order_by("pk")
    )
    return [a for a in alerts if a.scope != AlertScope.RADIUS
            or (a.center is not None and distance_m(a.center, point) <= (a.radius_m or 0))]


def address_key(address: str) -> str:
    return hashlib.sha256(address.encode()).hexdigest()[:24]


def run_matching(delivery: Delivery) -> int:
    """Write the alert mails of one matching job; returns how many were new. Idempotent (keys)."""
    report, event = delivery.report, delivery.event
    if report is None or event is None:
        return 0
    kind = delivery.data.get("trigger", NEW)
    alerts = matching_alerts(report, kind)
    by_address: dict[str, AreaAlert] = {}
    for alert in alerts:  # one mail per address and event, even if several of its alerts match
        by_address.setdefault(alert.address, alert)
    keys = {f"alert:{event.pk}:{address_key(address)}": alert for address, alert in by_address.items()}
    with transaction.atomic():
        known = set(Delivery.objects.filter(key__in=list(keys)).values_list("key", flat=True))
        created = [
            Delivery.objects.create(
                key=key, event=event, report=report, channel=Channel.EMAIL, kind=DeliveryKind.ALERT,
                target=alert.address, data={"alert": alert.pk, "trigger": kind, "events": delivery.data.get("events")},
            )
            for key, alert in keys.items() if key not in known
        ]
        enqueue(created)
    return len(created)


class MatchTransport:
    """The "match" channel: a report event → one mail delivery per matching address, written and queued once."""

    def send(self, delivery: Delivery) -> None:
        report = delivery.report
        if report is None or not Report.objects.published().filter(pk=report.pk).exists():
            raise NotApplicable("the report is not public (any more)")
        run_matching(delivery)
