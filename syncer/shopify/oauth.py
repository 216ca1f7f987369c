"""Getting access tokens from Shopify, and checking what Shopify sends to our URLs.

* Token exchange (embedded app: App Bridge session token → offline or online access token),
  expiring offline tokens and their refresh (`grant_type=refresh_token`), and the legacy
  authorization-code grant, all at `POST https://<shop>/admin/oauth/access_token`.
* OAuth query HMAC (install / callback URLs): **hex** HMAC-SHA256 of the sorted query,
  compared in constant time. (Webhook HMAC is base64 over the raw body: `webhook_hmac.py`.)
* Shop domain and `host` parameter validation live in `domains.py` (re-exported here).
"""

from __future__ import annotations

import functools
import random
import time
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
import shopify
from django.conf import settings

# Shop domains live in `domains.py` (the client needs them and must not import this module);
# re-exported here (`x as x`) for the views and forms that import them from here.
from syncer.shopify.domains import host_param_decode as host_param_decode
from syncer.shopify.domains import shop_domain_is_valid as shop_domain_is_valid
from syncer.shopify.domains import shop_domain_normalize as shop_domain_normalize
from syncer.shopify.errors import (
    ErrorWhere,
    ShopifyAuthError,
    ShopifyServerError,
    ShopifyTimeout,
)

if TYPE_CHECKING:
    from syncer.shopify.client import ShopifyAdminClient

GRANT_TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
SUBJECT_TOKEN_TYPE_ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
TOKEN_TYPE_OFFLINE = "urn:shopify:params:oauth:token-type:offline-access-token"
TOKEN_TYPE_ONLINE = "urn:shopify:params:oauth:token-type:online-access-token"

QUERY_HMAC_MAX_AGE_SECONDS = 90
TOKEN_REQUEST_ATTEMPTS = 3


# -- OAuth query HMAC (hex) ------------------------------------------------------------------
#
# ShopifyAPI signs and compares: `shopify.Session.calculate_hmac` builds Shopify's message
# (every parameter but `hmac`, `k=v` pairs sorted, `%`, `&` and a key's `=` escaped, an
# `ids[]` list as JSON) and `Session.validate_hmac` compares hex digests with
# `hmac.compare_digest`.
# We add on top, because ShopifyAPI is looser there:
# * secret rotation: the current secret, then the previous one (ShopifyAPI knows one secret);
# * freshness: the timestamp within 90 s either way, with an injectable clock.
#   `Session.validate_params` refuses only timestamps over a day old (a future one passes), so
#   we call `validate_hmac` after our own check rather than `validate_params`;
# * `signature` is left out of the message too, as we always did (and the emulator does), the
#   given hex is lower-cased, and Django's `QueryDict.lists()` values are flattened to the
#   strings (or, for `name[]`, lists) that ShopifyAPI expects.
# The secret per call: ShopifyAPI reads it from the class attribute `Session.secret`, which
# `Session.setup()` sets process-wide, shared by every thread. We never call `setup()`: each
# secret gets its own subclass holding it (`_signer`), so concurrent checks with different
# secrets cannot see each other's, and ShopifyAPI's global `Session` is never written.


def _query_value(value: Any) -> str:
    if isinstance(value, list | tuple):
        if len(value) == 1:
            return str(value[0])
        return "[" + ", ".join(f'"{item}"' for item in value) + "]"
    return str(value)


def _signing_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters as ShopifyAPI's `Session.calculate_hmac` reads them."""
    flat: dict[str, Any] = {}
    for key, value in params.items():
        if key == "signature":
            continue
        if key.endswith("[]"):
            values = value if isinstance(value, list | tuple) else [value]
            flat[key] = [str(item) for item in values]
        else:
            flat[key] = _query_value(value)
    return flat


@functools.lru_cache(maxsize=8)
def _signer(secret: str) -> Any:
    """`shopify.Session` with `secret` on a subclass of its own (never `Session.setup()`)."""
    return type("QuerySigner", (shopify.Session,), {"secret": secret})


def query_hmac(params: Mapping[str, Any], secret: str) -> str:
    """Hex HMAC-SHA256 of the sorted `k=v&k=v` of every parameter but hmac/signature."""
    return str(_signer(secret).calculate_hmac(_signing_params(params)))


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
    signed = {**_signing_params(params), "hmac": given.lower()}
    return any(bool(_signer(secret).validate_hmac(signed)) for secret in _secrets(secrets))


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
    where: ErrorWhere = {"shop_domain": shop_domain, "document": "oauth/access_token"}
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
