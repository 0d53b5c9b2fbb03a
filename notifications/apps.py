from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from notifications.handlers import push_events
        from reports.signals import events_committed

        events_committed.connect(push_events, dispatch_uid="notifications.push_events")
