"""Browser tests: Playwright driving Debian's Chromium (never a downloaded browser build)."""

import os
from pathlib import Path

import pytest

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


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    yield page
    context.close()


ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "var" / "test-artifacts"


@pytest.fixture
def artifacts(request) -> Path:
    """Where a browser test keeps its screenshots after the run (var/test-artifacts/<test>)."""
    folder = ARTIFACTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def embedded(live_server, settings, redis_db):
    """An emulator whose admin pages frame the live Syncer server in a real browser."""
    import httpx

    from shopify_emulator.config import EmulatorConfig
    from shopify_emulator.testing import EmulatorServer
    from syncer.shopify import client as shopify_client
    from tests.conftest import ROOT, Emulator

    config = EmulatorConfig(
        app_url=live_server.url, api_key=settings.SHOPIFY_API_KEY,
        app_secret=settings.SHOPIFY_API_SECRET, app_config_path=str(ROOT / "shopify.app.toml"),
        webhook_backoff_base=0.05, webhook_backoff_max=0.5,
    )
    server = EmulatorServer(config=config).start()
    settings.SHOPIFY_ADMIN_BASE_URL = f"{server.url}/shops/{{shop}}"
    settings.SHOPIFY_FRAME_ANCESTORS_EXTRA = [server.url]
    shopify_client._clients.clear()
    handle = Emulator(server)
    yield handle
    handle.http.close()
    server.stop()
    shopify_client._clients.clear()
    assert httpx  # imported for the fixture's users
