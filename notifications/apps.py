from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from notifications.delivery.planning import queue_deliveries
        from notifications.handlers import push_events
        from notifications.revocation import connect_receivers
        from reports.signals import events_committed, events_recorded

        events_committed.connect(push_events, dispatch_uid="notifications.push_events")
        # Durable work: written in the report's own transaction.
        events_recorded.connect(queue_deliveries, dispatch_uid="notifications.queue_deliveries")
        # Open staff sockets re-check their credentials when a token, account or membership changes.
        connect_receivers()
