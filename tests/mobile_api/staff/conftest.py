"""Helpers for the staff API tests: an HTTPS client, a citizen's report, clients logged in as the personas.

The reports the staff web app's tests share (hameln_report, hildesheim_report) are fixtures in tests/conftest.py."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.personas import HAMELN_MARKET


class Client(APIClient):
    """Production settings redirect plain HTTP to HTTPS; tests speak HTTPS as deployed clients do."""

    def generic(self, method, path, data="", content_type="application/octet-stream", secure=True, **extra):
        return super().generic(method, path, data, content_type, secure=True, **extra)


def submit(client: APIClient | None = None, *, at=HAMELN_MARKET, category="schlagloch", **extra) -> dict:
    """A citizen's report through the public API; returns its 201 body (with the secret)."""
    client = client or Client()
    data = {"category": category, "lat": str(at[0]), "lon": str(at[1]), "description": "Tiefes Loch", **extra}
    response = client.post("/api/v1/reports/", data, format="multipart")
    assert response.status_code == 201, response.content
    return response.json()


def submit_rendered(client: APIClient | None = None, **extra) -> dict:
    """``submit``, then the worker makes the photos' public renditions: "photos" as the citizen API now lists them."""
    from tests.notifications.delivery import run_worker

    report = submit(client, **extra)
    run_worker()
    reporter = Client()
    reporter.credentials(HTTP_AUTHORIZATION=f"Bearer {report['secret']}")  # also while it awaits review
    return {**report, "photos": reporter.get(f"/api/v1/reports/{report['id']}/").json()["photos"]}


def staff_client(user, language: str = "en") -> APIClient:
    """Logged in the way a staff app is: a token from /api/staff/auth/token/."""
    client = Client()
    response = client.post(
        "/api/staff/auth/token/", {"username": user.username, "password": "Persona-Pass-2026"}, format="json"
    )
    assert response.status_code == 200, response.content
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}", HTTP_ACCEPT_LANGUAGE=language)
    return client


@pytest.fixture
def worker(personas) -> APIClient:
    return staff_client(personas.hameln_worker)


@pytest.fixture
def lead(personas) -> APIClient:
    return staff_client(personas.hameln_lead)


@pytest.fixture
def clerk(personas) -> APIClient:
    return staff_client(personas.hildesheim_clerk)
