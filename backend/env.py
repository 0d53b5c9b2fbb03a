"""Typed readers for configuration from environment variables.

Every reader fails loudly (ImproperlyConfigured naming the variable) on a value it cannot
understand, instead of silently falling back to a default. Secrets may also come from a file
named by ``<NAME>_FILE`` (Docker/Kubernetes secrets).

``KNOWN`` records every variable the settings read, so tests can check that deployment files
(compose.yaml) only set variables that the code actually understands.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, overload
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

KNOWN: set[str] = set()

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _raw(name: str) -> str | None:
    KNOWN.add(name)
    return os.environ.get(name)


@overload
def env_str(name: str, default: str) -> str: ...
@overload
def env_str(name: str, default: None = None) -> str | None: ...
def env_str(name: str, default: str | None = None) -> str | None:
    value = _raw(name)
    return default if value is None else value


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean; use true or false.")


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number.") from None
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise ImproperlyConfigured(f"{name}={number} is outside the allowed range {minimum}..{maximum}.")
    return number


def env_choice(name: str, default: str, choices: list[str]) -> str:
    value = _raw(name)
    if value is None:
        return default
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r} must be one of: {', '.join(choices)}.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_secret(name: str) -> str | None:
    """A secret from ``NAME`` or from the file named by ``NAME_FILE`` (not both)."""
    value = _raw(name)
    file_name = _raw(f"{name}_FILE")
    if value is not None and file_name is not None:
        raise ImproperlyConfigured(f"Set either {name} or {name}_FILE, not both.")
    if file_name is not None:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_name!r} cannot be read: {exc.strerror}.") from None
    return value


def env_path(name: str, default: Path) -> Path:
    value = _raw(name)
    return default if value is None else Path(value).expanduser().resolve()


SPATIAL_ENGINES = {
    "postgis": "django.contrib.gis.db.backends.postgis",
    # Django's SpatiaLite backend without its library search per connection (backend/spatialite/base.py).
    "spatialite": "backend.spatialite",
}


def env_database(name: str, default: str, *, base_dir: Path) -> dict[str, Any]:
    """A Django DATABASES entry from a URL: ``postgis://user:pass@host:port/db`` or ``spatialite:///path``.

    Only spatial backends are accepted: OpenMelder cannot run without GIS functions. As with
    SQLAlchemy, ``spatialite:////abs/file`` is absolute and ``spatialite:///rel/file`` is relative
    (to ``base_dir``).
    """
    url = env_str(name, default) or ""
    scheme = urlsplit(url).scheme
    if scheme not in SPATIAL_ENGINES:
        raise ImproperlyConfigured(
            f"{name}={_redact(url)!r} is not supported: use postgis://USER:PASSWORD@HOST:PORT/NAME "
            f"or spatialite:///PATH/TO/FILE.sqlite3."
        )
    try:
        config = dj_database_url.parse(url)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={_redact(url)!r} cannot be parsed: {exc}") from None
    if not config.get("NAME"):
        raise ImproperlyConfigured(f"{name}={_redact(url)!r} names no database (path or database name).")
    config["ENGINE"] = SPATIAL_ENGINES[scheme]
    if scheme == "spatialite":
        path = base_dir / config["NAME"]  # an absolute NAME replaces base_dir
        config["NAME"] = str(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}: cannot create {path.parent}: {exc.strerror}.") from None
    return dict(config)


def env_redis_url(name: str) -> str | None:
    url = env_str(name)
    if url is None or url == "":
        return None
    if urlsplit(url).scheme not in {"redis", "rediss", "unix"}:
        raise ImproperlyConfigured(f"{name}={_redact(url)!r} is not a Redis URL (redis://HOST:PORT/DB).")
    return url


def _redact(url: str) -> str:
    """The URL without its password, for error messages."""
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url


def env_membership_map(name: str) -> dict[str, list[dict[str, Any]]]:
    """Group (claim value) → memberships, from JSON: ``{"<group>": <membership> or [<membership>, …]}``.

    A membership is ``"<department slug>:<role>"`` or ``{"department": <slug or id>, "role": <role>}``; the role
    defaults to worker. Returned as ``{"<group>": [{"department": slug or id, "role": role}, …]}``. Whether the
    departments exist and the roles are known is checked by the geo app's system check (no database here).
    """
    raw = _raw(name)
    if raw is None or not raw.strip():
        return {}
    example = '{"bauhof-hameln": "bauhof-hameln:worker", "gl-bauhof": {"department": 12, "role": "lead"}}'
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} is not valid JSON ({exc}); expected e.g. {example}") from None
    if not isinstance(parsed, dict):
        raise ImproperlyConfigured(f"{name} must be a JSON object of group → membership, e.g. {example}")
    result: dict[str, list[dict[str, Any]]] = {}
    for group, value in parsed.items():
        entries = value if isinstance(value, list) else [value]
        memberships = []
        for entry in entries:
            if isinstance(entry, str):
                department, _sep, role = entry.partition(":")
                entry = {"department": department, "role": role or "worker"}
            if (
                not isinstance(entry, dict) or set(entry) - {"department", "role"}
                or not isinstance(entry.get("department"), (str, int)) or isinstance(entry.get("department"), bool)
                or entry.get("department") in ("", None) or not isinstance(entry.get("role", "worker"), str)
            ):
                raise ImproperlyConfigured(
                    f"{name}: the membership {entry!r} of group {group!r} is not \"<department slug>:<role>\" nor "
                    f'{{"department": <slug or id>, "role": <role>}}; expected e.g. {example}'
                )
            memberships.append({"department": entry["department"], "role": entry.get("role") or "worker"})
        result[str(group)] = memberships
    return result
