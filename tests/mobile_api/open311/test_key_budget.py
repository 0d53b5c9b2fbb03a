"""Each API key submits against its own budget, set per client in the admin; POSTs without a valid key
keep the per-address budget of the citizen API, so guessing keys is no way around it."""

import pytest

from mobile_api.models import Open311Client
from reports.models import Report
from tests.mobile_api.open311.conftest import HAMELN_MARKET, errors_of, post

pytestmark = pytest.mark.django_db

LAT, LON = (str(c) for c in HAMELN_MARKET)


def _client(name: str, per_hour: int) -> str:
    client = Open311Client(name=name, submissions_per_hour=per_hour)
    key = client.new_key()
    client.save()
    return key


def _submit(client, key: str, suffix: str = "json"):
    data = {"api_key": key, "service_code": "schlagloch", "lat": LAT, "long": LON}
    return post(client, f"requests.{suffix}", data)


@pytest.fixture
def tight_address_budget(settings):
    settings.API_RATES = {**settings.API_RATES, "submit": "1/hour"}


def test_a_key_has_its_own_budget_that_neither_the_address_nor_another_key_uses_up(
    client, demo, tight_address_budget
):
    fixmystreet, city_app = _client("FixMyStreet", 2), _client("Stadt-App", 2)
    assert [_submit(client, fixmystreet).status_code for _ in range(2)] == [201, 201]
    refused = _submit(client, fixmystreet, "xml")
    assert errors_of(refused, 429)
    assert int(refused["Retry-After"]) > 0
    # Same address, another key: its budget is untouched, though the address budget (1/hour) is long spent.
    assert [_submit(client, city_app).status_code for _ in range(2)] == [201, 201]
    assert Report.objects.count() == 4


def test_without_a_valid_key_posts_count_against_the_address(client, demo, settings):
    settings.API_RATES = {**settings.API_RATES, "submit": "2/hour"}
    _client("FixMyStreet", 100)
    statuses = [_submit(client, "guessed-key").status_code for _ in range(3)]
    assert statuses == [403, 403, 429]


def test_an_operator_sets_the_budget_in_the_admin_and_zero_stops_the_key(client, demo, admin_client):
    key = _client("FixMyStreet", 600)
    registered = Open311Client.objects.get(name="FixMyStreet")
    page = admin_client.get(f"/admin/mobile_api/open311client/{registered.pk}/change/", secure=True)
    assert b'name="submissions_per_hour"' in page.content
    form = {"name": "FixMyStreet", "contact": "", "active": "on", "submissions_per_hour": "0", "media_hosts": ""}
    saved = admin_client.post(f"/admin/mobile_api/open311client/{registered.pk}/change/", form, secure=True)
    assert saved.status_code == 302, saved.content
    assert errors_of(_submit(client, key), 429)
    assert not Report.objects.exists()
