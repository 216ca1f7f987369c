"""App Bridge session (ID) tokens: the JWT that authenticates every embedded request.

HS256, signed with the app's client secret; `aud` is our client id; `dest` names the shop; one
minute of life, checked with 10 s of clock leeway. Every failure is a `SessionTokenError`
subclass (never an `assert`), so the view can answer 401 with
`X-Shopify-Retry-Invalid-Session-Request: 1`.

ShopifyAPI decodes (`shopify.session_token.decode_from_header`, one secret per call): the HS256
signature, `aud` via PyJWT (equal to, or a list holding, the API key), `exp`/`nbf`/`iat` *if
present* with a fixed 10 s leeway, the claims iss, dest, sub, jti and sid present, `iss` on
*.myshopify.com, and `iss` and `dest` naming the same https://host/.

We add on top, because ShopifyAPI is looser there:
* secret rotation: the current secret, then the previous one (ShopifyAPI takes one secret);
* `exp`, `nbf`, `iat` and `aud` required (PyJWT checks only those present: a token without
  `exp` would never expire), and `aud` exactly our API key, not a list holding it;
* our `leeway` on `exp` and `nbf` (the default equals ShopifyAPI's 10 s; it can only tighten it);
* `dest`'s host a valid shop domain: it is the shop we act for, ShopifyAPI vets only `iss`;
* typed errors: ShopifyAPI raises one `SessionTokenError` for every PyJWT failure; we map its
  cause to ours, so callers and logs tell an expired token from a forged one.
ShopifyAPI keeps no state here (no `Session.setup`): key and secret are passed on each call.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import jwt
from django.conf import settings
from shopify import session_token as shopify_session_token

from syncer.shopify.domains import shop_domain_is_valid

LEEWAY_SECONDS = 10
# Ours; ShopifyAPI also requires `jti` and `sid` (shopify_session_token.REQUIRED_FIELDS).
REQUIRED_CLAIMS = ("iss", "dest", "aud", "sub", "exp", "nbf", "iat")


class SessionTokenError(Exception):
    """The session token cannot be trusted; fetch a new one from App Bridge."""


class SessionTokenMalformed(SessionTokenError):
    pass


class SessionTokenExpired(SessionTokenError):
    pass


class SessionTokenNotYetValid(SessionTokenError):
    pass


class SessionTokenInvalidSignature(SessionTokenError):
    pass


class SessionTokenInvalidAudience(SessionTokenError):
    pass


class SessionTokenInvalidShop(SessionTokenError):
    """`dest` is not a shop domain, or `iss` names another shop."""


@dataclass(frozen=True)
class SessionToken:
    shop_domain: str
    user_id: str
    session_id: str | None
    expires_at: int
    claims: dict[str, Any]


def _host(url: Any) -> str:
    return urllib.parse.urlsplit(str(url)).hostname or ""


def session_token_from_header(authorization: str | None) -> str:
    """The token from an `Authorization: Bearer <token>` header."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise SessionTokenMalformed("Missing 'Authorization: Bearer <session token>'")
    return token.strip()


def session_token_decode(
    token: str,
    *,
    api_key: str | None = None,
    secrets: Iterable[str] | None = None,
    leeway: int = LEEWAY_SECONDS,
) -> SessionToken:
    """Verify a session token and return who it is for. Raises a `SessionTokenError`.

    Tries the current client secret, then the previous one (secret rotation).
    """
    audience = api_key or settings.SHOPIFY_API_KEY
    keys = [s for s in (secrets if secrets is not None else _default_secrets()) if s]
    if not keys:
        raise SessionTokenInvalidSignature("No client secret configured")
    claims = _shopify_decode(token, audience=audience, keys=keys)
    _claims_check(claims, audience=audience, leeway=leeway)
    return SessionToken(
        shop_domain=_host(claims["dest"]),
        user_id=str(claims["sub"]),
        session_id=claims.get("sid"),
        expires_at=int(claims["exp"]),
        claims=claims,
    )


def _shopify_decode(token: str, *, audience: str, keys: list[str]) -> dict[str, Any]:
    """ShopifyAPI's checks, once per secret until the signature matches."""
    for key in keys:
        try:
            claims: dict[str, Any] = shopify_session_token.decode_from_header(
                f"Bearer {token}", audience, key
            )
        except shopify_session_token.SessionTokenError as exc:
            if isinstance(exc.__cause__, jwt.InvalidSignatureError):
                continue
            raise _error_from_shopify(exc) from exc
        except TypeError as exc:  # `iss` or `dest` is not a string
            raise SessionTokenMalformed(f"iss/dest are not URLs: {exc}") from exc
        return claims
    raise SessionTokenInvalidSignature("Signature verification failed")


def _error_from_shopify(exc: Exception) -> SessionTokenError:
    message = str(exc)
    if isinstance(
        exc, shopify_session_token.InvalidIssuerError | shopify_session_token.MismatchedHostsError
    ):
        return SessionTokenInvalidShop(message)
    cause = exc.__cause__
    if isinstance(cause, jwt.ExpiredSignatureError):
        return SessionTokenExpired(message)
    if isinstance(cause, jwt.ImmatureSignatureError):
        return SessionTokenNotYetValid(message)
    if isinstance(cause, jwt.InvalidAudienceError):
        return SessionTokenInvalidAudience(message)
    return SessionTokenMalformed(message)


def _claims_check(claims: dict[str, Any], *, audience: str, leeway: int) -> None:
    """Our checks on top of ShopifyAPI's (see the module docstring)."""
    missing = [claim for claim in REQUIRED_CLAIMS if claims.get(claim) is None]
    if missing:
        raise SessionTokenMalformed(f"Token is missing the {missing[0]!r} claim")
    if claims["aud"] != audience:
        raise SessionTokenInvalidAudience("Audience doesn't match")
    now = time.time()
    if int(claims["exp"]) <= now - leeway:
        raise SessionTokenExpired("Signature has expired")
    if int(claims["nbf"]) > now + leeway:
        raise SessionTokenNotYetValid("The token is not yet valid (nbf)")
    if not shop_domain_is_valid(_host(claims["dest"])):
        raise SessionTokenInvalidShop(f"dest {claims['dest']!r} is not a shop domain")


def _default_secrets() -> list[str]:
    return [settings.SHOPIFY_API_SECRET, settings.SHOPIFY_API_SECRET_PREVIOUS]
