"""GeoReport v2 representations of services, service requests, their updates and the discovery document.

``service_request_id`` is the report's human reference (HM-2026-000123): the number citizens,
staff and the city's systems already use for it. ``token`` is the report's public id. Nothing here
carries reporter identity, contact, device data or photo metadata.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from geo.models import Category, CategoryQuestion, QuestionType
from mobile_api.open311.statuses import extended_status
from reports.models import Moderation, Report, ReportEvent
from reports.workflow import is_open


def w3c(value: datetime | None) -> str | None:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else None


def _english() -> bool:
    return (get_language() or "de").startswith("en")


def service(category: Category) -> dict:
    return {
        "service_code": category.slug,
        "service_name": category.name,
        "description": category.description_en if _english() else category.description_de,
        "metadata": bool(category.questions.all()),
        "type": "realtime",
        "keywords": "",
        "group": category.group,
    }


def service_definition(category: Category) -> dict:
    return {"service_code": category.slug, "attributes": [attribute(q) for q in category.questions.all()]}


LIST_TYPES = (QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE)


def attribute(question: CategoryQuestion) -> dict:
    item = {
        "variable": True,
        "code": question.code,
        "datatype": question.datatype,
        "required": question.required,
        "datatype_description": None,
        "order": question.order,
        "description": question.question,
    }
    if question.datatype in LIST_TYPES:
        item["values"] = [{"key": key, "name": name} for key, name in question.choices()]
    return item


def open311_status(report: Report) -> str:
    return "open" if is_open(report.status) else "closed"


def service_request(report: Report, request, *, extensions: bool = False) -> dict:
    """One report as a GeoReport v2 request; ``report`` comes from queries.visible_requests()."""
    photos = getattr(report, "public_photos", [])
    item = {
        "service_request_id": report.reference,
        "status": open311_status(report),
        "status_notes": getattr(report, "last_public_note", None) or None,
        "service_name": report.category.name,
        "service_code": report.category.slug,
        "description": report.public_text,
        "agency_responsible": report.department.name if report.department else str(report.authority),
        "service_notice": None,
        "requested_datetime": w3c(report.created_at),
        "updated_datetime": w3c(report.updated_at),
        "expected_datetime": w3c(getattr(report, "due_at", None)),
        "address": report.address,
        "address_id": None,
        "zipcode": None,
        "lat": report.location.y,
        "long": report.location.x,
        "media_url": request.build_absolute_uri(photos[0].public_image.url) if photos else None,
    }
    if extensions:
        item["extended_attributes"] = {
            "reference": report.reference,
            "token": str(report.public_id),
            "status_detail": report.status,
            "authority": str(report.authority),
            "notes": [
                {"datetime": w3c(event.created_at), "kind": event.kind, "description": event.message}
                for event in getattr(report, "notes", [])
            ],
            "media_urls": [request.build_absolute_uri(photo.public_image.url) for photo in photos],
        }
    return item


def created_request(report: Report) -> dict:
    notice = None
    if report.moderation == Moderation.PENDING:
        notice = _("The report will be published after review.")
    return {
        "service_request_id": report.reference,
        "token": str(report.public_id),
        "service_notice": notice,
        "account_id": None,
    }


def token(report: Report) -> dict:
    return {"service_request_id": report.reference, "token": str(report.public_id)}


def service_request_update(event: ReportEvent, request, *, description: str, media_path: str | None) -> dict:
    """One public event as a ``request_update`` (servicerequestupdates, as FixMyStreet reads it); ``event`` comes
    from updates.public_updates(), annotated with the report's status at the time (``status_then``)."""
    status = getattr(event, "status_then", None) or event.report.status
    return {
        "update_id": str(event.pk),
        "service_request_id": event.report.reference,
        "status": extended_status(status),
        "description": description,
        "updated_datetime": w3c(event.created_at),
        "media_url": request.build_absolute_uri(media_path) if media_path else None,
        "external_status_code": status,
    }


def created_update(event: ReportEvent) -> dict:
    notice = None
    if event.data.get("pending_review"):
        notice = _("The comment will be published after review.")
    return {"update_id": str(event.pk), "service_notice": notice}
