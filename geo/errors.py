"""The base of every domain error, and routing's own.

``DomainError`` lives here, in the lowest app, so that routing's errors can derive from it (geo never
imports reports); ``reports.errors`` re-exports it with every other domain error. A domain error says
what went wrong in front-end-neutral terms: the input it concerns (``field``), a code for machines, a
message for people, and its ``kind``. Each kind of front end turns it into its answer in one place
(the JSON APIs' exception handler, Open311's, and the HTML forms' ``reports.errors.add_to_form``).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.utils.formats import number_format
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.contrib.gis.geos import Point
    from django.utils.functional import _StrPromise  # the stubs' name for a lazy str

    from geo.models import Authority


class Kind(enum.Enum):
    """How a front end answers a domain error."""

    INVALID = "invalid"  # the input cannot be used as given
    CONFLICT = "conflict"  # the request is sound, but the current state does not allow it
    NOT_FOUND = "not_found"  # the actor may not touch the object: it does not exist for them

    @property
    def http_status(self) -> int:
        return _HTTP_STATUS[self]


_HTTP_STATUS = {Kind.INVALID: 400, Kind.CONFLICT: 409, Kind.NOT_FOUND: 404}


def lazy_message(render: Callable[[], str]) -> _StrPromise:
    """A message rendered when it is shown (so in the language active then), e.g. a template with numbers filled in.

    ``gettext_lazy("…") % params`` would translate at once, in whatever language is active where the error is raised.
    """
    return lazy(render, str)()  # type: ignore[return-value]  # a lazy str; the stubs say str


class DomainError(Exception):
    """A rule of the domain refused a request.

    ``field`` names the input it concerns (None: the whole request), ``code`` is for machines, ``message`` for
    people (lazy: ``str()`` gives it in the active language), ``extra`` holds further keys for the JSON answer
    (e.g. ``allowed_transitions``). Subclasses set ``kind``, ``code`` and ``field`` as class defaults.
    """

    kind: Kind = Kind.INVALID
    code: str = "invalid"
    field: str | None = None
    message: Any = _("The request could not be carried out.")

    def __init__(self, message=None, *, field: str | None = None, code: str | None = None,
                 kind: Kind | None = None, extra: dict | None = None) -> None:
        if message is not None:
            self.message = message
        if field is not None:
            self.field = field
        if code is not None:
            self.code = code
        if kind is not None:
            self.kind = kind
        self.extra: dict = extra or {}
        super().__init__(self.code)

    def __str__(self) -> str:
        return str(self.message)


class OutsideServiceArea(DomainError):
    """No authority of this installation covers the point; ``nearest`` is the closest one (None if there is none)."""

    field = "location"
    code = "outside_service_area"

    def __init__(self, point: Point, nearest: Authority | None, distance_m: float | None) -> None:
        self.point = point
        self.nearest = nearest
        self.distance_m = distance_m
        super().__init__(lazy_message(self._render))

    def _render(self) -> str:
        # Rendered when shown, so in the language of whoever reads it (an app user, an operator).
        if self.nearest is None:
            return str(_("This place is outside the service area."))
        return str(_("This place is outside the service area; the nearest authority is %(name)s, %(km)s km away.")) % {
            "name": self.nearest,
            "km": number_format((self.distance_m or 0) / 1000, decimal_pos=1),
        }
