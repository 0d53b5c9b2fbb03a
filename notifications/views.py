"""Pages behind the links in mails. A GET only shows a button: mail scanners that open links must
not confirm addresses or reopen reports; the POST of the button does it."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

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
