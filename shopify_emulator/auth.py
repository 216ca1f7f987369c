"""Shopify's side of app auth: session (ID) tokens, OAuth codes, token exchange, refresh.

Everything here is plain Python; `app.py` turns it into HTTP. Token shapes and error bodies follow
shopify.dev (session tokens, token exchange, expiring offline access tokens).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import jwt

GRANT_TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
SUBJECT_TOKEN_TYPE_ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
TOKEN_TYPE_OFFLINE = "urn:shopify:params:oauth:token-type:offline-access-token"
TOKEN_TYPE_ONLINE = "urn:shopify:params:oauth:token-type:online-access-token"

ACCESS_TOKEN_LIFETIME = 3600  # expiring offline access token
REFRESH_TOKEN_LIFETIME = 90 * 24 * 3600
REFRESH_RECOVERY_WINDOW = 30 * 24 * 3600  # a used refresh token stays usable this long at most
ONLINE_TOKEN_LIFETIME = 86399
AUTH_CODE_LIFETIME = 600
SESSION_TOKEN_LEEWAY = 5

INVALID_ACCESS_TOKEN_MESSAGE = (
    "[API] Invalid API key or access token (unrecognized login or wrong password)"
)
SHOP_DOMAIN_RE = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")


class TokenRequestError(Exception):
    """A refused /admin/oauth/access_token request: OAuth error code + description, HTTP 400."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


class SessionTokenError(Exception):
    pass


def normalize_shop_domain(value: str) -> str:
    """`demo` / `Demo.myshopify.com` / `https://demo.myshopify.com/` → `demo.myshopify.com`."""
    domain = value.strip().lower()
    for prefix in ("https://", "http://"):
        domain = domain.removeprefix(prefix)
    domain = domain.split("/", 1)[0].split(":", 1)[0]
    if "." not in domain:
        domain = f"{domain}.myshopify.com"
    return domain


def is_valid_shop_domain(domain: str) -> bool:
    return bool(SHOP_DOMAIN_RE.match(domain))


def store_handle(shop_domain: str) -> str:
    return shop_domain.split(".", 1)[0]


def admin_host_param(shop_domain: str) -> str:
    """The `host` query parameter Shopify adds to embedded app URLs (base64, no padding)."""
    raw = f"admin.shopify.com/store/{store_handle(shop_domain)}".encode()
    return base64.b64encode(raw).decode().rstrip("=")


def oauth_query_hmac(params: Mapping[str, str], secret: str) -> str:
    """Hex HMAC-SHA256 over the sorted `k=v&k=v` of every parameter but `hmac`/`signature`."""
    message = "&".join(
        f"{key}={params[key]}" for key in sorted(params) if key not in ("hmac", "signature")
    )
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def webhook_hmac(body: bytes, secret: str) -> str:
    """Base64 HMAC-SHA256 of a raw webhook body (the `X-Shopify-Hmac-Sha256` header)."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def mint_session_token(
    *,
    shop_domain: str,
    api_key: str,
    secret: str,
    user_id: int = 1,
    lifetime: int = 60,
    now: float | None = None,
    session_id: str | None = None,
) -> str:
    """An App Bridge session (ID) token, signed HS256 with the app's client secret."""
    issued = int(time.time() if now is None else now)
    claims = {
        "iss": f"https://{shop_domain}/admin",
        "dest": f"https://{shop_domain}",
        "aud": api_key,
        "sub": str(user_id),
        "exp": issued + lifetime,
        "nbf": issued,
        "iat": issued,
        "jti": str(uuid.uuid4()),
        "sid": session_id or secrets.token_hex(16),
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def verify_session_token(
    token: str, *, api_key: str, secrets_: Iterable[str], now: float | None = None
) -> dict[str, Any]:
    """Decode and check a session token the way Shopify's token endpoint would."""
    last_error: Exception | None = None
    for secret in secrets_:
        try:
            claims = jwt.decode(
                token,
                secret,
                algorithms=["HS256"],
                audience=api_key,
                leeway=SESSION_TOKEN_LEEWAY,
                options={"require": ["exp", "nbf", "iat", "iss", "dest", "aud", "sub"]},
            )
        except jwt.InvalidSignatureError as exc:
            last_error = exc
            continue
        except jwt.PyJWTError as exc:
            raise SessionTokenError(str(exc)) from exc
        if now is not None and claims["exp"] + SESSION_TOKEN_LEEWAY < now:
            raise SessionTokenError("Signature has expired")
        dest = urllib.parse.urlsplit(str(claims["dest"])).hostname or ""
        iss = urllib.parse.urlsplit(str(claims["iss"])).hostname or ""
        if not is_valid_shop_domain(dest) or iss != dest:
            raise SessionTokenError("dest/iss do not name the same shop")
        return claims
    raise SessionTokenError(str(last_error or "no secret"))


@dataclass
class AccessToken:
    token: str
    shop: str
    scope: str
    mode: str  # "offline" | "online"
    expires_at: float | None  # None = non-expiring
    user_id: int | None = None
    revoked: bool = False

    @property
    def expiring(self) -> bool:
        return self.expires_at is not None


@dataclass
class RefreshToken:
    token: str
    shop: str
    scope: str
    expires_at: float
    parent: str | None = None
    first_used_at: float | None = None
    revoked: bool = False


@dataclass
class AuthCode:
    code: str
    shop: str
    scope: str
    online: bool
    expires_at: float
    used: bool = False


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes")


class AuthStore:
    """Tokens Shopify has issued to the one configured app, per shop. Thread-safe."""

    def __init__(
        self,
        *,
        api_key: str,
        secrets_: tuple[str, ...],
        scope: str,
        clock: Callable[[], float] = time.time,
        revoke_previous_expiring: bool = True,
    ) -> None:
        self.api_key = api_key
        self.secrets = secrets_
        self.scope = scope
        self.clock = clock
        self.revoke_previous_expiring = revoke_previous_expiring
        self.lock = threading.RLock()
        self.access_tokens: dict[str, AccessToken] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.codes: dict[str, AuthCode] = {}

    # -- issuing -------------------------------------------------------------------------

    def issue_offline(self, *, shop: str, expiring: bool) -> dict[str, Any]:
        """A new offline token; an expiring one replaces every earlier expiring pair."""
        with self.lock:
            now = self.clock()
            if expiring and self.revoke_previous_expiring:
                self._revoke_expiring_access(shop)
                for refresh in self.refresh_tokens.values():
                    if refresh.shop == shop:
                        refresh.revoked = True
            return self._offline_response(shop=shop, expiring=expiring, parent=None, now=now)

    def issue_online(self, *, shop: str, user_id: int) -> dict[str, Any]:
        with self.lock:
            now = self.clock()
            token = AccessToken(
                token=f"shpua_{secrets.token_hex(16)}",
                shop=shop,
                scope=self.scope,
                mode="online",
                expires_at=now + ONLINE_TOKEN_LIFETIME,
                user_id=user_id,
            )
            self.access_tokens[token.token] = token
            return {
                "access_token": token.token,
                "scope": self.scope,
                "expires_in": ONLINE_TOKEN_LIFETIME,
                "associated_user_scope": self.scope,
                "session": secrets.token_hex(16),
                "account_number": user_id,
                "associated_user": {
                    "id": user_id,
                    "first_name": "Emulated",
                    "last_name": f"User {user_id}",
                    "email": f"user{user_id}@example.com",
                    "account_owner": user_id == 1,
                    "locale": "en",
                    "collaborator": False,
                    "email_verified": True,
                },
            }

    def _offline_response(
        self, *, shop: str, expiring: bool, parent: str | None, now: float
    ) -> dict[str, Any]:
        token = AccessToken(
            token=f"{'shpua' if expiring else 'shpat'}_{secrets.token_hex(16)}",
            shop=shop,
            scope=self.scope,
            mode="offline",
            expires_at=now + ACCESS_TOKEN_LIFETIME if expiring else None,
        )
        self.access_tokens[token.token] = token
        body: dict[str, Any] = {"access_token": token.token, "scope": self.scope}
        if expiring:
            refresh = RefreshToken(
                token=f"shprt_{secrets.token_hex(20)}",
                shop=shop,
                scope=self.scope,
                expires_at=now + REFRESH_TOKEN_LIFETIME,
                parent=parent,
            )
            self.refresh_tokens[refresh.token] = refresh
            body.update(
                expires_in=ACCESS_TOKEN_LIFETIME,
                refresh_token=refresh.token,
                refresh_token_expires_in=REFRESH_TOKEN_LIFETIME,
            )
        return body

    def _revoke_expiring_access(self, shop: str) -> None:
        for token in self.access_tokens.values():
            if token.shop == shop and token.mode == "offline" and token.expiring:
                token.revoked = True

    def create_code(self, *, shop: str, online: bool) -> str:
        with self.lock:
            code = secrets.token_hex(16)
            self.codes[code] = AuthCode(
                code=code,
                shop=shop,
                scope=self.scope,
                online=online,
                expires_at=self.clock() + AUTH_CODE_LIFETIME,
            )
            return code

    # -- checking ------------------------------------------------------------------------

    def authenticate(self, *, token: str | None, shop: str) -> AccessToken | None:
        """The live access token for this shop, or None (→ 401)."""
        if not token:
            return None
        with self.lock:
            record = self.access_tokens.get(token)
            if record is None or record.revoked or record.shop != shop:
                return None
            if record.expires_at is not None and record.expires_at <= self.clock():
                return None
            return record

    def revoke_shop(self, shop: str) -> int:
        """Uninstall: every token of the shop stops working. Returns how many were live."""
        with self.lock:
            count = 0
            for record in self.access_tokens.values():
                if record.shop == shop and not record.revoked:
                    record.revoked = True
                    count += 1
            for refresh in self.refresh_tokens.values():
                if refresh.shop == shop:
                    refresh.revoked = True
            return count

    def expire_shop(self, shop: str) -> int:
        """Test hook: make every expiring access token of the shop expired right now."""
        with self.lock:
            now = self.clock()
            count = 0
            for record in self.access_tokens.values():
                if record.shop == shop and record.expiring and not record.revoked:
                    record.expires_at = min(record.expires_at or now, now - 1)
                    count += 1
            return count

    # -- the token endpoint --------------------------------------------------------------

    def token_request(
        self, *, shop: str, params: Mapping[str, Any], shop_exists: bool
    ) -> dict[str, Any]:
        """Handle POST /admin/oauth/access_token. Raises TokenRequestError on refusal."""
        if not shop_exists:
            raise TokenRequestError("invalid_request", "Shop not found", status=404)
        client_id = str(params.get("client_id") or "")
        client_secret = str(params.get("client_secret") or "")
        if client_id != self.api_key or not any(
            hmac.compare_digest(client_secret, secret) for secret in self.secrets
        ):
            raise TokenRequestError(
                "invalid_client", "Client authentication failed: unknown client or bad secret."
            )
        grant_type = str(params.get("grant_type") or "")
        if grant_type == GRANT_TOKEN_EXCHANGE:
            return self._token_exchange(shop=shop, params=params)
        if grant_type == "refresh_token":
            return self._refresh(shop=shop, params=params)
        if grant_type in ("", "authorization_code"):
            return self._authorization_code(shop=shop, params=params)
        raise TokenRequestError("unsupported_grant_type", f"Unsupported grant_type {grant_type!r}.")

    def _token_exchange(self, *, shop: str, params: Mapping[str, Any]) -> dict[str, Any]:
        subject_token_type = str(params.get("subject_token_type") or SUBJECT_TOKEN_TYPE_ID_TOKEN)
        if subject_token_type != SUBJECT_TOKEN_TYPE_ID_TOKEN:
            raise TokenRequestError("invalid_request", "Unsupported subject_token_type.")
        requested = str(params.get("requested_token_type") or TOKEN_TYPE_OFFLINE)
        if requested not in (TOKEN_TYPE_OFFLINE, TOKEN_TYPE_ONLINE):
            raise TokenRequestError("invalid_request", "Unsupported requested_token_type.")
        subject = str(params.get("subject_token") or "")
        try:
            claims = verify_session_token(
                subject, api_key=self.api_key, secrets_=self.secrets, now=self.clock()
            )
        except SessionTokenError as exc:
            raise TokenRequestError(
                "invalid_subject_token",
                "Token exchange cannot be performed due to an invalid subject token.",
            ) from exc
        if urllib.parse.urlsplit(str(claims["dest"])).hostname != shop:
            raise TokenRequestError(
                "invalid_subject_token",
                "Token exchange cannot be performed due to an invalid subject token.",
            )
        if requested == TOKEN_TYPE_ONLINE:
            try:
                user_id = int(claims["sub"])
            except ValueError:
                user_id = 1
            return self.issue_online(shop=shop, user_id=user_id)
        return self.issue_offline(shop=shop, expiring=_truthy(params.get("expiring", "0")))

    def _refresh(self, *, shop: str, params: Mapping[str, Any]) -> dict[str, Any]:
        value = str(params.get("refresh_token") or "")
        with self.lock:
            now = self.clock()
            record = self.refresh_tokens.get(value)
            if (
                record is None
                or record.revoked
                or record.shop != shop
                or record.expires_at <= now
                or (
                    record.first_used_at is not None
                    and record.first_used_at + REFRESH_RECOVERY_WINDOW <= now
                )
            ):
                raise TokenRequestError("invalid_grant", "Token has been expired or revoked.")
            if record.first_used_at is None:
                record.first_used_at = now
            # Using this token retires its predecessor and any sibling issued from that
            # predecessor; this token itself stays valid until its replacement is used.
            for other in self.refresh_tokens.values():
                if other.shop == shop and other.token != record.token:
                    other.revoked = True
            if self.revoke_previous_expiring:
                self._revoke_expiring_access(shop)
            return self._offline_response(shop=shop, expiring=True, parent=record.token, now=now)

    def _authorization_code(self, *, shop: str, params: Mapping[str, Any]) -> dict[str, Any]:
        value = str(params.get("code") or "")
        with self.lock:
            code = self.codes.get(value)
            if code is None or code.used or code.shop != shop or code.expires_at <= self.clock():
                raise TokenRequestError(
                    "invalid_request", "The authorization code was not found or was already used"
                )
            code.used = True
        if code.online:
            return self.issue_online(shop=shop, user_id=1)
        return self.issue_offline(shop=shop, expiring=_truthy(params.get("expiring", "0")))

    # -- snapshots -----------------------------------------------------------------------

    def to_snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "access_tokens": [asdict(t) for t in self.access_tokens.values()],
                "refresh_tokens": [asdict(t) for t in self.refresh_tokens.values()],
            }

    def load_snapshot(self, data: Mapping[str, Any]) -> None:
        with self.lock:
            self.access_tokens = {
                t["token"]: AccessToken(**t) for t in data.get("access_tokens") or ()
            }
            self.refresh_tokens = {
                t["token"]: RefreshToken(**t) for t in data.get("refresh_tokens") or ()
            }
            self.codes = {}

    def reset(self) -> None:
        with self.lock:
            self.access_tokens.clear()
            self.refresh_tokens.clear()
            self.codes.clear()
