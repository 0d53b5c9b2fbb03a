"""Text from citizens and staff is shown as text everywhere: HTML and script are escaped on pages and in
mails, and a description that looks like a spreadsheet formula stays inert in the CSV export."""

from __future__ import annotations

import csv
import io

import pytest
from django.core import mail

from tests.mobile_api.staff.conftest import Client
from tests.mobile_api.v1.test_submit import submit
from tests.notifications.delivery import change_status, links, run_worker

pytestmark = pytest.mark.django_db

MARKUP = "<script>alert('x')</script><img src=x onerror=alert(2)> Loch"
FORMULA = "=HYPERLINK(\"https://evil.example\",\"Klick\")"


def test_markup_in_a_description_is_escaped_on_public_and_staff_pages(client, personas):
    report = submit(client, {"description": MARKUP}).json()
    staff = Client()
    staff.force_login(personas.hameln_worker)

    pages = [Client().get(f"/meldungen/{report['reference']}/"), staff.get(f"/staff/reports/{report['reference']}/")]

    for page in pages:
        html = page.content.decode()
        assert page.status_code == 200
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html


def test_markup_in_a_public_answer_is_escaped_in_the_mail(client, personas):
    report = submit(client, {"email": "anna@example.org"}).json()
    run_worker()
    (path,) = links(mail.outbox[-1].body, "confirm")
    client.post(path, secure=True)

    change_status(report["id"], "in_progress", actor=personas.hameln_worker, message=MARKUP)
    run_worker()

    html = mail.outbox[-1].alternatives[0][0]
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert MARKUP in mail.outbox[-1].body  # the plain-text part shows it as typed


def test_a_description_that_looks_like_a_formula_is_inert_in_the_csv_export(client, demo):
    submit(client, {"description": FORMULA})
    submit(client, {"description": "-5 Grad, glatt"})

    response = Client().get("/api/v1/export.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))

    assert sorted(row["description"] for row in rows) == ["'-5 Grad, glatt", "'" + FORMULA]
