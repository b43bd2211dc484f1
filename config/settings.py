"""Settings for the order operations hub: every value read from the environment.

Here: Django, DRF, Celery and the infrastructure. Each app's own settings (ORDERS_*, CHANNEL_*, TRACKING_*, ...)
are declared once, with their defaults, in the app's conf.py and loaded below; the beat schedule is
config/beat.py. The defaults run a first demo with nothing installed (SQLite, a file-based Celery broker,
local-memory cache); production sets DATABASE_URL, CELERY_BROKER_URL, REDIS_URL and SECRET_KEY.
docs/operations.md ("Configuration") has the table of every variable.
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)


def _secret_key() -> str:
    """A set SECRET_KEY wins; a dev run gets a generated key kept under var/ so logins survive restarts."""
    key = os.environ.get("SECRET_KEY", "")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off; refusing to start with a generated key."
        )
    key_file = VAR_DIR / "dev-secret-key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()


def _field_encryption_keys() -> list[str]:
    """Fernet keys for secrets at rest, newest first; a dev run generates one under var/."""
    keys = env_list("FIELD_ENCRYPTION_KEYS", [])
    if keys:
        return keys
    if not DEBUG:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS must be set when DEBUG is off (secrets are encrypted at rest)."
        )
    key_file = VAR_DIR / "dev-field-key"
    if not key_file.exists():
        from cryptography.fernet import Fernet

        key_file.write_text(Fernet.generate_key().decode())
    return [key_file.read_text().strip()]


FIELD_ENCRYPTION_KEYS = _field_encryption_keys()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
PORT = env_int("PORT", 8000)
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", f"http://127.0.0.1:{PORT}")
# The local channel simulator (`python -m simulator`, the demo channels point at it); the Makefile shares it.
SIMULATOR_PORT = env_int("SIMULATOR_PORT", 8765)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_fsm",
    "core",
    "accounts",
    "orders",
    "channels_sync",
    "tracking",
    "subscriptions",
    "workflows",
    "customer_pages",
    "backoffice",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files (admin, customer pages, the API docs' Swagger UI and Redoc) served by the app itself, under
    # DEBUG=0 and in tests too: no CDN, no separate web server needed for a first deployment.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.RequestSizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

# --- Database -----------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # web, worker and beat share one file: wait for locks instead of failing, take write locks up front.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Largest request body accepted (webhooks included); larger ones are answered 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("MAX_REQUEST_BODY_BYTES", 2 * 1024 * 1024)

# --- Cache (and rate limits) --------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "ordershub"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery -------------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "filesystem://localhost/"  # a host, so kombu does not warn
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    _results_dir = VAR_DIR / "celery-results"
    _results_dir.mkdir(parents=True, exist_ok=True)
    _default_result_backend = f"file://{_results_dir}"
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)}
    _default_result_backend = CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else None
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or _default_result_backend
CELERY_RESULT_EXPIRES = timedelta(hours=1)
# A task is acknowledged only after it ran, and put back if its worker dies mid-way.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# CELERY_BEAT_SCHEDULE: config/beat.py, set at the end (after the apps' settings it reads).

# --- Auth and API -------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework_simplejwt.authentication.JWTAuthentication"],
    # Every API view is org-scoped unless it says otherwise: forgetting tenancy fails closed.
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.IsOrgMember"],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.PagePagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "COERCE_DECIMAL_TO_STRING": True,
    "DATETIME_FORMAT": "%Y-%m-%dT%H:%M:%SZ",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Scoped limits, counted in the cache (Redis when REDIS_URL is set, so shared by all web processes).
    "DEFAULT_THROTTLE_CLASSES": ["core.api.throttles.ScopedClientThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "auth": os.environ.get("RATE_LIMIT_AUTH", "30/min"),
    },
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("JWT_ACCESS_MINUTES", 15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("JWT_REFRESH_DAYS", 7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "AUTH_HEADER_TYPES": ("Bearer",),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Order operations hub API",
    "DESCRIPTION": "Storefront orders, channel sync, tracking and subscriptions. "
    "Authenticate with `POST /auth/token`, then send `Authorization: Bearer <access>` "
    "and `orgid: <org slug>` on every org endpoint.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "orgid": {"type": "apiKey", "in": "header", "name": "orgid",
                      "description": "The slug of your org (GET /auth/me lists your memberships)."},
        }
    },
    # Swagger UI and Redoc from the installed drf-spectacular-sidecar (pinned), served as our static files:
    # /api/docs/ and /api/redoc/ work without internet (issue 18).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "persistAuthorization": True, "displayOperationId": False,
                            "validatorUrl": None},
}

# --- Email --------------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if os.environ.get("EMAIL_HOST")
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "orders@localhost")

# --- Internationalisation and static ------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # `collectstatic`'s target; WhiteNoise warns when it is missing
# WhiteNoise also serves straight from the apps' static folders, so `collectstatic` is optional (a deployment may
# still run it into STATIC_ROOT); the files are fixed per release, so the browser may cache them for a day.
WHITENOISE_USE_FINDERS = True
WHITENOISE_MAX_AGE = 86400

# --- Production hardening (inactive while DEBUG is on) -------------------------------------
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Tests and the demo need services on localhost; a running hub only needs them when set.
REQUIRE_SERVICES = env_bool("REQUIRE_SERVICES", False)

# --- the apps' settings -------------------------------------------------------------------
# Each app declares its settings once, with their defaults and environment variables, in its conf.py
# (core/conf.py says how): ALLOW_PRIVATE_OUTBOUND, MAX_JSON_DEPTH, BEAT_MAX_SILENCE_SECONDS (core), STRIPE_* and
# ORDERS_* (orders), CHANNEL_* (channels_sync), TRACKING_* and EASYPOST_* (tracking), SUBSCRIPTIONS_*,
# WORKFLOW_*. They are loaded here, so each is a Django setting as well.
from channels_sync.conf import channels_settings  # noqa: E402
from core.conf import core_settings  # noqa: E402
from orders.conf import orders_settings  # noqa: E402
from subscriptions.conf import subscriptions_settings  # noqa: E402
from tracking.conf import tracking_settings  # noqa: E402
from workflows.conf import workflows_settings  # noqa: E402

for _app_settings in (core_settings, orders_settings, channels_settings, tracking_settings, subscriptions_settings,
                      workflows_settings):
    globals().update(_app_settings.from_environment({"DEBUG": DEBUG}))

from config.beat import beat_schedule  # noqa: E402

CELERY_BEAT_SCHEDULE = beat_schedule(globals())

# --- bad input (issue 8) ---
# Every operation's error answers (orgid, JWT, body parser, size limit, throttles) documented from the view.
REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"] = "core.api.schema.HubAutoSchema"
REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] = ["core.api.parsers.JSONParser"]
# A NUL byte in the path, query or a header is a 400 (PostgreSQL cannot store or compare it).
MIDDLEWARE.insert(MIDDLEWARE.index("core.middleware.RequestSizeLimitMiddleware") + 1,
                  "core.middleware.NulCharacterGuardMiddleware")

# --- API consumers (issue 18) ---
# RateLimit-* headers on every throttled answer, Retry-After on 429s (core.api.throttles records, this writes).
MIDDLEWARE.insert(MIDDLEWARE.index("core.middleware.RequestSizeLimitMiddleware"),
                  "core.middleware.RateLimitHeadersMiddleware")
