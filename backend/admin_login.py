"""The admin's login page under the login budget of the staff web app and the token login.

Django's admin counts no failed logins: 40 wrong passwords in 11 seconds went through, then the
right one. The admin is the most powerful account, so its form counts against the same budget per
client address (``API_RATE_LOGIN``) as every other login.

With ``LOCAL_LOGIN_ENABLED=false`` staff sign in through the single sign-on provider; the admin's password
form stays open to superusers only, the way in when the provider is down (break glass).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from backend.throttling import login_attempt_wait


class AdminLoginForm(AdminAuthenticationForm):
    def confirm_login_allowed(self, user) -> None:
        super().confirm_login_allowed(user)
        if not settings.LOCAL_LOGIN_ENABLED and not user.is_superuser:
            raise ValidationError(
                _("Logging in with a password is turned off. Please sign in with your work account."),
                code="local_login_disabled",
            )


admin.site.login_form = AdminLoginForm


@never_cache
def admin_login(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        wait = login_attempt_wait(request)
        if wait is not None:
            context = {**admin.site.each_context(request), "title": _("Too many login attempts")}
            response = render(request, "admin/too_many_attempts.html", context, status=429)
            response["Retry-After"] = str(wait)
            return response
    return admin.site.login(request)
