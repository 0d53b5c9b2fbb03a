"""API keys per client application: made by manage.py open311_key or in the admin, stored only as a hash."""

import pytest

from mobile_api.models import Open311Client
from tests.conftest import manage
from tests.mobile_api.open311.conftest import HAMELN_MARKET, errors_of, post

pytestmark = pytest.mark.django_db(transaction=True)


def _env() -> dict[str, str]:
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("postgis"):
        server = f"{database['HOST']}:{database['PORT']}"
        url = f"postgis://{database['USER']}:{database['PASSWORD']}@{server}/{database['NAME']}"
    else:
        url = f"spatialite:///{database['NAME']}"
    return {"DATABASE_URL": url, "SECRET_KEY": "x", "DEBUG": "false"}


def _submit(client, key: str):
    lat, lon = HAMELN_MARKET
    return post(client, "requests.json", {"api_key": key, "service_code": "schlagloch", "lat": lat, "long": lon})


def test_the_command_prints_a_key_that_works_and_stores_only_its_hash(client, demo):
    result = manage("open311_key", "FixMyStreet", env=_env())
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip()
    assert len(key) >= 40
    stored = Open311Client.objects.get(name="FixMyStreet")
    assert key not in (stored.key_hash, stored.key_prefix) and stored.key_prefix == key[:8]
    assert _submit(client, key).status_code == 201
    stored.refresh_from_db()
    assert stored.last_used_at is not None


def test_a_second_key_for_the_same_name_needs_rotate_and_the_old_key_stops_working(client, demo):
    old = manage("open311_key", "Klarschiff", env=_env()).stdout.strip()
    again = manage("open311_key", "Klarschiff", env=_env())
    assert again.returncode != 0 and "--rotate" in again.stderr
    new = manage("open311_key", "Klarschiff", "--rotate", env=_env()).stdout.strip()
    assert new != old
    assert errors_of(_submit(client, old), 403)
    assert _submit(client, new).status_code == 201


def test_an_admin_adds_a_client_and_sees_its_key_once(client, demo, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("operator", "operator@example.org", "Operator-2026"))
    form = client.get("/admin/mobile_api/open311client/add/", secure=True, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'name="submissions_per_hour" value="600"' in form and 'name="media_hosts"' in form
    response = client.post("/admin/mobile_api/open311client/add/", {
        "name": "Mark-a-Spot", "contact": "it@example.org", "active": "on", "submissions_per_hour": "120",
        "media_hosts": "Photos.Example.org\nfixmystreet.example.org",
    }, secure=True, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    [message] = [str(m) for m in response.context["messages"] if "API key" in str(m)]
    key = message.split(": ", 1)[1].split(" ")[0]
    added = Open311Client.objects.get(name="Mark-a-Spot")
    assert added.key_prefix == key[:8]
    assert added.submissions_per_hour == 120
    assert added.media_hosts.split() == ["Photos.Example.org", "fixmystreet.example.org"]
    assert _submit(client, key).status_code == 201
