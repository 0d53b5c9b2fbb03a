"""The staff web app shows whoever is logged in which department they work for, and in which role: a worker
knows why some steps are not offered to them."""

from __future__ import annotations

import re

import pytest

from tests.mobile_api.staff.conftest import submit
from tests.reports.staff.test_staff_pages import Browser, logged_in, page

pytestmark = pytest.mark.django_db


def header(response) -> str:
    html = response.content.decode()
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html[html.index("<header"):html.index("</header>")]))


def test_a_worker_sees_their_department_and_role_on_every_page(personas):
    report = submit()
    worker = logged_in(personas.hameln_worker)

    for path in ("/staff/", page(report)):
        response = worker.get(path)
        assert response.status_code == 200
        assert "hameln-worker: Bauhof Hameln (Worker)" in header(response), path


def test_a_lead_sees_the_lead_role(personas):
    lead = logged_in(personas.hameln_lead)

    assert "hameln-lead: Bauhof Hameln (Lead)" in header(lead.get("/staff/"))


def test_the_role_is_shown_in_german_for_german_staff(personas):
    worker = Browser(language="de")
    assert worker.post("/staff/login/", {"username": "hameln-worker", "password": personas.password}).status_code == 302

    assert "hameln-worker: Bauhof Hameln (Mitarbeiter/in)" in header(worker.get("/staff/"))
