"""Forms of the staff web app (/staff/). They only parse input; the rules live in reports.services."""

from __future__ import annotations

from typing import cast

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from geo.models import Authority, Category, Department
from reports.errors import lazy_message
from reports.filters import SEARCH_MAX_LENGTH
from reports.models import Photo
from reports.permissions import is_staff
from reports.photos import MAX_PHOTOS_PER_UPLOAD
from reports.selectors import get_staff_report
from reports.services import BulkAction
from reports.services.renditions import MIN_AREA_SIDE
from reports.validation import TEXT_MAX_LENGTH
from reports.workflow import Status


class StaffAuthenticationForm(AuthenticationForm):
    """Django's login form that admits only people who work for a department (and superusers)."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "not_staff": _(
            "This account does not work for any department, so it cannot use the staff pages. "
            "Ask your administrator to add it to a department."
        ),
        # Django's own text ("Please enter a correct username and password …") does not say what went wrong.
        "invalid_login": _("The username or password is wrong. Both are case-sensitive."),
    }

    def confirm_login_allowed(self, user) -> None:
        super().confirm_login_allowed(user)
        if not is_staff(user):
            raise ValidationError(self.error_messages["not_staff"], code="not_staff")


class BulkForm(forms.Form):
    """What to do with the reports ticked in the task list (the reports themselves: the ``reports`` checkboxes)."""

    action = forms.ChoiceField(label=_("Action"), choices=BulkAction.choices)
    department = forms.ModelChoiceField(
        label=_("Department (for handing over)"), required=False, queryset=Department.objects.none(),
        to_field_name="slug", empty_label=_("Choose a department"),
    )

    def __init__(self, *args, departments, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["department"]).queryset = departments


class TaskFilterForm(forms.Form):
    """The filters of "Meine Aufgaben"; ``filter_data`` turns them into filters.ReportFilter's query parameters."""

    SCOPE_MINE, SCOPE_ALL = "mine", "all"
    STATUS_OPEN, STATUS_ANY = "open", "any"

    scope = forms.ChoiceField(
        label=_("Reports"), required=False,
        choices=[(SCOPE_MINE, _("My departments")), (SCOPE_ALL, _("All of my authorities"))],
    )
    status = forms.ChoiceField(label=_("Status"), required=False)
    category = forms.ModelChoiceField(
        label=_("Category"), required=False, queryset=Category.objects.filter(active=True), to_field_name="slug",
        empty_label=_("All categories"),
    )
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)
    q = forms.CharField(
        label=_("Search"), required=False, max_length=SEARCH_MAX_LENGTH,
        help_text=_("Reference or part of it (e.g. 290), words of the description, address or category."),
    )
    ordering = forms.ChoiceField(
        label=_("Sort by"), required=False,
        choices=[
            ("due_at", _("Due date")), ("-created_at", _("Newest first")),
            ("-support_count", _("Most supporters first")), ("distance", _("Distance from me")),
        ],
    )
    near = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, status_label, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["status"]).choices = [
            (self.STATUS_OPEN, _("Open")), (self.STATUS_ANY, _("Any status")),
            *((value, status_label(value)) for value in Status.values),
        ]

    def filter_data(self, my_departments: list[int]) -> dict[str, str]:
        """The parameters for reports.filters.ReportFilter (call after is_valid)."""
        data = self.cleaned_data
        params: dict[str, str] = {}
        if data.get("scope") != self.SCOPE_ALL and my_departments:
            params["department"] = ",".join(str(pk) for pk in my_departments)
        status = data.get("status") or self.STATUS_OPEN
        if status == self.STATUS_OPEN:
            params["open"] = "true"
        elif status != self.STATUS_ANY:
            params["status"] = status
        if data.get("category"):
            params["category"] = data["category"].slug
        if data.get("overdue"):
            params["overdue"] = "true"
        if data.get("q"):
            params["q"] = data["q"]
        return params

    def list_query(self) -> dict[str, str]:
        """The parameters for reports.filters.ListOptions (near, ordering)."""
        data = self.cleaned_data
        params = {key: data[key] for key in ("near", "ordering") if data.get(key)}
        if params.get("ordering") == "distance" and "near" not in params:
            # Without a position there is nothing to measure from; the page offers the browser's.
            params.pop("ordering")
        return params


class TransitionForm(forms.Form):
    prefix = "transition"
    to = forms.ChoiceField(choices=Status.choices, widget=forms.HiddenInput)
    message = forms.CharField(
        label=_("Public answer"), required=False, max_length=TEXT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Shown to the reporter and on the public report."),
    )
    note = forms.CharField(
        label=_("Internal note"), required=False, max_length=TEXT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Only staff see this."),
    )
    duplicate_of = forms.CharField(
        label=_("Original report (reference)"), required=False, max_length=64,
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "placeholder": "HM-2026-000123"}),
    )
    authority = forms.ModelChoiceField(
        label=_("Forward to"), required=False, to_field_name="slug", queryset=Authority.objects.none(),
        empty_label=_("Choose an authority"),
    )

    def __init__(self, *args, request=None, authorities=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.request = request
        if authorities is not None:
            cast(forms.ModelChoiceField, self.fields["authority"]).queryset = authorities

    def clean_duplicate_of(self):
        reference = self.cleaned_data["duplicate_of"].strip()
        if not reference:
            return None
        try:
            return get_staff_report(self.request.user, reference)
        except Http404:
            raise ValidationError(_("No such report."), code="not_found") from None


class AnswerForm(forms.Form):
    prefix = "answer"
    message = forms.CharField(
        label=_("Public answer"), max_length=TEXT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Shown to the reporter and on the public report."),
    )


class NoteForm(forms.Form):
    prefix = "note"
    note = forms.CharField(
        label=_("Internal note"), max_length=TEXT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Only staff see this."),
    )


class RedactForm(forms.Form):
    """The description as the public should read it (the original stays for staff and the reporter)."""

    prefix = "redact"
    text = forms.CharField(
        label=_("Public description"), max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Remove what must not be published, such as names or phone numbers."),
    )
    note = forms.CharField(
        label=_("Internal note"), max_length=TEXT_MAX_LENGTH, required=False,
        widget=forms.Textarea(attrs={"rows": 2}), help_text=_("Only staff see this."),
    )


class ReassignForm(forms.Form):
    prefix = "reassign"
    department = forms.ModelChoiceField(
        label=_("Department"), queryset=Department.objects.none(), empty_label=_("Choose a department"),
    )
    note = forms.CharField(
        label=_("Internal note"), required=False, max_length=TEXT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, departments=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if departments is not None:
            cast(forms.ModelChoiceField, self.fields["department"]).queryset = departments


class MultipleImageInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def clean(self, data, initial=None):
        if isinstance(data, (list, tuple)):
            return [super(MultipleFileField, self).clean(item, initial) for item in data]
        return [super().clean(data, initial)]


class PhotoForm(forms.Form):
    """Fix photos: on their own (``required``), or optional as part of the step to "fixed"."""

    prefix = "fix"

    photos = MultipleFileField(
        label=_("Fix photo"),
        help_text=lazy_message(lambda: str(_(
            "Take a photo with the camera or choose one or more images (at most %(max)d)."
        )) % {"max": MAX_PHOTOS_PER_UPLOAD}),
        # capture opens the phone's rear camera straight away; desktops show a file chooser.
        widget=MultipleImageInput(attrs={"accept": "image/*", "capture": "environment"}),
    )

    def __init__(self, *args, required: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["photos"].required = required

    def clean_photos(self):
        photos = [photo for photo in self.cleaned_data["photos"] if photo]
        if len(photos) > MAX_PHOTOS_PER_UPLOAD:
            raise ValidationError(
                _("At most %(max)d photos at once.") % {"max": MAX_PHOTOS_PER_UPLOAD}, code="max_length"
            )
        return photos


# The service refuses what does not fit the photo; this only keeps the numbers in a range it can read.
_MAX_PIXELS = 100_000


class BlurAreaForm(forms.Form):
    """One rectangle of a photo, in pixels of the photo as taken (the number inputs of the staff ticket page;
    blur.js fills them from a rectangle drawn on the photo). Each photo's form has a prefix of its own."""

    x = forms.IntegerField(label=_("From the left (x)"), min_value=0, max_value=_MAX_PIXELS)
    y = forms.IntegerField(label=_("From the top (y)"), min_value=0, max_value=_MAX_PIXELS)
    width = forms.IntegerField(label=_("Width"), min_value=MIN_AREA_SIDE, max_value=_MAX_PIXELS)
    height = forms.IntegerField(label=_("Height"), min_value=MIN_AREA_SIDE, max_value=_MAX_PIXELS)
    note = forms.CharField(
        label=_("Internal note"), required=False, max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}), help_text=_("Only staff see this."),
    )

    def __init__(self, *args, photo: Photo, **kwargs) -> None:
        kwargs["prefix"] = f"blur-{photo.pk}"
        super().__init__(*args, **kwargs)
        self.photo = photo
        # The photo's own size as the inputs' limits: spinners and phones' number pads stay within the photo.
        limits = {"x": photo.width, "y": photo.height, "width": photo.width, "height": photo.height}
        for name, limit in limits.items():
            if limit:
                self.fields[name].widget.attrs.update({"max": limit, "inputmode": "numeric"})

    def area(self) -> list[int]:
        data = self.cleaned_data
        return [data["x"], data["y"], data["width"], data["height"]]
