"""The public pages of area alerts: the form, and the pages behind the links in their mails (a GET only shows a
button: mail scanners that open links must neither confirm nor delete; the POST does it)."""

from __future__ import annotations

import json

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from backend.throttling import ClientRateThrottle
from geo import geocoding
from geo.errors import DomainError
from notifications.alerts import (
    AREA_MAX_CHARS,
    RADIUS_MAX_M,
    RADIUS_MIN_M,
    alert_categories,
    alert_confirm,
    alert_for_token,
    alert_request,
    alert_unsubscribe,
    check_point,
    municipalities,
    parse_area,
    unsubscribe_target,
)
from notifications.models import AlertScope
from notifications.views import _invalid, _page, email_field

RADIUS_ERROR = gettext_lazy("Choose a radius between 50 m and 10 km (10000 m).")


def _error(message: str, code: str) -> forms.ValidationError:
    return forms.ValidationError(message, code=code)


class AlertForm(forms.Form):
    email = email_field()
    scope = forms.ChoiceField(
        label=gettext_lazy("Which area?"), choices=AlertScope.choices, widget=forms.RadioSelect,
        initial=AlertScope.MUNICIPALITY, error_messages={"required": gettext_lazy("Choose the kind of area.")},
    )
    municipality = forms.ModelChoiceField(
        label=gettext_lazy("Municipality"), queryset=municipalities(), to_field_name="slug", required=False,
        empty_label=gettext_lazy("– choose –"),
        error_messages={"invalid_choice": gettext_lazy("Choose a municipality from the list.")},
    )
    address = forms.CharField(label=gettext_lazy("Address or place"), max_length=200, required=False)
    lat = forms.FloatField(label=gettext_lazy("Latitude"), required=False, min_value=-90, max_value=90)
    lon = forms.FloatField(label=gettext_lazy("Longitude"), required=False, min_value=-180, max_value=180)
    radius = forms.IntegerField(
        label=gettext_lazy("Radius in metres"), required=False, min_value=RADIUS_MIN_M, max_value=RADIUS_MAX_M,
        initial=500, error_messages={"min_value": RADIUS_ERROR, "max_value": RADIUS_ERROR, "invalid": RADIUS_ERROR},
    )
    area = forms.CharField(
        label=gettext_lazy("Drawn area (GeoJSON polygon)"), required=False, max_length=AREA_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"max_length": gettext_lazy("The drawn area has too many corners.")},
    )
    new_reports = forms.BooleanField(label=gettext_lazy("New reports"), required=False, initial=True)
    status_changes = forms.BooleanField(label=gettext_lazy("Status changes of reports"), required=False)
    categories = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Only these categories (none chosen: all)"), queryset=alert_categories(),
        to_field_name="slug", required=False, widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": gettext_lazy("Choose categories from the list.")},
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Fresh querysets per form: the lists are data (a new municipality, a category switched off).
        self.fields["municipality"].queryset = municipalities()  # type: ignore[attr-defined]
        self.fields["categories"].queryset = alert_categories()  # type: ignore[attr-defined]

    def clean(self) -> dict:
        data = super().clean() or {}
        if not (data.get("new_reports") or data.get("status_changes")):
            self.add_error("new_reports", _error(_("Choose new reports, status changes, or both."), "required"))
        scope = data.get("scope")
        try:
            if scope == AlertScope.MUNICIPALITY and not data.get("municipality") and "municipality" not in self.errors:
                self.add_error("municipality", _error(_("Choose a municipality."), "required"))
            elif scope == AlertScope.RADIUS:
                self._clean_place(data)
            elif scope == AlertScope.AREA and "area" not in self.errors:
                if not data.get("area"):
                    self.add_error("area", _error(
                        _("Draw an area on the map, or paste it as a GeoJSON polygon."), "required"))
                else:
                    data["polygon"] = parse_area(data["area"])
        except DomainError as error:
            self.add_error(error.field if error.field in self.fields else None, _error(str(error.message), error.code))
        return data

    def _clean_place(self, data: dict) -> None:
        if any(name in self.errors for name in ("lat", "lon", "radius", "address")):
            return
        if data.get("radius") is None:
            self.add_error("radius", _error(str(RADIUS_ERROR), "required"))
            return
        lat, lon = data.get("lat"), data.get("lon")
        if lat is not None and lon is not None:
            data["center"] = _checked(check_point, lat, lon, field="lat")
            return
        address = (data.get("address") or "").strip()
        if not address:
            self.add_error("address", _error(_("Enter an address, or give latitude and longitude."), "required"))
            return
        places = geocoding.search(address)
        if places is None:
            self.add_error("address", _error(_("The address search is not available just now: please give latitude "
                                               "and longitude."), "unavailable"))
        elif not places:
            self.add_error("address", _error(_("No place of this name was found."), "not_found"))
        else:
            _label, lat, lon = places[0]
            data["center"] = _checked(check_point, lat, lon, field="address")


def _checked(check, *args, field: str):
    try:
        return check(*args)
    except DomainError as error:
        raise DomainError(error.message, field=field, code=error.code) from None


def _map_config() -> dict:
    """What the form's map script needs (as the public map's), its words translated here."""
    return {
        "tileUrl": settings.TILE_URL, "attribution": str(settings.TILE_ATTRIBUTION),
        "center": list(settings.LEAFLET_CONFIG["DEFAULT_CENTER"]), "zoom": settings.LEAFLET_CONFIG["DEFAULT_ZOOM"],
        "strings": {"corners": _("Corners of the area: %(count)s."), "place": _("The place is set.")},
    }


def _alerts_page(request: HttpRequest, *, form: AlertForm | None, status: int = 200, text: str = "",
                 error: str = "") -> HttpResponse:
    return render(request, "notifications/alerts.html", {
        "form": form, "text": text, "alert_error": error, "title": _("E-mail alerts for an area"),
        "map_config": _map_config() if form is not None else None,
    }, status=status)


def _throttled(request: HttpRequest) -> bool:
    """Each request sends a mail: the limit of the support action holds (per client address), as for following."""
    view = type("AlertPage", (), {"throttle_scope": "support"})()
    return not ClientRateThrottle().allow_request(request, view)


def _subscribe(request: HttpRequest, form: AlertForm) -> None:
    data = form.cleaned_data
    scope = data["scope"]
    alert_request(
        address=data["email"], language=request.LANGUAGE_CODE,
        municipality=data["municipality"] if scope == AlertScope.MUNICIPALITY else None,
        center=data.get("center") if scope == AlertScope.RADIUS else None,
        radius_m=data.get("radius") if scope == AlertScope.RADIUS else None,
        area=data.get("polygon") if scope == AlertScope.AREA else None,
        new_reports=data["new_reports"], status_changes=data["status_changes"], categories=list(data["categories"]),
    )


@require_http_methods(["GET", "POST"])
def alerts(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _alerts_page(request, form=AlertForm())
    form = AlertForm(request.POST)
    if _throttled(request):
        return _alerts_page(request, form=form, status=429,
                            error=_("Too many requests from your connection. Please try again later."))
    if not form.is_valid():
        return _alerts_page(request, form=form, status=400)
    _subscribe(request, form)
    return _alerts_page(request, form=None, text=_("Please confirm your address: we have sent you an e-mail."))


def _json_errors(errors: list[dict], status: int) -> JsonResponse:
    return JsonResponse({"errors": errors}, status=status)


@csrf_exempt  # for apps: no cookies, no session; the confirmation mail is the consent
@require_http_methods(["POST"])
def alerts_api(request: HttpRequest) -> HttpResponse:
    """POST /api/v1/alerts/ (JSON): the form's fields (``area`` may be a GeoJSON object); 202 when the
    confirmation mail is queued, the same answer whether or not the alert existed."""
    try:
        body = json.loads(request.body or b"null")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return _json_errors([{"field": None, "code": "parse_error", "message": _("Send a JSON object.")}], 400)
    if _throttled(request):
        return _json_errors([{"field": None, "code": "throttled", "message": _(
            "Too many requests from your connection. Please try again later.")}], 429)
    body.setdefault("new_reports", True)  # as the form's box is ticked at first
    if isinstance(body.get("area"), dict):
        body["area"] = json.dumps(body["area"])
    if isinstance(body.get("categories"), str) or not isinstance(body.get("categories", []), list):
        body["categories"] = [body["categories"]]
    form = AlertForm({key: value for key, value in body.items() if value is not None and key in AlertForm.base_fields})
    if not form.is_valid():
        return _json_errors([
            {"field": None if field == "__all__" else field, "code": error["code"] or "invalid",
             "message": error["message"]}
            for field, errors in form.errors.get_json_data().items() for error in errors
        ], 400)
    _subscribe(request, form)
    return JsonResponse({"status": "confirmation_sent", "message": _(
        "Please confirm your address: we have sent you an e-mail.")}, status=202)


@require_http_methods(["GET", "POST"])
def alert_confirmation(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "GET":
        if alert_for_token(token) is None:
            return _invalid(request)
        return _page(
            request, title=_("Confirm your area alert"),
            text=_("Confirm to be told by e-mail about reports in the area you chose."),
            button=_("Confirm and start the alert"),
        )
    if alert_confirm(token=token) is None:
        return _invalid(request)
    return _page(
        request, title=_("Thank you: your area alert is active"),
        text=_("You will be told by e-mail about reports in the area. Every mail has a link to stop them."),
    )


@csrf_exempt  # RFC 8058 one-click: the mail client POSTs without a form; the signed token is the secret
@require_http_methods(["GET", "POST"])
def alert_unsubscribe_page(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "GET":
        if unsubscribe_target(token) is None:
            return _invalid(request)
        return _page(
            request, title=_("Stop this area alert?"),
            text=_("We delete the alert and your address for it; you will get no more mails about this area."),
            button=_("Stop the alert"),
        )
    if not alert_unsubscribe(token=token):
        return _invalid(request)
    return _page(
        request, title=_("Your area alert is stopped"),
        text=_("We have deleted the alert and your address for it. You will get no more mails about this area."),
    )
