"""App Bridge session (ID) tokens: the JWT that authenticates every embedded request.

HS256, signed with the app's client secret; `aud` is our client id; `dest` names the shop; one
minute of life, checked with 10 s of clock leeway. Every failure is a `SessionTokenError`
subclass (never an `assert`), so the view can answer 401 with
`X-Shopify-Retry-Invalid-Session-Request: 1`.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import jwt
from django.conf import settings

from syncer.shopify.oauth import shop_domain_is_valid

LEEWAY_SECONDS = 10
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
    claims: dict[str, Any] | None = None
    for key in keys:
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=["HS256"],
                audience=audience,
                leeway=leeway,
                options={"require": list(REQUIRED_CLAIMS)},
            )
            break
        except jwt.InvalidSignatureError:
            continue
        except jwt.ExpiredSignatureError as exc:
            raise SessionTokenExpired(str(exc)) from exc
        except jwt.ImmatureSignatureError as exc:
            raise SessionTokenNotYetValid(str(exc)) from exc
        except jwt.InvalidAudienceError as exc:
            raise SessionTokenInvalidAudience(str(exc)) from exc
        except jwt.PyJWTError as exc:
            raise SessionTokenMalformed(str(exc)) from exc
    if claims is None:
        raise SessionTokenInvalidSignature("Signature verification failed")
    shop = _host(claims["dest"])
    if not shop_domain_is_valid(shop):
        raise SessionTokenInvalidShop(f"dest {claims['dest']!r} is not a shop domain")
    if _host(claims["iss"]) != shop:
        raise SessionTokenInvalidShop("iss and dest name different shops")
    return SessionToken(
        shop_domain=shop,
        user_id=str(claims["sub"]),
        session_id=claims.get("sid"),
        expires_at=int(claims["exp"]),
        claims=claims,
    )


def _default_secrets() -> list[str]:
    return [settings.SHOPIFY_API_SECRET, settings.SHOPIFY_API_SECRET_PREVIOUS]
