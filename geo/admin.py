from django.conf import settings
from django.contrib import admin
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import override
from leaflet.admin import LeafletGeoAdmin

from geo.boundaries import new_boundary_version
from geo.models import (
    Authority,
    BoundaryVersion,
    Category,
    CategoryQuestion,
    Department,
    Membership,
    Responsibility,
    Road,
    StaffIdentity,
)


class DepartmentInline(admin.TabularInline):
    model = Department
    extra = 0
    fields = ["name", "slug", "email", "phone", "active"]
    show_change_link = True


@admin.register(Authority)
class AuthorityAdmin(LeafletGeoAdmin):
    # Django 6's default, and the only sensible one for a public body's website.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["__str__", "kind", "ars", "ags", "parent", "area", "has_boundary", "active"]
    list_filter = ["kind", "active", "publishing_policy"]
    search_fields = ["name", "ars", "ags", "slug"]
    list_select_related = ["parent"]
    readonly_fields = ["area_km2", "boundary_version", "updated_at"]
    autocomplete_fields = ["parent"]
    inlines = [DepartmentInline]
    fieldsets = [
        (None, {"fields": ["name", "designation", "kind", "slug", "parent", "active"]}),
        (_("Official keys"), {"fields": ["ars", "ags"]}),
        (_("Boundary"), {"fields": ["boundary", "area_km2", "boundary_version", "updated_at"]}),
        (
            _("Reports"),
            {"fields": ["default_department", "publishing_policy", "reference_prefix"]},
        ),
        (_("Photos"), {"fields": ["publish_photos", "blur_photos"]}),
        (_("Contact"), {"fields": ["email", "phone", "website"]}),
    ]

    @admin.display(description=_("area (km²)"), ordering="area_km2")
    def area(self, obj: Authority) -> str:
        return "" if obj.area_km2 is None else f"{obj.area_km2:,.1f}"

    @admin.display(description=_("boundary"), boolean=True)
    def has_boundary(self, obj: Authority) -> bool:
        return obj.boundary is not None

    def get_queryset(self, request):
        # The list needs no polygons; the change form loads its own.
        return super().get_queryset(request).defer("boundary", "parent__boundary")

    def save_model(self, request, obj: Authority, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        # A boundary drawn here is a version like an imported one: the reports routed with the old one keep it.
        if "boundary" in form.changed_data or (obj.boundary is not None and obj.boundary_version_id is None):
            # Stored in the installation's language, as routing reasons are, whatever the editor's language.
            with override(settings.LANGUAGE_CODE):
                source = str(_("changed in the admin by %(user)s") % {"user": request.user.get_username()})
            new_boundary_version(obj, source=source)


@admin.register(BoundaryVersion)
class BoundaryVersionAdmin(admin.ModelAdmin):
    """The history of boundaries, as imports and the authority form wrote it: read only."""

    list_display = ["authority", "valid_from", "valid_until", "is_current", "area", "source"]
    list_filter = ["authority__kind", ("valid_until", admin.EmptyFieldListFilter)]
    search_fields = ["authority__name", "authority__ars", "source"]
    list_select_related = ["authority"]
    date_hierarchy = "valid_from"
    # The polygon is not shown as text (thousands of coordinates); reports name the version they were routed with.
    fields = readonly_fields = ("authority", "valid_from", "valid_until", "area_km2", "source", "reports_routed")

    @admin.display(description=_("current"), boolean=True)
    def is_current(self, obj: BoundaryVersion) -> bool:
        return obj.valid_until is None

    @admin.display(description=_("area (km²)"), ordering="area_km2")
    def area(self, obj: BoundaryVersion) -> str:
        return "" if obj.area_km2 is None else f"{obj.area_km2:,.1f}"

    @admin.display(description=_("reports routed with it"))
    def reports_routed(self, obj: BoundaryVersion) -> int:
        return obj.reports.count()

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).defer("boundary", "authority__boundary")


class ResponsibilityInline(admin.TabularInline):
    model = Responsibility
    extra = 0
    fields = ["department", "priority"]
    autocomplete_fields = ["department"]


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "authority", "email", "active"]
    list_filter = ["active", "authority__kind"]
    search_fields = ["name", "slug", "authority__name"]
    autocomplete_fields = ["authority"]
    list_select_related = ["authority"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("authority__boundary")


class CategoryQuestionInline(admin.TabularInline):
    """Extra questions of a category: what Open311 clients see as a service's attributes."""

    model = CategoryQuestion
    extra = 0
    fields = ["order", "code", "question_de", "question_en", "datatype", "required", "options"]


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name_de", "slug", "group_de", "is_public", "is_road_category", "target_working_days", "active"]
    list_filter = ["active", "is_public", "is_road_category", "group_de"]
    search_fields = ["slug", "name_de", "name_en"]
    prepopulated_fields = {"slug": ["name_de"]}
    inlines = [CategoryQuestionInline, ResponsibilityInline]


@admin.register(Responsibility)
class ResponsibilityAdmin(LeafletGeoAdmin):
    list_display = ["category", "department", "priority", "has_area"]
    list_filter = ["category", "department__authority"]
    autocomplete_fields = ["department"]
    list_select_related = ["category", "department"]
    readonly_fields = ["area_km2"]

    @admin.display(description=_("own area"), boolean=True)
    def has_area(self, obj: Responsibility) -> bool:
        return obj.area is not None

    def get_queryset(self, request):
        return super().get_queryset(request).defer("area")


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "department", "role"]
    list_filter = ["role", "department__authority"]
    autocomplete_fields = ["user", "department"]
    list_select_related = ["user", "department"]


@admin.register(StaffIdentity)
class StaffIdentityAdmin(admin.ModelAdmin):
    """Accounts linked to the single sign-on provider; deleting a link lets the next sign-in link anew."""

    list_display = ["user", "issuer", "subject", "created_at"]
    search_fields = ["user__username", "subject"]
    readonly_fields = ["user", "issuer", "subject", "created_at"]
    list_select_related = ["user"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Road)
class RoadAdmin(LeafletGeoAdmin):
    list_display = ["ref", "road_class", "name", "owner", "source"]
    list_filter = ["road_class", "source", "owner"]
    search_fields = ["ref", "name"]
    autocomplete_fields = ["owner"]
    list_select_related = ["owner"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("geometry", "owner__boundary")
