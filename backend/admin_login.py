"""The admin's login page under the login budget of the staff web app and the token login.

Django's admin counts no failed logins: 40 wrong passwords in 11 seconds went through, then the
right one. The admin is the most powerful account, so its form counts against the same budget per
client address (``API_RATE_LOGIN``) as every other login.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from backend.throttling import login_attempt_wait


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
