"""Settings for the order operations hub: one module, every value read from the environment.

The defaults run a first demo with nothing installed (SQLite, a file-based Celery broker,
local-memory cache); production sets DATABASE_URL, CELERY_BROKER_URL, REDIS_URL and SECRET_KEY.
README.md has the table of every variable.
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
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
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
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {"task": "core.tasks.record_beat_tick", "schedule": 30.0},
}
# Health: beat is "ok" while its last tick is younger than this.
BEAT_MAX_SILENCE_SECONDS = env_int("BEAT_MAX_SILENCE_SECONDS", 120)

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
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.ScopedRateThrottle"],
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
            "orgid": {"type": "apiKey", "in": "header", "name": "orgid"},
        }
    },
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
# Outbound calls (channel base URLs, carriers, workflow webhooks) to private, loopback or link-local
# addresses are refused unless this is on; on by default only in DEBUG, for the local simulator.
ALLOW_PRIVATE_OUTBOUND = env_bool("ALLOW_PRIVATE_OUTBOUND", DEBUG)

# --- storefront orders ---
# Stripe refunds (orders/payments/stripe_gateway.py); STRIPE_API_BASE lets a local stub stand in.
STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "https://api.stripe.com")
STRIPE_MAX_NETWORK_RETRIES = env_int("STRIPE_MAX_NETWORK_RETRIES", 0)
# Customer order lookups (no auth): requests per client address, counted in the cache (Redis when REDIS_URL).
ORDERS_CUSTOMER_RATE_LIMIT = os.environ.get("ORDERS_CUSTOMER_RATE_LIMIT", "30/min")
ORDERS_CHECKOUT_RATE_LIMIT = os.environ.get("ORDERS_CHECKOUT_RATE_LIMIT", "60/min")

# --- channel sync ---
# Webhook receivers refuse bigger bodies with 413; failed deliveries are retried with backoff this many times.
CHANNEL_WEBHOOK_MAX_BODY_BYTES = env_int("CHANNEL_WEBHOOK_MAX_BODY_BYTES", 2 * 1024 * 1024)
CHANNEL_WEBHOOK_MAX_ATTEMPTS = env_int("CHANNEL_WEBHOOK_MAX_ATTEMPTS", 8)
# Writeback: tries per status change (exponential backoff with jitter from the base, never before Retry-After).
# 8 tries from a 30 s base span at least 32 minutes, so a channel outage of minutes fails nothing for good.
CHANNEL_WRITEBACK_MAX_ATTEMPTS = env_int("CHANNEL_WRITEBACK_MAX_ATTEMPTS", 8)
CHANNEL_WRITEBACK_BACKOFF_SECONDS = env_int("CHANNEL_WRITEBACK_BACKOFF_SECONDS", 30)
CHANNEL_RETRY_MAX_DELAY_SECONDS = env_int("CHANNEL_RETRY_MAX_DELAY_SECONDS", 3600)
# Polling re-reads this much before the cursor (clock skew, late commits on the channel's side).
CHANNEL_POLL_OVERLAP_SECONDS = env_int("CHANNEL_POLL_OVERLAP_SECONDS", 120)
CHANNEL_POLL_LEASE_SECONDS = env_int("CHANNEL_POLL_LEASE_SECONDS", 900)
# Each web process nudges the webhook drain at most once per this many seconds (from one thread, after commit);
# a backlog is shared by up to CHANNEL_WEBHOOK_DRAINERS drain tasks.
CHANNEL_WEBHOOK_DRAIN_NUDGE_SECONDS = float(os.environ.get("CHANNEL_WEBHOOK_DRAIN_NUDGE_SECONDS", "0.05"))
CHANNEL_WEBHOOK_DRAINERS = env_int("CHANNEL_WEBHOOK_DRAINERS", 2)
CELERY_BEAT_SCHEDULE["channels-sync-poll-due"] = {"task": "channels_sync.poll_due_channels", "schedule": 60.0}

# --- tracking and public order pages ---
# Carrier provider for shipments without one of their own: "easypost" when its key is set, else "manual".
EASYPOST_API_KEY = os.environ.get("EASYPOST_API_KEY", "")
EASYPOST_API_BASE = os.environ.get("EASYPOST_API_BASE", "https://api.easypost.com/v2")
# With DEBUG on (the demo) an unset secret is a fixed dev value, so `manage.py send_carrier_webhook` works.
EASYPOST_WEBHOOK_SECRET = os.environ.get("EASYPOST_WEBHOOK_SECRET", "dev-easypost-webhook-secret" if DEBUG else "")
TRACKING_PROVIDER = os.environ.get("TRACKING_PROVIDER", "easypost" if EASYPOST_API_KEY else "manual")
TRACKING_HTTP_TIMEOUT = env_int("TRACKING_HTTP_TIMEOUT", 5)
# Live answers of GET /shipping/track/<n> are cached this long (seconds).
TRACKING_LIVE_CACHE_SECONDS = env_int("TRACKING_LIVE_CACHE_SECONDS", 300)
# Webhooks: X-Timestamp must be within this many seconds of now; the signed event no older than the max age.
TRACKING_WEBHOOK_TOLERANCE_SECONDS = env_int("TRACKING_WEBHOOK_TOLERANCE_SECONDS", 300)
TRACKING_WEBHOOK_MAX_EVENT_AGE_SECONDS = env_int("TRACKING_WEBHOOK_MAX_EVENT_AGE_SECONDS", 3 * 24 * 3600)
# Public tracking/status endpoints and the lookup pages: requests per client address (cache-counted).
TRACKING_PUBLIC_RATE_LIMIT = os.environ.get("TRACKING_PUBLIC_RATE_LIMIT", "60/min")
ORDER_LOOKUP_RATE_LIMIT = os.environ.get("ORDER_LOOKUP_RATE_LIMIT", "10/min")
# Signed links: the customer's account page (confirmation email) and an order page after lookup.
CUSTOMER_ACCOUNT_LINK_MAX_AGE = env_int("CUSTOMER_ACCOUNT_LINK_MAX_AGE", 30 * 24 * 3600)
ORDER_PAGE_LINK_MAX_AGE = env_int("ORDER_PAGE_LINK_MAX_AGE", 24 * 3600)

# --- subscriptions and workflows ---
# Seconds between billing retries after a refused charge; after the last one the subscription is past_due.
SUBSCRIPTIONS_RETRY_SCHEDULE = [int(s) for s in env_list("SUBSCRIPTIONS_RETRY_SCHEDULE", ["3600", "21600", "86400"])]
SUBSCRIPTIONS_BILLING_BATCH = env_int("SUBSCRIPTIONS_BILLING_BATCH", 200)
CELERY_BEAT_SCHEDULE["subscriptions-bill-due"] = {
    "task": "subscriptions.tasks.bill_due_subscriptions",
    "schedule": float(env_int("SUBSCRIPTIONS_BILLING_EVERY_SECONDS", 60)),
}
# Workflow webhooks go through core.outbound, so ALLOW_PRIVATE_OUTBOUND (above) governs them too.
WORKFLOW_WEBHOOK_TIMEOUT_SECONDS = env_int("WORKFLOW_WEBHOOK_TIMEOUT_SECONDS", 10)
# Seconds before each retry of a failed workflow run (webhook 5xx/429/network errors).
WORKFLOW_RETRY_SCHEDULE = [int(s) for s in env_list("WORKFLOW_RETRY_SCHEDULE", ["30", "120", "600", "3600"])]
# Safety net for delayed runs whose Celery eta task was lost (worker restart): due runs are re-queued.
CELERY_BEAT_SCHEDULE["workflows-run-due"] = {"task": "workflows.tasks.run_due_workflows", "schedule": 60.0}

# --- bad input (issue 8) ---
# Every operation's error answers (orgid, JWT, body parser, size limit, throttles) documented from the view.
REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"] = "core.api.schema.HubAutoSchema"
# JSON bodies: NUL, lone surrogates, NaN/Infinity and nesting deeper than this are a 400 before any view runs.
MAX_JSON_DEPTH = env_int("MAX_JSON_DEPTH", 32)
REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] = ["core.api.parsers.JSONParser"]
# A NUL byte in the path, query or a header is a 400 (PostgreSQL cannot store or compare it).
MIDDLEWARE.insert(MIDDLEWARE.index("core.middleware.RequestSizeLimitMiddleware") + 1,
                  "core.middleware.NulCharacterGuardMiddleware")
