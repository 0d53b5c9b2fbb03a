"""Input fields shared by the JSON front ends (citizen API, Open311, staff API), so none imports another's."""

from __future__ import annotations

import math

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


class Coordinate(serializers.FloatField):
    """A latitude or longitude: a float field that also refuses NaN and infinity (GEOS would accept them)."""

    default_error_messages = {"not_finite": _("A finite number is required.")}

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not math.isfinite(value):
            self.fail("not_finite")
        return value
