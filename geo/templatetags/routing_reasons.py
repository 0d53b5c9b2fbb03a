"""``{{ report.routing_reason|in_reader_language }}``: a stored routing reason worded in the page's language."""

from django import template

from geo import routing_reasons

register = template.Library()


@register.filter
def in_reader_language(reason: str) -> str:
    return routing_reasons.in_active_language(reason or "")
