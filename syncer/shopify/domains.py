"""Shop domains and Shopify's `host` parameter: what a valid shop is, read from what we're given.

A leaf module (it imports nothing of ours), so the HTTP client, OAuth and session tokens can all
check a domain without importing one another.
"""

from __future__ import annotations

import base64
import binascii
import re
import urllib.parse

# Shopify's own libraries accept these hosts (shop-validator); real installs are *.myshopify.com.
SHOP_DOMAIN_RE = re.compile(
    r"^[a-z0-9][a-z0-9-]*\.(?:myshopify\.com|myshopify\.io|shop\.dev|shopify\.com)$"
)
ADMIN_HOST_SUFFIXES = (".myshopify.com", ".shopify.com", ".myshopify.io", ".spin.dev", ".shop.dev")


def shop_domain_is_valid(domain: str | None) -> bool:
    """Is this exactly a shop's myshopify-style domain (lower case, no scheme, no path)?"""
    if not domain:
        return False
    return len(domain) <= 255 and bool(SHOP_DOMAIN_RE.match(domain))


def shop_domain_normalize(value: str | None) -> str | None:
    """`Demo`, `demo.myshopify.com`, `https://Demo.myshopify.com/` → `demo.myshopify.com`.

    Returns None for anything that is not a shop domain (no guessing beyond that).
    """
    if not value:
        return None
    domain = value.strip().lower()
    for prefix in ("https://", "http://"):
        domain = domain.removeprefix(prefix)
    domain = domain.rstrip("/")
    if "/" in domain or ":" in domain or "@" in domain:
        return None
    if "." not in domain:
        domain = f"{domain}.myshopify.com"
    return domain if shop_domain_is_valid(domain) else None


def host_param_decode(host: str | None) -> str | None:
    """The admin host from Shopify's base64 `host` query parameter, or None if not Shopify's."""
    if not host:
        return None
    try:
        decoded = base64.b64decode(host + "=" * (-len(host) % 4), validate=False).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    hostname = urllib.parse.urlsplit(f"https://{decoded}").hostname or ""
    if hostname == "admin.shopify.com" or hostname.endswith(ADMIN_HOST_SUFFIXES):
        return decoded
    return None


def admin_app_url(*, shop_domain: str, path: str = "") -> str:
    """The app open at `path` inside the shop's admin (settings.SHOPIFY_ADMIN_APP_URL)."""
    from django.conf import settings  # a leaf module: settings only when asked

    store = shop_domain.split(".", 1)[0]
    base = settings.SHOPIFY_ADMIN_APP_URL.format(store=store, shop=shop_domain).rstrip("/")
    return f"{base}/{path.lstrip('/')}" if path.strip("/") else base
