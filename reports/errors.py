"""Every domain error, in one place: what the services, the workflow, the photo pipeline, the query parameter
parsers and routing refuse, each a ``DomainError(field, code, message)`` of a ``Kind``.

The front ends never catch them one by one: each kind of front end maps ``DomainError`` to its answer once —
the JSON APIs in ``backend.api_errors.api_exception_handler``, Open311 in ``mobile_api.open311.errors``, and
the HTML forms of the public pages and the staff web app through ``add_to_form`` below.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from django import forms
from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from geo.errors import DomainError, Kind, OutsideServiceArea, lazy_message

__all__ = [
    "AnswerError", "AnswerErrors", "DomainError", "IdempotencyConflict", "InvalidChange", "InvalidParameter", "Kind",
    "MissingLocation", "NotPermitted", "OutsideServiceArea", "PhotoError", "TransitionError", "add_to_form",
    "lazy_message",
]


# --- Submission -------------------------------------------------------------------------------

class MissingLocation(DomainError):
    """Neither the device nor a photo gave a usable position."""

    field = "location"
    code = "required"
    message = _("Give the place as lat and lon, or attach a photo with a GPS position.")


class IdempotencyConflict(DomainError):
    """The idempotency key was used before for a different request."""

    kind = Kind.CONFLICT
    field = "Idempotency-Key"
    code = "conflict"
    message = _("This Idempotency-Key was already used for a different report.")


# --- Staff actions and the workflow -----------------------------------------------------------

class NotPermitted(DomainError):
    """The actor may not do this to this report: for them it does not exist (404 everywhere)."""

    kind = Kind.NOT_FOUND
    code = "not_found"
    message = _("Not found.")


class InvalidChange(DomainError):
    """A change that cannot be made as asked: ``field`` names the input, ``message`` says why."""

    def __init__(self, field: str, message, code: str = "invalid") -> None:
        super().__init__(message, field=field, code=code)


class TransitionError(DomainError):
    """A transition that is not allowed; ``allowed`` lists what is, for this actor and status.

    A conflict with the report's status or the actor's role (409), unless only something the transition
    needs is missing (code ``required``: 400). The JSON answer names the allowed transitions.
    """

    def __init__(self, code: str, field: str, message, allowed: tuple[str, ...] = ()) -> None:
        self.allowed = allowed
        super().__init__(
            message, field=field, code=code, kind=Kind.INVALID if code == "required" else Kind.CONFLICT,
            extra={"allowed_transitions": list(allowed)},
        )


# --- Photos -----------------------------------------------------------------------------------

class PhotoError(DomainError):
    """An upload that is not an acceptable photo.

    ``code`` is for machines; ``message`` is for people: lazy, so it is translated into the language
    active when it is rendered, with its numbers (also in ``params``) already filled in.
    """

    messages: ClassVar[dict[str, Promise]] = {
        "not_an_image": _("The file is not an image."),
        "unsupported_format": _("This image format is not supported; please send JPEG, PNG, WebP or HEIC."),
        "too_large": _("The photo is larger than %(megabytes)g MB."),
        "too_many_pixels": _("The photo has more than %(megapixels)d megapixels."),
        "too_many_pixels_png_webp": _(
            "PNG and WebP images may have at most %(megapixels)d megapixels; please send a JPEG or HEIC photo."
        ),
        "implausible_compression": _(
            "The file is too small for an image of %(megapixels)d megapixels: this is not a camera photo."
        ),
        "truncated": _("The image file is incomplete or damaged."),
        "animated": _("Animated images and image sequences are not accepted; please send a photo."),
    }

    # Which upload it was when several are processed together ("photos.0"): set by photos.processed_photos.
    field = "photos"

    def __init__(self, code: str, **params: object) -> None:
        self.params = params
        template = self.messages[code]
        super().__init__(lazy_message(lambda: str(template) % params) if params else template, code=code)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


# --- Query parameters -------------------------------------------------------------------------

class InvalidParameter(DomainError, ValueError):
    """A query parameter that is malformed (code ``invalid``) or outside its range (``out_of_range``).

    The parsers (reports.filters) do not know the parameter's name: callers that do put it in ``field``.
    """

    def __init__(self, code: str, message: str | Promise) -> None:
        super().__init__(message, code=code)


# --- HTML forms -------------------------------------------------------------------------------

def add_to_form(form: forms.Form, error: DomainError, *, fields: Mapping[str, str] | None = None,
                wording: Mapping[type[DomainError], Any] | None = None) -> int:
    """Show ``error`` on ``form``: next to the field it concerns if the form shows that field, else above the form.

    ``fields`` maps the domain's names to the form's (``{"location": "address"}``); "photos.2" is the form's
    "photos". ``wording`` gives a page's own message for an error class (words such as "click the map" are the
    page's, not the domain's). Returns the HTTP status the page answers with; an error of kind NOT_FOUND
    (NotPermitted) raises Http404 instead, as the page of a report the user may not see does not exist.
    """
    if error.kind is Kind.NOT_FOUND:
        raise Http404
    name = (error.field or "").split(".")[0]
    name = (fields or {}).get(name, name)
    visible = name in form.fields and not form.fields[name].widget.is_hidden
    message = next((text for kind, text in (wording or {}).items() if isinstance(error, kind)), error.message)
    form.add_error(name if visible else None, ValidationError(message, code=error.code))
    return error.kind.http_status


# --- Answers to a category's extra questions --------------------------------------------------

class AnswerError(DomainError):
    """An answer to one of the category's extra questions that cannot be used: ``question`` is the question's
    code, ``field`` the domain's name of the input (``answers.<code>``)."""

    def __init__(self, question: str, code: str, message) -> None:
        self.question = question
        super().__init__(message, field=f"answers.{question}", code=code)


class AnswerErrors(DomainError):
    """Every problem with a submission's answers at once (``errors``, each an ``AnswerError``).

    It reads as its first error (field, code, message) where only one is shown; the JSON APIs list them all.
    """

    def __init__(self, errors: list[AnswerError]) -> None:
        if not errors:
            raise ValueError("AnswerErrors needs at least one error.")
        self.errors = list(errors)
        first = self.errors[0]
        super().__init__(first.message, field=first.field, code=first.code)
