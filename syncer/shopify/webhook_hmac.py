"""Webhook signatures: base64 HMAC-SHA256 of the raw body with the client secret.

Hash the raw request bytes before any parsing, compare in constant time, and during a secret
rotation accept the previous secret too (Shopify may sign with it for up to an hour).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable

from django.conf import settings


def webhook_hmac(body: bytes, secret: str) -> str:
    """The `X-Shopify-Hmac-Sha256` value Shopify would send for `body`."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def webhook_hmac_is_valid(
    body: bytes, header: str | None, *, secrets: Iterable[str] | None = None
) -> bool:
    """True if `header` is the HMAC of `body` under the current or the previous secret."""
    if not header:
        return False
    keys = (
        secrets
        if secrets is not None
        else (
            settings.SHOPIFY_API_SECRET,
            settings.SHOPIFY_API_SECRET_PREVIOUS,
        )
    )
    given = header.strip().encode()
    valid = False
    for secret in keys:
        if secret and hmac.compare_digest(webhook_hmac(body, secret).encode(), given):
            valid = True
    return valid
