"""The Redis cache, failing open: while Redis is away, reads miss and writes are dropped.

The cache only holds what can be lost (rate-limit counters, status labels): a Redis outage must not
turn into failed requests. Rate limits are not enforced while Redis is unreachable.
"""

from __future__ import annotations

import functools
import logging
import threading
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.utils.functional import cached_property
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


def _fail_open(method, fallback):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except RedisError as exc:
            logger.warning("cache unavailable (%s); %s ignored", exc, method.__name__)
            return fallback(*args, **kwargs)

    return wrapper


class SharedRedisCacheClient(RedisCacheClient):
    """One redis-py client per connection pool, instead of Django's new one for every cache call.

    A redis-py 8 client builds its table of response callbacks (about 170 entries) when created: with
    a client per call, a page with a few cache reads spent more time there than talking to Redis.
    Clients are thread-safe and share the pool, so one per pool is what redis-py recommends.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


# Django keeps cache backends per thread, and under ASGI every request runs in a thread of its own:
# each request made a new client with a new connection pool, so a new Redis connection (TCP and
# handshake) for every request, and the old one lingered until garbage collection. One client per
# process and configuration instead (redis-py's pools are thread-safe).
_shared_clients: dict[tuple, SharedRedisCacheClient] = {}
_shared_lock = threading.Lock()


class FailOpenRedisCache(RedisCache):
    # Set by RedisCache.__init__; not in the stubs.
    _servers: list[str]
    _options: dict[str, Any]

    @cached_property
    def _cache(self) -> SharedRedisCacheClient:
        key = (tuple(self._servers), repr(sorted(self._options.items())))
        with _shared_lock:
            if key not in _shared_clients:
                _shared_clients[key] = SharedRedisCacheClient(self._servers, **self._options)
            return _shared_clients[key]

    get = _fail_open(RedisCache.get, lambda key, default=None, version=None: default)
    get_many = _fail_open(RedisCache.get_many, lambda *a, **k: {})
    has_key = _fail_open(RedisCache.has_key, lambda *a, **k: False)
    add = _fail_open(RedisCache.add, lambda *a, **k: False)
    set = _fail_open(RedisCache.set, lambda *a, **k: None)
    set_many = _fail_open(RedisCache.set_many, lambda *a, **k: [])
    touch = _fail_open(RedisCache.touch, lambda *a, **k: False)
    delete = _fail_open(RedisCache.delete, lambda *a, **k: False)
    delete_many = _fail_open(RedisCache.delete_many, lambda *a, **k: None)
    incr = _fail_open(RedisCache.incr, lambda key, delta=1, version=None: delta)
    clear = _fail_open(RedisCache.clear, lambda *a, **k: False)


def redis_client():
    """The default cache's redis-py client (sync, shared by the process) when the cache is Redis, else None: for
    the few values other processes read raw (``reports.publicdata.version``'s mirror), not pickled by Django."""
    from django.conf import settings
    from django.core.cache import caches

    config = settings.CACHES["default"]
    if not config["BACKEND"].endswith(".FailOpenRedisCache"):
        return None
    # Looked up once per configuration: ``caches["default"]`` makes a new backend object in every ASGI request.
    key = (str(config["LOCATION"]), repr(sorted(config.get("OPTIONS", {}).items())))
    client = _raw_clients.get(key)
    if client is None:
        default = caches["default"]
        assert isinstance(default, FailOpenRedisCache)
        client = _raw_clients[key] = default._cache.get_client(write=True)
    return client


_raw_clients: dict[tuple[str, str], Any] = {}


def redis_script(source: str):
    """The Lua script ``source`` registered with ``redis_client()`` (redis-py runs it by its SHA, loading it once),
    or None where the cache is not Redis."""
    client = redis_client()
    if client is None:
        return None
    key = (id(client), source)
    script = _scripts.get(key)
    if script is None:
        script = _scripts[key] = client.register_script(source)
    return script


_scripts: dict[tuple[int, str], Any] = {}


def cache_key(name: str) -> str:
    """``cache.make_key(name)`` for keys read raw (Lua scripts, the fast path), without making a cache backend: under
    ASGI every request has a context of its own, and Django's ``cache`` made a new backend object for each."""
    from django.conf import settings

    default = settings.CACHES["default"]
    return f"{default.get('KEY_PREFIX', '')}:{default.get('VERSION', 1)}:{name}"
