"""Who is responsible where, for what: authorities, departments, categories, responsibilities.

Municipal differences are data, never code: routing reads these tables and nothing else.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.gis.gdal import CoordTransform, SpatialReference
from django.core.validators import RegexValidator
from django.db import connections
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

# ETRS89 / LAEA Europe: an equal-area projection, so areas compare fairly across Germany.
EQUAL_AREA_SRID = 3035
_to_equal_area = CoordTransform(SpatialReference(4326), SpatialReference(EQUAL_AREA_SRID))


class AuthorityKind(models.TextChoices):
    COUNTY = "county", _("County (Landkreis)")
    INDEPENDENT_CITY = "independent_city", _("Independent city (kreisfreie Stadt)")
    MUNICIPAL_ASSOCIATION = "municipal_association", _("Municipal association (Samtgemeinde, Verbandsgemeinde)")
    MUNICIPALITY = "municipality", _("Municipality (Stadt, Gemeinde)")
    UNINCORPORATED = "unincorporated", _("Unincorporated area (gemeindefreies Gebiet)")
    EXTERNAL = "external", _("External body (e.g. state road authority)")


class PublishingPolicy(models.TextChoices):
    IMMEDIATELY = "immediately", _("Publish immediately")
    AFTER_REVIEW = "after_review", _("Publish after review")


ars_validator = RegexValidator(r"^\d{2,12}$", _("The ARS is a regional key of 2 to 12 digits."))
ags_validator = RegexValidator(r"^\d{2,8}$", _("The AGS is a municipality key of 2 to 8 digits."))


def _column(field: Any) -> str:
    """A concrete field's column (the stubs type fields as possibly reverse relations or virtual, without one)."""
    return field.column


class AuthorityQuerySet(models.QuerySet["Authority"]):
    def with_descendants(self) -> AuthorityQuerySet:
        """These authorities and every authority below them, at any depth.

        The one rule for "an authority includes its children": a Landkreis answers for its
        Samtgemeinden and their Mitgliedsgemeinden. A recursive query (both backends have
        ``WITH RECURSIVE``), run as a subquery where the result is used; ``UNION`` rather than
        ``UNION ALL`` ends the recursion even if a misconfigured tree has a cycle.
        """
        roots, params = self.order_by().values("pk").query.get_compiler(using=self.db).as_sql()
        quote = connections[self.db].ops.quote_name
        table, pk, parent = (
            quote(self.model._meta.db_table),
            quote(_column(self.model._meta.pk)),
            quote(_column(self.model._meta.get_field("parent"))),
        )
        subtree = (
            f"WITH RECURSIVE subtree (id) AS ("
            f"SELECT {pk} FROM {table} WHERE {pk} IN ({roots}) "
            f"UNION SELECT child.{pk} FROM {table} child JOIN subtree ON child.{parent} = subtree.id"
            f") SELECT id FROM subtree"
        )
        # A fresh queryset: the roots' filter is inside the subquery now.
        return AuthorityQuerySet(self.model, using=self.db).filter(pk__in=RawSQL(subtree, params))


class Authority(models.Model):
    """A body that receives reports: a Gemeinde, Stadt, Landkreis, or an external body."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=32, choices=AuthorityKind.choices)
    # The official designation as published (BEZ: "Stadt", "Gemeinde", "Flecken", "Landkreis", …).
    designation = models.CharField(_("designation"), max_length=100, blank=True)
    ars = models.CharField(
        _("regional key (ARS)"), max_length=12, unique=True, null=True, blank=True, validators=[ars_validator]
    )
    ags = models.CharField(
        _("municipality key (AGS)"), max_length=8, blank=True, db_index=True, validators=[ags_validator]
    )
    parent = models.ForeignKey(
        "self", verbose_name=_("parent"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    boundary = models.MultiPolygonField(_("boundary"), srid=4326, null=True, blank=True)
    # The version (BoundaryVersion) the boundary above is: read with the boundary in routing's one query, so a
    # report records exactly the version it was routed with. Set by geo.boundaries.new_boundary_version only.
    boundary_version = models.ForeignKey(
        "BoundaryVersion", verbose_name=_("boundary version"), null=True, blank=True, editable=False,
        on_delete=models.SET_NULL, related_name="+",
    )
    # Square kilometres in an equal-area projection, kept with the boundary: routing prefers the
    # smallest covering authority.
    area_km2 = models.FloatField(_("area (km²)"), null=True, blank=True, editable=False)
    publishing_policy = models.CharField(
        _("publishing policy"), max_length=20, choices=PublishingPolicy.choices, default=PublishingPolicy.IMMEDIATELY
    )
    # Photos: blurred automatically (faces, number plates) before they are public; or never public at all.
    blur_photos = models.BooleanField(
        _("blur faces and number plates"), default=True,
        help_text=_("Off: photos are published as taken, apart from the areas staff mark by hand."),
    )
    publish_photos = models.BooleanField(
        _("publish photos"), default=True,
        help_text=_("Off: photos are for staff only; the public sees none."),
    )
    default_department = models.ForeignKey(
        "Department",
        verbose_name=_("default department"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Receives reports for which no responsibility matches."),
    )
    reference_prefix = models.CharField(
        _("reference prefix"),
        max_length=8,
        blank=True,
        validators=[RegexValidator(r"^[A-Z0-9]{1,8}$", _("Capital letters and digits only."))],
        help_text=_("Prefix of report references, e.g. HM for HM-2026-000123. Empty: inherited from the parent."),
    )
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    website = models.URLField(_("website"), blank=True)
    active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = AuthorityQuerySet.as_manager()

    # What a choice of authorities needs of each (its value and ``str()``): ``only(*LABEL_FIELDS)``.
    LABEL_FIELDS = ("slug", "name", "designation")

    class Meta:
        verbose_name = _("authority")
        verbose_name_plural = _("authorities")
        ordering = ["name", "kind"]

    def __str__(self) -> str:
        return f"{self.designation} {self.name}".strip()

    def save(self, *args, **kwargs) -> None:
        self.area_km2 = boundary_area_km2(self.boundary)
        if "update_fields" in kwargs and "boundary" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "area_km2"}
        super().save(*args, **kwargs)

    def get_reference_prefix(self) -> str:
        authority: Authority | None = self
        while authority is not None:
            if authority.reference_prefix:
                return authority.reference_prefix
            authority = authority.parent
        return settings.OPENMELDER["DEFAULT_REFERENCE_PREFIX"]


def boundary_area_km2(boundary) -> float | None:
    if boundary is None:
        return None
    projected = boundary.ogr
    projected.transform(_to_equal_area)
    return projected.area / 1_000_000


class BoundaryVersion(models.Model):
    """A geometry an authority's boundary had, and when it applied; an import that changes a boundary closes the
    current version and opens a new one. Reports keep the version they were routed with (reports.Report), which
    therefore cannot be deleted while a report refers to it."""

    authority = models.ForeignKey(
        Authority, verbose_name=_("authority"), on_delete=models.CASCADE, related_name="boundary_versions"
    )
    # Routing reads Authority.boundary; the index serves questions of history ("whose was this point in 2026?").
    boundary = models.MultiPolygonField(_("boundary"), srid=4326)
    area_km2 = models.FloatField(_("area (km²)"), null=True, blank=True, editable=False)
    valid_from = models.DateTimeField(_("valid from"))
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True, help_text=_("Empty: current."))
    source = models.CharField(
        _("source"), max_length=300, blank=True, help_text=_("The imported file, or how the boundary was changed.")
    )

    class Meta:
        verbose_name = _("boundary version")
        verbose_name_plural = _("boundary versions")
        ordering = ["authority__name", "-valid_from", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["authority"], condition=models.Q(valid_until__isnull=True), name="boundary_version_one_current"
            ),
            models.CheckConstraint(
                condition=models.Q(valid_until__isnull=True) | models.Q(valid_until__gte=models.F("valid_from")),
                name="boundary_version_dates_in_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.authority}: {self.label}"

    @property
    def label(self) -> str:
        """How staff read it: "Grenzen vom 2026-01-01", and when it was replaced, if it was."""
        since = timezone.localtime(self.valid_from).date().isoformat()
        if self.valid_until is None:
            return gettext("Boundaries as of %(date)s") % {"date": since}
        until = timezone.localtime(self.valid_until).date().isoformat()
        return gettext("Boundaries as of %(date)s, replaced on %(until)s") % {"date": since, "until": until}

    def save(self, *args, **kwargs) -> None:
        self.area_km2 = boundary_area_km2(self.boundary)
        super().save(*args, **kwargs)


class Department(models.Model):
    """A unit of an authority that works reports, e.g. Bauhof Hameln or the Straßenmeisterei."""

    authority = models.ForeignKey(
        Authority, verbose_name=_("authority"), on_delete=models.PROTECT, related_name="departments"
    )
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["authority__name", "name"]

    def __str__(self) -> str:
        return self.name


class Category(models.Model):
    """An entry of the service catalogue; its slug is the Open311 ``service_code``."""

    slug = models.SlugField(_("code"), max_length=100, unique=True)
    name_de = models.CharField(_("name (German)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200)
    group_de = models.CharField(_("group (German)"), max_length=100, blank=True)
    group_en = models.CharField(_("group (English)"), max_length=100, blank=True)
    description_de = models.TextField(_("description (German)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    is_public = models.BooleanField(
        _("reports are public"), default=True, help_text=_("Reports in this category appear on the public map.")
    )
    is_road_category = models.BooleanField(
        _("road category"), default=False, help_text=_("Reports may be routed to the road's owner (Baulastträger).")
    )
    target_working_days = models.PositiveSmallIntegerField(
        _("target (working days)"), null=True, blank=True, help_text=_("Time to fix, in working days.")
    )
    nearby_radius_m = models.PositiveIntegerField(
        _("duplicate radius (m)"), default=30,
        help_text=_("Open reports this close are offered as possible duplicates."),
    )
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["sort_order", "slug"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.name_en if (get_language() or "de").startswith("en") else self.name_de

    @property
    def group(self) -> str:
        return self.group_en if (get_language() or "de").startswith("en") else self.group_de


class Responsibility(models.Model):
    """Department handles category within an area; the table *is* the routing configuration.

    Without an area, the department's authority's boundary applies. A responsibility of a
    Landkreis covers its Gemeinden; one of a Gemeinde overrides it there (smaller area wins at
    equal priority).
    """

    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.CASCADE, related_name="responsibilities"
    )
    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.CASCADE, related_name="responsibilities"
    )
    area = models.MultiPolygonField(
        _("area"), srid=4326, null=True, blank=True, help_text=_("Empty: the authority's whole boundary.")
    )
    area_km2 = models.FloatField(_("area (km²)"), null=True, blank=True, editable=False)
    priority = models.SmallIntegerField(
        _("priority"), default=0, help_text=_("Higher wins over lower, before the smaller area does.")
    )

    class Meta:
        verbose_name = _("responsibility")
        verbose_name_plural = _("responsibilities")
        ordering = ["category__slug", "-priority"]

    def __str__(self) -> str:
        return f"{self.department} – {self.category}"

    def save(self, *args, **kwargs) -> None:
        self.area_km2 = boundary_area_km2(self.area)
        super().save(*args, **kwargs)


class RoadClass(models.TextChoices):
    """Who builds and maintains a road (Baulastträger) follows from its class."""

    MOTORWAY = "A", _("Autobahn")
    FEDERAL = "B", _("Bundesstraße")
    STATE = "L", _("Landesstraße or Staatsstraße")
    COUNTY = "K", _("Kreisstraße")
    OTHER = "G", _("Gemeindestraße or other road")


class Road(models.Model):
    """A numbered road and the authority that owns it; reports in road categories near it go there."""

    source = models.CharField(
        _("source"), max_length=200, db_index=True, help_text=_("The imported file; a re-import replaces its roads.")
    )
    ref = models.CharField(_("road number"), max_length=100, help_text=_('As published, e.g. "B 2;B 5".'))
    road_class = models.CharField(_("road class"), max_length=1, choices=RoadClass.choices)
    name = models.CharField(_("name"), max_length=200, blank=True)
    owner = models.ForeignKey(
        Authority, verbose_name=_("owner"), null=True, blank=True, on_delete=models.PROTECT, related_name="roads",
        help_text=_("Empty: the Gemeinde where a report lies is responsible."),
    )
    geometry = models.MultiLineStringField(_("course"), srid=4326)

    class Meta:
        verbose_name = _("road")
        verbose_name_plural = _("roads")
        ordering = ["ref", "pk"]

    def __str__(self) -> str:
        return self.ref


class StaffRole(models.TextChoices):
    """The one role enum: what a staff account may do for a department's authority (stored on Membership).

    reports.workflow's table of who may set which status uses these roles, plus ``workflow.REPORTER``:
    the reporter is an actor without an account, so no stored role.
    """

    WORKER = "worker", _("Worker")
    LEAD = "lead", _("Lead")
    AUTHORITY_ADMIN = "authority_admin", _("Authority administrator")


class Membership(models.Model):
    """A staff account works for a department in a role."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="memberships"
    )
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=20, choices=StaffRole.choices, default=StaffRole.WORKER)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [models.UniqueConstraint(fields=["user", "department"], name="membership_unique_user_department")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.department} ({self.get_role_display()})"


class StaffIdentity(models.Model):
    """A staff account's identity at the single sign-on provider (OpenID Connect ``iss`` and ``sub``).

    Each login through the provider finds the account by this pair, never by a name or an address that the
    provider may change or give to someone else later (reports.staff.sso).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="sso_identities"
    )
    issuer = models.CharField(_("issuer"), max_length=255)
    subject = models.CharField(_("subject"), max_length=255)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("single sign-on identity")
        verbose_name_plural = _("single sign-on identities")
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="staffidentity_unique_subject")]

    def __str__(self) -> str:
        return f"{self.user} ({self.subject})"


class QuestionType(models.TextChoices):
    """The Open311 attribute datatypes."""

    STRING = "string", _("Short text")
    NUMBER = "number", _("Number")
    DATETIME = "datetime", _("Date and time")
    TEXT = "text", _("Long text")
    SINGLE_CHOICE = "singlevaluelist", _("One of a list")
    MULTIPLE_CHOICE = "multivaluelist", _("Several of a list")


class CategoryQuestion(models.Model):
    """An extra question asked when reporting in a category (an Open311 service attribute).

    ``options`` (for the list types) is a list of ``{"key": …, "name_de": …, "name_en": …}``.
    """

    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.CASCADE, related_name="questions"
    )
    code = models.SlugField(_("code"), max_length=50)
    question_de = models.CharField(_("question (German)"), max_length=300)
    question_en = models.CharField(_("question (English)"), max_length=300)
    datatype = models.CharField(
        _("answer type"), max_length=20, choices=QuestionType.choices, default=QuestionType.STRING
    )
    required = models.BooleanField(_("required"), default=False)
    options = models.JSONField(
        _("options"), default=list, blank=True, help_text=_('For lists: [{"key": "…", "name_de": "…", "name_en": "…"}]')
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("extra question")
        verbose_name_plural = _("extra questions")
        ordering = ["category", "order", "code"]
        constraints = [models.UniqueConstraint(fields=["category", "code"], name="category_question_unique_code")]

    def __str__(self) -> str:
        return f"{self.category.slug}: {self.code}"

    @property
    def question(self) -> str:
        return self.question_en if (get_language() or "de").startswith("en") else self.question_de

    def choices(self) -> list[tuple[str, str]]:
        """(key, name in the current language) of each option."""
        english = (get_language() or "de").startswith("en")
        return [(str(o["key"]), str(o.get("name_en" if english else "name_de") or o["key"])) for o in self.options]

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        listed = self.datatype in (QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE)
        if listed and (not isinstance(self.options, list) or not self.options
                       or not all(isinstance(o, dict) and o.get("key") for o in self.options)):
            raise ValidationError({"options": _("A list question needs options, each with a key.")})
