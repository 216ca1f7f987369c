"""Getting access tokens from Shopify, and checking what Shopify sends to our URLs.

* Token exchange (embedded app: App Bridge session token → offline or online access token),
  expiring offline tokens and their refresh (`grant_type=refresh_token`), and the legacy
  authorization-code grant, all at `POST https://<shop>/admin/oauth/access_token`.
* OAuth query HMAC (install / callback URLs): **hex** HMAC-SHA256 of the sorted query,
  compared in constant time. (Webhook HMAC is base64 over the raw body: `webhook_hmac.py`.)
* Shop domain and `host` parameter validation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import random
import re
import time
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
from django.conf import settings

from syncer.shopify.errors import ShopifyAuthError, ShopifyServerError, ShopifyTimeout

if TYPE_CHECKING:
    from syncer.shopify.client import ShopifyAdminClient

GRANT_TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
SUBJECT_TOKEN_TYPE_ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
TOKEN_TYPE_OFFLINE = "urn:shopify:params:oauth:token-type:offline-access-token"
TOKEN_TYPE_ONLINE = "urn:shopify:params:oauth:token-type:online-access-token"

# Shopify's own libraries accept these hosts (shop-validator); real installs are *.myshopify.com.
SHOP_DOMAIN_RE = re.compile(
    r"^[a-z0-9][a-z0-9-]*\.(?:myshopify\.com|myshopify\.io|shop\.dev|shopify\.com)$"
)
ADMIN_HOST_SUFFIXES = (".myshopify.com", ".shopify.com", ".myshopify.io", ".spin.dev", ".shop.dev")
QUERY_HMAC_MAX_AGE_SECONDS = 90
TOKEN_REQUEST_ATTEMPTS = 3


# -- shop domains ----------------------------------------------------------------------------


def shop_domain_is_valid(domain: str | None) -> bool:
    """Is this exactly a shop's myshopify-style domain (lower case, no scheme, no path)?"""
    return bool(domain) and len(domain) <= 255 and bool(SHOP_DOMAIN_RE.match(domain))


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


# -- OAuth query HMAC (hex) ------------------------------------------------------------------


def _query_value(value: Any) -> str:
    if isinstance(value, list | tuple):
        if len(value) == 1:
            return str(value[0])
        return "[" + ", ".join(f'"{item}"' for item in value) + "]"
    return str(value)


def query_hmac(params: Mapping[str, Any], secret: str) -> str:
    """Hex HMAC-SHA256 of `k=v&k=v` over the sorted parameters other than hmac/signature."""
    message = "&".join(
        f"{key}={_query_value(params[key])}"
        for key in sorted(params)
        if key not in ("hmac", "signature")
    )
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def query_hmac_is_valid(
    params: Mapping[str, Any],
    *,
    secrets: Iterable[str] | None = None,
    now: float | None = None,
    max_age_seconds: int = QUERY_HMAC_MAX_AGE_SECONDS,
) -> bool:
    """Check the `hmac` of an install/callback URL's query, and that its timestamp is fresh.

    `params` maps each name to a string (or a list of strings, as Django's `QueryDict.lists()`).
    Accepts the current and the previous client secret.
    """
    given = _query_value(params.get("hmac") or "")
    if not given:
        return False
    timestamp = _query_value(params.get("timestamp") or "")
    try:
        age = abs((time.time() if now is None else now) - int(timestamp))
    except ValueError:
        return False
    if age > max_age_seconds:
        return False
    for secret in _secrets(secrets):
        if hmac.compare_digest(query_hmac(params, secret), given.lower()):
            return True
    return False


def _secrets(secrets: Iterable[str] | None) -> list[str]:
    if secrets is not None:
        return [s for s in secrets if s]
    return [s for s in (settings.SHOPIFY_API_SECRET, settings.SHOPIFY_API_SECRET_PREVIOUS) if s]


def authorize_url(
    *,
    shop_domain: str,
    redirect_uri: str,
    state: str,
    scopes: Iterable[str] | None = None,
    online: bool = False,
    api_key: str | None = None,
) -> str:
    """Where to send a merchant for the authorization-code grant (non-embedded installs)."""
    if not shop_domain_is_valid(shop_domain):
        raise ValueError(f"Not a Shopify shop domain: {shop_domain!r}")
    query = [
        ("client_id", api_key or settings.SHOPIFY_API_KEY),
        ("scope", ",".join(scopes if scopes is not None else settings.SHOPIFY_SCOPES)),
        ("redirect_uri", redirect_uri),
        ("state", state),
    ]
    if online:
        query.append(("grant_options[]", "per-user"))
    return f"https://{shop_domain}/admin/oauth/authorize?{urllib.parse.urlencode(query)}"


# -- tokens ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OfflineToken:
    """An offline access token; expiring ones come with a refresh token (Dec 2025+)."""

    access_token: str
    scope: str
    expires_at: datetime | None = None
    refresh_token: str | None = None
    refresh_token_expires_at: datetime | None = None

    @property
    def expiring(self) -> bool:
        return self.expires_at is not None

    def expires_within(self, seconds: float, *, now: datetime | None = None) -> bool:
        if self.expires_at is None:
            return False
        moment = now or datetime.now(UTC)
        return self.expires_at - moment <= timedelta(seconds=seconds)

    def refreshable(self, *, now: datetime | None = None) -> bool:
        if not self.refresh_token:
            return False
        if self.refresh_token_expires_at is None:
            return True
        return self.refresh_token_expires_at > (now or datetime.now(UTC))

    @property
    def scopes(self) -> list[str]:
        return [scope for scope in self.scope.split(",") if scope]


@dataclass(frozen=True)
class OnlineToken:
    """A per-user access token (token exchange with the online token type)."""

    access_token: str
    scope: str
    expires_at: datetime
    user_id: int | None
    associated_user_scope: str = ""
    associated_user: dict[str, Any] = field(default_factory=dict)


def _after(seconds: Any, issued: datetime) -> datetime | None:
    if seconds in (None, ""):
        return None
    return issued + timedelta(seconds=int(seconds))


def _offline_token(body: Mapping[str, Any], issued: datetime) -> OfflineToken:
    return OfflineToken(
        access_token=str(body["access_token"]),
        scope=str(body.get("scope") or ""),
        expires_at=_after(body.get("expires_in"), issued),
        refresh_token=body.get("refresh_token") or None,
        refresh_token_expires_at=_after(body.get("refresh_token_expires_in"), issued),
    )


def _client(client: ShopifyAdminClient | None) -> ShopifyAdminClient:
    if client is not None:
        return client
    from syncer.shopify.client import admin_client

    return admin_client()


def _token_request(
    *, client: ShopifyAdminClient | None, shop_domain: str, body: dict[str, Any]
) -> tuple[dict[str, Any], datetime]:
    """POST /admin/oauth/access_token; retry transport errors, 429 and 5xx a few times."""
    http_client = _client(client)
    url = f"{http_client.shop_url(shop_domain)}/admin/oauth/access_token"
    where = {"shop_domain": shop_domain, "document": "oauth/access_token"}
    attempt = 0
    while True:
        attempt += 1
        issued = datetime.now(UTC)
        error: Exception
        try:
            response = http_client.http.post(
                url,
                json=body,
                headers={"Content-Type": "application/json", "Accept": "application/json"},
            )
        except httpx.TransportError as exc:
            error = ShopifyTimeout(f"Token request failed: {type(exc).__name__}: {exc}", **where)
        else:
            if response.status_code < 300:
                try:
                    payload = response.json()
                except ValueError:
                    payload = None
                if not isinstance(payload, dict) or "access_token" not in payload:
                    raise ShopifyAuthError(
                        f"Token response without access_token: {response.text[:200]}",
                        status_code=response.status_code,
                        **where,
                    )
                return payload, issued
            if response.status_code >= 500 or response.status_code == 429:
                error = ShopifyServerError(
                    f"HTTP {response.status_code}: {response.text[:200]}",
                    status_code=response.status_code,
                    **where,
                )
            else:
                try:
                    payload = response.json()
                except ValueError:
                    payload = {}
                payload = payload if isinstance(payload, dict) else {}
                code = str(payload.get("error") or "") or None
                description = payload.get("error_description") or response.text[:200]
                raise ShopifyAuthError(
                    f"HTTP {response.status_code}: {code or 'error'}: {description}",
                    status_code=response.status_code,
                    error_code=code,
                    **where,
                )
        if attempt >= TOKEN_REQUEST_ATTEMPTS:
            raise error
        time.sleep(random.uniform(0.25, 0.5) * 2 ** (attempt - 1))


def _credentials(api_key: str | None, api_secret: str | None) -> dict[str, str]:
    return {
        "client_id": api_key or settings.SHOPIFY_API_KEY,
        "client_secret": api_secret or settings.SHOPIFY_API_SECRET,
    }


def token_exchange(
    *,
    shop_domain: str,
    session_token: str,
    expiring: bool = True,
    client: ShopifyAdminClient | None = None,
    api_key: str | None = None,
    api_secret: str | None = None,
) -> OfflineToken:
    """Exchange an App Bridge session token for an offline access token (expiring by default).

    Raises `ShopifyAuthError` (`error_code="invalid_subject_token"`) for a bad or expired
    session token: fetch a new one from App Bridge and try again.
    """
    body = {
        **_credentials(api_key, api_secret),
        "grant_type": GRANT_TOKEN_EXCHANGE,
        "subject_token": session_token,
        "subject_token_type": SUBJECT_TOKEN_TYPE_ID_TOKEN,
        "requested_token_type": TOKEN_TYPE_OFFLINE,
        "expiring": "1" if expiring else "0",
    }
    payload, issued = _token_request(client=client, shop_domain=shop_domain, body=body)
    return _offline_token(payload, issued)


def token_exchange_online(
    *,
    shop_domain: str,
    session_token: str,
    client: ShopifyAdminClient | None = None,
    api_key: str | None = None,
    api_secret: str | None = None,
) -> OnlineToken:
    """Exchange a session token for an online (per-user) access token."""
    body = {
        **_credentials(api_key, api_secret),
        "grant_type": GRANT_TOKEN_EXCHANGE,
        "subject_token": session_token,
        "subject_token_type": SUBJECT_TOKEN_TYPE_ID_TOKEN,
        "requested_token_type": TOKEN_TYPE_ONLINE,
    }
    payload, issued = _token_request(client=client, shop_domain=shop_domain, body=body)
    user = payload.get("associated_user") or {}
    return OnlineToken(
        access_token=str(payload["access_token"]),
        scope=str(payload.get("scope") or ""),
        expires_at=_after(payload.get("expires_in") or 0, issued) or issued,
        user_id=int(user["id"]) if user.get("id") is not None else None,
        associated_user_scope=str(payload.get("associated_user_scope") or ""),
        associated_user=dict(user),
    )


def token_refresh(
    *,
    shop_domain: str,
    refresh_token: str,
    client: ShopifyAdminClient | None = None,
    api_key: str | None = None,
    api_secret: str | None = None,
) -> OfflineToken:
    """Refresh an expiring offline token. Shopify replaces the refresh token on every use, so
    persist the whole returned token. Call it through `tokens.access_token_fresh` (locked)."""
    body = {
        **_credentials(api_key, api_secret),
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
    }
    payload, issued = _token_request(client=client, shop_domain=shop_domain, body=body)
    return _offline_token(payload, issued)


def authorization_code_exchange(
    *,
    shop_domain: str,
    code: str,
    expiring: bool = True,
    client: ShopifyAdminClient | None = None,
    api_key: str | None = None,
    api_secret: str | None = None,
) -> OfflineToken:
    """The legacy authorization-code grant's last step (non-embedded installs only)."""
    body = {**_credentials(api_key, api_secret), "code": code, "expiring": "1" if expiring else "0"}
    payload, issued = _token_request(client=client, shop_domain=shop_domain, body=body)
    return _offline_token(payload, issued)
