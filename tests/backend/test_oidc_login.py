"""Staff single sign-on through a real OpenID Connect provider, each in its own process.

The provider is django-oidc-provider in a small Django project of its own (tests/oidc_provider/): SQLite in a
temporary directory, an RS256 key made at start (``creatersakey``), users with a ``groups`` claim and a client with
OpenMelder's redirect URI, served by ``manage.py runserver`` on loopback. OpenMelder runs as ``make run`` starts it
(tests/live.py) with the OIDC settings in its environment. A person signs in as in a browser: OpenMelder's login
page, the provider's login form, back to OpenMelder, every redirect followed by a requests session.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.conftest import DEMO_PASSWORD, REPO, manage
from tests.live import _stop, free_port, migrated_database, uvicorn_process

PROVIDER_DIR = REPO / "tests" / "oidc_provider"
CLIENT_ID, CLIENT_SECRET = "openmelder", "client-secret-for-tests"
MEMBERSHIP_MAP = {
    "bauhof-hameln": "bauhof-hameln:worker",
    "bauhof-hameln-leitung": {"department": "bauhof-hameln", "role": "lead"},
    "bauhof-aerzen": ["bauhof-aerzen:worker"],
}


@dataclass
class Provider:
    base: str
    env: dict[str, str]

    @property
    def issuer(self) -> str:
        return f"{self.base}/openid"

    def seed(self, *args: str) -> None:
        result = subprocess.run([sys.executable, "manage.py", "op_seed", *args], cwd=PROVIDER_DIR, env=self.env,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr

    def user(self, name: str, *, groups: str = "", email: str = "", unverified: bool = False) -> None:
        self.seed("user", name, f"{name}-password", "--email", email or f"{name}@hameln.example",
                  "--first-name", name.title(), "--groups", groups, *(["--unverified"] if unverified else []))


@pytest.fixture(scope="module")
def provider(tmp_path_factory) -> Iterator[Provider]:
    directory = tmp_path_factory.mktemp("oidc-provider")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"PATH": "/usr/bin:/bin", "OP_DATABASE": str(directory / "op.sqlite3"), "OP_SITE_URL": base}
    for command in (["migrate", "--noinput"], ["creatersakey"]):
        result = subprocess.run([sys.executable, "manage.py", *command], cwd=PROVIDER_DIR, env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=PROVIDER_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{base}/openid/.well-known/openid-configuration", timeout=1)
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                _stop(process)
                pytest.fail("the OpenID Connect provider did not start")
            time.sleep(0.2)
    try:
        yield Provider(base, env)
    finally:
        _stop(process)


@dataclass
class Site:
    base: str
    env: dict[str, str]

    def query(self, code: str) -> object:
        """What ``code`` (Python, run in manage.py shell on the site's database) prints as JSON."""
        result = manage("shell", "-c", code, env=self.env)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout.strip().splitlines()[-1])

    def memberships(self, username: str) -> dict[str, str]:
        return self.query(  # type: ignore[return-value]
            "import json; from geo.models import Membership; print(json.dumps(dict(Membership.objects.filter("
            f"user__username={username!r}).values_list('department__slug', 'role'))))"
        )


@contextmanager
def openmelder(directory: Path, provider: Provider, **extra: str) -> Iterator[Site]:
    with migrated_database(directory) as database:
        env = {
            "DEBUG": "true", "DATA_DIR": str(directory), "DATABASE_URL": database,
            "OIDC_ISSUER": provider.issuer, "OIDC_RP_CLIENT_ID": CLIENT_ID, "OIDC_RP_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_RP_SCOPES": "openid email profile groups", "OIDC_GROUPS_CLAIM": "groups",
            "OIDC_MEMBERSHIP_MAP": json.dumps(MEMBERSHIP_MAP), **extra,
        }
        with uvicorn_process(env) as (base, _process):
            provider.seed("client", CLIENT_ID, CLIENT_SECRET, "--redirect-uri", f"{base}/staff/sso/callback/",
                          "--post-logout-uri", f"{base}/staff/login/")
            yield Site(base, env)


@pytest.fixture(scope="module")
def synced(provider, tmp_path_factory) -> Iterator[Site]:
    """Memberships from the claims at every sign-in; password logins turned off."""
    with openmelder(tmp_path_factory.mktemp("om-synced"), provider, LOCAL_LOGIN_ENABLED="false") as site:
        yield site


@pytest.fixture(scope="module")
def kept(provider, tmp_path_factory) -> Iterator[Site]:
    """Memberships kept in the admin (OIDC_MEMBERSHIPS_FROM_CLAIMS=false); password logins as before."""
    with openmelder(tmp_path_factory.mktemp("om-kept"), provider, OIDC_MEMBERSHIPS_FROM_CLAIMS="false") as site:
        yield site


def _provider_form(session: requests.Session, response: requests.Response, username: str) -> requests.Response:
    """Fills in the provider's login form that ``response`` shows and sends it."""
    assert "Test-Anmeldedienst" in response.text, response.text[:500]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.text)
    next_value = re.search(r'name="next" value="([^"]*)"', response.text)
    assert token and next_value
    return session.post(response.url, data={
        "csrfmiddlewaretoken": token.group(1), "username": username, "password": f"{username}-password",
        "next": html.unescape(next_value.group(1)),
    }, timeout=30)


def sign_in(site: Site, username: str) -> tuple[requests.Session, requests.Response]:
    """From OpenMelder's login page through the provider's form and back; the session and the last answer."""
    session = requests.Session()
    page = session.get(f"{site.base}/staff/login/", timeout=30)
    link = re.search(r'<a [^>]*id="sso-login" href="([^"]+)"[^>]*>([^<]+)</a>', page.text)
    assert link and link.group(2) == "Mit Dienstkonto anmelden", page.text
    at_provider = session.get(site.base + html.unescape(link.group(1)), timeout=30)
    return session, _provider_form(session, at_provider, username)


def test_a_staff_member_signs_in_through_the_provider_and_lands_in_the_staff_pages_with_the_mapped_department(
    provider, synced
):
    provider.user("anna", groups="bauhof-hameln")
    session, landed = sign_in(synced, "anna")
    assert landed.status_code == 200
    assert landed.url == f"{synced.base}/staff/"
    assert "Bauhof Hameln (Mitarbeiter/in)" in landed.text
    assert synced.memberships("anna") == {"bauhof-hameln": "worker"}
    # A second visit needs no second sign-in: the session is OpenMelder's own.
    assert session.get(f"{synced.base}/staff/", timeout=30, allow_redirects=False).status_code == 200


def test_the_page_asked_for_before_the_sign_in_is_the_one_shown_after_it(provider, synced):
    provider.user("amelie", groups="bauhof-hameln")
    session = requests.Session()
    to_login = session.get(f"{synced.base}/staff/karte/", timeout=30)
    assert to_login.url.startswith(f"{synced.base}/staff/login/?next=")
    link = re.search(r'id="sso-login" href="([^"]+)"', to_login.text)
    assert link
    landed = _provider_form(session, session.get(synced.base + html.unescape(link.group(1)), timeout=30), "amelie")
    assert landed.url == f"{synced.base}/staff/karte/"


def test_someone_whose_groups_map_to_no_department_is_refused_in_german_and_gets_no_account(provider, synced):
    provider.user("bernd", groups="kantine")
    session, refused = sign_in(synced, "bernd")
    assert refused.status_code == 403
    assert "keiner Abteilung zugeordnet" in refused.text
    assert session.get(f"{synced.base}/staff/", timeout=30).url.startswith(f"{synced.base}/staff/login/")
    assert synced.query(
        "from django.contrib.auth.models import User; from geo.models import Membership; "
        "print(User.objects.filter(username='bernd').count() + Membership.objects.filter(user__username='bernd')"
        ".count())"
    ) == 0


def test_a_second_sign_in_brings_the_memberships_in_line_with_the_changed_groups(provider, synced):
    provider.user("carl", groups="bauhof-hameln")
    sign_in(synced, "carl")
    assert synced.memberships("carl") == {"bauhof-hameln": "worker"}

    provider.user("carl", groups="bauhof-hameln-leitung,bauhof-aerzen")
    _session, landed = sign_in(synced, "carl")
    assert landed.url == f"{synced.base}/staff/"
    assert synced.memberships("carl") == {"bauhof-hameln": "lead", "bauhof-aerzen": "worker"}
    assert synced.query("from django.contrib.auth.models import User; "
                        "print(User.objects.filter(username__startswith='carl').count())") == 1

    provider.user("carl", groups="")
    _session, refused = sign_in(synced, "carl")
    assert refused.status_code == 403
    assert synced.memberships("carl") == {}


def test_memberships_kept_in_the_admin_are_left_as_they_are_by_every_sign_in(provider, kept):
    # An account the administrator made, with the address the provider vouches for: linked at the first sign-in.
    kept.query(
        "from django.contrib.auth.models import User; from geo.models import Department, Membership; "
        "user = User.objects.create_user('dora.local', email='Dora@Hameln.example'); "
        "Membership.objects.create(user=user, department=Department.objects.get(slug='bauhof-hameln'), role='lead'); "
        "print(user.pk)"
    )
    provider.user("dora", groups="bauhof-aerzen", email="dora@hameln.example")
    _session, landed = sign_in(kept, "dora")
    assert landed.url == f"{kept.base}/staff/"
    assert "Bauhof Hameln (Leitung)" in landed.text
    assert kept.memberships("dora.local") == {"bauhof-hameln": "lead"}

    provider.user("dora", groups="bauhof-hameln", email="dora-neu@hameln.example")
    _session, landed = sign_in(kept, "dora")
    assert landed.url == f"{kept.base}/staff/"
    assert kept.memberships("dora.local") == {"bauhof-hameln": "lead"}
    # Found by the provider's subject the second time, although the address changed.
    assert kept.query(
        "import json; from django.contrib.auth.models import User; print(json.dumps(list(User.objects.filter("
        "email__iendswith='hameln.example', username__startswith='dora').values_list('username', 'email'))))"
    ) == [["dora.local", "dora-neu@hameln.example"]]


def test_an_address_the_provider_does_not_vouch_for_takes_over_no_account(provider, kept):
    kept.query(
        "from django.contrib.auth.models import User; from geo.models import Department, Membership; "
        "user = User.objects.create_user('erik.local', email='erik@hameln.example'); "
        "Membership.objects.create(user=user, department=Department.objects.get(slug='bauhof-hameln')); print(1)"
    )
    provider.user("erik", groups="bauhof-hameln", unverified=True)
    session, refused = sign_in(kept, "erik")
    # A new account of its own, without a department until the administrator gives it one.
    assert refused.status_code == 403
    assert "keiner Abteilung zugeordnet" in refused.text
    assert session.get(f"{kept.base}/staff/", timeout=30).url.startswith(f"{kept.base}/staff/login/")
    assert kept.query(
        "import json; from geo.models import StaffIdentity; print(json.dumps(list(StaffIdentity.objects.order_by('pk')"
        ".values_list('user__username', flat=True))))"
    )[-1] == "erik"


def test_a_superuser_is_never_taken_over_by_an_address(provider, synced):
    synced.query(
        "from django.contrib.auth.models import User; "
        "print(User.objects.create_superuser('hanna.admin', 'hanna@hameln.example', 'x').pk)"
    )
    provider.user("hanna", groups="bauhof-hameln", email="hanna@hameln.example")
    _session, landed = sign_in(synced, "hanna")
    assert landed.url == f"{synced.base}/staff/"
    assert "Bauhof Hameln (Mitarbeiter/in)" in landed.text  # a new account: the superuser's shows no department
    assert synced.query(
        "import json; from geo.models import StaffIdentity; print(json.dumps(list(StaffIdentity.objects.filter("
        "user__email='hanna@hameln.example').values_list('user__username', 'user__is_superuser'))))"
    ) == [["hanna", False]]


def test_a_password_login_is_refused_when_local_logins_are_off(synced, kept):
    page = requests.get(f"{synced.base}/staff/login/", timeout=30)
    assert 'name="password"' not in page.text and "Mit Dienstkonto anmelden" in page.text

    session = requests.Session()
    session.get(f"{synced.base}/staff/login/", timeout=30)
    refused = session.post(f"{synced.base}/staff/login/", data={
        "csrfmiddlewaretoken": session.cookies["csrftoken"], "username": "bauhof-hameln-worker",
        "password": DEMO_PASSWORD,
    }, timeout=30)
    assert refused.status_code == 403
    assert "Anmelden mit Passwort ist abgeschaltet" in refused.text
    assert session.get(f"{synced.base}/staff/", timeout=30).url.startswith(f"{synced.base}/staff/login/")

    token = requests.post(f"{synced.base}/api/staff/auth/token/",
                          json={"username": "bauhof-hameln-worker", "password": DEMO_PASSWORD}, timeout=30)
    assert token.status_code == 403
    assert token.json()["errors"][0]["code"] == "local_login_disabled"

    # The administrator keeps a way in when the provider is down: the admin's form, for superusers only.
    for username, admitted in (("bauhof-hameln", False), ("admin", True)):
        admin = requests.Session()
        admin.get(f"{synced.base}/admin/login/", timeout=30)
        answer = admin.post(f"{synced.base}/admin/login/?next=/admin/", data={
            "csrfmiddlewaretoken": admin.cookies["csrftoken"], "username": username, "password": DEMO_PASSWORD,
            "next": "/admin/",
        }, timeout=30)
        assert (answer.url == f"{synced.base}/admin/") is admitted, (username, answer.url)

    # With local logins on (the default), the same password works.
    allowed = requests.Session()
    allowed.get(f"{kept.base}/staff/login/", timeout=30)
    landed = allowed.post(f"{kept.base}/staff/login/", data={
        "csrfmiddlewaretoken": allowed.cookies["csrftoken"], "username": "bauhof-hameln-worker",
        "password": DEMO_PASSWORD,
    }, timeout=30)
    assert landed.url == f"{kept.base}/staff/"


def _callback_of(session: requests.Session, site: Site, username: str) -> str:
    """Starts a sign-in in ``session`` and signs in at the provider (unless it still knows the session), but stops
    before OpenMelder's callback: its URL."""
    answer = session.get(f"{site.base}/staff/sso/login/", allow_redirects=False, timeout=30)
    while not answer.headers.get("Location", "").startswith(f"{site.base}/staff/sso/callback/"):
        if answer.status_code == 200:
            form = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', answer.text)
            next_value = re.search(r'name="next" value="([^"]*)"', answer.text)
            assert "Test-Anmeldedienst" in answer.text and form and next_value, answer.text[:500]
            answer = session.post(answer.url, data={
                "csrfmiddlewaretoken": form.group(1), "username": username, "password": f"{username}-password",
                "next": html.unescape(next_value.group(1)),
            }, allow_redirects=False, timeout=30)
        else:
            assert answer.status_code == 302, answer.status_code
            answer = session.get(requests.compat.urljoin(answer.url, answer.headers["Location"]),
                                 allow_redirects=False, timeout=30)
    return answer.headers["Location"]


def test_a_state_or_nonce_that_this_session_did_not_start_is_refused(provider, synced):
    provider.user("fritz", groups="bauhof-hameln")

    # A callback carried into another browser (someone else's session, login CSRF): its state is unknown there.
    victim = requests.Session()
    victim.get(f"{synced.base}/staff/sso/login/", timeout=30)
    foreign = victim.get(_callback_of(requests.Session(), synced, "fritz"), timeout=30)
    assert foreign.status_code == 400
    assert "nicht bestätigt" in foreign.text
    assert victim.get(f"{synced.base}/staff/", timeout=30).url.startswith(f"{synced.base}/staff/login/")

    # The code of one sign-in with the state of another of the same session: its nonce (and PKCE verifier) differ.
    session = requests.Session()
    first = _callback_of(session, synced, "fritz")
    second = _callback_of(session, synced, "fritz")
    code = re.search(r"[?&]code=([^&]+)", first)
    state = re.search(r"[?&]state=([^&]+)", second)
    assert code and state
    swapped = session.get(f"{synced.base}/staff/sso/callback/?code={code.group(1)}&state={state.group(1)}",
                          timeout=30)
    assert swapped.status_code == 400
    assert "nicht bestätigt" in swapped.text
    assert session.get(f"{synced.base}/staff/", timeout=30).url.startswith(f"{synced.base}/staff/login/")

    # A made-up state is refused as well, and the genuine callback still works once (and only once).
    assert session.get(f"{synced.base}/staff/sso/callback/?code=x&state=forged", timeout=30).status_code == 400
    assert session.get(first, timeout=30).url == f"{synced.base}/staff/"
    assert session.get(first, timeout=30).status_code == 400  # its state was used up


def test_logging_out_ends_the_session_here_and_at_the_provider(provider, synced):
    provider.user("greta", groups="bauhof-hameln")
    session, _landed = sign_in(synced, "greta")
    logout = session.post(f"{synced.base}/staff/logout/", data={"csrfmiddlewaretoken": session.cookies["csrftoken"]},
                          allow_redirects=False, timeout=30)
    assert logout.status_code == 302
    assert logout.headers["Location"].startswith(f"{provider.issuer}/end-session")
    assert "id_token_hint=" in logout.headers["Location"]
    assert session.get(f"{synced.base}/staff/", timeout=30).url.startswith(f"{synced.base}/staff/login/")


@pytest.mark.backend_independent  # reads settings in a fresh process, no database
@pytest.mark.parametrize(("env", "message"), [
    ({"OIDC_MEMBERSHIP_MAP": "{bauhof"}, "OIDC_MEMBERSHIP_MAP is not valid JSON"),
    ({"OIDC_MEMBERSHIP_MAP": '{"a": {"dept": 1}}'}, "OIDC_MEMBERSHIP_MAP: the membership"),
    ({"OIDC_MEMBERSHIP_MAP": '{"a": "bauhof-hameln:chef"}'}, "unknown role 'chef'"),
    ({"OIDC_RP_CLIENT_ID": "x"}, "OIDC_RP_CLIENT_ID is set but not the provider"),
    ({"LOCAL_LOGIN_ENABLED": "false"}, "LOCAL_LOGIN_ENABLED=false needs single sign-on"),
])
def test_a_misconfigured_single_sign_on_is_named_at_start(tmp_path, env, message):
    result = manage("check", env={"DEBUG": "true", "DATA_DIR": str(tmp_path), **env})
    assert result.returncode != 0
    assert message in result.stderr


@pytest.mark.django_db
def test_without_single_sign_on_the_login_page_offers_only_the_password(client):
    page = client.get("/staff/login/", secure=True).content.decode()
    assert "Mit Dienstkonto anmelden" not in page and 'name="password"' in page
    assert client.get("/staff/sso/login/", secure=True).status_code == 404
    assert client.get("/staff/sso/callback/?code=x&state=y", secure=True).status_code == 404


@pytest.mark.django_db
def test_a_provider_that_cannot_be_reached_is_said_so_in_german(client, settings):
    settings.OIDC_ENABLED, settings.OIDC_RP_CLIENT_ID, settings.OIDC_ISSUER = True, "openmelder", "http://127.0.0.1:9"
    assert "Mit Dienstkonto anmelden" in client.get("/staff/login/", secure=True).content.decode()
    answer = client.get("/staff/sso/login/", secure=True)
    assert answer.status_code == 502
    assert "Der Anmeldedienst Ihrer Verwaltung ist gerade nicht erreichbar" in answer.content.decode()
