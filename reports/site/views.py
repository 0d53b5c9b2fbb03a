"""The public web pages: map, accessible list, report page, web report form and statistics.

Thin views: what is public is decided by ``reports.publicdata`` (the same rules as the map and the
API), submissions go through ``reports.services.report_submit`` like the API's.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from backend.throttling import ClientRateThrottle
from geo import geocoding
from geo.models import Category
from reports import publicdata
from reports.errors import DomainError, IdempotencyConflict, MissingLocation, add_to_form
from reports.models import EventKind, Report, ReportEvent, Source, StatusLabel
from reports.photos import MAX_BYTES, MAX_PHOTOS_PER_UPLOAD, PhotoUpload, inspected_photos
from reports.publicdata.lists import with_municipalities
from reports.services import report_submit, report_support
from reports.site import drafts, feeds
from reports.site.forms import ReportFilterForm, WebReportForm
from reports.site.statistics_chart import monthly_chart
from reports.workflow import Status

PAGE_SIZE = 25
# The history a visitor sees: what happened to the report, not the bookkeeping (routing, supporters).
HISTORY_KINDS = {
    EventKind.CREATED, EventKind.STATUS_CHANGED, EventKind.PUBLIC_ANSWER, EventKind.FORWARDED, EventKind.MERGED,
    EventKind.PHOTO_ADDED, EventKind.COMMENT,
}
SUBMITTED_SESSION_KEY = "public:submitted"
# The reports this browser supported without the script (the page thanks for it); the newest few.
SUPPORTED_SESSION_KEY = "public:supported"
SUPPORTED_REMEMBERED = 50
# What the form shows again after an address search without the script.
SEARCH_KEEPS = ("category", "address", "lat", "lon", "description", "email", "submission")
# How the form shows what the domain refuses: the place is chosen with the address field (and the map), and
# some errors are said in the words of this page rather than an app's.
FORM_FIELDS = {"location": "address"}
FORM_WORDING = {
    MissingLocation: gettext_lazy(
        "Choose the place: use your location, search for an address, tap the map or enter the coordinates."
    ),
    IdempotencyConflict: gettext_lazy(
        "This form was already sent with other content. Please reload the page and try again."
    ),
}


# Stands for a report's public id in the popup address the map script fills in.
PREVIEW_KEY = uuid.UUID(int=0)


def _map_config(**extra) -> dict:
    """What the map script needs; the strings are translated here so the script needs no catalogue."""
    center = settings.LEAFLET_CONFIG["DEFAULT_CENTER"]
    return {
        "tileUrl": settings.TILE_URL,
        "attribution": f"{settings.TILE_ATTRIBUTION} | {settings.BOUNDARY_ATTRIBUTION}",
        "center": list(center),
        "zoom": settings.LEAFLET_CONFIG["DEFAULT_ZOOM"],
        "dataUrl": "/api/v1/map/",
        "socketPath": "/ws/map/",
        "detailUrl": reverse("public:detail", args=["KEY"]),
        "previewUrl": reverse("public:preview", args=[PREVIEW_KEY]),
        "previewKey": str(PREVIEW_KEY),
        # Map points carry codes only; their names in the page's language come from here.
        "categories": {c.slug: c.name for c in Category.objects.filter(is_public=True)},
        "statuses": {s.value: StatusLabel.label(s.value) for s in Status},
        "strings": {
            "cluster": [  # for 1 and for other numbers: the script picks one
                ngettext("%(count)s report here – zoom in", "%(count)s reports here – zoom in", n) for n in (1, 2)
            ],
            "report": _("Report: %(category)s, %(status)s"),
            "open": _("Show report"),
            "loaded": [
                ngettext("%(count)s report in this map section.", "%(count)s reports in this map section.", n)
                for n in (1, 2)
            ],
            "reportedOn": _("Reported on %(date)s"),
            "photo": _("Photo of the report"),
            "failed": _("The reports could not be loaded. Please use the list."),
            "live": _("New report on the map."),
            "chosen": _("Place chosen: %(lat)s, %(lon)s"),
        },
        **extra,
    }


@require_GET
def map_page(request: HttpRequest) -> HttpResponse:
    form = ReportFilterForm(request.GET)
    return render(request, "public/map.html", {"form": form, "map_config": _map_config(), "feeds": _feeds(form)})


@require_GET
def report_list(request: HttpRequest) -> HttpResponse:
    form = ReportFilterForm(request.GET)
    filters = form.filters()
    reports = publicdata.public_list(filters) if filters is not None else Report.objects.none()
    page = publicdata.ListPaginator(reports, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = with_municipalities(page.object_list)
    query = urlencode(form.active_filters())
    return render(request, "public/list.html", {
        "form": form, "page": page, "query": query, "filtered": bool(query), "feeds": _feeds(form),
    })


def _feeds(form: ReportFilterForm) -> list[dict[str, str]]:
    """The feeds of a list or map page: those of its category and Gemeinde filters, and of all reports."""
    chosen = form.active_filters()
    return feeds.links(category=chosen.get("category", ""), gemeinde=chosen.get("gemeinde", ""))


def _find(key: str) -> Report:
    reports = publicdata.visible_reports().select_related("category", "authority").prefetch_related(
        "photos",
        Prefetch("events", queryset=ReportEvent.objects.filter(is_public=True).order_by("id"), to_attr="public_events"),
    )
    try:
        lookup: dict[str, uuid.UUID | str] = {"public_id": uuid.UUID(key)}
    except ValueError:
        lookup = {"reference": key}
    report = reports.filter(**lookup).first()
    if report is None:
        raise Http404
    return report


@require_GET
def report_detail(request: HttpRequest, key: str) -> HttpResponse:
    report = _find(key)
    if key != report.reference:
        # The map's live updates know only the public id; the page has one address.
        return redirect("public:detail", report.reference)
    return _detail_page(request, report)


def _detail_page(request: HttpRequest, report: Report, status: int = 200, **extra) -> HttpResponse:
    with_municipalities([report])
    released = publicdata.is_released(report)
    history = [event for event in report.public_events if event.kind in HISTORY_KINDS]  # type: ignore[attr-defined]  # to_attr
    photos = [photo for photo in report.photos.all() if photo.is_published] if released else []
    # Shown by staff, the authority publishes photos, the worker has not made the blurred rendition yet.
    preparing = sum(
        1 for photo in report.photos.all() if photo.is_public and not photo.public_image
    ) if released and report.authority.publish_photos else 0
    return render(request, "public/detail.html", {
        "report": report,
        "released": released,
        "history": history,
        "photos": photos,
        "photos_preparing": preparing,
        "supported": report.reference in request.session.get(SUPPORTED_SESSION_KEY, []),
        "map_config": _map_config(point=[report.location.y, report.location.x], pointZoom=17),
        "feeds": feeds.links(report=report) if released else [],
        **extra,
    }, status=status)


@require_POST
def report_support_page(request: HttpRequest, key: str) -> HttpResponse:
    """ "Me too" without the script (the page's script calls the citizen API instead): once per browser session."""
    report = _find(key)
    if not publicdata.is_released(report):
        raise Http404  # as in the API: only published reports can be supported
    if _throttled(request, "support"):
        error = _("Too many requests from your connection. Please try again later.")
        return _detail_page(request, report, status=429, support_error=error)
    if not request.session.session_key:
        request.session.save()
    report_support(report=report, supporter=f"web-session:{request.session.session_key}")
    supported = [r for r in request.session.get(SUPPORTED_SESSION_KEY, []) if r != report.reference]
    request.session[SUPPORTED_SESSION_KEY] = [*supported, report.reference][-SUPPORTED_REMEMBERED:]
    return redirect(reverse("public:detail", args=[report.reference]) + "#support")


@require_GET
def report_preview(request: HttpRequest, public_id: uuid.UUID) -> JsonResponse:
    """What a map popup shows of a report: date, place and the first public photo's thumbnail."""
    report = (
        publicdata.visible_reports().select_related("category", "authority").prefetch_related("photos")
        .filter(public_id=public_id).first()
    )
    if report is None:
        raise Http404
    with_municipalities([report])
    photo = next((p for p in report.photos.all() if p.is_published), None) if publicdata.is_released(report) else None
    municipality = report.municipality  # type: ignore[attr-defined]  # set by with_municipalities
    return JsonResponse({
        "reference": report.reference,
        "url": reverse("public:detail", args=[report.reference]),
        "category": report.category.name,
        "status": report.status,
        "status_label": report.status_label,
        "created": date_format(timezone.localtime(report.created_at), "SHORT_DATE_FORMAT"),
        "created_at": report.created_at.isoformat(),
        "address": report.address,
        "municipality": str(municipality) if municipality else "",
        "thumbnail": photo.public_thumbnail.url if photo else None,
    })


def _throttled(request: HttpRequest, scope: str) -> bool:
    """The API's per-address limits also hold for the web pages that cost the same."""
    view = type("PublicPage", (), {"throttle_scope": scope})()
    return not ClientRateThrottle().allow_request(request, view)


def _address_results(text: str) -> tuple[list[dict], bool]:
    """Geocoder results and whether the geocoder answered; the form works without it."""
    text = text.strip()
    if not text:
        return [], True
    results = geocoding.search(text)
    if results is None:
        return [], False
    return [{"label": label, "lat": lat, "lon": lon} for label, lat, lon in results], True


@require_GET
def address_search(request: HttpRequest) -> JsonResponse:
    """For the form's script: places matching an address; ``available`` is false when the geocoder is
    switched off or down, so the page can tell "nothing found" from "search unavailable"."""
    if _throttled(request, "read"):
        return JsonResponse({"results": [], "available": False}, status=429)
    results, answered = _address_results(request.GET.get("q", "")[:200])
    return JsonResponse({"results": results, "available": answered})


@require_http_methods(["GET", "POST"])
def report_new(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        form = WebReportForm(initial={"submission": uuid.uuid4()})
        return _form_page(request, form)
    if request.POST.get("action") == "search":
        # Without the script, the address search is a round trip of the whole form (files must be chosen
        # again); what was typed is kept, but it is not checked yet: the visitor is not done.
        form = WebReportForm(initial={name: request.POST.get(name, "") for name in SEARCH_KEEPS})
        form.initial.update(form.answer_values(request.POST))
        results, answered = _address_results(request.POST.get("address", "")[:200])
        return _form_page(request, form, address_results=results, searched=True, geocoder_down=not answered)
    form = WebReportForm(request.POST, request.FILES)
    old_draft = request.POST.get("draft", "")[:500]
    if _throttled(request, "submit"):
        form.is_valid()
        form.add_error(None, _("Too many reports from your connection. Please try again later."))
        return _form_page(request, form, status=429)
    valid = form.is_valid()
    # A file under another name is refused, never dropped silently (the form itself sends only "photos").
    for name in sorted(set(request.FILES) - {"photos"}):
        form.add_error("photos", ValidationError(
            _("Unknown file field %(name)s: photos are sent as “photos”.") % {"name": name}, code="invalid"
        ))
    # Every mistake at once, and the chosen photos kept: they go through the pipeline now and wait in a draft.
    photos, contents = _photos(request, form, old_draft)
    if valid and not form.errors:
        report = _submit(request, form, photos, contents)
        if report is not None:
            drafts.discard(old_draft)
            request.session[SUBMITTED_SESSION_KEY] = report.reference
            return redirect("public:submitted")
    elif not _place_given(request, photos) and "address" not in form.errors:
        form.add_error("address", ValidationError(FORM_WORDING[MissingLocation], code="required"))
    draft = drafts.save(photos)
    drafts.discard(old_draft)
    return _form_page(request, form, status=400, draft=draft, draft_photos=range(len(photos)))


def _photos(request: HttpRequest, form: WebReportForm, draft: str) -> tuple[list[PhotoUpload], list[bytes]]:
    """The photos of this submission: those kept from the draft (unless removed) and the new uploads, all as
    the pipeline made them; and the bytes that identify them for the submission key."""
    removed = set(request.POST.getlist("draft_remove"))
    kept = [item.photo for item in drafts.load(draft) if str(item.number) not in removed]
    uploads = (form.cleaned_data.get("photos") or []) if "photos" not in form.errors else []
    if len(kept) + len(uploads) > MAX_PHOTOS_PER_UPLOAD:
        form.add_error("photos", ValidationError(
            _("At most %(max)d photos.") % {"max": MAX_PHOTOS_PER_UPLOAD}, code="max_length"
        ))
        return kept, []
    contents = [upload.read(MAX_BYTES + 1) for upload in uploads]  # the pipeline refuses more
    try:
        new = inspected_photos(contents)
    except DomainError as error:
        add_to_form(form, error, fields=FORM_FIELDS, wording=FORM_WORDING)
        return kept, []
    return kept + new, [photo.raw for photo in kept] + contents


def _place_given(request: HttpRequest, photos: list[PhotoUpload]) -> bool:
    """Whether the visitor gave the place somehow (checked for its form elsewhere), or a photo knows it."""
    typed = any(request.POST.get(name, "").strip() for name in ("lat", "lon", "place"))
    return typed or any(photo.gps for photo in photos)


def _submit(request: HttpRequest, form: WebReportForm, photos: list[PhotoUpload],
            contents: list[bytes]) -> Report | None:
    """File the report through the same service as the API; problems become errors on the form."""
    data = form.cleaned_data
    location = Point(data["lon"], data["lat"], srid=4326) if data.get("lat") is not None else None
    try:
        result = report_submit(
            category=data["category"], device_location=location, description=data["description"],
            photos=photos, reporter_email=data["email"], source=Source.WEB,
            language=request.LANGUAGE_CODE, idempotency_key=data.get("submission"),
            fingerprint=form.fingerprint(contents) if data.get("submission") else "", answers=data["answers"],
        )
    except DomainError as error:
        add_to_form(form, error, fields=FORM_FIELDS, wording=FORM_WORDING)  # every refusal is a 400 on this page
        return None
    return result.report


@require_GET
def draft_photo(request: HttpRequest, draft: str, number: int) -> HttpResponse:
    """A thumbnail of a photo waiting in a draft, for whoever holds the form it was chosen in."""
    thumbnail = drafts.thumbnail(draft, number)
    if thumbnail is None:
        raise Http404
    response = HttpResponse(thumbnail, content_type="image/jpeg")
    response["Cache-Control"] = "private, no-store"
    return response


def _form_page(request: HttpRequest, form: WebReportForm, status: int = 200, **extra) -> HttpResponse:
    search = {
        "searching": _("Searching …"),
        "found": _("%(count)s places found. Choose one:"),
        "none": _("No place found for this address. Please check the spelling, or choose the place on the map."),
        "unavailable": _(
            "The address search is not available at the moment. "
            "Please choose the place on the map or enter the coordinates."
        ),
        "chosen": _("Place chosen: %(label)s"),
    }
    phone = {
        "locating": _("Finding your location …"),
        "located": _("Place chosen from your location: %(lat)s, %(lon)s"),
        "locateFailed": _(
            "Your location is not available (not allowed or not found). "
            "Please tap the map, search for an address or enter the coordinates."
        ),
        "nearbyUrl": reverse("api-v1:reports-nearby"),
        "supportUrl": reverse("api-v1:report-support", args=[uuid.UUID(int=0)]).replace(str(uuid.UUID(int=0)), "ID"),
        "detailUrl": reverse("public:detail", args=["KEY"]),
        "nearbyFound": _("Open reports of this category nearby: %(count)s."),
        "distance": _("%(metres)s m away"),
        "supporters": _("Supporters: %(count)s"),
        "support": _("This is my concern — support it"),
        "supported": _("Supported"),
        "supportedStatus": _("Thank you: you support %(reference)s, now %(count)s supporters."),
        "supportFailed": _("Your support could not be sent. Please try again later."),
        "preview": _("Preview of chosen photo %(number)s"),
        "sending": _("Sending your report …"),
        "progress": _("Sending your report … %(percent)s"),
        "sendFailed": _("The report could not be sent: no connection. Please try again."),
    }
    context = {"form": form, "map_config": _map_config(pick=True, search=search, form=phone), **extra}
    return render(request, "public/form.html", context, status=status)


@require_GET
def report_submitted(request: HttpRequest) -> HttpResponse:
    reference = request.session.get(SUBMITTED_SESSION_KEY)
    report = Report.objects.filter(reference=reference).select_related("category").first() if reference else None
    if report is None:
        return redirect("public:new")
    visible = publicdata.visible_reports().filter(pk=report.pk).exists()
    return render(request, "public/submitted.html", {
        "report": report, "visible": visible, "pending": not publicdata.is_released(report),
    })


@require_GET
def statistics_page(request: HttpRequest) -> HttpResponse:
    since = publicdata.twelve_months_ago(timezone.now())  # the same period as /api/v1/stats/
    figures = publicdata.statistics(since=since)
    return render(request, "public/statistics.html", {
        "statistics": figures, "since": since, "tables": _tables(figures), "trend": monthly_chart(figures["monthly"]),
    })


def _tables(figures: dict) -> list[dict]:
    """The statistics as tables: a row header (name) and numeric columns."""
    counts = [_("Reports"), _("Still open"), _("Fixed"), _("Closed without fix"), _("Median days to fix")]

    def count_rows(rows: list[dict]) -> list[dict]:
        return [
            {"name": r["name"],
             "values": [r["reports"], r["open"], r["fixed"], r["closed_without_fix"], r["median_days_to_fix"]]}
            for r in rows
        ]

    return [
        {"id": "by-category", "heading": _("By category"), "caption": _("Reports per category"),
         "first": _("Category"), "columns": counts, "rows": count_rows(figures["by_category"])},
        {"id": "by-authority", "heading": _("By authority"), "caption": _("Reports per responsible authority"),
         "first": _("Authority"), "columns": counts, "rows": count_rows(figures["by_authority"])},
        {"id": "backlog", "heading": _("Open backlog"),
         "caption": _("Open reports today, whenever reported, and how many of them are overdue"),
         "first": _("Authority"), "columns": [_("Open"), _("Overdue")],
         "rows": [
             {"name": r["name"], "values": [r["open"], r["overdue"]]} for r in figures["backlog"]["by_authority"]
         ]},
    ]
