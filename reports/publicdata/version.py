"""The version of the public data: read by every cacheable public answer, changed after every commit that
may change one.

The values live in the database (``PublicDataVersion``), not in the cache: the worker (photo renditions,
addresses, retention) runs in a process of its own, and the embedded default's cache is per process.
They are changed *after* commit, in a statement of its own, so that no report transaction waits for another
on these rows; a reader therefore reads the version before the data, and an answer computed from newer data
than its version says is harmless (that version is already gone when the writer's own response reaches its
client).

Two kinds of answer, two kinds of version:

- Lists, statistics, Open311 and the rest depend on every report: their version is ``ALL`` (one
  primary-key lookup), changed by every change.
- A map answer depends only on the reports within its view (``areas_of_view``): its version is ``MAP_BASE``
  (changed by every change that is not confined to known places: categories, labels, authorities, a report
  moved, anything unknown) together with the versions of the few *areas* its view covers. A change of reports
  at known places changes the areas that contain them, at every level of a grid of areas (quarters of quarters
  of the globe, ``AREA_LEVELS``), instead of ``MAP_BASE``: a new report in Hameln leaves the cached map of
  Bad Pyrmont's streets as it was, and is in the very next answer of every view that contains it (every view
  reads areas of one level that cover it whole, and that level's area of the report changed).

Where Redis is the cache, the value is also mirrored there (``MIRROR_KEY``, raw, not pickled): the server
answers cached public reads in front of Django from Redis alone (``mobile_api.public_cache.PublicReadFastPath``).
Every change writes the mirror right after the database, before the writer's own response is sent. Values only
grow (each at least the microseconds of the Unix time, and above the one before), and a mirror takes a value only
if it is greater than its own: two changes at once may write the database as A, B and the mirror as B, A, and the
mirror still ends at B's value, as the database does (were A's kept, an answer made between the two, without B's
report, would be served under it). A mirror found missing is filled from the database (``current(mirror=True)``,
only if still absent); mirrors expire after ``MIRROR_SECONDS`` and are filled again, so that one left ahead of
the database (a restored backup) costs fast answers for minutes, never correct ones. Should writing the mirror
fail (Redis away), the period below bounds how long an old answer can be served.

What calls ``changed()``: every recorded event (``reports.services.common.publish_after_commit``, with the
places of its reports), and saves and deletes of the models public answers are made from (signals below: these
also catch the admin; a report's with its place where it cannot have moved, photos' and events' with none, as
the map shows neither). Bulk loaders (``load_demo``, ``import_boundaries``) call it when they finish.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import time
from collections.abc import Iterable, Sequence

from django.db import connection, transaction
from redis.exceptions import RedisError

from backend.cache import cache_key, redis_client, redis_script

logger = logging.getLogger(__name__)

# Answers are also keyed by the current period of this many seconds: statistics ("the last 12 months")
# move with the clock, and should a process die between a commit and its change of version, what it
# changed shows at the next period at the latest.
PERIOD_SECONDS = 300
# The name of the mirror in Redis (prefixed like every cache key, see ``mirror_key``), and how long a value is kept.
MIRROR_KEY = "public-version"
MIRROR_SECONDS = 2 * PERIOD_SECONDS
# Rows of PublicDataVersion: every change; every change not confined to known places (map answers). Areas are
# rows with ids from 2**40 up (``_area_id``).
ALL = 1
MAP_BASE = 2
# The grid of areas: at level L the globe is 2**L × 2**L areas of 360/2**L° longitude × 180/2**L° latitude
# (level 14: about 1.5 × 1.2 km in Germany). A change at a place changes its area at each level; a view reads
# the finest level at which at most MAX_VIEW_AREAS areas cover it.
AREA_LEVELS = (2, 4, 6, 8, 10, 12, 14)
MAX_VIEW_AREAS = 16


def _table() -> str:
    from reports.models import PublicDataVersion

    return connection.ops.quote_name(PublicDataVersion._meta.db_table)


def current(*, mirror: bool = False, areas: Sequence[int] | None = None) -> str:
    """The version now, as a short string (the value and the period): of all public data, or with ``areas``
    (``areas_of_view``) of a map view's. With ``mirror``, the values are also written to Redis' mirror where
    that has none."""
    if areas is None:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT value FROM {_table()} WHERE id = {ALL}")
            row = cursor.fetchone()
        values = {ALL: row[0] if row else 0}
        value = f"{values[ALL]:x}"
    else:
        ids = [MAP_BASE, *areas]
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT id, value FROM {_table()} WHERE id IN ({', '.join(['%s'] * len(ids))})", ids)
            found = dict(cursor.fetchall())
        values = {id_: found.get(id_, 0) for id_ in ids}
        value = combined([f"{values[id_]:x}" for id_ in ids])
    if mirror:
        _mirror(values, only_if_absent=True)
    return f"{value}.{period()}"


def combined(values: Sequence[str]) -> str:
    """A map view's version from those of MAP_BASE and its areas (hexadecimal, in this order); the fast path's
    Lua script (mobile_api.public_cache) computes the same."""
    if len(values) == 1:
        return values[0]
    return f"{values[0]}.{hashlib.sha1(','.join(values[1:]).encode()).hexdigest()[:12]}"


def areas_of_view(extent: tuple[float, float, float, float]) -> list[int]:
    """The areas whose changes can change an answer about ``extent`` (min_lon, min_lat, max_lon, max_lat, checked
    WGS 84): all areas of the finest level at which at most MAX_VIEW_AREAS cover it."""
    min_lon, min_lat, max_lon, max_lat = extent
    for level in reversed(AREA_LEVELS):
        x_from, y_from = _area_xy(level, min_lon, min_lat)
        x_to, y_to = _area_xy(level, max_lon, max_lat)
        if (x_to - x_from + 1) * (y_to - y_from + 1) <= MAX_VIEW_AREAS or level == AREA_LEVELS[0]:
            return [_area_id(level, x, y) for x in range(x_from, x_to + 1) for y in range(y_from, y_to + 1)]
    raise AssertionError("unreachable")


def areas_of_place(lon: float, lat: float) -> list[int]:
    """The areas that contain a place, one per level."""
    return [_area_id(level, *_area_xy(level, lon, lat)) for level in AREA_LEVELS]


def _area_xy(level: int, lon: float, lat: float) -> tuple[int, int]:
    last = 2**level - 1
    x = math.floor((lon + 180.0) * 2**level / 360.0)
    y = math.floor((lat + 90.0) * 2**level / 180.0)
    return min(max(x, 0), last), min(max(y, 0), last)


def _area_id(level: int, x: int, y: int) -> int:
    return (level + 1) << 40 | x << 20 | y


def period() -> str:
    """The current period, as it ends the version string."""
    return f"{int(time.time() // PERIOD_SECONDS):x}"


def mirror_key(id_: int = ALL) -> str:
    """The key of a value's mirror: one per database, so that installations (or test servers) sharing a Redis
    never read each other's version."""
    return mirror_keys([id_])[0]


def mirror_keys(ids: Sequence[int]) -> list[str]:
    """``mirror_key`` of each of ``ids`` (the database's part worked out once)."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    prefix = _mirror_key(cache_key(MIRROR_KEY), database["ENGINE"], str(database["NAME"]),
                         str(database.get("HOST", "")), str(database.get("PORT", "")))
    return [prefix if id_ == ALL else f"{prefix}:{id_:x}" for id_ in ids]


@functools.lru_cache(maxsize=8)
def _mirror_key(prefix: str, *database: str) -> str:
    return f"{prefix}:{hashlib.blake2b(chr(10).join(database).encode(), digest_size=8).hexdigest()}"


# Sets each mirror (KEYS) to its value (ARGV, hexadecimal without leading zeros) if that is greater than the one
# it has (or it has none), to expire after ARGV[#KEYS + 1] seconds.
_RAISE = """
local seconds = ARGV[#KEYS + 1]
for i, key in ipairs(KEYS) do
  local new, old = ARGV[i], redis.call('GET', key)
  if not old or #old < #new or (#old == #new and old < new) then
    redis.call('SET', key, new, 'EX', seconds)
  end
end
"""


def _mirror(values: dict[int, int], *, only_if_absent: bool = False) -> None:
    """Write values to their mirrors: where a mirror has none (``only_if_absent``), or else where it has a smaller
    one (in one round trip)."""
    client = redis_client()
    if client is None:
        return
    keys = mirror_keys(list(values))
    try:
        if only_if_absent:
            with client.pipeline(transaction=False) as pipe:
                for key, value in zip(keys, values.values(), strict=True):
                    pipe.set(key, f"{value:x}", nx=True, ex=MIRROR_SECONDS)
                pipe.execute()
        else:
            redis_script(_RAISE)(keys=keys, args=[*(f"{value:x}" for value in values.values()), MIRROR_SECONDS])
    except RedisError as exc:
        logger.warning("public data version: the mirror in Redis was not written (%s)", exc)


def _change(areas: set[int] | None) -> None:
    """New values for ALL and MAP_BASE (``areas`` None: anything may have changed) or for ALL and the areas."""
    ids = [ALL, MAP_BASE] if areas is None else [ALL, *sorted(areas)]
    now = time.time_ns() // 1000
    table = _table()
    greatest = "GREATEST" if connection.vendor == "postgresql" else "MAX"  # SQLite's max() of several arguments
    with connection.cursor() as cursor:
        # One statement (PostgreSQL and SQLite alike); rows deleted by hand are made again. Each value grows: to now
        # (microseconds), or by one where it is there already (two changes in a microsecond, a clock set back).
        cursor.execute(
            f"INSERT INTO {table} (id, value) VALUES {', '.join(['(%s, %s)'] * len(ids))} "
            f"ON CONFLICT (id) DO UPDATE SET value = {greatest}({table}.value + 1, EXCLUDED.value) RETURNING id, value",
            [number for id_ in ids for number in (id_, now)],
        )
        values = dict(cursor.fetchall())
    _mirror(values)


class _AfterCommit:
    """One registered change of version. The callbacks of a transaction run one after the other once it has
    committed: the first one changes the versions for all that are waiting, the others do nothing."""

    def __init__(self, waiting: list[_AfterCommit], areas: set[int] | None) -> None:
        self.waiting = waiting
        self.areas = areas
        self.done = False
        waiting.append(self)

    def __call__(self) -> None:
        if self.done:
            return
        # Also those of a rolled-back savepoint or transaction (they never run themselves): changing a version
        # too many is harmless.
        areas: set[int] | None = set()
        for other in self.waiting:
            other.done = True
            areas = None if areas is None or other.areas is None else areas | other.areas
        self.waiting.clear()
        _change(areas)


def changed(*, places: Iterable | None = None) -> None:
    """Public data changes in the current transaction: change the version once it has committed (at once
    outside a transaction). ``places``: the change is confined to reports at these places (points in WGS 84;
    none: nothing the map shows); without, anything may have changed. Several calls in one transaction change
    it once."""
    areas = None if places is None else {area for place in places for area in areas_of_place(place.x, place.y)}
    conn = transaction.get_connection()
    waiting = conn.__dict__.setdefault("_public_version_waiting", [])
    # robust: the change is committed already; a failure here is logged, not turned into an error answer.
    transaction.on_commit(_AfterCommit(waiting, areas), robust=True)


def places_of(reports: Iterable) -> list | None:
    """The places of reports as loaded, or None where one's place is not in memory (never a query)."""
    places = []
    for report in reports:
        place = report.__dict__.get("location") if report is not None else None
        if place is None:
            return None
        places.append(place)
    return places


def on_model_change(sender, instance, **kwargs) -> None:
    """Receiver of post_save / post_delete of the models public answers are made from."""
    from reports.models import Photo, Report, ReportEvent

    if sender in (Photo, ReportEvent):
        changed(places=())  # neither is on the map
    elif sender is Report:
        # A save of an existing report may have moved it (all fields saved, or its location), and its old place is
        # not known here; created, deleted or saved without its location, it is where it is.
        fields = kwargs.get("update_fields")
        may_have_moved = "update_fields" in kwargs and not kwargs.get("created") and (
            fields is None or "location" in fields)
        changed() if may_have_moved else changed(places=places_of([instance]))
    else:
        changed()
