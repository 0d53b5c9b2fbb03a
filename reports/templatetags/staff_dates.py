"""Dates on the staff pages in the form their language writes them: German 06.12.2026 14:30, English
6 Dec 2026 14:30 (never the US 12/06/2026, which a German reader takes for 12 June)."""

from __future__ import annotations

from datetime import date, datetime

from django import template
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.translation import get_language

register = template.Library()

# (date and time, date alone) per language; other languages get the English, unambiguous form.
FORMATS = {"de": ("d.m.Y H:i", "d.m.Y"), "en": ("j M Y H:i", "j M Y")}


def _formats() -> tuple[str, str]:
    return FORMATS.get((get_language() or "en").split("-")[0], FORMATS["en"])


@register.filter
def staff_datetime(value: datetime | None) -> str:
    """The local date and time (Europe/Berlin unless activated otherwise)."""
    if value is None:
        return ""
    return format_date(timezone.localtime(value) if timezone.is_aware(value) else value, _formats()[0])


@register.filter
def staff_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    return format_date(value, _formats()[1])
