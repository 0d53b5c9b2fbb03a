"""The Redis cache, failing open: while Redis is away, reads miss and writes are dropped.

The cache only holds what can be lost (rate-limit counters, status labels): a Redis outage must not
turn into failed requests. Rate limits are not enforced while Redis is unreachable.
"""

from __future__ import annotations

import functools
import logging

from django.core.cache.backends.redis import RedisCache
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


class FailOpenRedisCache(RedisCache):
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
