"""Answers to a category's extra questions (geo.CategoryQuestion, Open311's service attributes), checked once for
every front end: the web form, the citizen API and Open311.

A report keeps its answers in ``Report.answers``: the question's code → the answer as text, or for a question of
several choices the list of the chosen keys. Which answers a door shows to whom is the door's decision; free text
(short and long text) may be personal, so it is never public and goes when the report is anonymised.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, time
from typing import TYPE_CHECKING

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _

from geo.models import CategoryQuestion, QuestionType
from reports.errors import AnswerError, AnswerErrors, InvalidParameter, lazy_message
from reports.filters import check_moment
from reports.validation import TEXT_MAX_LENGTH, without_control_characters

if TYPE_CHECKING:
    from geo.models import Category

# A short answer (a pole's number, a licence plate) is one line, not a letter.
SHORT_TEXT_MAX_LENGTH = 300
# Numbers people count or measure; beyond this a database or a spreadsheet would round or overflow.
NUMBER_LIMIT = 10**9

FREE_TEXT = frozenset({QuestionType.STRING, QuestionType.TEXT})
_CHOICES = frozenset({QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE})

Label = Callable[[CategoryQuestion], str]
Answer = str | list[str]


def question_label(question: CategoryQuestion) -> str:
    """The default label in messages: the question as the reader of the message reads it."""
    return question.question


def clean_answers(category: Category, raw: Mapping[str, object], *, keep_unknown: bool = False,
                  label: Label = question_label) -> dict[str, Answer]:
    """The answers to ``category``'s questions as a report stores them; raises AnswerErrors with every problem.

    ``raw`` maps a question's code to the text given, or to a list of texts (several choices). Empty answers are
    left out (and refused for a required question). Codes the category does not ask for are refused, unless
    ``keep_unknown`` (Open311 clients such as FixMyStreet send their own attributes): then they are kept as text.
    ``label`` names a question in the messages (Open311: ``attribute[code]``).
    """
    questions = list(category.questions.all())
    known = {question.code for question in questions}
    cleaned: dict[str, Answer] = {}
    errors: list[AnswerError] = []
    for question in questions:
        try:
            answer = _clean_one(question, raw.get(question.code), label)
        except AnswerError as error:
            errors.append(error)
            continue
        if answer:
            cleaned[question.code] = answer
    for code, value in raw.items():
        if code in known:
            continue
        if not keep_unknown:
            errors.append(_unknown(str(code)))
            continue
        kept = [text for text in (_kept_text(v) for v in _values(value)) if text]
        if kept:
            cleaned[str(code)] = kept if isinstance(value, list) else str(kept[0])
    if errors:
        raise AnswerErrors(errors)
    return cleaned


def _unknown(code: str) -> AnswerError:
    def render() -> str:
        return str(_("This category has no question %(code)s.")) % {"code": code}

    return AnswerError(code, "unknown", lazy_message(render))


def _values(value: object) -> list[object]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _text(value: object) -> str | None:
    """A value as text, None for no value; JSON numbers are as good as their text; anything else is not text."""
    if value is None:
        return None
    if isinstance(value, str):
        return without_control_characters(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise TypeError


def _kept_text(value: object) -> str | None:
    try:
        return _text(value)
    except TypeError:
        return None


def _clean_one(question: CategoryQuestion, value: object, label: Label) -> Answer:
    def error(code: str, template, **params) -> AnswerError:
        return AnswerError(question.code, code, lazy_message(
            lambda: str(template) % {"label": label(question), **params}
        ))

    try:
        values = [text for text in (_text(v) for v in _values(value)) if text]
    except TypeError:
        raise error("invalid", _("%(label)s must be text.")) from None
    if not values:
        if question.required:
            raise error("required", _("%(label)s is required."))
        return ""
    datatype = question.datatype
    if datatype in _CHOICES:
        keys = [key for key, _name in question.choices()]
        listed = ", ".join(sorted(keys))
        if datatype == QuestionType.SINGLE_CHOICE:
            if len(values) > 1 or values[0] not in keys:
                raise error("invalid_choice", _("%(label)s must be one of: %(keys)s."), keys=listed)
            return values[0]
        if not set(values) <= set(keys):
            raise error("invalid_choice", _("%(label)s must be some of: %(keys)s."), keys=listed)
        return [key for key in keys if key in values]  # in the question's order, each once
    if len(values) > 1:
        raise error("invalid", _("%(label)s takes one answer."))
    text = values[0]
    if datatype == QuestionType.NUMBER:
        number = _number(text)
        if number is None:
            raise error("invalid", _("%(label)s must be a number."))
        if abs(number) > NUMBER_LIMIT:
            raise error("out_of_range", _("%(label)s must be a number between -%(limit)s and %(limit)s."),
                        limit=f"{NUMBER_LIMIT:_}".replace("_", "."))
        return text.replace(",", ".")
    if datatype == QuestionType.DATETIME:
        if not _is_moment(text):
            raise error("invalid", _("%(label)s must be a W3C date-time."))
        return text
    limit = TEXT_MAX_LENGTH if datatype == QuestionType.TEXT else SHORT_TEXT_MAX_LENGTH
    if len(text) > limit:
        raise error("max_length", _("%(label)s may have at most %(max)d characters."), max=limit)
    return text


def _number(text: str) -> float | None:
    """A decimal number as people type it (a German decimal comma is as good as a point), None for anything else."""
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _is_moment(text: str) -> bool:
    """A W3C/ISO 8601 date-time (2026-01-01T10:00:00+01:00, without a zone: local time) or date, in range."""
    try:
        moment = parse_datetime(text)
        if moment is None and (day := parse_date(text)) is not None:
            moment = datetime.combine(day, time.min)
    except ValueError:
        return False
    if moment is None:
        return False
    try:
        check_moment(moment if timezone.is_aware(moment) else timezone.make_aware(moment))
    except (InvalidParameter, OverflowError, ValueError):
        return False
    return True


def displayed_answers(questions: Iterable[CategoryQuestion], answers: Mapping[str, object]) -> list[dict]:
    """The answers for people, in the active language and question order: ``code``, ``question``, ``answer``
    (option names instead of keys, joined) and ``value`` (as stored).

    Answers to codes that are no longer questions of the category (or an Open311 client's own) follow as they are.
    """
    rows = []
    asked = set()
    for question in questions:
        asked.add(question.code)
        if question.code not in answers:
            continue
        value = answers[question.code]
        names = dict(question.choices())
        shown = ", ".join(names.get(str(v), str(v)) for v in _values(value))
        rows.append({"code": question.code, "question": question.question, "answer": shown, "value": value})
    for code, value in answers.items():
        if code not in asked:
            shown = ", ".join(str(v) for v in _values(value))
            rows.append({"code": code, "question": code, "answer": shown, "value": value})
    return rows


def without_free_text(questions: Iterable[CategoryQuestion], answers: Mapping[str, Answer]) -> dict[str, Answer]:
    """The answers that cannot be personal: choices, numbers and dates. Free text, and answers to codes that are not
    (or no longer) questions, may name people and go."""
    kept_types = {q.code for q in questions if q.datatype not in FREE_TEXT}
    return {code: value for code, value in answers.items() if code in kept_types}
