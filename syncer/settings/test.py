"""Test settings: always real PostgreSQL and Redis (127.0.0.1 unless told otherwise)."""

import os

# Test-only credentials; real ones come from the environment.
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")
os.environ.setdefault("SHOPIFY_API_KEY", "test-client-id")
os.environ.setdefault(
    "SHOPIFY_API_SECRET", "test-client-secret-0123456789abcdef0123456789abcdef"
)
os.environ.setdefault("TOKEN_ENCRYPTION_KEYS", "test-token-key-1")
os.environ.setdefault("SHOPIFY_APP_BRIDGE_URL", "")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/syncer")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")


def _parallel_redis_url() -> str | None:
    """A pytest-xdist worker's own Redis database: tests flush theirs, so two processes sharing
    one would lose each other's queues and locks. `make test` hands out one per worker."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return None
    urls = [url for url in os.environ.get("SYNCER_TEST_REDIS_URLS", "").split(",") if url]
    if urls and os.environ.get("REDIS_URL") != urls[0]:
        return None  # a process a test started (a worker on that test's own Redis), not pytest
    index = int(worker[2:])
    if index >= len(urls):
        raise RuntimeError(
            f"Test worker {worker} has no Redis database of its own: run a parallel suite "
            "through `make test TEST_WORKERS=N`, which gives each worker one, or set "
            "SYNCER_TEST_REDIS_URLS to a comma-separated list with one URL per worker.")
    return urls[index]


_REDIS_URL_OF_THIS_WORKER = _parallel_redis_url()
if _REDIS_URL_OF_THIS_WORKER:
    os.environ["REDIS_URL"] = _REDIS_URL_OF_THIS_WORKER

from syncer.settings.base import *  # noqa: E402,F403
from syncer.settings.base import DATABASES, env  # noqa: E402

if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise RuntimeError("The test suite runs against PostgreSQL only; set DATABASE_URL to it.")

# The pytest process closes its connection per request (the test database is dropped at the
# end); worker subprocesses of the end-to-end stack keep theirs, as production workers do.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=0)
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Service-level tests run tasks inline; end-to-end tests start real worker processes.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
CELERY_TASK_EAGER_PROPAGATES = True
# Serve static files straight from the finders: tests never run collectstatic.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
