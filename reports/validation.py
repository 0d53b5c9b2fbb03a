"""Rules for the text people send, written once for every front end (web forms, the JSON APIs, Open311).

Django forms and DRF serializers both run Django validators, so a field built with ``max_text_length`` refuses
too long a text with the same code and message wherever it arrives.
"""

from __future__ import annotations

import re

from django.core.validators import MaxLengthValidator

# Descriptions, answers and notes: room for a detailed account, not for a document.
TEXT_MAX_LENGTH = 4000
max_text_length = MaxLengthValidator(TEXT_MAX_LENGTH)

# Control characters other than tab and newline have no place in what citizens write.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def without_control_characters(value: str) -> str:
    """``value`` without control characters (tab and newline stay), stripped of surrounding white space."""
    return _CONTROL_CHARACTERS.sub("", value).strip()
