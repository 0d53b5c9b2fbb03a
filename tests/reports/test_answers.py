"""Answers to a category's extra questions beyond the submission: staff read them (question and option names) on the
report page and in the staff API, retention removes free text and keeps choices, and the demo asks its questions."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from geo.models import Category, CategoryQuestion, QuestionType
from reports.answers import clean_answers
from reports.errors import AnswerErrors
from reports.models import Report
from tests.mobile_api.staff.conftest import staff_client, submit
from tests.reports.staff.test_staff_pages import logged_in

pytestmark = pytest.mark.django_db


def dumping_report() -> dict:
    return submit(category="wilder-muell", answers=json.dumps({"muellart": ["sonderabfall", "bauschutt"]}))


def light_report() -> dict:
    return submit(category="strassenbeleuchtung-defekt", answers=json.dumps({"mastnummer": "Mast vor Haus Meier 12"}))


def test_the_staff_page_shows_each_question_with_the_option_names(personas):
    report = dumping_report()

    page = logged_in(personas.hameln_worker).get(f"/staff/reports/{report['reference']}/").content.decode()

    assert "<h2>Answers to the questions</h2>" in page
    assert "<dt>Kind of waste</dt><dd>Building rubble, Hazardous waste/chemicals</dd>" in page
    assert "sonderabfall" not in page


def test_the_staff_api_gives_question_answer_and_stored_value(personas):
    report = light_report()

    body = staff_client(personas.hameln_worker).get(f"/api/staff/reports/{report['id']}/").json()

    assert body["answers"] == [{
        "code": "mastnummer", "question": "Pole number (on a label on the pole)",
        "answer": "Mast vor Haus Meier 12", "value": "Mast vor Haus Meier 12",
    }]


def test_retention_removes_free_text_answers_and_keeps_choices_and_numbers(demo, settings):
    settings.OPENMELDER = {**settings.OPENMELDER, "RETENTION_DAYS": 30}
    light = Category.objects.get(slug="strassenbeleuchtung-defekt")
    CategoryQuestion.objects.create(category=light, code="anzahl", question_de="Wie viele Lampen?",
                                    question_en="How many lights?", datatype=QuestionType.NUMBER, order=5)
    pole_only, dumping = light_report(), dumping_report()  # no name, no e-mail: the pole's text is all there is
    counted = submit(category="strassenbeleuchtung-defekt",
                     answers=json.dumps({"mastnummer": "bei Familie Meier", "anzahl": "2"}))
    Report.objects.update(status="fixed", closed_at=timezone.now() - timedelta(days=31))

    out = StringIO()
    call_command("anonymise", stdout=out)

    assert Report.objects.get(public_id=pole_only["id"]).answers == {}
    assert Report.objects.get(public_id=counted["id"]).answers == {"anzahl": "2"}
    assert Report.objects.get(public_id=dumping["id"]).answers == {"muellart": ["bauschutt", "sonderabfall"]}
    assert out.getvalue().startswith("2 reports")


def test_a_reporter_deleting_their_data_removes_their_free_text_answers(demo, client):
    report = light_report()

    response = client.delete(f"/api/v1/reports/{report['id']}/personal-data/",
                             HTTP_AUTHORIZATION=f"Bearer {report['secret']}", secure=True)

    assert response.status_code == 204
    assert Report.objects.get(public_id=report["id"]).answers == {}


def test_loading_the_demo_twice_asks_each_question_once(demo, monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "Hameln-Demo-2026")
    call_command("load_demo", "--reports", "0", stdout=StringIO())

    assert CategoryQuestion.objects.filter(category__slug="wilder-muell", code="muellart").count() == 1
    assert CategoryQuestion.objects.filter(category__slug="strassenbeleuchtung-defekt").count() == 1


def test_open311_can_keep_its_clients_own_attributes_and_name_questions_its_way(demo):
    """The contract the Open311 door builds on: attribute[code] labels, unknown attributes kept, every problem."""
    dumping = Category.objects.get(slug="wilder-muell")

    kept = clean_answers(dumping, {"muellart": "hausmuell", "fixmystreet_id": "123"}, keep_unknown=True,
                         label=lambda question: f"attribute[{question.code}]")
    with pytest.raises(AnswerErrors) as refused:
        clean_answers(dumping, {"fixmystreet_id": "123"}, label=lambda question: f"attribute[{question.code}]")

    assert kept == {"muellart": ["hausmuell"], "fixmystreet_id": "123"}
    assert [(e.field, e.code) for e in refused.value.errors] == [
        ("answers.muellart", "required"), ("answers.fixmystreet_id", "unknown"),
    ]
    assert str(refused.value.errors[0].message) == "attribute[muellart] ist erforderlich."
