"""Pages behind the links in mails. A GET only shows a button: mail scanners that open links must
not confirm addresses or reopen reports; the POST of the button does it."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from backend.throttling import ClientRateThrottle
from notifications.following import (
    follow_confirm,
    follow_request,
    followable_reports,
    follower_for_token,
    unfollow,
    unfollow_target,
)
from notifications.models import EmailAddress, hash_token
from notifications.services import address_confirm, reopen_target, report_reopen_by_reporter


def _page(request: HttpRequest, *, title: str, text: str, status: int = 200, button: str = "") -> HttpResponse:
    return render(request, "notifications/page.html", {"title": title, "text": text, "button": button}, status=status)


def _invalid(request: HttpRequest) -> HttpResponse:
    return _page(
        request,
        title=_("This link is no longer valid"),
        text=_("The link was already used, or it has expired. Nothing was changed."),
        status=410,
    )


@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "GET":
        if not EmailAddress.objects.filter(token_hash=hash_token(token)).exists():
            return _invalid(request)
        return _page(
            request,
            title=_("Confirm your e-mail address"),
            text=_("Confirm the address to receive news about your reports by e-mail."),
            button=_("Confirm address"),
        )
    address = address_confirm(token=token)
    if address is None:
        return _invalid(request)
    return _page(
        request,
        title=_("Thank you: your address is confirmed"),
        text=_("You will be told by e-mail when the status of your report changes."),
    )


@require_http_methods(["GET", "POST"])
def reopen(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "GET":
        report = reopen_target(token)
        if report is None:
            return _invalid(request)
        return _page(
            request,
            title=_("Report %(reference)s: the defect is still there?") % {"reference": report.reference},
            text=_("If the defect was not fixed, reopen the report and the responsible department will look again."),
            button=_("Reopen the report"),
        )
    report = report_reopen_by_reporter(token=token, message=_("The reporter says the defect is not fixed."))
    if report is None:
        return _invalid(request)
    return _page(
        request,
        title=_("Report %(reference)s is open again") % {"reference": report.reference},
        text=_("Thank you. The responsible department has been told."),
    )


# --- Following a report from its public page ----------------------------------------------------

def email_field() -> forms.EmailField:
    """The subscriber's address, as the follow and the area alert forms ask for it."""
    return forms.EmailField(
        label=gettext_lazy("Your e-mail address"), max_length=254,
        error_messages={
            "required": gettext_lazy("Please enter your e-mail address."),
            "invalid": gettext_lazy("Please enter a valid e-mail address, e.g. name@example.org."),
            "max_length": gettext_lazy("The address is too long: at most 254 characters."),
        },
    )


class FollowForm(forms.Form):
    email = email_field()


def _follow_page(request: HttpRequest, *, report, form: FollowForm | None, status: int, title: str, text: str = "",
                 error: str = "") -> HttpResponse:
    return render(request, "notifications/follow.html", {
        "report": report, "follow_form": form, "title": title, "text": text, "follow_error": error,
    }, status=status)


def _throttled(request: HttpRequest) -> bool:
    """Each follow sends a mail: the limit of the support action holds (per client address)."""
    view = type("FollowPage", (), {"throttle_scope": "support"})()
    return not ClientRateThrottle().allow_request(request, view)


@require_POST
def follow(request: HttpRequest, key: str) -> HttpResponse:
    report = followable_reports().select_related("category").filter(reference=key[:50]).first()
    if report is None:
        return _follow_page(
            request, report=None, form=None, status=404, title=_("Report not found"),
            text=_("Only published reports can be followed. Please check the address of the page."),
        )
    form = FollowForm(request.POST)
    title = _("Follow report %(reference)s by e-mail") % {"reference": report.reference}
    if _throttled(request):
        return _follow_page(request, report=report, form=form, status=429, title=title,
                            error=_("Too many requests from your connection. Please try again later."))
    if not form.is_valid():
        return _follow_page(request, report=report, form=form, status=400, title=title)
    follow_request(report=report, address=form.cleaned_data["email"], language=request.LANGUAGE_CODE)
    return _follow_page(
        request, report=report, form=None, status=200, title=title,
        text=_("Please confirm your address: we have sent you an e-mail."),
    )


@require_http_methods(["GET", "POST"])
def follow_confirmation(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "GET":
        follower = follower_for_token(token)
        if follower is None:
            return _invalid(request)
        return _page(
            request,
            title=_("Follow report %(reference)s by e-mail") % {"reference": follower.report.reference},
            text=_("Confirm to be told by e-mail when the status of this report changes."),
            button=_("Confirm and follow"),
        )
    follower = follow_confirm(token=token)
    if follower is None:
        return _invalid(request)
    return _page(
        request,
        title=_("Thank you: you now follow report %(reference)s") % {"reference": follower.report.reference},
        text=_("You will be told by e-mail when its status changes. Every mail has a link to stop them."),
    )


@csrf_exempt  # RFC 8058 one-click: the mail client POSTs without a form; the signed token is the secret
@require_http_methods(["GET", "POST"])
def unfollow_page(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "GET":
        follower = unfollow_target(token)
        if follower is None:
            return _invalid(request)
        return _page(
            request,
            title=_("Stop following report %(reference)s?") % {"reference": follower.report.reference},
            text=_("You will get no more mails about this report."),
            button=_("Stop the mails"),
        )
    report = unfollow(token=token)
    if report is None:
        return _invalid(request)
    return _page(
        request,
        title=_("You no longer follow report %(reference)s") % {"reference": report.reference},
        text=_("We have deleted your address for this report. You will get no more mails about it."),
    )
