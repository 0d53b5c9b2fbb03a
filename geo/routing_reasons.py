"""The wording of routing reasons, and a stored reason read again in the reader's language.

A report keeps its reason as text in the installation's language (``geo.routing.route`` writes it, staff and the
admin read it; older reports have nothing else). ``in_active_language`` recognises which of these sentences a
stored reason is, takes its parts apart and words it again in the active language: category names and road
classes are translated, names of authorities, departments and roads stay as they are. A text that is none of
these sentences (typed by hand, or worded by an older version) is returned unchanged.
"""

from __future__ import annotations

import re
from functools import lru_cache

from django.conf import settings
from django.utils.translation import get_language, gettext, override
from django.utils.translation import gettext_noop as N_

from geo.models import Category, RoadClass

BY_ROAD = N_("%(road)s (%(road_class)s) is maintained by %(owner)s; %(target)s receives %(category)s here.")
BY_RESPONSIBILITY = N_("%(department)s: %(category)s in the area of %(authority)s")
BY_AREA = N_("%(authority)s covers the place.")
BY_AREA_WITHOUT_RESPONSIBILITY = N_(
    "No responsibility for %(category)s is configured here; "
    "%(target)s receives it as %(authority)s covers the place."
)
FORWARDED = N_("Forwarded by %(from)s.")
REASONS = (BY_ROAD, BY_RESPONSIBILITY, BY_AREA_WITHOUT_RESPONSIBILITY, BY_AREA, FORWARDED)

_PLACEHOLDER = re.compile(r"%\\\((\w+)\\\)s")


@lru_cache(maxsize=64)
def _pattern(language: str, msgid: str) -> re.Pattern[str]:
    with override(language):
        worded = gettext(msgid)
    return re.compile(_PLACEHOLDER.sub(r"(?P<\1>.+?)", re.escape(worded)), re.S)


def in_active_language(stored: str) -> str:
    source = settings.LANGUAGE_CODE
    target = (get_language() or source)[:2]
    if not stored or target == source[:2]:
        return stored
    for msgid in REASONS:
        match = _pattern(source, msgid).fullmatch(stored.strip())
        if match:
            return gettext(msgid) % _translated_parts(match.groupdict(), source)
    return stored


def _translated_parts(parts: dict[str, str], source: str) -> dict[str, str]:
    if "category" in parts:
        english = (
            Category.objects.filter(name_de=parts["category"]).exclude(name_en="").values_list("name_en", flat=True)
            .first()
        )
        if english:
            parts["category"] = english
    if "road_class" in parts:
        for value, label in RoadClass.choices:
            with override(source):
                stored_label = str(label)
            if stored_label == parts["road_class"]:
                parts["road_class"] = str(RoadClass(value).label)
    return parts
