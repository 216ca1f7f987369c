"""Shopify auth as the emulator serves it: token exchange, refresh, OAuth code grant, 401s."""

from __future__ import annotations

import hashlib
import hmac
import time
import urllib.parse

import httpx
import jwt
import pytest

from shopify_emulator.app import create_app
from shopify_emulator.auth import (
    INVALID_ACCESS_TOKEN_MESSAGE,
    admin_host_param,
    mint_session_token,
)
from shopify_emulator.config import EmulatorConfig

SECRET = "test-client-secret-0123456789abcdef0123"
PREVIOUS_SECRET = "old-client-secret-0123456789abcdef01234"
API_KEY = "test-client-id"
SHOP = "demo.myshopify.com"
EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
OFFLINE = "urn:shopify:params:oauth:token-type:offline-access-token"
ONLINE = "urn:shopify:params:oauth:token-type:online-access-token"
SHOP_QUERY = {"query": "{ shop { name } }"}


@pytest.fixture
def emulator():
    app = create_app(
        config=EmulatorConfig(
            app_secret=SECRET,
            previous_secret=PREVIOUS_SECRET,
            api_key=API_KEY,
            app_url="https://app.example.com",
            scopes=("read_products", "write_inventory"),
            deliver_webhooks=False,
        )
    )
    client = httpx.Client(transport=httpx.WSGITransport(app=app), base_url=f"http://{SHOP}")
    created = client.post("/_emulator/shops", json={"domain": SHOP, "name": "Demo"})
    assert created.status_code == 201
    client.post("/_emulator/shops", json={"domain": "other.myshopify.com", "name": "Other"})
    yield app, client
    client.close()


def exchange(client, subject_token, **extra):
    body = {
        "client_id": API_KEY,
        "client_secret": SECRET,
        "grant_type": EXCHANGE,
        "subject_token": subject_token,
        "subject_token_type": ID_TOKEN_TYPE,
        "requested_token_type": OFFLINE,
        "expiring": "1",
        **extra,
    }
    return client.post("/admin/oauth/access_token", json=body)


def graphql(client, token):
    return client.post(
        "/admin/api/2026-07/graphql.json",
        json=SHOP_QUERY,
        headers={"X-Shopify-Access-Token": token},
    )


def test_minted_session_token_has_shopify_claims():
    # Given a session token minted for a shop
    token = mint_session_token(
        shop_domain=SHOP, api_key=API_KEY, secret=SECRET, user_id=42, now=1_800_000_000
    )

    # When it is decoded with the client secret
    claims = jwt.decode(
        token,
        SECRET,
        algorithms=["HS256"],
        audience=API_KEY,
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )

    # Then it carries App Bridge's claims with a 60 s life
    assert claims["iss"] == f"https://{SHOP}/admin"
    assert claims["dest"] == f"https://{SHOP}"
    assert claims["aud"] == API_KEY
    assert claims["sub"] == "42"
    assert claims["iat"] == claims["nbf"] == 1_800_000_000
    assert claims["exp"] == 1_800_000_060
    assert set(claims) == {"iss", "dest", "aud", "sub", "exp", "nbf", "iat", "jti", "sid"}
    assert jwt.get_unverified_header(token)["alg"] == "HS256"


def test_token_exchange_returns_expiring_offline_token_that_works_on_graphql(emulator):
    app, client = emulator
    # Given a fresh session token from the emulated admin
    session = client.post(f"/_emulator/shops/{SHOP}/session-token").json()["token"]

    # When the app exchanges it for an expiring offline token
    response = exchange(client, session)

    # Then Shopify's expiring-token shape comes back
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "access_token",
        "scope",
        "expires_in",
        "refresh_token",
        "refresh_token_expires_in",
    }
    assert body["scope"] == "read_products,write_inventory"
    assert body["expires_in"] == 3600
    assert body["refresh_token_expires_in"] == 90 * 24 * 3600
    # and the access token is accepted by the Admin API of that shop only
    assert graphql(client, body["access_token"]).status_code == 200
    other = httpx.Client(transport=client._transport, base_url="http://other.myshopify.com")
    assert graphql(other, body["access_token"]).status_code == 401


def test_token_exchange_without_expiring_returns_non_expiring_token(emulator):
    _, client = emulator
    session = client.post(f"/_emulator/shops/{SHOP}/session-token").json()["token"]

    response = exchange(client, session, expiring="0")

    assert response.status_code == 200
    assert set(response.json()) == {"access_token", "scope"}


def test_token_exchange_online_token_names_the_user(emulator):
    _, client = emulator
    session = client.post(f"/_emulator/shops/{SHOP}/session-token", json={"user_id": 7}).json()

    response = exchange(client, session["token"], requested_token_type=ONLINE)

    assert response.status_code == 200
    body = response.json()
    assert body["associated_user"]["id"] == 7
    assert body["expires_in"] == 86399
    assert body["associated_user_scope"] == "read_products,write_inventory"


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(
            lambda: mint_session_token(
                shop_domain=SHOP, api_key=API_KEY, secret=SECRET, now=time.time() - 120
            ),
            id="expired",
        ),
        pytest.param(
            lambda: mint_session_token(
                shop_domain=SHOP, api_key=API_KEY, secret="forged-secret-0123456789abcdef0123"
            ),
            id="forged",
        ),
        pytest.param(
            lambda: mint_session_token(shop_domain=SHOP, api_key="someone-else", secret=SECRET),
            id="wrong-audience",
        ),
        pytest.param(
            lambda: mint_session_token(
                shop_domain="other.myshopify.com", api_key=API_KEY, secret=SECRET
            ),
            id="other-shop",
        ),
        pytest.param(lambda: "not-a-jwt", id="garbage"),
    ],
)
def test_token_exchange_refuses_bad_session_tokens_with_400(emulator, make_token):
    app, client = emulator
    # When the app exchanges a bad session token
    response = exchange(client, make_token())

    # Then Shopify's 400 comes back and no token was issued
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_subject_token",
        "error_description": "Token exchange cannot be performed due to an invalid subject token.",
    }
    assert [t for t in app.auth.access_tokens.values() if t.expiring] == []


def test_token_exchange_accepts_form_encoding_and_previous_secret(emulator):
    _, client = emulator
    session = mint_session_token(shop_domain=SHOP, api_key=API_KEY, secret=PREVIOUS_SECRET)

    response = client.post(
        "/admin/oauth/access_token",
        data={
            "client_id": API_KEY,
            "client_secret": PREVIOUS_SECRET,
            "grant_type": EXCHANGE,
            "subject_token": session,
            "subject_token_type": ID_TOKEN_TYPE,
            "requested_token_type": OFFLINE,
            "expiring": "1",
        },
    )

    assert response.status_code == 200
    assert response.json()["expires_in"] == 3600


def test_token_endpoint_refuses_wrong_client_secret(emulator):
    _, client = emulator
    session = client.post(f"/_emulator/shops/{SHOP}/session-token").json()["token"]

    response = exchange(client, session, client_secret="nope")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client"


def test_token_endpoint_for_unknown_shop_is_404(emulator):
    _, client = emulator
    response = client.post(
        "/shops/ghost.myshopify.com/admin/oauth/access_token",
        json={"client_id": API_KEY, "client_secret": SECRET, "code": "x"},
    )
    assert response.status_code == 404


def refresh(client, refresh_token):
    return client.post(
        "/admin/oauth/access_token",
        json={
            "client_id": API_KEY,
            "client_secret": SECRET,
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
        },
    )


def test_refresh_rotates_and_keeps_previous_refresh_token_until_replacement_is_used(emulator):
    _, client = emulator
    session = client.post(f"/_emulator/shops/{SHOP}/session-token").json()["token"]
    first = exchange(client, session).json()

    # When the app refreshes
    second = refresh(client, first["refresh_token"])

    # Then a new pair is issued and the old access token stops working
    assert second.status_code == 200
    second = second.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["expires_in"] == 3600
    assert graphql(client, second["access_token"]).status_code == 200
    assert graphql(client, first["access_token"]).status_code == 401

    # And the previous refresh token still works while its replacement is unused (lost reply)
    retry = refresh(client, first["refresh_token"])
    assert retry.status_code == 200
    retry = retry.json()

    # When the replacement is used, the previous refresh token is retired
    third = refresh(client, retry["refresh_token"])
    assert third.status_code == 200
    stale = refresh(client, first["refresh_token"])
    assert stale.status_code == 400
    assert stale.json() == {
        "error": "invalid_grant",
        "error_description": "Token has been expired or revoked.",
    }


def test_new_token_exchange_revokes_previous_expiring_pair(emulator):
    _, client = emulator
    first = exchange(client, client.post(f"/_emulator/shops/{SHOP}/session-token").json()["token"])
    second = exchange(client, client.post(f"/_emulator/shops/{SHOP}/session-token").json()["token"])

    assert graphql(client, first.json()["access_token"]).status_code == 401
    assert graphql(client, second.json()["access_token"]).status_code == 200
    assert refresh(client, first.json()["refresh_token"]).status_code == 400


def test_bad_access_token_gets_shopify_401(emulator):
    _, client = emulator

    response = graphql(client, "shpat_wrong")

    assert response.status_code == 401
    assert response.json() == {"errors": INVALID_ACCESS_TOKEN_MESSAGE}
    assert INVALID_ACCESS_TOKEN_MESSAGE == (
        "[API] Invalid API key or access token (unrecognized login or wrong password)"
    )


def test_expired_access_token_is_refused_and_refresh_recovers(emulator):
    _, client = emulator
    session = client.post(f"/_emulator/shops/{SHOP}/session-token").json()["token"]
    pair = exchange(client, session).json()

    # Given the shop's expiring tokens have run out
    expired = client.post(f"/_emulator/shops/{SHOP}/tokens/expire")
    assert expired.json() == {"expired": 1}

    # Then the Admin API refuses the token, and a refresh brings access back
    assert graphql(client, pair["access_token"]).status_code == 401
    fresh = refresh(client, pair["refresh_token"]).json()
    assert graphql(client, fresh["access_token"]).status_code == 200


def test_unknown_shop_is_404_before_auth(emulator):
    _, client = emulator
    ghost = httpx.Client(transport=client._transport, base_url="http://ghost.myshopify.com")

    response = graphql(ghost, "anything")

    assert response.status_code == 404
    assert response.json() == {"errors": "Not Found"}


def test_authorization_code_flow_with_hex_hmac(emulator):
    _, client = emulator
    # When the merchant approves the app on the authorize page
    response = client.get(
        "/admin/oauth/authorize",
        params={
            "client_id": API_KEY,
            "scope": "read_products,write_inventory",
            "redirect_uri": "https://app.example.com/auth/callback",
            "state": "nonce-123",
        },
    )

    # Then Shopify redirects back with code, host, shop, state, timestamp and a hex hmac
    assert response.status_code == 302
    location = urllib.parse.urlsplit(response.headers["Location"])
    assert (location.scheme, location.netloc, location.path) == (
        "https",
        "app.example.com",
        "/auth/callback",
    )
    params = dict(urllib.parse.parse_qsl(location.query))
    assert set(params) == {"code", "hmac", "host", "shop", "state", "timestamp"}
    assert params["shop"] == SHOP
    assert params["state"] == "nonce-123"
    assert params["host"] == admin_host_param(SHOP)
    assert abs(int(params["timestamp"]) - time.time()) < 5
    message = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "hmac")
    expected = hmac.new(SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()
    assert hmac.compare_digest(params["hmac"], expected)

    # And the code is exchanged once for an offline token that works
    body = {"client_id": API_KEY, "client_secret": SECRET, "code": params["code"]}
    token = client.post("/admin/oauth/access_token", json=body)
    assert token.status_code == 200
    assert set(token.json()) == {"access_token", "scope"}
    assert graphql(client, token.json()["access_token"]).status_code == 200
    reused = client.post("/admin/oauth/access_token", json=body)
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_request"


def test_authorize_refuses_foreign_redirect_uri(emulator):
    _, client = emulator
    response = client.get(
        "/admin/oauth/authorize",
        params={
            "client_id": API_KEY,
            "scope": "read_products",
            "redirect_uri": "https://evil.example.net/callback",
            "state": "x",
        },
    )
    assert response.status_code == 400
    assert "redirect_uri" in response.json()["error"]


def test_admin_host_param_is_unpadded_base64_of_admin_store_path():
    assert (
        admin_host_param("my-store.myshopify.com") == "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvbXktc3RvcmU"
    )
