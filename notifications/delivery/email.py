"""E-mails to reporters and staff, built when they are sent (so they say what is true then).

Every mail has a plain-text and an HTML part from templates in ``notifications/email/``, in the
recipient's language. Only the confirmation mail goes to an address that is not confirmed.
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from notifications.alerts import NEW, unsubscribe_token
from notifications.delivery.planning import overdue_for_lead
from notifications.delivery.transports import DeliveryError, NotApplicable
from notifications.models import AlertScope, AreaAlert, Delivery, DeliveryKind, Follower
from reports.models import EventKind, Moderation, Report, ReportEvent
from reports.workflow import Status, is_open

REOPEN_SALT = "notifications.reopen"
# A follow-up's reopen link stays valid this long after it was sent.
REOPEN_MAX_AGE = 90 * 24 * 3600
UNFOLLOW_SALT = "notifications.unfollow"


@dataclass
class Mail:
    subject: str
    template: str
    context: dict
    headers: dict = field(default_factory=dict)


def public_url(path: str) -> str:
    return settings.PUBLIC_URL + path


def staff_report_url(report: Report) -> str:
    """The report in the staff web app, where department accounts log in (they cannot use /admin/)."""
    return public_url(reverse("staff:report", kwargs={"key": report.reference}))


def reopen_token(report: Report, fixed_event_id: int) -> str:
    return signing.dumps({"r": str(report.public_id), "e": fixed_event_id}, salt=REOPEN_SALT)


def read_reopen_token(token: str) -> tuple[str, int] | None:
    try:
        data = signing.loads(token, salt=REOPEN_SALT, max_age=REOPEN_MAX_AGE)
    except signing.BadSignature:
        return None
    return data["r"], data["e"]


def unfollow_token(follower: Follower) -> str:
    # Signed, without expiry: every status mail's link stops the mails for as long as the follower exists.
    return signing.dumps({"f": follower.pk, "r": str(follower.report.public_id)}, salt=UNFOLLOW_SALT)


def read_unfollow_token(token: str) -> tuple[int, str] | None:
    try:
        data = signing.loads(token, salt=UNFOLLOW_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("f"), int) or not isinstance(data.get("r"), str):
        return None
    return data["f"], data["r"]


def delivery_follower(delivery: Delivery) -> Follower | None:
    """The follower a mail is for, if it is for one (``data["follower"]``); None if they stopped following."""
    follower_id = delivery.data.get("follower") if isinstance(delivery.data, dict) else None
    if follower_id is None:
        return None
    return Follower.objects.select_related("report").filter(pk=follower_id).first()


def delivery_alert(delivery: Delivery) -> AreaAlert | None:
    """The area alert a mail is for (``data["alert"]``); None if it was deleted (or the mail is for no alert)."""
    alert_id = delivery.data.get("alert") if isinstance(delivery.data, dict) else None
    if alert_id is None:
        return None
    return AreaAlert.objects.select_related("authority").filter(pk=alert_id).first()


def alert_description(alert: AreaAlert) -> str:
    """The area in words, for the mails (in the active language)."""
    if alert.scope == AlertScope.MUNICIPALITY and alert.authority is not None:
        return str(alert.authority)
    if alert.scope == AlertScope.RADIUS and alert.center is not None:
        return _("%(radius)s m around %(lat).5f, %(lon).5f") % {
            "radius": alert.radius_m, "lat": alert.center.y, "lon": alert.center.x}
    return _("the area you drew")


def last_status_event(report: Report) -> ReportEvent | None:
    return report.events.filter(kind=EventKind.STATUS_CHANGED).order_by("-id").first()


def mail_language(delivery: Delivery) -> str:
    if delivery.kind in (DeliveryKind.FORWARD, DeliveryKind.RESPONSIBLE):
        return settings.LANGUAGE_CODE  # for an authority, in the installation's language
    follower = delivery_follower(delivery)
    report = delivery.report
    language = getattr(report, "language", "") if report is not None else ""
    if follower is not None:
        language = follower.language
    alert = delivery_alert(delivery)
    if alert is not None:
        language = alert.language
    if not language and delivery.address is not None:
        language = delivery.address.language
    return language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def _report(delivery: Delivery) -> Report:
    """The report a mail is about: every kind but the digest names one (planning sets it)."""
    if delivery.report is None:  # a bug, like any unexpected error: retried up to the limit (worker._attempt)
        raise ValueError(f"delivery {delivery.pk} names no report")
    return delivery.report


def confirmation_mail(delivery: Delivery) -> Mail:
    address = delivery.address
    if address is None:  # a bug (planning sets it), like any unexpected error: retried up to the limit
        raise ValueError(f"delivery {delivery.pk} names no address")
    if address.is_confirmed:
        raise NotApplicable("the address was confirmed meanwhile")
    report = _report(delivery)
    token = address.new_token()
    address.save(update_fields=["token_hash"])
    return Mail(
        subject=_("Please confirm your e-mail address for report %(reference)s") % {"reference": report.reference},
        template="confirmation",
        context={"report": report, "link": public_url(reverse("notifications:confirm", args=[token]))},
    )


def follow_confirmation_mail(delivery: Delivery) -> Mail:
    follower = delivery_follower(delivery)
    if follower is None:
        raise NotApplicable("the follower is gone")
    if follower.is_confirmed:
        raise NotApplicable("the follower confirmed meanwhile")
    report = _report(delivery)
    token = follower.new_token()
    follower.save(update_fields=["token_hash"])
    return Mail(
        subject=_("Please confirm that you want to follow report %(reference)s") % {"reference": report.reference},
        template="follow_confirmation",
        context={
            "report": report, "link": public_url(reverse("notifications:follow-confirm", args=[token])),
            "report_url": public_url(reverse("public:detail", args=[report.reference])),
        },
    )


def alert_confirmation_mail(delivery: Delivery) -> Mail:
    alert = delivery_alert(delivery)
    if alert is None:
        raise NotApplicable("the alert is gone")
    if alert.is_confirmed:
        raise NotApplicable("the alert was confirmed meanwhile")
    token = alert.new_token()
    alert.save(update_fields=["token_hash"])
    return Mail(
        subject=_("Please confirm your area alert for %(area)s") % {"area": alert_description(alert)},
        template="alert_confirmation",
        context={
            "area": alert_description(alert), "alert": alert,
            "link": public_url(reverse("notifications:alert-confirm", args=[token])),
        },
    )


def alert_mail(delivery: Delivery) -> Mail:
    """A new report, or a status change, in an alert's area: only what the report's public page shows."""
    alert = delivery_alert(delivery)
    if alert is None or not alert.is_confirmed:
        raise NotApplicable("the alert is gone")
    report = _report(delivery)
    if not Report.objects.published().filter(pk=report.pk).exists():
        raise NotApplicable("the report is no longer public")
    events = list(ReportEvent.objects.filter(pk__in=delivery.data.get("events") or [], is_public=True).order_by("id"))
    unsubscribe = public_url(reverse("notifications:alert-unsubscribe", args=[unsubscribe_token(alert)]))
    new = delivery.data.get("trigger") == NEW
    if new:
        subject = _("New report %(reference)s in %(area)s: %(category)s")
    else:
        subject = _("Report %(reference)s in %(area)s: %(status)s")
    return Mail(
        subject=subject % {"reference": report.reference, "area": alert_description(alert),
                           "category": report.category.name, "status": report.status_label},
        template="alert",
        context={
            "report": report, "new": new, "events": [e for e in events if e.kind != EventKind.CREATED],
            "area": alert_description(alert), "unsubscribe": unsubscribe,
            "report_url": public_url(reverse("public:detail", args=[report.reference])),
        },
        headers={"List-Unsubscribe": f"<{unsubscribe}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )


def status_mail(delivery: Delivery) -> Mail:
    report = _report(delivery)
    events = list(ReportEvent.objects.filter(pk__in=delivery.data.get("events", []), is_public=True).order_by("id"))
    if not events:
        raise NotApplicable("the events are gone")
    if isinstance(delivery.data, dict) and delivery.data.get("follower") is not None:
        follower = delivery_follower(delivery)
        if follower is None or not follower.is_confirmed:
            raise NotApplicable("no longer following")
        unfollow = public_url(reverse("notifications:unfollow", args=[unfollow_token(follower)]))
        return Mail(
            subject=_("Report %(reference)s you follow: %(status)s") % {
                "reference": report.reference, "status": report.status_label,
            },
            template="follow_status",
            context={
                "report": report, "events": events, "unfollow": unfollow,
                "report_url": public_url(reverse("public:detail", args=[report.reference])),
            },
            # RFC 8058: mail clients offer "unsubscribe" and POST to the link themselves.
            headers={"List-Unsubscribe": f"<{unfollow}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
        )
    return Mail(
        subject=_("Your report %(reference)s: %(status)s") % {
            "reference": report.reference, "status": report.status_label,
        },
        template="status",
        context={"report": report, "events": events},
    )


def follow_up_mail(delivery: Delivery) -> Mail:
    report = _report(delivery)
    fixed_event_id = delivery.data["fixed_event"]
    latest = last_status_event(report)
    if report.status != Status.FIXED or latest is None or latest.pk != fixed_event_id:
        raise NotApplicable("the report is no longer fixed")
    token = reopen_token(report, fixed_event_id)
    return Mail(
        subject=_("Is the defect fixed? Your report %(reference)s") % {"reference": report.reference},
        template="follow_up",
        context={"report": report, "link": public_url(reverse("notifications:reopen", args=[token]))},
    )


def digest_mail(delivery: Delivery) -> Mail:
    reports = list(overdue_for_lead(delivery.recipient_user))
    if not reports:
        raise NotApplicable("nothing is overdue any more")
    return Mail(
        subject=_("%(count)d overdue reports") % {"count": len(reports)},
        template="digest",
        context={
            "reports": [(report, staff_report_url(report)) for report in reports],
            "user": delivery.recipient_user,
            # The work list filtered to what the digest is about; staff accounts cannot log in to /admin/.
            "tasks_url": public_url(reverse("staff:tasks")) + "?overdue=on",
        },
    )


def forward_mail(delivery: Delivery) -> Mail:
    """The report for the external body it was forwarded to: what and where, without the reporter's identity."""
    report = _report(delivery)
    event = delivery.event
    photos = [public_url(photo.public_image.url) for photo in report.photos.published()]
    return Mail(
        subject=_("Forwarded report %(reference)s: %(category)s") % {
            "reference": report.reference, "category": report.category.name,
        },
        template="forward",
        context={
            "report": report, "message": event.message if event else "", "photos": photos,
            "sender": event.data.get("from_authority_name", "") if event else "",
            "place": f"{report.location.y:.6f}, {report.location.x:.6f}",
            "map_link": f"https://www.openstreetmap.org/?mlat={report.location.y:.6f}&mlon={report.location.x:.6f}#map=18/"
                        f"{report.location.y:.6f}/{report.location.x:.6f}",
        },
    )


def responsible_mail(delivery: Delivery) -> Mail:
    """A report arrived at a department (with a link to it in the staff app), or at an external body without a
    department on the platform (with the place on a map and the public photos instead: they have no login).
    Never the reporter's identity: staff read it in the staff app, external bodies never get it."""
    report = _report(delivery)
    department_id = delivery.data.get("department")
    if report.department_id != department_id or report.authority_id != delivery.data.get("authority"):
        raise NotApplicable("the report has moved on since")
    if not is_open(report.status):
        raise NotApplicable("the report is closed")
    external = department_id is None
    arrival = delivery.event.kind if delivery.event else EventKind.CREATED
    if arrival == EventKind.CREATED:
        subject = _("New report %(reference)s: %(category)s")
    else:
        subject = _("Report %(reference)s handed to you: %(category)s")
    place = f"{report.location.y:.6f}, {report.location.x:.6f}"
    return Mail(
        subject=subject % {"reference": report.reference, "category": report.category.name},
        template="responsible",
        context={
            "report": report,
            "new": arrival == EventKind.CREATED,
            "recipient": report.department.name if report.department else str(report.authority),
            "external": external,
            "staff_link": "" if external else staff_report_url(report),
            "photos": (
                [public_url(photo.public_image.url) for photo in report.photos.published()] if external else []
            ),
            "place": place,
            "map_link": f"https://www.openstreetmap.org/?mlat={report.location.y:.6f}&mlon={report.location.x:.6f}"
                        f"#map=18/{report.location.y:.6f}/{report.location.x:.6f}",
            "awaiting_review": report.moderation == Moderation.PENDING,
        },
    )


BUILDERS: dict[str, Callable[[Delivery], Mail]] = {
    DeliveryKind.CONFIRMATION: confirmation_mail,
    DeliveryKind.STATUS: status_mail,
    DeliveryKind.FOLLOW_UP: follow_up_mail,
    DeliveryKind.DIGEST: digest_mail,
    DeliveryKind.FORWARD: forward_mail,
    DeliveryKind.RESPONSIBLE: responsible_mail,
    DeliveryKind.FOLLOW_CONFIRMATION: follow_confirmation_mail,
    DeliveryKind.ALERT_CONFIRMATION: alert_confirmation_mail,
    DeliveryKind.ALERT: alert_mail,
}


def require_confirmed(delivery: Delivery) -> None:
    # Only reporters' addresses need their consent; staff and authorities do not subscribe.
    without_consent = (
        DeliveryKind.CONFIRMATION, DeliveryKind.FOLLOW_CONFIRMATION, DeliveryKind.DIGEST, DeliveryKind.FORWARD,
        DeliveryKind.RESPONSIBLE, DeliveryKind.ALERT_CONFIRMATION,
    )
    if delivery.kind in without_consent:
        return
    if delivery.kind == DeliveryKind.ALERT:
        alert = delivery_alert(delivery)
        if alert is None or not alert.is_confirmed:
            raise NotApplicable("the area alert is not confirmed or was deleted")
        return
    if isinstance(delivery.data, dict) and delivery.data.get("follower") is not None:
        follower = delivery_follower(delivery)
        if follower is None or not follower.is_confirmed:
            raise NotApplicable("the follower is not confirmed or stopped following")
        return
    if delivery.address is None or not delivery.address.is_confirmed:
        raise NotApplicable("the address is not confirmed")


class EmailTransport:
    def send(self, delivery: Delivery) -> None:
        require_confirmed(delivery)
        with translation.override(mail_language(delivery)):
            mail = BUILDERS[delivery.kind](delivery)
            context = {**mail.context, "public_url": settings.PUBLIC_URL}
            text = render_to_string(f"notifications/email/{mail.template}.txt", context)
            html = render_to_string(f"notifications/email/{mail.template}.html", context)
        message = EmailMultiAlternatives(mail.subject, text, to=[delivery.target], headers=mail.headers or None)
        message.attach_alternative(html, "text/html")
        try:
            message.send()
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"recipient refused: {exc.recipients}", permanent=True) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP: {exc}", permanent=False) from None
