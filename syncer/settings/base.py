"""Settings for every environment, read from environment variables only.

Secrets have no defaults here: `make run` generates demo secrets into var/ and exports them,
production injects them. There is one run path: PostgreSQL and Redis with a real Celery worker,
in production, under `make run`, `make test` and `make bench` alike (scripts/local_services.py
finds or starts them for the make targets).
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

SECRET_KEY = env.str("SECRET_KEY")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

APP_PORT = env.int("APP_PORT", default=8000)
APP_URL = env.str("APP_URL", default=f"http://127.0.0.1:{APP_PORT}")
EMULATOR_PORT = env.int("EMULATOR_PORT", default=8765)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[APP_URL])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "syncer",
    "stores",
    "products",
    "orders",
    "webhooks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # No XFrameOptionsMiddleware: the app lives in Shopify admin's iframe, so framing is
    # governed by the CSP frame-ancestors header instead.
    "syncer.middleware.FrameAncestorsMiddleware",
    "syncer.middleware.PageFreshnessMiddleware",
]

ROOT_URLCONF = "syncer.urls"
WSGI_APPLICATION = "syncer.wsgi.application"

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
                "syncer.context_processors.app_shell",
            ],
            "builtins": ["django_htmx.templatetags.django_htmx",
                         "syncer.templatetags.syncer_time",
                         "syncer.templatetags.syncer_money",
                         "syncer.templatetags.syncer_words"],
        },
    },
]

if not env.str("DATABASE_URL", default=""):
    raise ImproperlyConfigured(
        "DATABASE_URL is not set. Syncer runs on PostgreSQL only: set DATABASE_URL to one "
        "(postgres://user:password@host:5432/name), or use `make run` / `make test`, which find "
        "or start one for you.")
DATABASES = {"default": env.db("DATABASE_URL")}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    # The engine's SQL (row locks with SKIP LOCKED, arrays, upserts) is PostgreSQL's.
    raise ImproperlyConfigured(
        f"DATABASE_URL names a {DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]} database; "
        "Syncer runs on PostgreSQL only (postgres://user:password@host:5432/name).")
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if not REDIS_URL:
    raise ImproperlyConfigured(
        "REDIS_URL is not set. Syncer's tasks, locks and API budgets live in Redis: set "
        "REDIS_URL (redis://host:6379/0), or use `make run` / `make test`, which find or start "
        "one for you.")
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                      "LOCATION": REDIS_URL}}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed names, cached for a year by browsers (a changed file gets a new name).
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SAMESITE = "None" if APP_URL.startswith("https://") else "Lax"
SESSION_COOKIE_SECURE = APP_URL.startswith("https://")
CSRF_COOKIE_SAMESITE = SESSION_COOKIE_SAMESITE
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# --- Shopify ------------------------------------------------------------------------------
SHOPIFY_API_KEY = env.str("SHOPIFY_API_KEY")
SHOPIFY_API_SECRET = env.str("SHOPIFY_API_SECRET")
# Accepted for webhook HMACs during a client-secret rotation (Shopify may sign with the old
# secret for up to an hour).
SHOPIFY_API_SECRET_PREVIOUS = env.str("SHOPIFY_API_SECRET_PREVIOUS", default="")
SHOPIFY_API_VERSION = env.str("SHOPIFY_API_VERSION", default="2026-07")
SHOPIFY_SCOPES = env.list(
    "SHOPIFY_SCOPES",
    default=[
        "read_products", "write_products", "read_inventory", "write_inventory",
        "read_locations", "read_orders", "write_orders", "read_fulfillments",
        "write_fulfillments", "read_merchant_managed_fulfillment_orders",
        "write_merchant_managed_fulfillment_orders",
    ],
)
# Where a shop's Admin API lives; "{shop}" is the myshopify domain. Real Shopify is the default;
# the demo and the test suite point it at the emulator (http://127.0.0.1:8765/shops/{shop}).
SHOPIFY_ADMIN_BASE_URL = env.str("SHOPIFY_ADMIN_BASE_URL", default="https://{shop}")
SHOPIFY_HTTP_TIMEOUT = env.float("SHOPIFY_HTTP_TIMEOUT", default=10.0)
# The app inside a shop's admin ("{store}": the domain's handle, "{shop}": the domain): where a
# billing approval returns to and where alert emails link. The demo and the tests point it at
# the emulator's admin (http://127.0.0.1:8765/admin/{shop}/apps/syncer).
SHOPIFY_ADMIN_APP_URL = env.str("SHOPIFY_ADMIN_APP_URL",
                                default="https://admin.shopify.com/store/{store}/apps/syncer")
# App Bridge from Shopify's CDN when really embedded in Shopify admin. Empty = the stand-in that
# asks the parent frame (the emulator's admin page) for session tokens.
SHOPIFY_APP_BRIDGE_URL = env.str(
    "SHOPIFY_APP_BRIDGE_URL", default="https://cdn.shopify.com/shopifycloud/app-bridge.js"
)
# Extra origins allowed to frame the app besides the shop's admin, e.g. the emulator's admin
# page in the demo (http://127.0.0.1:8765). Empty in production.
SHOPIFY_FRAME_ANCESTORS_EXTRA = env.list("SHOPIFY_FRAME_ANCESTORS_EXTRA", default=[])
# Keys that encrypt access/refresh tokens at rest, newest first (rotate by prepending a key).
TOKEN_ENCRYPTION_KEYS = env.list("TOKEN_ENCRYPTION_KEYS")

# Largest webhook body accepted (Shopify's biggest order payloads stay far below this).
WEBHOOK_MAX_BODY_BYTES = env.int("WEBHOOK_MAX_BODY_BYTES", default=5 * 1024 * 1024)
# How long a received webhook may wait for its task before the sweeper re-queues it (if its
# task is not waiting in the broker).
WEBHOOK_RECEIVED_GRACE_SECONDS = env.float("WEBHOOK_RECEIVED_GRACE_SECONDS", default=10.0)
# A delivery claimed by a worker that died is taken over after this (a live worker renews its
# claim every third of it).
WEBHOOK_CLAIM_SECONDS = env.float("WEBHOOK_CLAIM_SECONDS", default=30.0)
# Retention (webhooks.retention): a processed, ignored or duplicate delivery's body is emptied
# this many days after it was done (its hash stays, for recognising the event again); a failed
# delivery is deleted this many days after it last failed. Batches of WEBHOOK_RETENTION_BATCH.
WEBHOOK_BODY_RETENTION_DAYS = env.int("WEBHOOK_BODY_RETENTION_DAYS", default=7)
WEBHOOK_FAILED_RETENTION_DAYS = env.int("WEBHOOK_FAILED_RETENTION_DAYS", default=30)
WEBHOOK_RETENTION_BATCH = env.int("WEBHOOK_RETENTION_BATCH", default=500)
# The per-destination flush lock's life, renewed after every batch (a killed worker's lock
# frees itself this quickly).
INVENTORY_FLUSH_LOCK_SECONDS = env.int("INVENTORY_FLUSH_LOCK_SECONDS", default=20)
# A source change fans out as one flush task per this many destinations, each flushing its
# destinations on up to INVENTORY_FLUSH_THREADS threads at once (a flush mostly waits on its
# API call): the writes to 20 destinations overlap instead of queueing four at a time behind
# the worker's pool. Each thread keeps a database connection of its own, so a worker may hold
# up to concurrency × INVENTORY_FLUSH_THREADS more (size PostgreSQL's max_connections for it).
# 1 and 1: one flush task per destination, each on its own (as before issue 22).
INVENTORY_FLUSH_DESTINATIONS_PER_TASK = env.int("INVENTORY_FLUSH_DESTINATIONS_PER_TASK",
                                                default=5)
INVENTORY_FLUSH_THREADS = env.int("INVENTORY_FLUSH_THREADS", default=5)
# At most this many such tasks per fan-out (bigger ones beyond it; 0: no cap): about the
# worker processes there are to take them.
INVENTORY_FLUSH_TASKS_MAX = env.int("INVENTORY_FLUSH_TASKS_MAX", default=4)
# Zero-stock circuit breaker: a destination flush that would leave at least this many of its
# synced variants at zero within the window, and at least this share of them, is held back.
INVENTORY_ZERO_BREAKER_MIN = env.int("INVENTORY_ZERO_BREAKER_MIN", default=20)
INVENTORY_ZERO_BREAKER_SHARE = env.float("INVENTORY_ZERO_BREAKER_SHARE", default=0.5)
INVENTORY_ZERO_BREAKER_WINDOW_SECONDS = env.int("INVENTORY_ZERO_BREAKER_WINDOW_SECONDS",
                                                default=600)
# Work not done this long after it was due is "stuck" (webhook deliveries, stock writes, pushes).
WORK_STUCK_SECONDS = env.int("WORK_STUCK_SECONDS", default=300)
# /healthz reports webhook deliveries and tasks that failed within this window.
HEALTH_FAILURE_WINDOW_SECONDS = env.int("HEALTH_FAILURE_WINDOW_SECONDS", default=900)
# A resync still "running" this long after it started has lost its task; the sweeper ends it.
RESYNC_STUCK_SECONDS = env.int("RESYNC_STUCK_SECONDS", default=900)
# Reconciliation reads this many items or more with one bulk query instead of paged reads.
INVENTORY_BULK_READ_MIN_ITEMS = env.int("INVENTORY_BULK_READ_MIN_ITEMS", default=500)
INVENTORY_BULK_READ_TIMEOUT_SECONDS = env.int("INVENTORY_BULK_READ_TIMEOUT_SECONDS", default=180)
# Incremental reconciliation: every this often, each connected shop's levels changed since the
# last check (less the overlap, for clock skew and Shopify's search index) are compared with
# ours; a dropped webhook's level is right within about one interval. More changed levels than
# the cap at one location in one check hand that shop over to a full reconciliation.
RECONCILE_INCREMENTAL_EVERY_SECONDS = env.float("RECONCILE_INCREMENTAL_EVERY_SECONDS",
                                                default=300.0)
RECONCILE_INCREMENTAL_OVERLAP_SECONDS = env.int("RECONCILE_INCREMENTAL_OVERLAP_SECONDS",
                                                default=120)
RECONCILE_INCREMENTAL_MAX_LEVELS = env.int("RECONCILE_INCREMENTAL_MAX_LEVELS", default=10_000)

# --- Celery -------------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
# A task is acknowledged only after it ran: one whose pool process dies mid-run is requeued at
# once; one held by a worker whose main process is killed waits out the visibility timeout
# below (the database sweepers do not wait for it). Every task is idempotent, so running twice
# is safe and losing one is not.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The longest countdown any task is queued with (a failed stock write's pause, a catalogue
# scan's slowest poll): such a task sits unacked in its worker until it is due.
CELERY_LONGEST_COUNTDOWN_SECONDS = 300
# Redis hands an unacked task to another worker after this: longer than a task can be held
# (its countdown) and run (the hard time limit), so a live worker's task is never run twice;
# short enough that a killed worker's tasks come back in minutes, not an hour. Recovery does
# not wait for it: every piece of work is also in the database, and the sweepers below find
# work whose task was lost within seconds (README, "Failure behaviour").
CELERY_VISIBILITY_TIMEOUT = CELERY_LONGEST_COUNTDOWN_SECONDS + CELERY_TASK_TIME_LIMIT + 60
# Workers take the queues strictly in CELERY_WORKER_QUEUES order ("priority"; kombu's default
# round-robin would interleave them): webhooks first, so a burst of source changes is taken in
# before the writes it causes and they coalesce into full batches; then the writes; echoes of
# our own writes last, so they never hold up the writes still to do.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
                                   "queue_order_strategy": "priority"}
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_QUEUE_WEBHOOKS_LATER = "webhooks_later"
CELERY_WORKER_QUEUES = ("webhooks", "sync", "default", CELERY_QUEUE_WEBHOOKS_LATER, "bulk")
CELERY_TASK_ROUTES = {
    # Housekeeping, never in the way of deliveries.
    "webhooks.tasks.webhook_deliveries_retention_task": {"queue": "default"},
    "webhooks.tasks.*": {"queue": "webhooks"},
    "products.tasks.*": {"queue": "sync"},
    "products.inventory.tasks.*": {"queue": "sync"},
    "orders.tasks.*": {"queue": "sync"},
    "*.tasks.bulk_*": {"queue": "bulk"},
}
CELERY_BEAT_SCHEDULE = {
    "product-jobs-sweep": {
        "task": "products.tasks.product_jobs_sweep_task",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "inventory-sweep": {
        "task": "products.inventory.tasks.inventory_sweep_task",
        "schedule": env.float("INVENTORY_SWEEP_EVERY_SECONDS", default=10.0),
        "options": {"expires": 9},
    },
    "inventory-reconcile": {
        "task": "products.inventory.tasks.reconciliation_schedule_task",
        "schedule": env.float("RECONCILE_EVERY_SECONDS", default=6 * 3600),
        "options": {"expires": 600},
    },
    "inventory-reconcile-incremental": {
        "task": "products.inventory.tasks.reconciliation_incremental_schedule_task",
        "schedule": RECONCILE_INCREMENTAL_EVERY_SECONDS,
        "options": {"expires": 60},
    },
    "webhook-inbox-sweep": {
        "task": "webhooks.tasks.webhook_deliveries_sweep_task",
        "schedule": env.float("INBOX_SWEEP_EVERY_SECONDS", default=10.0),
        "options": {"expires": 9},
    },
    "webhook-inbox-retention": {
        "task": "webhooks.tasks.webhook_deliveries_retention_task",
        "schedule": env.float("WEBHOOK_RETENTION_EVERY_SECONDS", default=3600.0),
        "options": {"expires": 3000},
    },
    "orders-resume": {
        "task": "orders.tasks.order_work_resume_task",
        "schedule": 300.0,
        "options": {"expires": 290},
    },
    "beat-heartbeat": {
        "task": "syncer.tasks.beat_heartbeat",
        "schedule": 30.0,
        "options": {"expires": 25},
    },
}
CELERY_WORKER_HEARTBEAT_INTERVAL = 10.0

# Plans and billing. Sources are free; a destination's plan is its synced-product allowance
# (products with a link to a source product), charged through Shopify's Billing API. The tiers
# are a setting (JSON in SYNCER_PLANS): handle, name, products (null: unlimited), monthly price.
# "free" is what a destination has with no active subscription: never charged.
SYNCER_PLANS = env.json("SYNCER_PLANS", default=[
    {"handle": "free", "name": "Free", "products": 10, "price": "0.00"},
    {"handle": "starter", "name": "Starter", "products": 25, "price": "9.00"},
    {"handle": "growth", "name": "Growth", "products": 250, "price": "29.00"},
    {"handle": "pro", "name": "Pro", "products": 2500, "price": "79.00"},
    {"handle": "unlimited", "name": "Unlimited", "products": None, "price": "149.00"},
])
# Order push (manual and automatic) is the Orders add-on, billed with the plan.
SYNCER_ORDERS_ADDON_PRICE = env.str("SYNCER_ORDERS_ADDON_PRICE", default="10.00")
SYNCER_BILLING_CURRENCY = env.str("SYNCER_BILLING_CURRENCY", default="USD")
SYNCER_TRIAL_DAYS = env.int("SYNCER_TRIAL_DAYS", default=14)
# Test charges (test: true) are never billed; development stores can only approve those. A
# store is charged for real only when this is off and its Shopify plan is not a development one.
SYNCER_BILLING_TEST = env.bool("SYNCER_BILLING_TEST", default=True)

# Email: alerts to store owners and the Help page's contact form. SMTP from the environment;
# `make run` points it at the emulator's mail sink (its admin's Mail page shows what was sent).
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="127.0.0.1")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Syncer <alerts@syncer.test>")
SYNCER_SUPPORT_EMAIL = env.str("SYNCER_SUPPORT_EMAIL", default="support@syncer.test")
# Where an invitation email sends a store to install Syncer (the App Store listing, in
# production); empty: this app's own install page, which asks for the store address.
SYNCER_INSTALL_URL = env.str("SYNCER_INSTALL_URL", default="")
# At most one alert email per kind per store in this window, with the count since the last.
SYNCER_ALERT_WINDOW_SECONDS = env.int("SYNCER_ALERT_WINDOW_SECONDS", default=3600)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "celery.app.trace": {"level": "WARNING"},
    },
}
