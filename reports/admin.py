from django.contrib import admin
from leaflet.admin import LeafletGeoAdmin

from reports.models import Photo, Report, ReportEvent, ResponseTemplate, StatusLabel


class PhotoInline(admin.TabularInline):
    model = Photo
    extra = 0
    can_delete = False
    # Files only through the use cases: a replaced image would keep its old public rendition.
    fields = ["kind", "image", "thumbnail", "width", "height", "is_public", "captured_at", "public_image",
              "rendered_at"]
    readonly_fields = ["image", "thumbnail", "width", "height", "captured_at", "public_image", "rendered_at"]


_EVENT_FIELDS = ("id", "created_at", "kind", "from_status", "to_status", "message", "is_public", "actor")


class EventInline(admin.TabularInline):
    """The history is append-only: shown, never edited here."""

    model = ReportEvent
    extra = 0
    can_delete = False
    fields = _EVENT_FIELDS
    readonly_fields = _EVENT_FIELDS

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Report)
class ReportAdmin(LeafletGeoAdmin):
    list_display = ["reference", "category", "status", "authority", "department", "created_at", "moderation"]
    list_filter = ["status", "moderation", "source", "category", "authority"]
    search_fields = ["reference", "description", "address"]
    date_hierarchy = "created_at"
    list_select_related = ["category", "authority", "department"]
    readonly_fields = [
        "reference", "public_id", "routing_reason", "boundary_version", "support_count", "created_at", "updated_at",
        "closed_at",
    ]
    raw_id_fields = ["duplicate_of"]
    autocomplete_fields = ["authority", "department"]
    inlines = [PhotoInline, EventInline]

    # Every change to a report goes through the workflow services, in one transaction with its
    # event; the admin only shows reports.
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).defer("authority__boundary")


@admin.register(StatusLabel)
class StatusLabelAdmin(admin.ModelAdmin):
    """The labels are data; the status codes and their types are fixed by the workflow."""

    list_display = ["status", "label_de", "label_en", "type"]
    readonly_fields = ["status"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ResponseTemplate)
class ResponseTemplateAdmin(admin.ModelAdmin):
    list_display = ["title", "status", "category", "authority", "sort_order"]
    list_filter = ["status", "category", "authority"]
    search_fields = ["title", "text", "text_en"]
    autocomplete_fields = ["authority"]
