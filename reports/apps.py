from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Reports")

    def ready(self) -> None:
        from reports.signals import events_recorded
        from reports.tasks import queue_geocoding

        events_recorded.connect(queue_geocoding, dispatch_uid="reports.queue_geocoding")
