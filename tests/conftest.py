import contextlib
import os
import warnings
from pathlib import Path

import httpx
import pytest
from django.conf import settings

from syncer.celery import app as celery_app
from syncer.redis import redis_client

ROOT = Path(__file__).resolve().parent.parent

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

# Playwright's sync API runs an event loop in this thread; Django's ORM guard would otherwise
# refuse the live server's test database setup from it.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium under Playwright, one for the session (a second Playwright in the same
    thread is refused). Browser tests skip without it, unless SYNCER_REQUIRE_BROWSER (CI)."""
    if not CHROMIUM.exists():
        message = f"Chromium not found at {CHROMIUM}; `scripts/install-system-deps` installs it"
        if os.environ.get("SYNCER_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def celery_and_redis_as_they_were(request):
    """Every test leaves Celery (inline or not, its broker) and the Redis client as it found
    them. Tests that switch to a real broker or a stack's own Redis restore them themselves;
    this puts back what one did not (a test failing mid-switch, a background thread) and says
    which test it was, so one test's switch never silently changes how later ones run."""
    conf = celery_app.conf
    before = (conf.task_always_eager, conf.broker_url, settings.REDIS_URL)
    yield
    after = (conf.task_always_eager, conf.broker_url, settings.REDIS_URL)
    if after != before:
        conf.task_always_eager, conf.broker_url = before[0], before[1]
        settings.REDIS_URL = before[2]
        celery_app._pool = None
        celery_app.amqp._producer_pool = None
        redis_client.cache_clear()
        warnings.warn(f"{request.node.nodeid} left Celery/Redis as {after}, not {before}",
                      stacklevel=1)


@pytest.fixture
def redis_db():
    """The test Redis database (db 15 by default), empty at the start of the test."""
    client = redis_client()
    client.flushdb()
    yield client
    client.flushdb()


class Emulator:
    """The Shopify emulator, driven through its control API (the contract other tools use)."""

    def __init__(self, server) -> None:
        self.server = server
        self.url = server.url
        self.http = httpx.Client(base_url=server.url, timeout=30)

    @property
    def world(self):
        return self.server.world

    def _json(self, method: str, path: str, **kwargs):
        response = self.http.request(method, path, **kwargs)
        assert response.status_code < 300, (
            f"{method} {path}: {response.status_code} {response.text}")
        return response.json()

    def reset(self) -> None:
        self._json("POST", "/_emulator/reset")

    def shop_create(self, domain: str, *, name: str | None = None, plan: str = "standard"):
        return self._json("POST", "/_emulator/shops",
                          json={"domain": domain, "name": name or domain.split(".")[0],
                                "plan": plan})

    def shop(self, domain: str, *, orders: bool = True) -> dict:
        return self._json("GET", f"/_emulator/shops/{domain}" + ("" if orders else "?orders=0"))

    def install(self, domain: str) -> dict:
        return self._json("POST", f"/_emulator/shops/{domain}/install")

    def uninstall(self, domain: str) -> dict:
        return self._json("POST", f"/_emulator/shops/{domain}/uninstall")

    def session_token(self, domain: str) -> str:
        return self._json("POST", f"/_emulator/shops/{domain}/session-token")["token"]

    def product_create(self, domain: str, **product) -> dict:
        return self._json("POST", f"/_emulator/shops/{domain}/products", json=product)

    def variant_add(self, domain: str, product_id: int, **variant) -> dict:
        """The merchant's Add variant: {"variant", "product"} as REST shows them."""
        return self._json("POST", f"/_emulator/shops/{domain}/products/{product_id}/variants",
                          json=variant)

    def variant_remove(self, domain: str, variant_id: int) -> dict:
        return self._json("DELETE", f"/_emulator/shops/{domain}/variants/{variant_id}")

    def order_create(self, domain: str, **order) -> dict:
        return self._json("POST", f"/_emulator/shops/{domain}/orders", json=order)

    def faults(self, **faults) -> dict:
        return self._json("POST", "/_emulator/faults", json=faults)

    def stats(self) -> dict:
        return self._json("GET", "/_emulator/stats")

    def flush_webhooks(self) -> dict:
        return self._json("POST", "/_emulator/webhooks/flush")

    def subscriptions(self, domain: str) -> list[dict]:
        """The shop's app subscriptions (recurring charges), oldest first."""
        return self._json("GET", f"/_emulator/shops/{domain}/subscriptions")["subscriptions"]

    def subscription_approve(self, domain: str, n: int) -> dict:
        """The merchant's Approve button: {"redirect": returnUrl?charge_id=n, ...}."""
        return self._json("POST", f"/_emulator/shops/{domain}/subscriptions/{n}/approve")

    def subscription_decline(self, domain: str, n: int) -> dict:
        return self._json("POST", f"/_emulator/shops/{domain}/subscriptions/{n}/decline")

    def subscription_status(self, domain: str, n: int, status: str) -> dict:
        """What Shopify's billing decides on its own: FROZEN, EXPIRED, ACTIVE again, ..."""
        return self._json("POST", f"/_emulator/shops/{domain}/subscriptions/{n}/status",
                          json={"status": status})


@pytest.fixture(scope="session")
def emulator_server():
    """One emulator server (real HTTP) for the session, delivering webhooks and loading the app
    URL straight into this process's Django app (WSGI), i.e. into the test database."""
    from django.core.wsgi import get_wsgi_application

    from shopify_emulator.config import EmulatorConfig
    from shopify_emulator.testing import EmulatorServer

    config = EmulatorConfig(
        app_url="http://testserver", api_key=settings.SHOPIFY_API_KEY,
        app_secret=settings.SHOPIFY_API_SECRET, app_config_path=str(ROOT / "shopify.app.toml"),
        webhook_backoff_base=0.05, webhook_backoff_max=0.5,
        app_transport=httpx.WSGITransport(app=get_wsgi_application()),
    )
    server = EmulatorServer(config=config).start()
    yield server
    server.stop()


@pytest.fixture
def emulator(emulator_server, settings, redis_db):
    """A fresh emulator world; Syncer's Admin API client pointed at it."""
    from syncer.shopify import client as shopify_client

    handle = Emulator(emulator_server)
    handle.reset()
    handle.faults(throttle_rate=0, error_rate=0, timeout_rate=0, webhook_duplicate_rate=0,
                  webhook_reorder=False, webhook_delay_ms=0)
    settings.SHOPIFY_ADMIN_BASE_URL = f"{emulator_server.url}/shops/{{shop}}"
    settings.SHOPIFY_ADMIN_APP_URL = f"{emulator_server.url}/admin/{{shop}}/apps/syncer"
    shopify_client._clients.clear()
    yield handle
    handle.flush_webhooks()
    shopify_client._clients.clear()
    handle.http.close()


@contextlib.contextmanager
def broker_unreachable():
    """Celery pointed at a port where no broker listens, for real: every enqueue fails."""
    conf = celery_app.conf
    saved = (conf.broker_url, conf.task_always_eager)
    conf.broker_url, conf.task_always_eager = "redis://127.0.0.1:1/0", False
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    try:
        yield
    finally:
        conf.broker_url, conf.task_always_eager = saved
        celery_app._pool = None
        celery_app.amqp._producer_pool = None
