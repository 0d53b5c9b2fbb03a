"""The staff web app (/staff/): server-rendered pages for the phone next to the pothole and the desk.

Views only parse forms and call reports.services; every rule (who may do what, what a transition
needs) lives there and in reports.workflow. What they refuse (reports.errors) is shown on the form by
reports.errors.add_to_form. A report of another authority does not exist here (404).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import cast
from urllib.parse import parse_qsl, urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import LoginView, LogoutView, redirect_to_login
from django.contrib.gis.db.models import Extent
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from backend.throttling import ClientRateThrottle
from geo.models import Department, Membership, StaffRole
from reports import exports, permissions, services
from reports.answers import displayed_answers
from reports.errors import DomainError, InvalidParameter, Kind, add_to_form
from reports.filters import ListOptions, ReportFilter, bbox_polygon, order_reports, parse_bbox, parse_integer
from reports.models import EventKind, Photo, PhotoKind, Report, StatusLabel
from reports.photos import inspected_photos
from reports.publicdata.map import too_large
from reports.selectors import forward_targets, get_staff_report, staff_map_features
from reports.staff import sso
from reports.staff.forms import (
    AnswerForm,
    BlurAreaForm,
    BulkForm,
    NoteForm,
    PhotoForm,
    ReassignForm,
    RedactForm,
    StaffAuthenticationForm,
    TaskFilterForm,
    TransitionForm,
)
from reports.workflow import ROLES_FOR_TARGET, Status, allowed_transitions, is_open

PAGE_SIZE = 20
MAX_MAP_ZOOM = 19
DETAIL_TEMPLATE = "staff/report_detail.html"


class StaffRequest(HttpRequest):
    """A request that passed staff_required: every staff page reads the user's roles and memberships."""

    staff_roles: dict[int, str]
    staff_memberships: list[Membership]


def staff_required(view: Callable) -> Callable:
    """Logged in (else to the login page) and working for a department (else a page that says so)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("staff:login"))
        roles = permissions.staff_roles(request.user)
        if not roles and not request.user.is_superuser:
            return render(request, "staff/not_staff.html", status=403)
        staff_request = cast(StaffRequest, request)
        staff_request.staff_roles = roles
        # Shown in every page's header: which department, in which role, the user is working as.
        staff_request.staff_memberships = list(
            Membership.objects.filter(user=request.user).select_related("department").order_by("department__name")
        )
        return view(request, *args, **kwargs)

    return wrapper


class StaffLoginView(LoginView):
    template_name = "staff/login.html"
    authentication_form = StaffAuthenticationForm
    redirect_authenticated_user = True
    next_page = reverse_lazy("staff:tasks")  # type: ignore[assignment]  # a lazy URL works; the stubs say str
    # Password guesses through this form and the API's token login count against one budget.
    throttle_scope = "login"

    def get_context_data(self, **kwargs) -> dict:
        # With single sign-on, "Mit Dienstkonto anmelden" (reports/staff/sso.py); LOCAL_LOGIN_ENABLED=false: only that.
        return {**super().get_context_data(**kwargs), "sso_enabled": settings.OIDC_ENABLED,
                "local_login_enabled": settings.LOCAL_LOGIN_ENABLED}

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not settings.LOCAL_LOGIN_ENABLED:
            return self.render_to_response(self.get_context_data(local_login_refused=True), status=403)
        throttle = ClientRateThrottle()
        if not throttle.allow_request(request, self):
            response = render(request, "staff/too_many_attempts.html", status=429)
            response["Retry-After"] = str(math.ceil(throttle.wait() or 1))
            return response
        return super().post(request, *args, **kwargs)


class StaffLogoutView(LogoutView):
    next_page = reverse_lazy("staff:login")  # type: ignore[assignment]  # a lazy URL works; the stubs say str

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        # Read before the session ends: a sign-in through the provider is ended there, too.
        provider_logout = sso.end_session_url(request)
        response = super().post(request, *args, **kwargs)
        return HttpResponseRedirect(provider_logout) if provider_logout else response


# --- Who may do what ---------------------------------------------------------------------------

# What setting each status means, as a verb for "may …" (the statuses and who may set them are the workflow's).
STEP_VERBS: dict[str, str | Promise] = {
    Status.ACKNOWLEDGED: gettext_lazy("acknowledge"),
    Status.IN_PROGRESS: gettext_lazy("start work"),
    Status.FIXED: gettext_lazy("mark fixed"),
    Status.DUPLICATE: gettext_lazy("mark as duplicate"),
    Status.REJECTED: gettext_lazy("reject"),
    Status.FORWARDED: gettext_lazy("forward"),
    Status.REOPENED: gettext_lazy("reopen"),
}


def role_summaries(roles: dict[int, str]) -> list[dict]:
    """For each of the user's roles: its name, and the steps it may and may not take (reports.workflow's table)."""
    summaries = []
    for role in sorted(set(roles.values()), key=list(StaffRole.values).index):
        # In the order work goes (STEP_VERBS'), then any status the workflow adds later.
        steps = [s for s in STEP_VERBS if s in ROLES_FOR_TARGET] + [s for s in ROLES_FOR_TARGET if s not in STEP_VERBS]
        summaries.append({
            "role": StaffRole(role).label,
            "may": [STEP_VERBS.get(s, StatusLabel.label(s)) for s in steps if role in ROLES_FOR_TARGET[s]],
            "may_not": [STEP_VERBS.get(s, StatusLabel.label(s)) for s in steps if role not in ROLES_FOR_TARGET[s]],
        })
    return summaries


# --- "Meine Aufgaben" -------------------------------------------------------------------------

def _my_tasks(request: HttpRequest) -> tuple[TaskFilterForm, QuerySet[Report], list[int], int]:
    """The filter form, the reports it selects (what the user may see), the user's departments, and 400 for
    filters that needed correcting (then the default filters apply)."""
    memberships = Membership.objects.filter(user=request.user)  # type: ignore[misc]  # staff_required: a User
    my_departments = list(memberships.values_list("department_id", flat=True))
    form = TaskFilterForm(request.GET, status_label=StatusLabel.label)
    status = 200
    source = form
    if not form.is_valid():
        status = 400
        source = TaskFilterForm({}, status_label=StatusLabel.label)
        source.is_valid()
    reports = ReportFilter(
        source.filter_data(my_departments),
        queryset=Report.objects.for_staff(request.user).select_related("category", "department", "authority"),
    ).qs
    return form, reports, my_departments, status


def _ordered_tasks(request: HttpRequest) -> tuple[TaskFilterForm, QuerySet[Report], list[int], int, dict]:
    """``_my_tasks`` in the list's order (and the options that ordered it): what the page shows and exports."""
    form, reports, my_departments, status = _my_tasks(request)
    source = form if status == 200 else TaskFilterForm({}, status_label=StatusLabel.label)
    source.is_valid()
    query = ListOptions(source.list_query())
    if not query.is_valid():
        status = 400
        for field, errors in query.errors.items():
            for error in errors:
                form.add_error(None, f"{field}: {error}")
        options = {}
    else:
        options = query.cleaned_data
    # This page puts the earliest due date first by default; the API the newest report.
    return form, order_reports(reports, options, default="due_at"), my_departments, status, options


@require_GET
@staff_required
def task_list(request: HttpRequest) -> HttpResponse:
    form, reports, my_departments, status, options = _ordered_tasks(request)
    page = Paginator(reports, PAGE_SIZE).get_page(request.GET.get("page"))
    roles = cast(StaffRequest, request).staff_roles
    return render(request, "staff/task_list.html", {
        "form": form,
        "page": page,
        "near": options.get("near"),
        "page_query": _query_without(request, "page"),
        "distance_query": _query_without(request, "page", "near", "ordering"),
        "has_departments": bool(my_departments),
        "roles": role_summaries(cast(StaffRequest, request).staff_roles),
        "active_filters": _active_filters(request),
        "map_query": _query_without(request, "page", "near", "ordering"),
        "list_query": request.GET.urlencode(),
        "bulk_actions": services.BulkAction.choices,
        "bulk_departments": services.assignable_departments(roles).select_related("authority").order_by("name"),
    }, status=status)


@require_GET
@staff_required
def task_export(request: HttpRequest, kind: str) -> HttpResponse:
    """The list as filtered, every page, as CSV or XLSX (reports.exports); refused ones go back to the list."""
    _form, reports, _departments, status, _options = _ordered_tasks(request)
    back = _back_to_list(request.GET.urlencode())
    if status != 200:
        messages.error(request, _("Correct the filters before exporting the list."))
        return redirect(back)
    try:
        rows = exports.export_rows(reports)
    except DomainError as error:
        messages.error(request, str(error.message))
        return redirect(back)
    if kind == "xlsx":
        response = HttpResponse(exports.xlsx_bytes(rows), content_type=exports.XLSX_TYPE)
    else:
        response = HttpResponse(exports.csv_text(rows), content_type="text/csv; charset=utf-8; header=present")
    response["Content-Disposition"] = f'attachment; filename="{exports.filename(kind)}"'
    return response


def _back_to_list(query: str) -> str:
    """The task list with ``query`` (a list's query string, re-encoded: nothing but parameters gets through)."""
    clean = urlencode(parse_qsl(query, keep_blank_values=True)[:50])
    return reverse("staff:tasks") + (f"?{clean}" if clean else "")


# How many refusals one bulk action lists by name; the rest are counted.
BULK_ERRORS_SHOWN = 10


@require_POST
@staff_required
def task_bulk(request: HttpRequest) -> HttpResponse:
    """Acknowledge, start work on or hand over the reports ticked in the list, each on its own; back to the list,
    which says how many changed and why any did not."""
    roles = cast(StaffRequest, request).staff_roles
    form = BulkForm(request.POST, departments=services.assignable_departments(roles))
    back = _back_to_list(request.POST.get("next", ""))
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect(back)
    try:
        outcomes = services.reports_bulk_action(
            actor=request.user, action=form.cleaned_data["action"], keys=request.POST.getlist("reports"),
            department=form.cleaned_data.get("department"),
        )
    except DomainError as error:
        messages.error(request, str(error.message))
        return redirect(back)
    changed = sum(1 for outcome in outcomes if outcome.ok)
    refused = [outcome for outcome in outcomes if not outcome.ok]
    if changed:
        messages.success(request, ngettext(
            "%(count)d report changed.", "%(count)d reports changed.", changed
        ) % {"count": changed})
    for outcome in refused[:BULK_ERRORS_SHOWN]:
        name = outcome.report.reference if outcome.report is not None else outcome.key
        messages.error(request, _("%(report)s was not changed: %(reason)s") % {
            "report": name, "reason": outcome.error.message if outcome.error is not None else "",
        })
    if len(refused) > BULK_ERRORS_SHOWN:
        more = len(refused) - BULK_ERRORS_SHOWN
        messages.error(request, ngettext(
            "%(count)d more report was not changed.", "%(count)d more reports were not changed.", more
        ) % {"count": more})
    return redirect(back)


# --- The tasks on a map -----------------------------------------------------------------------

@require_GET
@staff_required
def task_map(request: HttpRequest) -> HttpResponse:
    """The tasks of "Meine Aufgaben" (with its filters) on a map; the data comes from task_map_data."""
    _form, reports, _departments, _status = _my_tasks(request)
    extent = reports.aggregate(extent=Extent("location"))["extent"]
    return render(request, "staff/task_map.html", {
        # The map opens on the tasks (without any: where the map settings centre it).
        "extent": ",".join(f"{value:.6f}" for value in extent) if extent else "",
        "query": _query_without(request, "page", "near", "ordering", "bbox", "zoom"),
        "roles": role_summaries(cast(StaffRequest, request).staff_roles),
    })


@require_GET
@staff_required
def task_map_data(request: HttpRequest) -> HttpResponse:
    """GeoJSON of the user's filtered tasks in ``bbox`` at ``zoom``: clusters as on the public map, then points."""
    form, reports, _departments, status = _my_tasks(request)
    if status != 200:
        return _json_errors([
            (field, error["code"], error["message"])
            for field, errors in form.errors.get_json_data().items() for error in errors
        ])
    try:
        zoom = parse_integer(request.GET.get("zoom", ""), minimum=0, maximum=MAX_MAP_ZOOM)
    except InvalidParameter as error:
        return _parameter_error("zoom", error)
    try:
        bbox = parse_bbox(request.GET.get("bbox", ""))
    except InvalidParameter as error:
        return _parameter_error("bbox", error)
    if too_large(bbox, zoom):
        message = _("The map section is too large for this zoom level.")
        return _json_errors([("bbox", "too_large", str(message))])
    features = staff_map_features(reports, bbox=bbox_polygon(bbox), zoom=zoom)
    for feature in features["features"]:
        reference = feature["properties"].get("reference")
        if reference:
            feature["properties"]["url"] = reverse("staff:report", kwargs={"key": reference})
            feature["properties"]["status_label"] = StatusLabel.label(feature["properties"]["status"])
    return JsonResponse(features)


# The list's filters and the values that filter nothing (the defaults).
_NEUTRAL = {"scope": ("", TaskFilterForm.SCOPE_MINE), "status": ("", TaskFilterForm.STATUS_OPEN),
            "category": ("",), "overdue": ("",), "q": ("",)}


def _active_filters(request: HttpRequest) -> int:
    """How many filters narrow the list: the closed panel says so, instead of opening and pushing the list down."""
    return sum(1 for name, neutral in _NEUTRAL.items() if request.GET.get(name, "").strip() not in neutral)


def _query_without(request: HttpRequest, *names: str) -> str:
    return urlencode([(k, v) for k, values in request.GET.lists() if k not in names for v in values])


def _parameter_error(name: str, error: InvalidParameter) -> JsonResponse:
    return _json_errors([(name, error.code, str(error.message))])


def _json_errors(errors: list[tuple[str, str, str]]) -> JsonResponse:
    """400 in the shape of every JSON API here: ``{"errors": [{"field", "code", "message"}, ...]}``."""
    return JsonResponse(
        {"errors": [{"field": field, "code": code, "message": message} for field, code, message in errors]},
        status=400,
    )


# --- A report ---------------------------------------------------------------------------------

@require_GET
@staff_required
def report_detail(request: HttpRequest, key: str) -> HttpResponse:
    report = get_staff_report(request.user, key)
    return render(request, DETAIL_TEMPLATE, _detail_context(request, report))


def _forward_targets(report: Report):
    return forward_targets().exclude(pk=report.authority_id)


def _sibling_departments(report: Report):
    # Without a department, nothing is excluded (pk IS NULL matches none).
    return Department.objects.filter(authority_id=report.authority_id, active=True).exclude(
        pk=report.department_id  # type: ignore[misc]
    )


def _template_text(templates: list[dict], chosen: str | None) -> str:
    return next((t["text"] for t in templates if str(t["id"]) == chosen), "")


def _templates(report: Report, status: str) -> list[dict]:
    """Prepared answers in the reporter's language (they are addressed to the reporter), placeholders filled."""
    return services.response_templates(report, status=status, language=report.language)


def _detail_context(request: HttpRequest, report: Report, bound: dict | None = None) -> dict:
    bound = bound or {}
    role = permissions.actor_role(request.user, report)
    transitions = allowed_transitions(report.status, role) if role else []
    transition_form = bound.get("transition")
    target = transition_form["to"].value() if transition_form is not None else request.GET.get("to")
    if target is None and "photos" in bound and Status.FIXED in transitions:
        target = Status.FIXED  # fix photos are taken in the step to "fixed": show their errors there
    if target not in transitions:
        target = None
    template = request.GET.get("template")
    transition_templates = _templates(report, target) if target else []
    answer_templates = _templates(report, report.status)
    if transition_form is None and target:
        transition_form = TransitionForm(
            initial={"to": target, "message": _template_text(transition_templates, template)},
            request=request, authorities=_forward_targets(report),
        )
    photos = list(report.photos.all())
    events = list(report.events.all())
    may_moderate = role in (StaffRole.LEAD, StaffRole.AUTHORITY_ADMIN)
    # Each photo with what a lead sees of its blurring (None for other roles).
    items = [(photo, _blurring(photo, bound.get("blur")) if may_moderate else None) for photo in photos]
    return {
        "report": report,
        "answers": displayed_answers(report.category.questions.all(), report.answers),
        "role": role,
        "transitions": [(status, StatusLabel.label(status)) for status in transitions],
        "target": target,
        "target_label": StatusLabel.label(target) if target else "",
        "needs_reason": target == Status.REJECTED,
        "transition_form": transition_form,
        "transition_templates": transition_templates,
        "selected_template": template,
        "answer_form": bound.get("answer") or AnswerForm(
            initial={"message": "" if target else _template_text(answer_templates, template)}
        ),
        "answer_templates": answer_templates,
        "note_form": bound.get("note") or NoteForm(),
        "may_moderate": may_moderate,
        "held_photos": services.photos_awaiting_review(report),
        "redact_form": bound.get("redact") or RedactForm(initial={"text": report.public_text}),
        "reassign_form": bound.get("reassign") or ReassignForm(departments=_sibling_departments(report)),
        "photo_form": bound.get("photos") or PhotoForm(required=target != Status.FIXED),
        "roles": role_summaries({report.authority_id: role} if role else {}),
        "is_open": is_open(report.status),
        "report_photos": [(p, blurring) for p, blurring in items if p.kind == PhotoKind.REPORT],
        "fix_photos": [(p, blurring) for p, blurring in items if p.kind == PhotoKind.FIX],
        "events": events,
        # Comments held for review that staff have published (as a new event) already: no second button.
        "published_comments": {e.data.get("published_from") for e in events if e.kind == EventKind.COMMENT},
    }


# --- Changes: each POST goes through one service ----------------------------------------------

def _act(request: HttpRequest, key: str, name: str, form, perform: Callable[[Report, dict], str]) -> HttpResponse:
    """Validate ``form``, run ``perform`` (a service call returning the success message), then show the report.

    Errors the service raises are shown next to the field they concern, with the status of their kind (400 or
    409; a report the user may not touch is a 404).
    """
    report = get_staff_report(request.user, key)
    form = form(report)
    status = 400
    if form.is_valid():
        try:
            done = perform(report, form.cleaned_data)
        except DomainError as error:
            status = add_to_form(form, error)
        else:
            messages.success(request, done)
            if not permissions.may_see(request.user, report):
                return redirect("staff:tasks")  # forwarded out of the user's reach
            return redirect("staff:report", key=report.reference)
    return render(request, DETAIL_TEMPLATE, _detail_context(request, report, {name: form}), status=status)


@require_POST
@staff_required
def report_transition(request: HttpRequest, key: str) -> HttpResponse:
    # The step to "fixed" may bring the fix photos along (the same form); any other step ignores files.
    # Photos are checked (and turned into JPEGs) before anything is stored.
    photos: list = []
    if request.POST.get("transition-to") == Status.FIXED:
        photo_form = PhotoForm(request.POST, request.FILES, required=False)
        status = 400
        if photo_form.is_valid():
            try:
                photos = inspected_photos(photo_form.cleaned_data["photos"])
            except DomainError as error:
                status = add_to_form(photo_form, error)
        if photo_form.errors:
            report = get_staff_report(request.user, key)
            transition_form = TransitionForm(request.POST, request=request, authorities=_forward_targets(report))
            transition_form.is_valid()
            context = _detail_context(request, report, {"transition": transition_form, "photos": photo_form})
            return render(request, DETAIL_TEMPLATE, context, status=status)

    def perform(report: Report, data: dict) -> str:
        # The step and its photos are recorded together or not at all.
        with transaction.atomic():
            services.report_transition(
                report=report, to=data["to"], actor=request.user, message=data["message"], note=data["note"],
                duplicate_of=data.get("duplicate_of"), authority=data.get("authority"),
            )
            if photos:
                services.report_add_photos(report=report, actor=request.user, photos=photos)
        if data["to"] == Status.FORWARDED and data.get("authority"):
            return _("Forwarded to %(authority)s.") % {"authority": data["authority"]}
        done = _("Status set to “%(status)s”.") % {"status": StatusLabel.label(data["to"])}
        if photos:
            done += " " + ngettext("Photo added.", "%(count)d photos added.", len(photos)) % {"count": len(photos)}
        return done

    def form(report: Report) -> TransitionForm:
        return TransitionForm(request.POST, request=request, authorities=_forward_targets(report))

    return _act(request, key, "transition", form, perform)


@require_POST
@staff_required
def report_answer(request: HttpRequest, key: str) -> HttpResponse:
    def perform(report: Report, data: dict) -> str:
        services.report_answer(report=report, actor=request.user, message=data["message"])
        return _("Answer published.")

    return _act(request, key, "answer", lambda report: AnswerForm(request.POST), perform)


@require_POST
@staff_required
def report_note(request: HttpRequest, key: str) -> HttpResponse:
    def perform(report: Report, data: dict) -> str:
        services.report_note(report=report, actor=request.user, note=data["note"])
        return _("Internal note saved.")

    return _act(request, key, "note", lambda report: NoteForm(request.POST), perform)


@require_POST
@staff_required
def report_reassign(request: HttpRequest, key: str) -> HttpResponse:
    def perform(report: Report, data: dict) -> str:
        services.report_reassign(report=report, department=data["department"], actor=request.user, note=data["note"])
        return _("Handed over to %(department)s.") % {"department": data["department"].name}

    def form(report: Report) -> ReassignForm:
        # Any department may be chosen here; the service says whether it belongs to the report's authority.
        return ReassignForm(request.POST, departments=Department.objects.filter(active=True))

    return _act(request, key, "reassign", form, perform)


@require_POST
@staff_required
def report_photos(request: HttpRequest, key: str) -> HttpResponse:
    def perform(report: Report, data: dict) -> str:
        photos = inspected_photos(data["photos"])
        services.report_add_photos(report=report, actor=request.user, photos=photos)
        return ngettext("Photo added.", "%(count)d photos added.", len(photos)) % {"count": len(photos)}

    return _act(request, key, "photos", lambda report: PhotoForm(request.POST, request.FILES), perform)


@require_POST
@staff_required
def report_redact(request: HttpRequest, key: str) -> HttpResponse:
    def perform(report: Report, data: dict) -> str:
        services.report_redact_description(report=report, actor=request.user, text=data["text"], note=data["note"])
        return _("The public description was changed.")

    return _act(request, key, "redact", lambda report: RedactForm(request.POST), perform)


def _photo_visibility(request: HttpRequest, key: str, photo_id: int, *, show: bool) -> HttpResponse:
    report = get_staff_report(request.user, key)
    change = services.report_show_photo if show else services.report_hide_photo
    try:
        change(report=report, photo=photo_id, actor=request.user)
    except DomainError as error:
        if error.kind is Kind.NOT_FOUND:
            raise Http404 from None
        messages.error(request, str(error.message))
        return render(request, DETAIL_TEMPLATE, _detail_context(request, report), status=error.kind.http_status)
    messages.success(request, _("The photo is public again.") if show else _("The photo is hidden from the public."))
    return redirect(reverse("staff:report", kwargs={"key": report.reference}) + "#photos-heading")


@require_POST
@staff_required
def report_hide_photo(request: HttpRequest, key: str, photo_id: int) -> HttpResponse:
    return _photo_visibility(request, key, photo_id, show=False)


@require_POST
@staff_required
def report_show_photo(request: HttpRequest, key: str, photo_id: int) -> HttpResponse:
    return _photo_visibility(request, key, photo_id, show=True)


# --- Areas of a photo blurred by hand --------------------------------------------------------------

_MAX_ID = 2**63 - 1


@dataclass
class PhotoBlurring:
    """What the ticket page shows a lead of one photo's blurring: the form, what was blurred, the outlines."""

    form: BlurAreaForm
    faces_found: int
    plates_found: int
    marked: int
    outlines: list[dict]


def _blurring(photo: Photo, bound: BlurAreaForm | None) -> PhotoBlurring:
    """The photo's blur form (the one just posted, with its errors, if it was for this photo) and its blurred
    areas, as shares of its size for the outlines on the photo."""
    kinds = [area.get("kind") for area in photo.detected_areas]
    return PhotoBlurring(
        form=bound if bound is not None and bound.photo.pk == photo.pk else BlurAreaForm(photo=photo),
        faces_found=kinds.count("face"),
        plates_found=kinds.count("plate"),
        marked=len(photo.blur_areas),
        outlines=[
            outline for area in [*photo.detected_areas, *photo.blur_areas]
            if (outline := _outline(area, photo.width, photo.height)) is not None
        ],
    )


def _outline(area: dict, width: int | None, height: int | None) -> dict | None:
    """An area's box in per cent of the photo, formatted for a style attribute (never with a decimal comma)."""
    try:
        x, y, w, h = (float(value) for value in area["box"])
    except (KeyError, TypeError, ValueError):
        return None
    if not width or not height:
        return None
    return {
        "kind": area.get("kind", "manual"),
        "left": f"{100 * x / width:.3f}", "top": f"{100 * y / height:.3f}",
        "width": f"{100 * w / width:.3f}", "height": f"{100 * h / height:.3f}",
    }


def _report_photo(report: Report, photo_id: int) -> Photo:
    if not 0 < photo_id <= _MAX_ID:
        raise Http404
    photo = report.photos.filter(pk=photo_id).first()
    if photo is None:
        raise Http404
    return photo


def _after_blur_change(request: HttpRequest, report: Report, done: str) -> HttpResponse:
    messages.success(request, done)
    return redirect(reverse("staff:report", kwargs={"key": report.reference}) + "#photos-heading")


def _blur_refused(request: HttpRequest, report: Report, error: DomainError, form: BlurAreaForm | None) -> HttpResponse:
    """The page again with what was refused: next to the form where the user can correct it, else at the top."""
    if error.kind is Kind.NOT_FOUND:
        raise Http404
    if form is not None and error.code != "not_permitted":
        status = add_to_form(form, error)
        return render(request, DETAIL_TEMPLATE, _detail_context(request, report, {"blur": form}), status=status)
    messages.error(request, str(error.message))
    return render(request, DETAIL_TEMPLATE, _detail_context(request, report), status=error.kind.http_status)


@require_POST
@staff_required
def report_blur_area(request: HttpRequest, key: str, photo_id: int) -> HttpResponse:
    """Blur a rectangle of one photo in what the public sees (leads); the public sees no photo until the worker
    has made the new rendition."""
    report = get_staff_report(request.user, key)
    form = BlurAreaForm(request.POST, photo=_report_photo(report, photo_id))
    if not form.is_valid():
        return render(request, DETAIL_TEMPLATE, _detail_context(request, report, {"blur": form}), status=400)
    try:
        services.photo_blur_area(report=report, photo=photo_id, actor=request.user, area=form.area(),
                                 note=form.cleaned_data["note"])
    except DomainError as error:
        return _blur_refused(request, report, error, form)
    return _after_blur_change(request, report, _(
        "The area will be blurred. The public sees the photo again once its new version is made."
    ))


@require_POST
@staff_required
def report_clear_blur_areas(request: HttpRequest, key: str, photo_id: int) -> HttpResponse:
    report = get_staff_report(request.user, key)
    _report_photo(report, photo_id)
    try:
        services.photo_clear_blur_areas(report=report, photo=photo_id, actor=request.user)
    except DomainError as error:
        return _blur_refused(request, report, error, None)
    return _after_blur_change(request, report, _(
        "The areas marked by hand were removed. The public sees the photo again once its new version is made."
    ))


@require_POST
@staff_required
def report_publish_comment(request: HttpRequest, key: str, event_id: int) -> HttpResponse:
    """Publish a citizen's comment held for review (from the report's history)."""
    report = get_staff_report(request.user, key)
    held = report.events.filter(pk=event_id, kind=EventKind.COMMENT).first()
    if held is None:
        raise Http404
    try:
        services.report_publish_comment(report=report, event=held, actor=request.user)
    except DomainError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("Comment published."))
    return redirect("staff:report", key=report.reference)
