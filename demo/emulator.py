"""The emulator's control API (`/_emulator/...`): the demo's only way to change its world."""

from __future__ import annotations

from typing import Any

import httpx


class EmulatorControl:
    """A client of one running emulator; close it (or use it as a context manager)."""

    def __init__(self, url: str, *, timeout: float = 60.0) -> None:
        self.http = httpx.Client(base_url=url, timeout=timeout)

    def __enter__(self) -> EmulatorControl:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def _json(self, method: str, path: str, body: dict | None = None) -> Any:
        response = self.http.request(method, path, json=body)
        response.raise_for_status()
        return response.json()

    # --- shops ----------------------------------------------------------------------------------

    def shops(self) -> list[dict]:
        return self._json("GET", "/_emulator/shops")["shops"]

    def shop(self, domain: str, *, orders: bool = True) -> dict:
        """The shop's snapshot: its products (with variants) and, unless `orders` is false, its
        orders."""
        return self._json("GET", f"/_emulator/shops/{domain}" + ("" if orders else "?orders=0"))

    def shop_create(self, domain: str, *, name: str, plan: str = "standard") -> dict:
        return self._json("POST", "/_emulator/shops",
                          {"domain": domain, "name": name, "plan": plan})

    def install(self, domain: str) -> dict:
        """The merchant installs the app: the emulator loads its URL with a session token."""
        return self._json("POST", f"/_emulator/shops/{domain}/install")

    # --- merchant actions -----------------------------------------------------------------------

    def product_create(self, domain: str, product: dict) -> dict:
        return self._json("POST", f"/_emulator/shops/{domain}/products", product)

    def order_create(self, domain: str, order: dict) -> dict:
        """A checkout at the shop (it sends the orders/* webhooks)."""
        return self._json("POST", f"/_emulator/shops/{domain}/orders", order)

    def order_fulfill(self, domain: str, order_id: int, tracking: dict) -> dict:
        return self._json("POST", f"/_emulator/shops/{domain}/orders/{order_id}/fulfill",
                          tracking)

    def order_cancel(self, domain: str, order_id: int, *, restock: bool) -> dict:
        return self._json("POST", f"/_emulator/shops/{domain}/orders/{order_id}/cancel",
                          {"restock": restock})

    # --- billing (the merchant on Shopify's approval page) -------------------------------------

    def subscriptions(self, domain: str) -> list[dict]:
        return self._json("GET", f"/_emulator/shops/{domain}/subscriptions")["subscriptions"]

    def subscription_approve(self, domain: str, number: int) -> dict:
        """As the Approve button does; answers {"redirect": the app's return URL}."""
        return self._json("POST", f"/_emulator/shops/{domain}/subscriptions/{number}/approve")

    # --- delivery -------------------------------------------------------------------------------

    def webhooks_flush(self, *, timeout: float = 30) -> dict:
        """Waits until the emulator has delivered every queued webhook."""
        return self._json("POST", "/_emulator/webhooks/flush", {"timeout": timeout})
