from django.apps import AppConfig
from django.core.signals import request_started
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Reports")

    def ready(self) -> None:
        from reports.mapcells import install_after_migrate
        from reports.models import StatusLabel
        from reports.signals import events_recorded
        from reports.tasks import queue_geocoding

        events_recorded.connect(queue_geocoding, dispatch_uid="reports.queue_geocoding")
        # SQLite loses triggers when a migration rebuilds the report table: install them again.
        post_migrate.connect(install_after_migrate, sender=self, dispatch_uid="reports.mapcell_triggers")
        # Labels edited in the admin (another process) show from the next request on.
        request_started.connect(StatusLabel.forget_memo, dispatch_uid="reports.status_label_memo")
