"""The web report form asks the chosen category's extra questions: labelled fields per category, checked by the
domain for the chosen category only, stored with the report, kept when the form comes back with a mistake."""

from __future__ import annotations

import re
import uuid

import pytest

from geo.models import Category, CategoryQuestion, QuestionType
from reports.models import Report
from tests.personas import HAMELN_MARKET
from tests.reports.site.conftest import SecureClient

pytestmark = pytest.mark.django_db

WASTE = "answer__wilder-muell__muellart"
POLE = "answer__strassenbeleuchtung-defekt__mastnummer"


def _form(**overrides) -> dict:
    data = {"category": "wilder-muell", "lat": str(HAMELN_MARKET[0]), "lon": str(HAMELN_MARKET[1]),
            "description": "Sperrmüll am Waldrand", "email": "", "submission": str(uuid.uuid4())}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _group(page: str, category: str) -> str:
    match = re.search(rf'<fieldset class="questions" data-category="{category}">(.*?)</fieldset>\s*(?=<fieldset)',
                      page, re.S)
    assert match, f"no questions for {category}"
    return match.group(1)


def test_each_category_with_questions_has_a_group_named_after_it_with_labelled_fields_in_german(demo):
    page = SecureClient().get("/melden/").content.decode()

    waste = _group(page, "wilder-muell")
    assert "<legend>Fragen zu „Wilder Müll“</legend>" in waste
    assert '<legend>Art des Mülls <span class="required">(Pflichtfeld)</span></legend>' in waste
    assert re.search(rf'<label for="id_{WASTE}_0"><input type="checkbox" name="{WASTE}" value="sperrmuell"[^>]*>\s*'
                     r"Sperrmüll</label>", waste)
    assert "Sonderabfall/Chemikalien" in waste
    light = _group(page, "strassenbeleuchtung-defekt")
    assert f'<label for="id_{POLE}">Mastnummer (steht auf einem Schild am Mast)</label>' in light
    assert "Pflichtfeld" not in light  # the pole number is optional
    assert 'data-category="schlagloch"' not in page  # a category without questions has no group


def test_the_questions_are_in_english_with_the_language_switch(demo, visitor):
    page = visitor.get("/melden/").content.decode()

    waste = _group(page, "wilder-muell")
    assert "<legend>Questions about “Illegal dumping”</legend>" in waste
    assert '<legend>Kind of waste <span class="required">(required)</span></legend>' in waste
    assert "Hazardous waste/chemicals" in waste


def test_a_required_answer_of_the_chosen_category_is_enforced_at_its_field(demo, visitor):
    response = visitor.post("/melden/", _form())

    assert response.status_code == 400
    page = response.content.decode()
    error = re.search(rf'<div class="field-errors" id="id_{WASTE}_error">(.*?)</div>', page, re.S)
    assert error and "This answer is required." in error.group(1)
    assert f'aria-describedby="id_{WASTE}_error"' in page
    assert f'<a href="#id_{WASTE}">Kind of waste: This answer is required.</a>' in page  # in the summary
    assert not Report.objects.exists()


def test_the_chosen_categorys_answers_are_stored_and_other_categories_questions_ignored(demo, visitor):
    response = visitor.post("/melden/", _form(**{WASTE: ["bauschutt", "sperrmuell"], POLE: "nicht gefragt"}))

    assert response.status_code == 302, response.content.decode()
    assert Report.objects.get().answers == {"muellart": ["sperrmuell", "bauschutt"]}


def test_questions_of_a_category_not_chosen_are_not_checked(demo, visitor):
    response = visitor.post("/melden/", _form(category="strassenbeleuchtung-defekt", **{POLE: "HM-0815"}))

    assert response.status_code == 302, response.content.decode()
    assert Report.objects.get().answers == {"mastnummer": "HM-0815"}


def test_a_number_answer_is_checked_by_the_domain(demo, visitor):
    pothole = Category.objects.get(slug="schlagloch")
    CategoryQuestion.objects.create(category=pothole, code="tiefe", question_de="Tiefe in cm",
                                    question_en="Depth in cm", datatype=QuestionType.NUMBER)

    wrong = visitor.post("/melden/", _form(category="schlagloch", answer__schlagloch__tiefe="tief"))
    right = visitor.post("/melden/", _form(category="schlagloch", answer__schlagloch__tiefe="12,5"))

    assert wrong.status_code == 400
    assert re.search(r'id="id_answer__schlagloch__tiefe_error">\s*<p>This answer must be a number.</p>',
                     wrong.content.decode())
    assert right.status_code == 302
    assert Report.objects.get().answers == {"tiefe": "12.5"}


def test_answers_are_kept_when_the_form_comes_back_with_another_mistake(demo, visitor):
    data = _form(lat=None, lon=None, **{WASTE: ["hausmuell", "gruenschnitt"]})
    page = visitor.post("/melden/", data).content.decode()

    assert re.search(rf'<input type="checkbox" name="{WASTE}" value="hausmuell"[^>]*checked', page)
    assert re.search(rf'<input type="checkbox" name="{WASTE}" value="gruenschnitt"[^>]*checked', page)
    assert not re.search(rf'<input type="checkbox" name="{WASTE}" value="sperrmuell"[^>]*checked', page)

    fixed = visitor.post("/melden/", {**data, "lat": str(HAMELN_MARKET[0]), "lon": str(HAMELN_MARKET[1])})
    assert fixed.status_code == 302
    assert Report.objects.get().answers == {"muellart": ["hausmuell", "gruenschnitt"]}


def test_a_resent_form_with_other_answers_is_not_taken_for_the_first(demo, visitor):
    data = _form(**{WASTE: ["sperrmuell"]})
    assert visitor.post("/melden/", data).status_code == 302
    assert visitor.post("/melden/", data).status_code == 302  # the same form twice: one report

    other = visitor.post("/melden/", {**data, WASTE: ["hausmuell"]})

    assert Report.objects.count() == 1
    assert other.status_code == 400  # the same submission key for another report is refused
