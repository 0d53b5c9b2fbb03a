"""Django's SpatiaLite backend, looking for the SpatiaLite library once per process instead of once per connection.

Django's ``DatabaseWrapper.__init__`` calls ``ctypes.util.find_library("spatialite")``, which runs ``ldconfig -p``
in a subprocess (about 1.5 ms). Under ASGI every request has connection objects of its own, so the embedded
default paid that on every request that touched the database. The list of candidates is Django's, made once.
"""

from __future__ import annotations

import functools
from ctypes.util import find_library

from django.conf import settings
from django.contrib.gis.db.backends.spatialite import base as spatialite
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteDatabaseWrapper


@functools.cache
def _library_paths(configured: str | None) -> tuple[str, ...]:
    # As django.contrib.gis.db.backends.spatialite.base.DatabaseWrapper.__init__ lists them.
    return tuple(
        name for name in (configured, "mod_spatialite.so", "mod_spatialite", find_library("spatialite"))
        if name is not None
    )


class DatabaseWrapper(spatialite.DatabaseWrapper):
    def __init__(self, *args, **kwargs) -> None:
        paths = list(_library_paths(getattr(settings, "SPATIALITE_LIBRARY_PATH", None)))
        self.lib_spatialite_paths = paths  # type: ignore[assignment]  # a list in Django, "str" in the stubs
        SQLiteDatabaseWrapper.__init__(self, *args, **kwargs)  # everything of Django's but the search
