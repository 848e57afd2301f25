"""Settings for the prompt registry: one module, every value from the environment."""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from registry_site.env import envbool, envint, envlist, envnetworks, envstr

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(envstr("REGISTRY_VAR_DIR") or BASE_DIR / "var")

DEBUG = envbool("DEBUG", False)
SECRET_KEY = envstr("SECRET_KEY") or ""
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is false")
    SECRET_KEY = "insecure-development-key-only-for-debug-mode-" + "x" * 20

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])

# HTTPS: on by default in production. HTTPS=false runs production mode on plain http
# (for example on loopback): no redirect, no HSTS, cookies not marked Secure.
HTTPS = envbool("HTTPS", not DEBUG)
SECURE_SSL_REDIRECT = HTTPS
# Load balancers probe these on plain http (registry_site/health.py).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = envint("HSTS_SECONDS", 31_536_000) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
# Behind a TLS-terminating proxy the request reaches us as http; trust its header.
BEHIND_PROXY = envbool("BEHIND_PROXY", HTTPS)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
USE_X_FORWARDED_HOST = envbool("USE_X_FORWARDED_HOST", False)
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

# Content-Security-Policy (django-csp): every script, style and image from our own
# origin, none inline, so markup that slipped into a page could run nothing. htmx is
# told (base.html) not to inject its indicator styles nor to evaluate code; the API
# docs are Swagger UI from drf-spectacular-sidecar with its start script as a file.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],  # data: for the small icons inlined in CSS
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served by us: no CDN
    "csp",
    "guardian",
    "simple_history",
    "django_htmx",
    "axes",
    "django_tasks",
    "django_tasks_db",
    # The product's apps, in their dependency order (see README "Where things are").
    "accounts",
    "webhooks",
    "prompts",
    "reviews",
    "releases",
    "composition",
    "serving",
    "portable",
    "audit",
    "runs",
    "evaluations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "registry_site.middleware.RejectUnstorableInput",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication, so history records know who acted.
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as axes asks: turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "registry_site.urls"
WSGI_APPLICATION = "registry_site.wsgi.application"

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
                "accounts.context.navigation",
                "reviews.context.reviews",
            ],
        },
    },
]


def _database() -> dict:
    url = envstr("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'registry.sqlite3'}"
    try:
        config = dj_database_url.parse(url, conn_max_age=envint("DB_CONN_MAX_AGE", 60))
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a database address: {exc}") from None
    if config["ENGINE"] == "django.db.backends.sqlite3":
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        config["CONN_MAX_AGE"] = 0
        # A file, not memory, so tests see real locking between threads and processes.
        config["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
        config["OPTIONS"] = {
            # Writers take the lock when they begin, so a version number allocated
            # inside the transaction cannot be taken by another writer meanwhile.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    else:
        config["CONN_HEALTH_CHECKS"] = True
        run = envstr("REGISTRY_TEST_RUN")
        if run:  # a test run of its own, beside any other run on the same server
            config["TEST"] = {"NAME": f"test_{config['NAME']}_{run}"}
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = envstr("REDIS_URL")
CACHE_PREFIX = envstr("CACHE_PREFIX", "registry")
if REDIS_URL:
    _redis = {
        "BACKEND": "registry_site.redis_cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": CACHE_PREFIX,
    }
    CACHES = {"default": _redis, "throttle": _redis}
else:
    CACHES = {
        # Shared by every server process on this machine, so invalidation reaches them all.
        "default": {
            "BACKEND": "registry_site.file_cache.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
            "KEY_PREFIX": CACHE_PREFIX,
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        },
        # Throttle counters change on every request; without Redis each process keeps
        # its own (a file write per request would cost more than the request itself).
        "throttle": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "throttle",
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        },
    }

AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out username or address before a password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user row

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Sign-in throttling (django-axes), on the sign-in page and the admin's. A username
# and an address are counted apart: many tries against one account from many
# addresses lock that account, one address trying many accounts is locked itself.
# Tokens do not sign in, so the API is not affected. Lift a lockout early with
# `manage.py axes_reset_username <name>`, `axes_reset_ip <address>` or `axes_reset`.
AXES_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", 10, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=envint("LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_LOCKOUT_CALLABLE = "accounts.lockout.locked_out"
AXES_CLIENT_IP_CALLABLE = "registry_site.client_address.client_address"
AXES_VERBOSE = False  # no banner on every command; lockouts are still logged
# X-Forwarded-For entries added by proxies of ours (see client_address); 1: the proxy
# in front of us, which appends the address it saw.
PROXY_COUNT = envint("PROXY_COUNT", 1, minimum=1)

# Outgoing mail (SMTP). Without EMAIL_HOST the password-reset pages are off.
EMAIL_HOST = envstr("EMAIL_HOST") or ""
EMAIL_PORT = envint("EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = envstr("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = envstr("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT_SECONDS", 10, minimum=1)  # a hung server frees the worker
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL") or "registry@localhost"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(envstr("STATIC_ROOT") or BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

DATA_UPLOAD_MAX_MEMORY_SIZE = envint("MAX_REQUEST_BYTES", 1_048_576, minimum=1024)

# Bounds on prompt templates (see prompts/templating/).
REGISTRY_MAX_TEMPLATE_CHARS = envint("MAX_TEMPLATE_CHARS", 100_000, minimum=100)
REGISTRY_MAX_OUTPUT_CHARS = envint("MAX_RENDER_CHARS", 500_000, minimum=100)
REGISTRY_RENDER_SECONDS = envint("RENDER_TIMEOUT_MS", 1000, minimum=10) / 1000

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
}

# Change reasons carry whole change notes, not just 100 characters.
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True
SIMPLE_HISTORY_REVERT_DISABLED = True

# Key of the tokens' digests; defaults to SECRET_KEY (rotating it then revokes all tokens).
TOKEN_PEPPER = envstr("TOKEN_PEPPER") or ""

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "DEFAULT_PARSER_CLASSES": ["registry_site.parsers.StorableJSONParser"],
    "EXCEPTION_HANDLER": "registry_site.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        "fetch": envstr("THROTTLE_FETCH", "6000/min"),
        "write": envstr("THROTTLE_WRITE", "600/min"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Prompt registry API",
    "DESCRIPTION": "Fetch, render, version, review and release prompts.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "registry_site.api_schema.error_bodies",
    ],
    # Several components have a "status"; each set of choices gets its own name.
    "ENUM_NAME_OVERRIDES": {
        "ReviewStatusEnum": ["draft", "in_review", "approved", "changes_requested", "deprecated"],
        "DeliveryStatusEnum": ["pending", "delivered", "failed"],
        "ImportStatusEnum": ["created", "updated", "unchanged", "conflict", "error"],
    },
}

# Usage counts are written in batches: every N seconds or N buckets, whichever first.
REGISTRY_USAGE_SECONDS = envint("USAGE_FLUSH_SECONDS", 10, minimum=1)
REGISTRY_USAGE_BATCH = envint("USAGE_FLUSH_BUCKETS", 1000, minimum=1)

# Webhook deliveries (webhooks/delivery.py): a failed attempt is retried after
# WEBHOOK_BACKOFF seconds, then twice as long each time (at most 6 hours), until
# WEBHOOK_MAX_ATTEMPTS attempts have failed. Each socket operation of an attempt waits
# at most WEBHOOK_TIMEOUT seconds, and the whole attempt (however slowly the receiver
# trickles) ends within WEBHOOK_ATTEMPT_SECONDS.
WEBHOOK_BACKOFF = envint("WEBHOOK_BACKOFF_SECONDS", 30, minimum=1)
WEBHOOK_MAX_ATTEMPTS = envint("WEBHOOK_MAX_ATTEMPTS", 8, minimum=1)
WEBHOOK_TIMEOUT = envint("WEBHOOK_TIMEOUT_SECONDS", 10, minimum=1)
WEBHOOK_ATTEMPT_SECONDS = envint("WEBHOOK_ATTEMPT_SECONDS", 10, minimum=1)

# Outbound calls (webhooks, model providers) never go to loopback, private, link-local,
# multicast, unspecified or reserved addresses, except inside these networks
# (registry_site/outbound.py), e.g. "10.0.0.0/8" for receivers on the company network.
OUTBOUND_ALLOWED_NETWORKS = envnetworks("OUTBOUND_ALLOWED_NETWORKS")

# Model connections and runs (runs/). ENCRYPTION_KEYS: comma-separated Fernet keys; the
# first encrypts, every one decrypts, so a new key goes first and old ones stay until
# `manage.py rotate_encryption_keys` has re-encrypted everything. Without it, in
# production, the connection endpoints answer 409 not_configured (see runs/crypto.py).


def _fernet_keys() -> list[str]:
    from cryptography.fernet import Fernet

    keys = envlist("ENCRYPTION_KEYS", [])
    for key in keys:
        try:
            Fernet(key)
        except ValueError:
            raise ImproperlyConfigured(
                "ENCRYPTION_KEYS holds a value that is not a Fernet key (32 url-safe base64 "
                "bytes; make one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())')"
            ) from None
    return keys


ENCRYPTION_KEYS = _fernet_keys()
# How long a model provider may stay silent: before answering, or between two chunks.
PROVIDER_TIMEOUT_SECONDS = envint("PROVIDER_TIMEOUT_SECONDS", 30, minimum=1)
# The longest a whole run may take, however steadily the provider streams.
RUN_DEADLINE_SECONDS = envint("RUN_DEADLINE_SECONDS", 300, minimum=1)
# Runs each user may start, and runs each connection may take, per window.
RUNS_PER_USER = envstr("THROTTLE_RUNS_PER_USER", "30/min")
RUNS_PER_CONNECTION = envstr("THROTTLE_RUNS_PER_CONNECTION", "120/min")
# Side-by-side runs: at most this many calls at once per connection (in one process).
RUNS_AT_ONCE_PER_CONNECTION = envint("RUNS_AT_ONCE_PER_CONNECTION", 4, minimum=1)
# Background jobs (evaluations) go through Django's tasks API; the database backend needs
# no broker. `python manage.py worker` runs them with the webhook deliveries.
TASKS = {"default": {"BACKEND": envstr("TASKS_BACKEND", "django_tasks_db.DatabaseBackend")}}
# Evaluations: rows at once per evaluation, how long one row may take, retries of a row
# the provider refused for the moment (429 or 5xx), the longest Retry-After honoured,
# and the lease of a row a worker runs: the worker renews it (and the evaluation's
# heartbeat) every quarter of it, at most every second, and once it runs out, the
# worker is taken for gone and another one takes its rows over.
EVALUATION_ROWS_AT_ONCE = envint("EVALUATION_ROWS_AT_ONCE", 8, minimum=1)
EVALUATION_ROW_TIMEOUT_SECONDS = envint("EVALUATION_ROW_TIMEOUT_SECONDS", 60, minimum=1)
EVALUATION_RETRIES = envint("EVALUATION_RETRIES", 3, minimum=0)
EVALUATION_MAX_RETRY_WAIT_SECONDS = envint("EVALUATION_MAX_RETRY_WAIT_SECONDS", 60, minimum=0)
EVALUATION_LEASE_SECONDS = envint("EVALUATION_LEASE_SECONDS", 60, minimum=2)
# Outbound address policy (registry_site/outbound.py): CIDRs let through although they
