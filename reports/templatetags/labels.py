"""``{{ field.label|with_colon }}``: a label followed by a colon, unless it already ends in punctuation
("Was ist das Problem?", not "Was ist das Problem?:"), as Django's label_suffix does not check."""

from django import template

register = template.Library()


@register.filter
def with_colon(label) -> str:
    text = str(label).rstrip()
    return text if text.endswith(("?", "!", ".", ":")) else f"{text}:"
