from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.utils.translation import gettext_lazy as _


class GeoConfig(AppConfig):
    name = "geo"
    verbose_name = _("Responsibilities")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from geo.spatialite import repair_after_migrate

        post_migrate.connect(repair_after_migrate, dispatch_uid="geo.repair_spatial_indexes")
        checks.register(membership_map_roles)


def membership_map_roles(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """OIDC_MEMBERSHIP_MAP names only roles that exist (its departments are looked up at each sign-in)."""
    from geo.models import StaffRole

    return [
        checks.Error(f"OIDC_MEMBERSHIP_MAP: group {group!r} has the unknown role {entry['role']!r}.",
                     hint=f"Use one of: {', '.join(StaffRole.values)}.", id="geo.E001")
        for group, entries in settings.OIDC_MEMBERSHIP_MAP.items()
        for entry in entries
        if entry["role"] not in StaffRole.values
    ]
