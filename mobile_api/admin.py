from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mobile_api.models import Open311Client


@admin.register(Open311Client)
class Open311ClientAdmin(admin.ModelAdmin):
    list_display = ["name", "key_prefix", "active", "submissions_per_hour", "contact", "created_at", "last_used_at"]
    list_filter = ["active"]
    search_fields = ["name", "contact", "key_prefix"]
    fields = [
        "name", "contact", "active", "submissions_per_hour", "media_hosts", "key_prefix", "created_at", "last_used_at",
    ]
    readonly_fields = ["key_prefix", "created_at", "last_used_at"]
    actions = ["issue_new_key"]

    def save_model(self, request, obj: Open311Client, form, change: bool) -> None:
        key = None if change else obj.new_key()
        super().save_model(request, obj, form, change)
        if key:
            self._show_key(request, obj, key)

    @admin.action(description=gettext_lazy("Issue a new API key (the old one stops working)"))
    def issue_new_key(self, request, queryset) -> None:
        for client in queryset:
            key = client.new_key()
            client.save(update_fields=["key_hash", "key_prefix"])
            self._show_key(request, client, key)

    def _show_key(self, request, client: Open311Client, key: str) -> None:
        # Shown once: only the hash is stored.
        message = _("API key for %(name)s: %(key)s — copy it now, it is not shown again.")
        messages.warning(request, message % {"name": client.name, "key": key})
