"""Browser tests: Playwright driving Debian's Chromium (never a downloaded browser build)."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

# expect()'s 5 s default lost to a busy 2-CPU CI box (a search answer that came after 5 s).
# Every expect waits for an event and returns as soon as it happens, so passing tests are no
# slower for the longer bound.
expect.set_options(timeout=20_000)

# The `browser` fixture (Debian's Chromium under Playwright) is in tests/conftest.py: the
# walk-through in tests/test_run_path.py shares it.


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
    settings.SHOPIFY_ADMIN_APP_URL = f"{server.url}/admin/{{shop}}/apps/syncer"
    settings.SHOPIFY_FRAME_ANCESTORS_EXTRA = [server.url]
    shopify_client._clients.clear()
    handle = Emulator(server)
    yield handle
    handle.http.close()
    server.stop()
    shopify_client._clients.clear()
    assert httpx  # imported for the fixture's users
