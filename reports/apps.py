from django.apps import AppConfig
from django.core.signals import request_started
from django.db.models.signals import post_delete, post_migrate, post_save
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Reports")

    def ready(self) -> None:
        from geo.models import Authority, Category, CategoryQuestion, Department
        from reports.mapcells import install_after_migrate
        from reports.models import Photo, Report, ReportEvent, StatusLabel
        from reports.publicdata.version import on_model_change
        from reports.signals import events_recorded
        from reports.tasks import queue_geocoding

        events_recorded.connect(queue_geocoding, dispatch_uid="reports.queue_geocoding")
        # SQLite loses triggers when a migration rebuilds the report table: install them again.
        post_migrate.connect(install_after_migrate, sender=self, dispatch_uid="reports.mapcell_triggers")
        # Labels edited in the admin (another process) show from the next request on.
        # Cached public answers (reports.publicdata.version): saves and deletes of what they are made from,
        # also in the admin, change the version after commit. Services change it with every event as well.
        for model in (Report, Photo, ReportEvent, StatusLabel, Authority, Category, CategoryQuestion, Department):
            for signal in (post_save, post_delete):
                signal.connect(on_model_change, sender=model, dispatch_uid=f"reports.public_version.{model.__name__}")
        request_started.connect(StatusLabel.forget_memo, dispatch_uid="reports.status_label_memo")
