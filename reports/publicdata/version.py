"""The version of the public data: read by every cacheable public answer, changed after every commit that
may change one.

The value lives in the database (``PublicDataVersion``), not in the cache: the worker (photo renditions,
addresses, retention) runs in a process of its own, and the embedded default's cache is per process.
Reading it is one primary-key lookup. It is changed *after* commit, in a statement of its own, so that no
report transaction waits for another on this one row; a reader therefore reads the version before the
data, and an answer computed from newer data than its version says is harmless (that version is already
gone when the writer's own response reaches its client).

Where Redis is the cache, the value is also mirrored there (``MIRROR_KEY``, raw, not pickled): the server
answers cached public reads in front of Django from Redis alone (``mobile_api.public_cache.PublicReadFastPath``).
Every change writes the mirror right after the database, before the writer's own response is sent; a mirror
found missing is filled from the database (``current(mirror=True)``, only if still absent, so an older read
never overwrites a newer change). Should writing the mirror fail (Redis away), the period below bounds how long
an old answer can be served.

What calls ``changed()``: every recorded event (``reports.services.common.publish_after_commit``),
photo renditions, and saves and deletes of the models public answers are made from (signals below: these
also catch the admin). Bulk loaders (``load_demo``, ``import_boundaries``) call it when they finish.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import secrets
import time

from django.db import connection, transaction
from redis.exceptions import RedisError

from backend.cache import cache_key, redis_client

logger = logging.getLogger(__name__)

# Answers are also keyed by the current period of this many seconds: statistics ("the last 12 months")
# move with the clock, and should a process die between a commit and its change of version, what it
# changed shows at the next period at the latest.
PERIOD_SECONDS = 300
# The name of the mirror in Redis (prefixed like every cache key, see ``mirror_key``).
MIRROR_KEY = "public-version"


def _table() -> str:
    from reports.models import PublicDataVersion

    return connection.ops.quote_name(PublicDataVersion._meta.db_table)


def current(*, mirror: bool = False) -> str:
    """The version now, as a short string (the value and the period). With ``mirror``, the value is also written
    to Redis' mirror if that has none."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT value FROM {_table()} WHERE id = 1")
        row = cursor.fetchone()
    value = row[0] if row else 0
    if mirror:
        _mirror(value, only_if_absent=True)
    return f"{value:x}.{period()}"


def period() -> str:
    """The current period, as it ends the version string."""
    return f"{int(time.time() // PERIOD_SECONDS):x}"


def mirror_key() -> str:
    """The mirror's key: one per database, so that installations (or test servers) sharing a Redis never read
    each other's version."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    return _mirror_key(cache_key(MIRROR_KEY), database["ENGINE"], str(database["NAME"]),
                       str(database.get("HOST", "")), str(database.get("PORT", "")))


@functools.lru_cache(maxsize=8)
def _mirror_key(prefix: str, *database: str) -> str:
    return f"{prefix}:{hashlib.blake2b(chr(10).join(database).encode(), digest_size=8).hexdigest()}"


def _mirror(value: int, *, only_if_absent: bool = False) -> None:
    client = redis_client()
    if client is None:
        return
    try:
        client.set(mirror_key(), f"{value:x}", nx=only_if_absent)
    except RedisError as exc:
        logger.warning("public data version: the mirror in Redis was not written (%s)", exc)


def _change() -> None:
    from reports.models import PublicDataVersion

    value = secrets.randbits(62)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {_table()} SET value = %s WHERE id = 1", [value])
        updated = cursor.rowcount
    if not updated:  # the row was deleted by hand: make it again
        PublicDataVersion.objects.update_or_create(pk=1, defaults={"value": value})
    _mirror(value)


class _AfterCommit:
    """One registered change of version. The callbacks of a transaction run one after the other once it has
    committed: the first one changes the version for all that are waiting, the others do nothing."""

    def __init__(self, waiting: list[_AfterCommit]) -> None:
        self.waiting = waiting
        self.done = False
        waiting.append(self)

    def __call__(self) -> None:
        if self.done:
            return
        for other in self.waiting:  # also those of a rolled-back transaction: they never run anyway
            other.done = True
        self.waiting.clear()
        _change()


def changed() -> None:
    """Public data changes in the current transaction: change the version once it has committed (at once
    outside a transaction). Several calls in one transaction change it once."""
    conn = transaction.get_connection()
    waiting = conn.__dict__.setdefault("_public_version_waiting", [])
    # robust: the change is committed already; a failure here is logged, not turned into an error answer.
    transaction.on_commit(_AfterCommit(waiting), robust=True)


def on_model_change(sender, **kwargs) -> None:
    """Receiver of post_save / post_delete of the models public answers are made from."""
    changed()
