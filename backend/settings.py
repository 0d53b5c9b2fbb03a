"""OpenMelder settings: one module, driven by environment variables (see README.md, "Configuration").

With nothing set but ``SECRET_KEY`` (or ``DEBUG=true``), OpenMelder runs embedded: a SpatiaLite
file and media under ``DATA_DIR`` and an in-memory channel layer. Production sets ``DATABASE_URL``
(PostGIS) and ``REDIS_URL``.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from backend.env import (
    env_bool,
    env_choice,
    env_database,
    env_int,
    env_list,
    env_membership_map,
    env_path,
    env_redis_url,
    env_secret,
    env_str,
)
from backend.secret_key import data_dir_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", default=False)

DATA_DIR = env_path("DATA_DIR", BASE_DIR / "var")

SECRET_KEY = env_secret("SECRET_KEY") or ""
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY (or SECRET_KEY_FILE) to a long random value, "
            "e.g. the output of: python3 -c 'import secrets; print(secrets.token_urlsafe(50))'. "
            "Only DEBUG=true runs without one."
        )
    # Never a fixed key: anyone could sign reopen links and sessions for every demo. One random key per
    # data directory, generated on first start and kept in $DATA_DIR/secret-key (backend/secret_key.py).
    SECRET_KEY = data_dir_secret_key(DATA_DIR)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

DATABASES = {
    "default": env_database(
        "DATABASE_URL", f"spatialite:///{DATA_DIR / 'openmelder.sqlite3'}", base_dir=BASE_DIR
    )
}
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 0, minimum=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
_POOL_SIZE = env_int("DATABASE_POOL_SIZE", 8, minimum=0, maximum=1000)
_POOL_TIMEOUT = env_int("DATABASE_POOL_TIMEOUT", 5, minimum=1, maximum=600)
if DATABASES["default"]["ENGINE"].endswith("postgis") and _POOL_SIZE and not DATABASES["default"]["CONN_MAX_AGE"]:
    # Under ASGI every request runs in a thread of its own with a connection of its own: without a pool,
    # a burst of requests opened one PostgreSQL connection each (a new server process every time) until
    # PostgreSQL refused more ("too many clients", answered with 503). The pool keeps up to this many
    # per web process, checked before use (CONN_HEALTH_CHECKS); a request waits up to
    # DATABASE_POOL_TIMEOUT seconds for one, then gets a 503 (also while PostgreSQL is down). After
    # 2 s of failed attempts the pool stops retrying in the background and the next request tries
    # again at once, so the service is back as soon as PostgreSQL is (its own backoff would wait
    # longer and longer). Persistent connections (DATABASE_CONN_MAX_AGE > 0) exclude the pool.
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": min(2, _POOL_SIZE), "max_size": _POOL_SIZE,
        "timeout": _POOL_TIMEOUT,
        "reconnect_timeout": 2,
    }
# Admission at the door (backend.admission): per web process at most WEB_CONCURRENCY_LIMIT requests at work
# (default: one per pooled database connection, so none waits for the pool), WEB_QUEUE_LIMIT waiting for up to
# WEB_QUEUE_WAIT_MS; beyond that a fast 503 with Retry-After, reads before writes. 0 turns it off.
WEB_CONCURRENCY_LIMIT = env_int("WEB_CONCURRENCY_LIMIT", _POOL_SIZE or 8, minimum=0, maximum=10000)
WEB_QUEUE_LIMIT = env_int("WEB_QUEUE_LIMIT", 100, minimum=0, maximum=100000)
WEB_QUEUE_WAIT = env_int("WEB_QUEUE_WAIT_MS", 500, minimum=1, maximum=60000) / 1000
if DATABASES["default"]["ENGINE"].endswith("spatialite"):
    # Several processes (web, worker) share one file: wait for locks instead of failing at once.
    # BEGIN IMMEDIATE takes the write lock at the start of a transaction, so concurrent writers
    # wait for each other (up to the timeout) instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
    # Tests too use a file, as deployments do: an in-memory database shared between threads
    # fails with "table is locked" instead of waiting for the lock.
    DATABASES["default"]["TEST"] = {"NAME": str(Path(DATABASES["default"]["NAME"]).with_suffix(".test.sqlite3"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_redis_url("REDIS_URL")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "rest_framework",
    "rest_framework.authtoken",
    "rest_framework_gis",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "leaflet",
    "channels",
    "django_tasks",
    "django_tasks_db",
    "geo",
    "reports",
    "notifications",
    "mobile_api",
]

MIDDLEWARE = [
    "backend.middleware.RequestId",
    "django.middleware.security.SecurityMiddleware",
    "backend.middleware.SecurityHeaders",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Public reads from the shared cache (and 304s) before sessions, CSRF, auth and DRF do any work.
    "mobile_api.public_cache.PublicReadCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "backend.middleware.RejectNulCharacters",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Only with DEBUG: the site's designed 404/500 pages instead of Django's technical ones.
    "backend.error_pages.DebugErrorPages",
]

ROOT_URLCONF = "backend.urls"
WSGI_APPLICATION = "backend.wsgi.application"
ASGI_APPLICATION = "backend.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "backend" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "notifications.context_processors.web_push",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# German first: the users are German municipalities; English is the second language.
LANGUAGE_CODE = "de"
LANGUAGES = [("de", _("German")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# English dates as read in Germany (6 Dec 2026, 14:30), not the US month/day/year of Django's "en".
FORMAT_MODULE_PATH = ["backend.formats"]
TIME_ZONE = "Europe/Berlin"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
MEDIA_URL = "media/"
MEDIA_ROOT = DATA_DIR / "media"
# Who may see a photo is decided by Django for every request under /media/ (reports.media): the public only
# those of published reports. Django streams the file itself with SERVE_MEDIA (the embedded default); in
# production it answers with X-Accel-Redirect to MEDIA_ACCEL_REDIRECT, an internal location of the reverse
# proxy (e.g. /protected-media/) that sends the file from the media directory.
SERVE_MEDIA = env_bool("SERVE_MEDIA", default=DEBUG)
MEDIA_ACCEL_REDIRECT = env_str("MEDIA_ACCEL_REDIRECT", "") or ""
if MEDIA_ACCEL_REDIRECT and not (MEDIA_ACCEL_REDIRECT.startswith("/") and MEDIA_ACCEL_REDIRECT.endswith("/")):
    raise ImproperlyConfigured(
        f"MEDIA_ACCEL_REDIRECT must be a path like /protected-media/, not {MEDIA_ACCEL_REDIRECT!r}."
    )
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG
# Files browsers ask for at the root of the site (/favicon.ico).
WHITENOISE_ROOT = BASE_DIR / "backend" / "root_files"

# Channels: in-memory in the embedded default (one process), Redis when REDIS_URL is set.
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # redis-py 8 reads with a 5 s socket timeout by default, exactly channels_redis' 5 s BZPOPMIN wait:
            # an idle consumer's receive then fails now and then (redis/redis-py#4091). Longer than the wait,
            # yet finite, so a silent Redis still fails a push instead of hanging the request.
            # redis-py's pool refuses a 101st concurrent command (MaxConnectionsError): hundreds of sockets
            # closing at once (a network blip, a deploy) then fail their group_discard and linger in the group.
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 10, "max_connections": 1000}]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Caches: Redis when configured (shared by all processes: rate limits count across them), else
# the process's memory (the embedded default runs one web process).
if REDIS_URL:
    # Fails open: a Redis outage must not fail requests (rate limits are not enforced meanwhile).
    CACHES = {
        "default": {
            "BACKEND": "backend.cache.FailOpenRedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": "om",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# With Redis: cached public reads answered in front of Django (mobile_api.public_cache.PublicReadFastPath).
PUBLIC_READ_FAST_PATH = env_bool("PUBLIC_READ_FAST_PATH", default=True)

# Durable background work (e-mail, webhooks, geocoding) in the same database as the reports.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

# E-mail: SMTP when EMAIL_HOST is set, otherwise printed to the console (the demo).
EMAIL_HOST = env_str("EMAIL_HOST", "") or ""
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "") or ""
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=True)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", default=False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be true.")
EMAIL_TIMEOUT = 20
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "OpenMelder <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Absolute base of links in e-mails (confirmation, reopen): the address citizens reach the site at.
PUBLIC_URL = (env_str("PUBLIC_URL", "http://127.0.0.1:8000") or "").rstrip("/")
if not PUBLIC_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(f"PUBLIC_URL={PUBLIC_URL!r} must be an absolute http(s) URL such as https://melder.example.de.")

# E-mails and webhooks go through the durable queue (notifications/delivery/).
NOTIFICATIONS: dict[str, Any] = {
    # "Is the defect fixed?" mail this many days after a report went to fixed.
    "FOLLOW_UP_DAYS": env_int("NOTIFY_FOLLOW_UP_DAYS", 14, minimum=1, maximum=365),
    # Attempts of a delivery before it is given up (failed); waits double from the base.
    "MAX_ATTEMPTS": env_int("NOTIFY_MAX_ATTEMPTS", 8, minimum=1, maximum=50),
    "RETRY_BASE_SECONDS": env_int("NOTIFY_RETRY_BASE_SECONDS", 30, minimum=0, maximum=3600),
    # A worker holds a delivery this long; if it dies meanwhile, the sweeper hands it to another.
    # Must exceed the slowest send (webhook and SMTP timeouts are 10 s and 20 s).
    "LEASE_SECONDS": env_int("NOTIFY_LEASE_SECONDS", 120, minimum=1, maximum=3600),
    "WEBHOOK_TIMEOUT_SECONDS": 10,
    "WEB_PUSH_TIMEOUT_SECONDS": 10,
    # How often the worker looks for deliveries whose worker died, and for due digests.
    "SWEEP_INTERVAL_SECONDS": 60,
    # Local hour at which department leads get the daily digest of overdue reports.
    "DIGEST_HOUR": env_int("NOTIFY_DIGEST_HOUR", 7, minimum=0, maximum=23),
}

# Web Push (notifications/delivery/webpush.py): off unless both VAPID keys are set. Generate a pair with
# `manage.py generate_vapid_keys`. The public key is the browser's applicationServerKey (base64url, 65 bytes);
# the private key is base64url (raw 32 bytes or DER) or PEM, also from VAPID_PRIVATE_KEY_FILE.
VAPID_PUBLIC_KEY = (env_str("VAPID_PUBLIC_KEY", "") or "").strip()
VAPID_PRIVATE_KEY = (env_secret("VAPID_PRIVATE_KEY") or "").strip()
VAPID_SUBJECT = env_str("VAPID_SUBJECT", "") or ""
if bool(VAPID_PUBLIC_KEY) != bool(VAPID_PRIVATE_KEY):
    raise ImproperlyConfigured("Set both VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY for Web Push, or neither.")
if VAPID_PUBLIC_KEY and not VAPID_SUBJECT.startswith(("mailto:", "https://")):
    raise ImproperlyConfigured(f"VAPID_SUBJECT={VAPID_SUBJECT!r} must be a mailto: address (or an https:// URL) "
                               "where push services can reach the operator.")
# Tests and development only: accept push endpoints over plain http and on loopback or private addresses.
WEB_PUSH_ALLOW_INSECURE_ENDPOINTS = env_bool("WEB_PUSH_ALLOW_INSECURE_ENDPOINTS", default=False)

# Security. HTTPS is assumed in production (DEBUG off); a TLS-terminating proxy in front must set
# X-Forwarded-Proto and X-Forwarded-For, and TRUSTED_PROXY=true tells the web server to believe them,
# from TRUSTED_PROXY_ADDRESSES only. The web server (backend/server.py starts uvicorn with these) puts
# the client's address and scheme into the request, so Django reads no forwarded header itself: a
# client that reaches the server directly cannot claim another address (and rate-limit budget) or HTTPS.
HTTPS = env_bool("HTTPS", default=not DEBUG)
TRUSTED_PROXY = env_bool("TRUSTED_PROXY", default=False)
# Addresses or networks (CIDR) the proxy connects from; by default a proxy on the same machine.
# Written out canonically: uvicorn silently takes what it cannot parse (10.0.0.1/8) for a name that never matches.
TRUSTED_PROXY_ADDRESSES: list[str] = []
for _address in env_list("TRUSTED_PROXY_ADDRESSES", ["127.0.0.1", "::1"]):
    try:
        TRUSTED_PROXY_ADDRESSES.append(
            str(ipaddress.ip_network(_address, strict=False)) if "/" in _address
            else str(ipaddress.ip_address(_address))
        )
    except ValueError:
        raise ImproperlyConfigured(
            f"TRUSTED_PROXY_ADDRESSES: {_address!r} is not an IP address or network such as 10.0.0.5 or "
            "172.16.0.0/12 (name the proxy's addresses; '*' would let every client choose its own address)."
        ) from None
if TRUSTED_PROXY and not TRUSTED_PROXY_ADDRESSES:
    raise ImproperlyConfigured(
        "TRUSTED_PROXY=true needs TRUSTED_PROXY_ADDRESSES: the addresses the proxy connects from."
    )
SECURE_SSL_REDIRECT = HTTPS
# Health probes and metric scrapes come from inside the deployment over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=HTTPS)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=HTTPS)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

# Staff single sign-on through OpenID Connect (reports/staff/sso.py, README "Single sign-on for staff"): on when a
# client id and the provider (its issuer, whose discovery document names the endpoints, or the endpoints) are set.
OIDC_ISSUER = (env_str("OIDC_ISSUER", "") or "").rstrip("/")
OIDC_OP_AUTHORIZATION_ENDPOINT = env_str("OIDC_OP_AUTHORIZATION_ENDPOINT", "") or ""
OIDC_OP_TOKEN_ENDPOINT = env_str("OIDC_OP_TOKEN_ENDPOINT", "") or ""
OIDC_OP_USER_ENDPOINT = env_str("OIDC_OP_USER_ENDPOINT", "") or ""
OIDC_OP_JWKS_ENDPOINT = env_str("OIDC_OP_JWKS_ENDPOINT", "") or ""
OIDC_OP_END_SESSION_ENDPOINT = env_str("OIDC_OP_END_SESSION_ENDPOINT", "") or ""
OIDC_RP_CLIENT_ID = env_str("OIDC_RP_CLIENT_ID", "") or ""
OIDC_RP_CLIENT_SECRET = env_secret("OIDC_RP_CLIENT_SECRET") or ""
OIDC_RP_SIGN_ALGO = env_choice(
    "OIDC_RP_SIGN_ALGO", "RS256", ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "HS256"]
)
OIDC_RP_SCOPES = env_str("OIDC_RP_SCOPES", "openid email profile")
OIDC_GROUPS_CLAIM = env_str("OIDC_GROUPS_CLAIM", "groups")
OIDC_MEMBERSHIP_MAP = env_membership_map("OIDC_MEMBERSHIP_MAP")
OIDC_MEMBERSHIPS_FROM_CLAIMS = env_bool("OIDC_MEMBERSHIPS_FROM_CLAIMS", default=True)
_OIDC_ENDPOINTS = [OIDC_OP_AUTHORIZATION_ENDPOINT, OIDC_OP_TOKEN_ENDPOINT, OIDC_OP_USER_ENDPOINT]
OIDC_ENABLED = bool(OIDC_RP_CLIENT_ID)
if OIDC_ENABLED and not (OIDC_ISSUER or all(_OIDC_ENDPOINTS)):
    raise ImproperlyConfigured(
        "OIDC_RP_CLIENT_ID is set but not the provider: set OIDC_ISSUER (its /.well-known/openid-configuration names "
        "the endpoints) or OIDC_OP_AUTHORIZATION_ENDPOINT, OIDC_OP_TOKEN_ENDPOINT and OIDC_OP_USER_ENDPOINT."
    )
for _url in [OIDC_ISSUER, *_OIDC_ENDPOINTS, OIDC_OP_JWKS_ENDPOINT, OIDC_OP_END_SESSION_ENDPOINT]:
    if _url and (urlsplit(_url).scheme not in {"http", "https"} or not urlsplit(_url).netloc):
        raise ImproperlyConfigured(f"OIDC: {_url!r} is not an http(s) URL.")
# false: staff log in through the provider only; the admin's password login stays open to superusers (break glass).
LOCAL_LOGIN_ENABLED = env_bool("LOCAL_LOGIN_ENABLED", default=True)
if not LOCAL_LOGIN_ENABLED and not OIDC_ENABLED:
    raise ImproperlyConfigured("LOCAL_LOGIN_ENABLED=false needs single sign-on (OIDC_RP_CLIENT_ID and the provider).")
if OIDC_ENABLED:
    AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend", "reports.staff.sso.StaffOIDCBackend"]
# mozilla-django-oidc's own options: PKCE and a nonce on every login, the ID token kept for the provider's logout.
OIDC_AUTHENTICATION_CALLBACK_URL = "staff:sso_callback"
OIDC_USE_PKCE = True
OIDC_STORE_ID_TOKEN = True
OIDC_TIMEOUT = 10

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "backend.api_errors.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["backend.throttling.ClientRateThrottle"],
    # Throttles count per REMOTE_ADDR, never per X-Forwarded-For (DRF's default None would take the
    # header from anyone): the web server already put the proxy's forwarded address there when trusted.
    "NUM_PROXIES": 0,
}

# Requests per client address (DRF rate syntax: N/second, N/minute, N/hour, N/day).
API_RATES = {
    "submit": env_str("API_RATE_SUBMIT", "30/hour"),
    "support": env_str("API_RATE_SUPPORT", "60/hour"),
    "read": env_str("API_RATE_READ", "600/minute"),
    # Staff apps and the staff web app; logins are limited hard against password guessing.
    "staff": env_str("API_RATE_STAFF", "1200/minute"),
    "login": env_str("API_RATE_LOGIN", "20/minute"),
}
# The most reports one staff CSV/XLSX export holds (reports.exports); a longer list is refused: narrow the filters.
STAFF_EXPORT_MAX_ROWS = env_int("STAFF_EXPORT_MAX_ROWS", 10000, minimum=1, maximum=200000)
for _scope, _rate in API_RATES.items():
    try:
        _count, _period = _rate.split("/")
        if int(_count) < 1 or _period[0] not in "smhd":
            raise ValueError
    except (ValueError, IndexError):
        raise ImproperlyConfigured(f"API_RATE_{_scope.upper()}={_rate!r} is not a rate such as 30/hour.") from None

SPECTACULAR_SETTINGS = {
    "TITLE": "OpenMelder API",
    "DESCRIPTION": (
        "OpenMelder, the open-source Mängelmelder: the citizen app API (/api/v1/) and the staff API (/api/staff/)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from the package's own files: the docs work offline and without a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "ReportStatusEnum": "reports.workflow.Status",
        "EventKindEnum": "reports.models.EventKind",
        "PhotoKindEnum": "reports.models.PhotoKind",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "backend.openapi.add_error_responses",
    ],
}

# Map widgets (admin now, public map later): tiles are configurable; the boundary data's
# attribution (BKG) is always shown next to the tile provider's.
TILE_URL = env_str("TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
# The maps' credit line follows the reader's language (lazy: read per request, also by django-leaflet's maps of the
# staff app and the admin, which serialise their settings at each render); a TILE_ATTRIBUTION set by the operator
# is shown as given.
_TILE_ATTRIBUTION_ENV = env_str("TILE_ATTRIBUTION")
TILE_ATTRIBUTION: Any = _TILE_ATTRIBUTION_ENV or _(
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
)
BOUNDARY_ATTRIBUTION: Any = _('&copy; <a href="https://www.bkg.bund.de">GeoBasis-DE / BKG</a> 2021 (data modified)')
_ADMIN_MAP_ATTRIBUTION = format_lazy("{} | {}", TILE_ATTRIBUTION, BOUNDARY_ATTRIBUTION)
LEAFLET_CONFIG: dict[str, Any] = {
    "DEFAULT_CENTER": (52.10, 9.36),  # Hameln
    "DEFAULT_ZOOM": 10,
    "MIN_ZOOM": 3,
    "MAX_ZOOM": 19,
    "TILES": [("OpenStreetMap", TILE_URL, {"attribution": _ADMIN_MAP_ATTRIBUTION})],
    "RESET_VIEW": False,
}

# Prometheus metrics at /metrics (backend.metrics): for a Bearer token (METRICS_TOKEN) or from these networks. Off
# (404) while neither is set; in development (DEBUG) loopback may scrape by default, in production nobody until the
# operator chooses, because behind a proxy on the same machine every visitor would come from 127.0.0.1.
METRICS_TOKEN = env_secret("METRICS_TOKEN") or ""
if METRICS_TOKEN and len(METRICS_TOKEN) < 16:
    raise ImproperlyConfigured("METRICS_TOKEN must be at least 16 characters long (a random value).")
METRICS_ALLOWED_NETWORKS: list[str] = []
for _network in env_list("METRICS_ALLOWED_NETWORKS", ["127.0.0.0/8", "::1/128"] if DEBUG else []):
    try:
        METRICS_ALLOWED_NETWORKS.append(str(ipaddress.ip_network(_network, strict=False)))
    except ValueError:
        raise ImproperlyConfigured(
            f"METRICS_ALLOWED_NETWORKS: {_network!r} is not an IP network such as 10.20.0.0/16 or 127.0.0.1."
        ) from None

LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"])
# plain: one line of text per record. json: one JSON object per line (for a log collector), each record made
# during a request carrying that request's id (backend.middleware.RequestId), one "request" line per request.
LOG_FORMAT = env_choice("LOG_FORMAT", "plain", ["plain", "json"])
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "backend.logs.json_formatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Replace Django's own console handler instead of logging every line twice.
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
    },
}
if LOG_FORMAT == "json":
    LOGGING["loggers"] |= {
        # uvicorn's own lines as JSON, too (its logging settings are replaced when it loads the application).
        "uvicorn": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        "uvicorn.error": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        # The "request" line (backend.middleware.RequestId) replaces uvicorn's access line, which names the
        # client's address: personal data that no log needs.
        "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
    }

# GDAL 3.6 (Debian 12) is older than the 3.9 that Django 5.2 would like; every GDAL feature we
# use (OGR read, reprojection) works on 3.6, so the warning is silenced deliberately.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]

# OpenMelder's own options, one namespace (dict[str, Any] like GEOCODER and NOTIFICATIONS: values of mixed types).
OPENMELDER: dict[str, Any] = {
    # Reference numbers look like HM-2026-000123; the prefix comes from the authority (or its
    # parent), this one is used when none has one.
    "DEFAULT_REFERENCE_PREFIX": env_str("DEFAULT_REFERENCE_PREFIX", "OM"),
    # Reports in road categories this close to an owned road go to the road's owner.
    "ROAD_DISTANCE_M": env_int("ROUTING_ROAD_DISTANCE_M", 15, minimum=0, maximum=500),
    # Reports this close to a border between two authorities say so, naming both.
    "BORDER_DISTANCE_M": env_int("ROUTING_BORDER_DISTANCE_M", 25, minimum=0, maximum=1000),
    # DSGVO: the reporter's contact and the photos' private metadata are removed this many days
    # after a report was closed (daily, in the worker; or `manage.py anonymise`).
    "RETENTION_DAYS": env_int("RETENTION_DAYS", 90, minimum=1, maximum=3650),
    # The public list counts at most this many reports ("more than 1000"; 40 pages): counting a Land's million
    # on every page view would cost more than the page.
    "LIST_COUNT_LIMIT": 1000,
    # The Atom/RSS feeds (/feeds/…) hold this many of the newest items.
    "FEED_ITEMS": 50,
    # Staff see a report with this many supporters as "viel unterstützt" (0: never).
    "SUPPORT_HIGHLIGHT_THRESHOLD": env_int("SUPPORT_HIGHLIGHT_THRESHOLD", 10, minimum=0, maximum=1_000_000),
}

# Geocoding (geo.geocoding): reverse geocoding of new reports in the worker, address search in the
# web form. "none" switches it off; the form then works with a map click or coordinates.
GEOCODER: dict[str, Any] = {
    "PROVIDER": env_choice("GEOCODER", "nominatim", ["nominatim", "none"]),
    # A Nominatim-compatible server (a self-hosted one in production: the public one allows 1 request/s).
    "URL": env_str("GEOCODER_URL", "https://nominatim.openstreetmap.org"),
    # Nominatim's usage policy asks for a User-Agent that identifies the application.
    "USER_AGENT": env_str("GEOCODER_USER_AGENT", "OpenMelder"),
    "TIMEOUT": env_int("GEOCODER_TIMEOUT", 5, minimum=1, maximum=60),
    # Seconds a found address (reverse) or search result stays in the cache.
    "CACHE_SECONDS": 7 * 24 * 3600,
}
if urlsplit(GEOCODER["URL"]).scheme not in {"http", "https"} or not urlsplit(GEOCODER["URL"]).netloc:
    raise ImproperlyConfigured(f"GEOCODER_URL={GEOCODER['URL']!r} is not an http(s) URL.")

# Photos that Open311 clients name by media_url (reports/remote_photos.py): fetched by the worker over https
# from the hosts listed for the client in the admin, never from a non-public address. Addresses in
# OPEN311_MEDIA_ALLOWED_NETWORKS (CIDR) are exempt from that (an image server in the city's own network);
# OPEN311_MEDIA_CA_FILE adds a private CA to the system's. Limits: the pipeline's size, a deadline in seconds.
OPEN311_MEDIA_ALLOWED_NETWORKS: list[str] = []
for _network in env_list("OPEN311_MEDIA_ALLOWED_NETWORKS", []):
    try:
        OPEN311_MEDIA_ALLOWED_NETWORKS.append(str(ipaddress.ip_network(_network, strict=False)))
    except ValueError:
        raise ImproperlyConfigured(
            f"OPEN311_MEDIA_ALLOWED_NETWORKS: {_network!r} is not an IP network such as 10.20.0.0/16 or 10.20.1.5/32."
        ) from None
OPEN311_MEDIA_CA_FILE = env_str("OPEN311_MEDIA_CA_FILE", "") or ""
if OPEN311_MEDIA_CA_FILE and not Path(OPEN311_MEDIA_CA_FILE).is_file():
    raise ImproperlyConfigured(f"OPEN311_MEDIA_CA_FILE={OPEN311_MEDIA_CA_FILE!r} is not a file.")
OPEN311_MEDIA_TIMEOUT = env_int("OPEN311_MEDIA_TIMEOUT", 10, minimum=1, maximum=120)
# At most what the photo pipeline accepts (reports.photos.MAX_BYTES, 15 MB).
OPEN311_MEDIA_MAX_BYTES = env_int("OPEN311_MEDIA_MAX_BYTES", 15 * 1024 * 1024, minimum=1, maximum=15 * 1024 * 1024)
