from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GeoConfig(AppConfig):
    name = "geo"
    verbose_name = _("Responsibilities")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from geo.spatialite import repair_after_migrate

        post_migrate.connect(repair_after_migrate, dispatch_uid="geo.repair_spatial_indexes")
