"""Emulator fixtures for the Shopify boundary: in process (WSGI) and as a real server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from django.conf import settings

from shopify_emulator.app import EmulatorApp, create_app
from shopify_emulator.config import EmulatorConfig
from shopify_emulator.testing import EmulatorServer
from syncer.shopify import client as shopify_client
from syncer.shopify.admin_session import AdminSession
from syncer.shopify.budget import ShopBudget
from syncer.shopify.client import ShopifyAdminClient

IN_PROCESS_BASE = "http://emulator.test"


def emulator_config(**overrides: Any) -> EmulatorConfig:
    """The emulator plays Shopify for *our* app: same client id and secret as settings."""
    values: dict[str, Any] = {
        "api_key": settings.SHOPIFY_API_KEY,
        "app_secret": settings.SHOPIFY_API_SECRET,
        "deliver_webhooks": False,
        "fault_timeout_seconds": 1.5,
    }
    values.update(overrides)
    return EmulatorConfig(**values)


@dataclass
class Emulator:
    """One running emulator, how to reach it, and its control API."""

    app: EmulatorApp
    base_url: str
    transport: httpx.BaseTransport | None
    control: httpx.Client

    @property
    def admin_base_url_template(self) -> str:
        return f"{self.base_url}/shops/{{shop}}"

    def shop_create(self, *, plan: str = "standard", name: str | None = None) -> dict[str, Any]:
        domain = f"t{uuid.uuid4().hex[:12]}.myshopify.com"
        response = self.control.post(
            "/_emulator/shops", json={"domain": domain, "name": name or domain, "plan": plan}
        )
        assert response.status_code == 201, response.text
        return response.json()

    def product_create(self, domain: str, **product: Any) -> dict[str, Any]:
        response = self.control.post(f"/_emulator/shops/{domain}/products", json=product)
        assert response.status_code == 201, response.text
        return response.json()

    def faults_set(self, **faults: Any) -> None:
        response = self.control.post("/_emulator/faults", json=faults)
        assert response.status_code == 200, response.text

    def stats(self, domain: str) -> dict[str, Any]:
        return self.control.get("/_emulator/stats").json()["shops"].get(domain, {})

    def session_token(self, domain: str, **body: Any) -> str:
        response = self.control.post(f"/_emulator/shops/{domain}/session-token", json=body)
        assert response.status_code == 200, response.text
        return response.json()["token"]

    def client(self, *, budget: ShopBudget | None, **overrides: Any) -> ShopifyAdminClient:
        values: dict[str, Any] = {
            "base_url_template": self.admin_base_url_template,
            "api_version": settings.SHOPIFY_API_VERSION,
            "timeout": 5.0,
            "transport": self.transport,
            "budget": budget,
            "backoff_base": 0.05,
            "backoff_max": 0.5,
        }
        values.update(overrides)
        return ShopifyAdminClient(**values)


@pytest.fixture
def budget(redis_db) -> ShopBudget:
    """A budget under a prefix of its own (other suites may share the test Redis db)."""
    return ShopBudget(redis_db, prefix=f"test-shopify-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """The emulator in process: every request goes through httpx.WSGITransport."""
    app = create_app(config=emulator_config(base_url=IN_PROCESS_BASE))
    transport = httpx.WSGITransport(app=app)
    with httpx.Client(transport=transport, base_url=IN_PROCESS_BASE, timeout=10) as control:
        yield Emulator(app=app, base_url=IN_PROCESS_BASE, transport=transport, control=control)
    app.webhooks.close()


@pytest.fixture
def emulator_server() -> Iterator[Emulator]:
    """The real emulator server on a free port, reached over HTTP."""
    with EmulatorServer(config=emulator_config()) as server, server.client() as control:
        yield Emulator(app=server.app, base_url=server.url, transport=None, control=control)


@pytest.fixture
def shop(emulator: Emulator) -> dict[str, Any]:
    """A Standard-plan shop in the in-process emulator, with its access token."""
    return emulator.shop_create()


@pytest.fixture
def client(emulator: Emulator, budget: ShopBudget) -> Iterator[ShopifyAdminClient]:
    with emulator.client(budget=budget) as admin:
        yield admin


@pytest.fixture
def session(shop, client, monkeypatch) -> AdminSession:
    """A session on the in-process emulator: this process's Admin client is the fixture's (the
    transport is swapped, not Shopify's answers: the emulator computes every one)."""
    monkeypatch.setitem(shopify_client._clients, os.getpid(), client)
    return AdminSession(shop_domain=shop["domain"], access_token=shop["access_token"])
