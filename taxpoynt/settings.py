"""Settings for the TaxPoynt integrations project, read from environment variables.

Every variable has a default that lets a fresh checkout run on SQLite in development.
Production sets DEBUG=0, SECRET_KEY, ALLOWED_HOSTS and DATABASE_URL.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: str) -> bool:
    return os.environ.get(name, default).strip().lower() in ("1", "true", "yes", "on")


def env_list(name: str, default: str) -> list[str]:
    return [
        item.strip()
        for item in os.environ.get(name, default).split(",")
        if item.strip()
    ]


DEBUG = env_bool("DEBUG", "1")

# The development key only ever signs cookies on a developer's own machine: with DEBUG off
# the process refuses to start rather than run with a key that is public in this file.
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. With DEBUG off the process will not start without it: "
            "set SECRET_KEY to a long random string (for example the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`)."
        )
    SECRET_KEY = "development-only-key-never-used-when-debug-is-off"


def field_encryption_keys() -> list[str]:
    """Keys that encrypt stored secrets: the first encrypts, all of them decrypt.

    From FIELD_ENCRYPTION_KEYS (comma-separated), else, in development only, from the
    key file `make run` creates outside version control.
    """
    raw = os.environ.get("FIELD_ENCRYPTION_KEYS", "")
    if not raw and DEBUG and DEVELOPMENT_KEYS_FILE.exists():
        raw = DEVELOPMENT_KEYS_FILE.read_text()
    keys = [key.strip() for key in raw.replace("\n", ",").split(",") if key.strip()]
    if not keys and not DEBUG:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS is not set. With DEBUG off the process will not "
            "start without it: set it to one or more comma-separated Fernet keys, "
            "made with `python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'`."
        )
    return keys


DEVELOPMENT_KEYS_FILE = BASE_DIR / ".local" / "field-encryption-keys"
FIELD_ENCRYPTION_KEYS = field_encryption_keys()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "django_jsonform",
    "clients",
    "integrations",
]

MIDDLEWARE = [
    "taxpoynt.request_ids.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "taxpoynt.urls"
WSGI_APPLICATION = "taxpoynt.wsgi.application"

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


def database_settings() -> dict:
    """Parse DATABASE_URL, defaulting to a SQLite file next to manage.py."""
    default_url = f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
    database = dj_database_url.parse(
        os.environ.get("DATABASE_URL", default_url), conn_max_age=60
    )
    if database["ENGINE"] == "django.db.backends.sqlite3":
        # IMMEDIATE takes SQLite's write lock when a transaction starts, so two writers
        # serialise instead of both reading the same version and one losing its update.
        database["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
        database["CONN_MAX_AGE"] = 0
        # Tests use a file, not Django's shared in-memory database: its table locks fail
        # at once instead of waiting, so concurrent-writer tests would test nothing.
        # One file per process, so that two test runs never share one.
        database["TEST"] = {"NAME": str(BASE_DIR / f".test-db-{os.getpid()}.sqlite3")}
    return database


DATABASES = {"default": database_settings()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "Africa/Lagos")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

DEFAULT_EXCEPTION_REPORTER_FILTER = "taxpoynt.error_reports.SecretHidingFilter"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG

REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header makes anonymous requests answer 401.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PARSER_CLASSES": ["taxpoynt.json_bodies.StrictJSONParser"],
    "EXCEPTION_HANDLER": "taxpoynt.api.api_exception_handler",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "TaxPoynt Integrations API",
    "DESCRIPTION": "Clients, their accounting-system integrations, and the history of both.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "taxpoynt.openapi.document_error_responses",
    ],
}

# Outbound requests (connection tests, discovery). See integrations/outbound.py.
OUTBOUND_CONNECT_TIMEOUT = float(os.environ.get("OUTBOUND_CONNECT_TIMEOUT", "5"))
OUTBOUND_TOTAL_TIMEOUT = float(os.environ.get("OUTBOUND_TOTAL_TIMEOUT", "15"))
OUTBOUND_MAX_BODY_BYTES = 1024 * 1024
OUTBOUND_MAX_REDIRECTS = 3
# Networks that may be reached although they are private, e.g. an on-premise ERP.
INTEGRATION_ALLOWED_NETWORKS = env_list("INTEGRATION_ALLOWED_NETWORKS", "")
# Refuse everything but loopback, before any DNS lookup (used while fuzzing the API).
OUTBOUND_LOOPBACK_ONLY = env_bool("OUTBOUND_LOOPBACK_ONLY", "0")

# Tests running at once in a bulk test or a monitor cycle. Each is a thread waiting on
# a remote system; none holds a database connection (see connection_tests.test_many).
CONNECTION_TEST_CONCURRENCY = int(os.environ.get("CONNECTION_TEST_CONCURRENCY", "32"))
CONNECTION_TEST_RATE = os.environ.get("CONNECTION_TEST_RATE", "30/min")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "taxpoynt.request_ids.RequestIdLogFilter"}},
    "formatters": {
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s [request_id=%(request_id)s] "
            "%(message)s"
        }
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["stdout"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # Django's own loggers otherwise also print through its default console handler.
    "loggers": {
        "django": {"handlers": ["stdout"], "level": "INFO", "propagate": False}
    },
}
