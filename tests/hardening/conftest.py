"""Shared by the hardening tests that send bad input to the staff and citizen APIs."""

from __future__ import annotations

import pytest

from tests.mobile_api.staff.conftest import staff_client


def error_fields(response) -> list[str | None]:
    """The fields named by a 400 in the API's error format (after checking it is a 400)."""
    assert response.status_code == 400, response.content
    return [error["field"] for error in response.json()["errors"]]


@pytest.fixture
def worker(personas):
    """The Hameln Bauhof worker's staff API client."""
    return staff_client(personas.hameln_worker)
