from django.contrib import admin

from notifications.models import AreaAlert, Delivery, EmailAddress, PushSubscription, Subscription, Webhook


@admin.register(EmailAddress)
class EmailAddressAdmin(admin.ModelAdmin):
    list_display = ["address", "language", "confirmed_at", "created_at"]
    list_filter = ["language", ("confirmed_at", admin.EmptyFieldListFilter)]
    search_fields = ["address"]
    readonly_fields = ["created_at"]


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["report", "address", "created_at"]
    search_fields = ["report__reference", "address__address"]
    raw_id_fields = ["report", "address"]


@admin.register(PushSubscription)
class PushSubscriptionAdmin(admin.ModelAdmin):
    """Written by browsers and apps only; staff can see which reports have them, and remove one."""

    list_display = ["report", "source", "language", "created_at"]
    list_filter = ["source"]
    search_fields = ["report__reference"]
    list_select_related = ["report"]
    fields = ["report", "source", "language", "created_at"]
    readonly_fields = ["report", "source", "language", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ["url", "authority", "department", "active"]
    list_filter = ["active", "authority"]
    search_fields = ["url"]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """Read-only: deliveries are written by the queue and changed only by the worker."""

    list_display = ["id", "kind", "channel", "target", "report", "status", "attempts", "next_attempt_at", "sent_at"]
    list_filter = ["status", "channel", "kind"]
    search_fields = ["target", "report__reference"]
    date_hierarchy = "created_at"
    list_select_related = ["report"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AreaAlert)
class AreaAlertAdmin(admin.ModelAdmin):
    """To find and delete a person's area alerts on request (DSGVO); citizens make and stop them themselves."""

    list_display = ["address", "scope", "authority", "radius_m", "new_reports", "status_changes", "confirmed_at",
                    "created_at"]
    list_filter = ["scope", ("confirmed_at", admin.EmptyFieldListFilter)]
    search_fields = ["address"]
    list_select_related = ["authority"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields if field.name != "token_hash"] + ["categories"]

    def get_exclude(self, request, obj=None):
        return ["token_hash"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
