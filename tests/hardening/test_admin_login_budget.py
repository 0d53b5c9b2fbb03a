"""Guessing the admin's password is limited like every other login: after the budget of a client address
the admin login answers 429, even to the right password, until the window has passed."""

from __future__ import annotations

import time

import pytest
from django.test import Client

from backend.throttling import ClientRateThrottle

pytestmark = pytest.mark.django_db

PASSWORD = "Admin-Pass-2026"


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser("verwaltung", "it@hameln.example", PASSWORD)


@pytest.fixture
def small_budget(settings):
    settings.API_RATES = {**settings.API_RATES, "login": "3/minute"}


def browser(address: str = "192.0.2.40", language: str = "de") -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE=language, REMOTE_ADDR=address)


def log_in(client: Client, password: str):
    return client.post("/admin/login/?next=/admin/", {"username": "verwaltung", "password": password,
                                                      "next": "/admin/"}, secure=True)


def is_logged_in(client: Client) -> bool:
    return client.get("/admin/", secure=True).status_code == 200


def test_the_right_password_is_refused_with_429_once_the_guesses_used_up_the_budget(admin_user, small_budget):
    attacker = browser()
    guesses = [log_in(attacker, f"falsch-{n}") for n in range(3)]

    answer = log_in(attacker, PASSWORD)

    assert [g.status_code for g in guesses] == [200, 200, 200]
    assert answer.status_code == 429
    assert int(answer["Retry-After"]) > 0
    assert "Zu viele Anmeldeversuche" in answer.content.decode()
    assert not is_logged_in(attacker)


def test_the_message_is_english_for_an_english_browser(admin_user, small_budget):
    attacker = browser(language="en")
    for n in range(3):
        log_in(attacker, f"wrong-{n}")

    answer = log_in(attacker, PASSWORD)

    assert answer.status_code == 429
    assert "Too many login attempts" in answer.content.decode()


def test_guesses_at_the_staff_login_and_the_token_login_use_up_the_same_budget(admin_user, small_budget):
    attacker = browser()
    attacker.post("/staff/login/", {"username": "verwaltung", "password": "falsch"}, secure=True)
    attacker.post("/api/staff/auth/token/", {"username": "verwaltung", "password": "falsch"}, secure=True)
    attacker.post("/staff/login/", {"username": "verwaltung", "password": "falsch"}, secure=True)

    assert log_in(attacker, PASSWORD).status_code == 429
    assert not is_logged_in(attacker)


def test_another_address_still_logs_in(admin_user, small_budget):
    attacker = browser("192.0.2.40")
    for n in range(4):
        log_in(attacker, f"falsch-{n}")

    colleague = browser("198.51.100.7")
    answer = log_in(colleague, PASSWORD)

    assert answer.status_code == 302 and answer["Location"] == "/admin/"
    assert is_logged_in(colleague)


def test_the_right_password_works_again_after_the_window(admin_user, small_budget, monkeypatch):
    attacker = browser()
    for n in range(4):
        log_in(attacker, f"falsch-{n}")
    assert log_in(attacker, PASSWORD).status_code == 429

    later = time.time() + 61
    monkeypatch.setattr(ClientRateThrottle, "timer", lambda self: later)

    assert log_in(attacker, PASSWORD).status_code == 302
    assert is_logged_in(attacker)


def test_looking_at_the_login_page_costs_nothing(admin_user, small_budget):
    visitor = browser()
    for _ in range(10):
        assert visitor.get("/admin/login/", secure=True).status_code == 200

    assert log_in(visitor, PASSWORD).status_code == 302
