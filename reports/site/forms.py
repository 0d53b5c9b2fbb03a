"""Forms of the public pages: the filters of the report list and the web report form."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import TYPE_CHECKING, cast

from django import forms
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from geo.models import Authority, AuthorityKind, Category, CategoryQuestion, QuestionType
from reports.answers import SHORT_TEXT_MAX_LENGTH, clean_answers
from reports.errors import AnswerErrors, lazy_message
from reports.models import StatusLabel
from reports.photos import MAX_PHOTOS_PER_UPLOAD
from reports.publicdata import Filters, statuses_for
from reports.services import submission_fingerprint
from reports.validation import TEXT_MAX_LENGTH, without_control_characters
from reports.workflow import Status, StatusType

if TYPE_CHECKING:
    _Form = forms.Form  # the forms DescribedErrorsMixin is mixed into
else:
    _Form = object

PERIODS = {"7": 7, "30": 30, "90": 90, "365": 365}


class DescribedErrorsMixin(_Form):
    """Ties each field's error message to the field (aria-describedby), so screen readers read it with the field."""

    def add_error(self, field, error) -> None:
        super().add_error(field, error)
        for name in self.errors:
            if name in self.fields:
                ids = [f"{self[name].auto_id}_error"]
                if self.fields[name].help_text:
                    ids.append(f"{self[name].auto_id}_helptext")
                self.fields[name].widget.attrs["aria-describedby"] = " ".join(ids)


def public_categories() -> QuerySet[Category]:
    return Category.objects.filter(is_public=True, active=True)


def grouped_choices(categories, blank_label) -> list:
    """Select choices with one optgroup per category group, in catalogue order."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for category in categories:
        groups.setdefault(category.group or str(_("Other")), []).append((category.slug, category.name))
    return [("", blank_label), *groups.items()]


class ReportFilterForm(DescribedErrorsMixin, forms.Form):
    """The filters of the public list; every field is optional and a bad value is shown, never a 500."""

    category = forms.ChoiceField(label=_("Category"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False)
    gemeinde = forms.ChoiceField(label=_("Municipality"), required=False)
    period = forms.ChoiceField(label=_("Reported within"), required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["category"]).choices = grouped_choices(
            public_categories(), _("All categories")
        )
        cast(forms.ChoiceField, self.fields["status"]).choices = [
            ("", _("All statuses")),
            (_("Summarised"), [(StatusType.OPEN, _("All open")), (StatusType.FIXED, _("All fixed")),
                               (StatusType.CLOSED, _("All closed without a fix"))]),
            (_("Single statuses"), [(s.value, StatusLabel.label(s.value)) for s in Status]),
        ]
        cast(forms.ChoiceField, self.fields["gemeinde"]).choices = [
            ("", _("All municipalities")), *[(a.slug, str(a)) for a in municipalities()]
        ]
        cast(forms.ChoiceField, self.fields["period"]).choices = [
            ("", _("Any time")),
            ("7", _("the last 7 days")),
            ("30", _("the last 30 days")),
            ("90", _("the last 3 months")),
            ("365", _("the last 12 months")),
        ]

    def filters(self) -> Filters | None:
        """The chosen filters for reports.publicdata; None when a value is not one of the choices."""
        if not self.is_valid():
            return None
        data = self.cleaned_data
        return Filters(
            categories=(data["category"],) if data["category"] else (),
            statuses=frozenset(statuses_for([data["status"]])) if data["status"] else frozenset(),
            # By place, not by the receiving authority: a pothole on a county road in Hameln is in Hameln.
            area=Authority.objects.get(slug=data["gemeinde"]) if data["gemeinde"] else None,
            created_after=timezone.now() - timedelta(days=PERIODS[data["period"]]) if data["period"] else None,
        )

    def active_filters(self) -> dict[str, str]:
        """The chosen filters as query parameters (for the pagination links)."""
        if not self.is_valid():
            return {}
        return {name: value for name, value in self.cleaned_data.items() if value}


def municipalities() -> QuerySet[Authority]:
    """The Städte and Gemeinden a citizen would look for their place under: what a choice of them shows (never their
    boundaries, which every list page would otherwise read and parse, one per municipality)."""
    return Authority.objects.filter(
        active=True, boundary__isnull=False, kind__in=[AuthorityKind.MUNICIPALITY, AuthorityKind.INDEPENDENT_CITY]
    ).only(*Authority.LABEL_FIELDS).order_by("name")


class MultipleImageInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultiplePhotoField(forms.FileField):
    widget = MultipleImageInput

    def clean(self, data, initial=None) -> list:
        items = data if isinstance(data, (list, tuple)) else [data] if data else []
        if len(items) > MAX_PHOTOS_PER_UPLOAD:
            raise ValidationError(_("At most %(max)d photos.") % {"max": MAX_PHOTOS_PER_UPLOAD}, code="max_length")
        return [super(MultiplePhotoField, self).clean(item, initial) for item in items]


def _place(value: str) -> tuple[float | None, float | None]:
    try:
        lat, lon = (float(part) for part in value.split(","))
    except ValueError:
        return None, None
    if -90 <= lat <= 90 and -180 <= lon <= 180:
        return lat, lon
    return None, None


class CoordinateField(forms.FloatField):
    """Degrees as typed by people: a German decimal comma is as good as a point."""

    def to_python(self, value):
        if isinstance(value, str):
            value = value.strip().replace(",", ".")
        return super().to_python(value)


_NUMBER = r"-?\d{1,3}(?:[.,]\d+)?"
_PAIR = re.compile(rf"\s*({_NUMBER})\s*(?:[,;]\s*|\s+)({_NUMBER})\s*")


def coordinate_pair(text: str) -> tuple[str, str] | None:
    """Two numbers typed (or pasted) into one coordinate field, "52.11, 9.36"; None for one number."""
    text = text.strip()
    try:
        float(text.replace(",", "."))
    except ValueError:
        match = _PAIR.fullmatch(text)
        return (match[1], match[2]) if match else None
    return None  # one number, perhaps with a German decimal comma


def _served(lat: float, lon: float) -> bool:
    return Authority.objects.filter(active=True, boundary__covers=Point(lon, lat, srid=4326)).exists()


class AnswerFieldMixin:
    """A field for an answer to a category's question: checked by reports.answers.clean_answers, and only for the
    chosen category (the questions of every category are on the page, the others' are ignored), not here."""

    def validate(self, value) -> None:
        pass


class AnswerTextField(AnswerFieldMixin, forms.CharField):
    pass


class AnswerChoiceField(AnswerFieldMixin, forms.ChoiceField):
    pass


class AnswerChoicesField(AnswerFieldMixin, forms.MultipleChoiceField):
    pass


def answer_field(question: CategoryQuestion) -> forms.Field:
    """The form field for a question: a labelled input of its type, marked required if the question is."""
    label, required = question.question, question.required
    if question.datatype == QuestionType.SINGLE_CHOICE:
        return AnswerChoiceField(choices=question.choices(), widget=forms.RadioSelect, label=label, required=required)
    if question.datatype == QuestionType.MULTIPLE_CHOICE:
        return AnswerChoicesField(
            choices=question.choices(), widget=forms.CheckboxSelectMultiple, label=label, required=required
        )
    if question.datatype == QuestionType.TEXT:
        widget: forms.Widget = forms.Textarea(attrs={"rows": 3, "maxlength": TEXT_MAX_LENGTH})
    elif question.datatype == QuestionType.NUMBER:
        widget = forms.TextInput(attrs={"inputmode": "decimal"})
    elif question.datatype == QuestionType.DATETIME:
        widget = forms.DateTimeInput(attrs={"type": "datetime-local"})
    else:
        widget = forms.TextInput(attrs={"maxlength": SHORT_TEXT_MAX_LENGTH})
    return AnswerTextField(widget=widget, label=label, required=required)


class WebReportForm(DescribedErrorsMixin, forms.Form):
    """The citizen's report on the web; the same rules as the API, checked by the same service."""

    category = forms.ChoiceField(label=_("What is the problem?"))
    address = forms.CharField(
        label=_("Address or place"), required=False, max_length=200,
        help_text=_("Search for an address, use your location, tap the map or enter coordinates."),
    )
    lat = CoordinateField(
        label=_("Latitude"), required=False, min_value=-90, max_value=90,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    lon = CoordinateField(
        label=_("Longitude"), required=False, min_value=-180, max_value=180,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    description = forms.CharField(
        label=_("Description"), required=False, max_length=TEXT_MAX_LENGTH,
        help_text=_("What is wrong, and where exactly? Please do not name people."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    photos = MultiplePhotoField(
        label=_("Photos"), required=False,
        help_text=lazy_message(lambda: str(_(
            "Up to %(max)d photos (JPEG, PNG, WebP or HEIC, each at most 15 MB). Location and camera data are removed."
        )) % {"max": MAX_PHOTOS_PER_UPLOAD}),
        widget=MultipleImageInput(attrs={"accept": "image/*"}),
    )
    email = forms.EmailField(
        label=_("Your e-mail address"), required=False,
        help_text=_(
            "Optional. We only use it to tell you about this report; it is never published and is deleted "
            "after the report is closed."
        ),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    # A place picked from the address search results (without the script): "lat,lon".
    place = forms.CharField(required=False, widget=forms.HiddenInput)
    # Generated when the form is shown: a double click or a resubmitted page files the report once.
    submission = forms.UUIDField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.categories = {c.slug: c for c in Category.objects.filter(active=True).prefetch_related("questions")}
        # Each category's questions as fields of their own ("answer__<category>__<code>"), in groups for the page.
        self.question_fields: dict[str, dict[str, str]] = {}
        for category in self.categories.values():
            for question in category.questions.all():
                name = f"answer__{category.slug}__{question.code}"
                self.fields[name] = answer_field(question)
                self.question_fields.setdefault(category.slug, {})[question.code] = name
        # "Did you mean …?": the two coordinates the other way round, when only that way is in our area.
        self.swapped: tuple[float, float] | None = None
        if self.is_bound and not self.data.get("lon", "").strip():
            pair = coordinate_pair(self.data.get("lat", ""))
            if pair is not None:
                data = self.data.copy()  # type: ignore[attr-defined]  # a QueryDict or dict when bound
                data["lat"], data["lon"] = pair
                self.data = data
        cast(forms.ChoiceField, self.fields["category"]).choices = grouped_choices(
            self.categories.values(), _("Please choose")
        )

    @property
    def question_groups(self) -> list[dict]:
        """Each category that asks questions, with the bound fields of its questions (for the template)."""
        return [
            {"slug": slug, "name": self.categories[slug].name, "fields": [self[name] for name in names.values()]}
            for slug, names in self.question_fields.items()
        ]

    def answer_values(self, data) -> dict:
        """The answers as sent in ``data`` (a QueryDict), to show them again (the form's initial values)."""
        return {
            name: data.getlist(name) if isinstance(self.fields[name], forms.MultipleChoiceField) else data.get(name, "")
            for names in self.question_fields.values() for name in names.values() if name in data
        }

    def clean_category(self) -> Category:
        return self.categories[self.cleaned_data["category"]]

    def clean_description(self) -> str:
        return without_control_characters(self.cleaned_data["description"])

    def clean(self) -> dict:
        data = super().clean() or self.cleaned_data  # Form.clean returns cleaned_data
        if data.get("lat") is None and data.get("lon") is None and data.get("place"):
            data["lat"], data["lon"] = _place(data["place"])
        has_lat, has_lon = data.get("lat") is not None, data.get("lon") is not None
        if has_lat != has_lon:
            missing = "lon" if has_lat else "lat"
            self.add_error(missing, ValidationError(_("Give latitude and longitude together."), code="required"))
        elif has_lat and not _served(data["lat"], data["lon"]) and _served(data["lon"], data["lat"]):
            self._swapped(data)
        data["answers"] = self._answers(data.get("category"))
        return data

    def _answers(self, category: Category | None) -> dict:
        """The chosen category's answers, checked by the domain; each problem is shown at its question."""
        if category is None:
            return {}
        names = self.question_fields.get(category.slug, {})
        raw = {code: self.cleaned_data.get(name) for code, name in names.items()}
        try:
            return clean_answers(category, raw, label=lambda _question: str(_("This answer")))
        except AnswerErrors as problems:
            for error in problems.errors:
                self.add_error(names.get(error.question), ValidationError(error.message, code=error.code))
            return {}

    def _swapped(self, data: dict) -> None:
        """"Did you mean …?": the coordinates the other way round are in our area."""
        self.swapped = (data["lon"], data["lat"])
        self.add_error("lat", ValidationError(
            _("This place is outside our area. Did you mean %(lat)s, %(lon)s (latitude and longitude swapped)?")
            % {"lat": data["lon"], "lon": data["lat"]}, code="swapped",
        ))

    def fingerprint(self, photo_bytes: list[bytes]) -> str:
        """What makes two submissions the same (for the submission key)."""
        data = self.cleaned_data
        values: tuple = (data["category"].slug, data.get("lat"), data.get("lon"), data["description"], data["email"])
        if data.get("answers"):  # only with answers, so that a form without them keeps its earlier fingerprint
            values += (json.dumps(data["answers"], sort_keys=True),)
        return submission_fingerprint(values, photo_bytes)
