"""Staff single sign-on through OpenID Connect (Keycloak, AD FS, …), on top of mozilla-django-oidc.

The provider's endpoints come from the settings or, with ``OIDC_ISSUER``, from its discovery document (fetched on
first use, kept for an hour). The library does the authorization code flow with state, nonce and PKCE; this module
adds what it leaves out: the ID token's issuer and audience are checked, the userinfo must be about the ID token's
subject, and a sign-in that is refused says why on a page of its own (403 when the account may not use the staff
pages, 400 when the answer cannot be trusted, 502 when the provider cannot be reached), never a 500. Which account
and which memberships is geo.staff_accounts' decision.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.generic import View
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from geo.staff_accounts import SignIn, staff_account_sign_in

logger = logging.getLogger(__name__)

DISCOVERY_SECONDS = 3600


class ProviderUnavailable(Exception):
    """The provider's discovery document cannot be read (or does not describe the configured issuer)."""


@dataclass(frozen=True)
class Provider:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_endpoint: str
    end_session_endpoint: str


_discovered: dict[str, tuple[float, dict[str, Any]]] = {}
_lock = threading.Lock()


def _discovery() -> dict[str, Any]:
    issuer = settings.OIDC_ISSUER
    with _lock:
        cached = _discovered.get(issuer)
        if cached and cached[0] > time.monotonic():
            return cached[1]
    try:
        response = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ProviderUnavailable(f"discovery of {issuer} failed: {exc}") from exc
    if not isinstance(document, dict) or document.get("issuer", "").rstrip("/") != issuer:
        raise ProviderUnavailable(f"the discovery document of {issuer} names another issuer")
    with _lock:
        _discovered[issuer] = (time.monotonic() + DISCOVERY_SECONDS, document)
    return document


def provider() -> Provider:
    """The provider's endpoints: each from its setting, else from the issuer's discovery document."""
    document = _discovery() if settings.OIDC_ISSUER else {}

    def endpoint(setting: str, key: str) -> str:
        return getattr(settings, setting) or str(document.get(key) or "")

    return Provider(
        issuer=settings.OIDC_ISSUER or str(document.get("issuer") or ""),
        authorization_endpoint=endpoint("OIDC_OP_AUTHORIZATION_ENDPOINT", "authorization_endpoint"),
        token_endpoint=endpoint("OIDC_OP_TOKEN_ENDPOINT", "token_endpoint"),
        userinfo_endpoint=endpoint("OIDC_OP_USER_ENDPOINT", "userinfo_endpoint"),
        jwks_endpoint=endpoint("OIDC_OP_JWKS_ENDPOINT", "jwks_uri"),
        end_session_endpoint=endpoint("OIDC_OP_END_SESSION_ENDPOINT", "end_session_endpoint"),
    )


def _verified(value: Any) -> bool:
    """``email_verified`` as a boolean (some providers send the string "true")."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _groups(claims: dict[str, Any]) -> list[str]:
    value = claims.get(settings.OIDC_GROUPS_CLAIM, [])
    if isinstance(value, str):
        value = [value]
    # Keycloak's full group paths ("/bauhof-hameln") match the map's entry without the slash as well.
    names = [str(item) for item in value] if isinstance(value, list) else []
    return names + [name.lstrip("/") for name in names if name.startswith("/")]


class StaffOIDCBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's backend with the endpoints resolved when a sign-in needs them, not at construction
    (Django constructs every backend for every password login, too), and the account decided by geo.staff_accounts."""

    def __init__(self, *args, **kwargs) -> None:
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
        self.OIDC_RP_IDP_SIGN_KEY = None
        self.UserModel = get_user_model()

    @property
    def OIDC_OP_TOKEN_ENDPOINT(self) -> str:  # noqa: N802  # the library's attribute names
        return provider().token_endpoint

    @property
    def OIDC_OP_USER_ENDPOINT(self) -> str:  # noqa: N802
        return provider().userinfo_endpoint

    @property
    def OIDC_OP_JWKS_ENDPOINT(self) -> str:  # noqa: N802
        return provider().jwks_endpoint

    def authenticate(self, request, **kwargs):
        # Only the callback view passes a nonce: a password login (or a forged ?code= on the login form) is not ours.
        if request is None or "nonce" not in kwargs:
            return None
        return super().authenticate(request, **kwargs)

    def get_payload_data(self, token, key):
        payload = super().get_payload_data(token, key)
        issuer = provider().issuer
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if issuer and str(payload.get("iss", "")).rstrip("/") != issuer.rstrip("/"):
            raise SuspiciousOperation("OIDC: the token's issuer is not the configured provider")
        if self.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("OIDC: the token is not meant for this client")
        return payload

    def get_userinfo(self, access_token, id_token, payload):
        userinfo = super().get_userinfo(access_token, id_token, payload)
        if not isinstance(userinfo, dict) or userinfo.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("OIDC: the userinfo is about another subject than the ID token")
        # AD FS sends the groups in the ID token only, Keycloak in either: the userinfo wins where both say.
        return {**payload, **userinfo}

    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload)
        sign_in = SignIn(
            issuer=str(payload.get("iss") or provider().issuer),
            subject=str(claims["sub"]),
            email=str(claims.get("email") or ""),
            email_verified=_verified(claims.get("email_verified")),
            username=str(claims.get("preferred_username") or "")[:150],
            first_name=str(claims.get("given_name") or ""),
            last_name=str(claims.get("family_name") or ""),
            groups=_groups(claims),
        )
        user, allowed = staff_account_sign_in(sign_in)
        if user is None or not allowed or not user.is_active:
            self.request.sso_refusal = "inactive" if user is not None and not user.is_active else "no_department"
            logger.warning("OIDC sign-in refused (%s); groups: %s", self.request.sso_refusal, sign_in.groups)
            return None
        return user


REFUSALS: dict[str, tuple[int, Any, Any]] = {
    "no_department": (
        403, _("No access to the staff pages"),
        _("Your work account is not assigned to any department. Ask your IT department or administrator to add "
          "you to a group that works with OpenMelder."),
    ),
    "inactive": (403, _("No access to the staff pages"), _("This account has been disabled.")),
    "failed": (
        400, _("Sign-in not confirmed"),
        _("The sign-in could not be confirmed: it may have taken too long or been started in another window. "
          "Please try again."),
    ),
    "unavailable": (
        502, _("Sign-in service unavailable"),
        _("The sign-in service of your administration cannot be reached at the moment. Please try again later."),
    ),
}


def refusal(request: HttpRequest, code: str) -> HttpResponse:
    status, title, message = REFUSALS[code]
    return render(request, "staff/sso_refused.html", {"title": title, "message": message}, status=status)


def _require_enabled() -> None:
    if not settings.OIDC_ENABLED:
        raise Http404


class SignInStart(OIDCAuthenticationRequestView):
    """To the provider's login page (with state, nonce and PKCE in this session)."""

    def __init__(self, **kwargs) -> None:
        View.__init__(self, **kwargs)  # the library reads the endpoint here; it is resolved per request below

    def get(self, request):
        _require_enabled()
        try:
            self.OIDC_OP_AUTH_ENDPOINT = provider().authorization_endpoint
        except ProviderUnavailable as exc:
            logger.error("OIDC: %s", exc)
            return refusal(request, "unavailable")
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        return super().get(request)

    def get_extra_params(self, request):
        return {"ui_locales": get_language() or settings.LANGUAGE_CODE}


class SignInCallback(OIDCAuthenticationCallbackView):
    """Where the provider sends the browser back: verify, sign in, on to the staff pages or a page saying why not."""

    def get(self, request):
        _require_enabled()
        try:
            return super().get(request)
        except SuspiciousOperation as exc:
            logger.warning("OIDC sign-in refused: %s", exc)
            return refusal(request, "failed")
        except requests.HTTPError as exc:
            if exc.response is not None and 400 <= exc.response.status_code < 500:
                # The provider refused the code (used, expired, or not this sign-in's: PKCE verifier, redirect URI).
                logger.warning("OIDC sign-in refused by the provider: %s", exc)
                return refusal(request, "failed")
            logger.error("OIDC: the provider failed: %s", exc)
            return refusal(request, "unavailable")
        except (requests.RequestException, ProviderUnavailable, ValueError) as exc:
            logger.error("OIDC: the provider could not be asked: %s", exc)
            return refusal(request, "unavailable")

    @property
    def success_url(self) -> str:
        return self.request.session.get("oidc_login_next") or reverse("staff:tasks")

    def login_failure(self):
        return refusal(self.request, getattr(self.request, "sso_refusal", "failed"))


def end_session_url(request: HttpRequest) -> str | None:
    """The provider's logout for a session that signed in through it (None: the local logout is all there is)."""
    id_token = request.session.get("oidc_id_token")
    if not settings.OIDC_ENABLED or not id_token:
        return None
    try:
        endpoint = provider().end_session_endpoint
    except ProviderUnavailable:
        return None
    if not endpoint:
        return None
    query = urlencode({
        "id_token_hint": id_token, "client_id": settings.OIDC_RP_CLIENT_ID,
        "post_logout_redirect_uri": request.build_absolute_uri(reverse("staff:login")),
    })
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"
