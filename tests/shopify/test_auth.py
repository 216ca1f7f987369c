"""Session tokens, webhook and OAuth query HMACs, token exchange and refresh, against the
emulator's real token endpoint and tokens it minted."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
import urllib.parse
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import jwt
import pytest
import shopify
from django.conf import settings

from shopify_emulator import auth as emulator_auth
from syncer.shopify.errors import ShopifyAuthError
from syncer.shopify.oauth import (
    OfflineToken,
    authorization_code_exchange,
    authorize_url,
    host_param_decode,
    query_hmac,
    query_hmac_is_valid,
    shop_domain_is_valid,
    shop_domain_normalize,
    token_exchange,
    token_refresh,
)
from syncer.shopify.session_tokens import (
    SessionTokenExpired,
    SessionTokenInvalidAudience,
    SessionTokenInvalidShop,
    SessionTokenInvalidSignature,
    SessionTokenMalformed,
    SessionTokenNotYetValid,
    session_token_decode,
    session_token_from_header,
)
from syncer.shopify.tokens import access_token_fresh
from syncer.shopify.webhook_hmac import webhook_hmac, webhook_hmac_is_valid

# Test secrets are shorter than Shopify's real ones.
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

# -- session tokens --------------------------------------------------------------------------


def _mint(**overrides):
    values = {
        "shop_domain": "demo.myshopify.com",
        "api_key": settings.SHOPIFY_API_KEY,
        "secret": settings.SHOPIFY_API_SECRET,
    }
    values.update(overrides)
    return emulator_auth.mint_session_token(**values)


def test_session_token_minted_by_the_emulator_is_accepted(emulator, shop):
    # Given a session token App Bridge would hand the embedded page
    token = emulator.session_token(shop["domain"], user_id=42)
    # When it is decoded
    session = session_token_decode(token)
    # Then the shop comes from `dest` and the user from `sub`
    assert session.shop_domain == shop["domain"]
    assert session.user_id == "42"
    assert session.claims["aud"] == settings.SHOPIFY_API_KEY


def test_session_token_expired_beyond_the_leeway_is_rejected():
    token = _mint(now=time.time() - 60 - 11)  # 60 s life ended 11 s ago; leeway is 10 s
    with pytest.raises(SessionTokenExpired):
        session_token_decode(token)


def test_session_token_expired_within_the_leeway_is_accepted():
    token = _mint(now=time.time() - 60 - 5)
    assert session_token_decode(token).shop_domain == "demo.myshopify.com"


def test_session_token_for_another_app_is_rejected():
    token = _mint(api_key="someone-elses-client-id")
    with pytest.raises(SessionTokenInvalidAudience):
        session_token_decode(token)


def test_session_token_signed_with_another_secret_is_rejected():
    token = _mint(secret="not-our-secret")
    with pytest.raises(SessionTokenInvalidSignature):
        session_token_decode(token)


def test_session_token_signed_with_the_previous_secret_is_accepted_during_rotation():
    token = _mint(secret="old-secret")
    session = session_token_decode(token, secrets=[settings.SHOPIFY_API_SECRET, "old-secret"])
    assert session.shop_domain == "demo.myshopify.com"


def _signed(*, drop=(), **overrides):
    """A session token signed with our secret, with claims changed or dropped at will."""
    now = int(time.time())
    claims = {
        "iss": "https://demo.myshopify.com/admin",
        "dest": "https://demo.myshopify.com",
        "aud": settings.SHOPIFY_API_KEY,
        "sub": "1",
        "exp": now + 60,
        "nbf": now,
        "iat": now,
        "jti": "4c1f0b0e-0000-4000-8000-000000000000",
        "sid": "0123456789abcdef",
    }
    claims.update(overrides)
    for name in drop:
        del claims[name]
    return jwt.encode(claims, settings.SHOPIFY_API_SECRET, algorithm="HS256")


def test_session_token_with_a_dest_that_is_no_shop_is_rejected():
    token = _signed(iss="https://evil.example.com/admin", dest="https://evil.example.com")
    with pytest.raises(SessionTokenInvalidShop):
        session_token_decode(token)


# ShopifyAPI decodes the token; these are the checks we keep on top of it (see session_tokens.py)


def test_a_well_formed_token_passes_both_shopifyapi_and_our_checks():
    session = session_token_decode(_signed(sub="7", sid="s-1"))
    assert (session.shop_domain, session.user_id, session.session_id) == (
        "demo.myshopify.com", "7", "s-1")


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
def test_session_token_without_a_time_claim_is_rejected(claim):
    # PyJWT (under ShopifyAPI) checks exp/nbf/iat only when present: a token without `exp`
    # would never expire
    with pytest.raises(SessionTokenMalformed) as caught:
        session_token_decode(_signed(drop=[claim]))
    assert claim in str(caught.value)


def test_session_token_whose_audience_is_a_list_holding_our_key_is_rejected():
    # PyJWT accepts `aud: [..., our key]`; Shopify's `aud` is exactly our client id
    token = _signed(aud=[settings.SHOPIFY_API_KEY, "someone-else"])
    with pytest.raises(SessionTokenInvalidAudience):
        session_token_decode(token)


def test_session_token_leeway_can_be_tightened():
    now = int(time.time())
    token = _signed(iat=now - 65, nbf=now - 65, exp=now - 5)  # expired 5 s ago
    assert session_token_decode(token).shop_domain == "demo.myshopify.com"  # 10 s leeway
    with pytest.raises(SessionTokenExpired):
        session_token_decode(token, leeway=0)


def test_session_token_not_yet_valid_is_rejected_as_such():
    now = int(time.time())
    with pytest.raises(SessionTokenNotYetValid):
        session_token_decode(_signed(nbf=now + 30, iat=now, exp=now + 90))


def test_session_token_whose_iss_names_another_shop_is_rejected():
    token = _signed(iss="https://other.myshopify.com/admin")
    with pytest.raises(SessionTokenInvalidShop):
        session_token_decode(token)


def test_session_token_with_a_non_string_dest_is_malformed():
    with pytest.raises(SessionTokenMalformed):
        session_token_decode(_signed(dest=12345))


def test_session_token_needs_a_secret_and_tries_each_one():
    with pytest.raises(SessionTokenInvalidSignature):
        session_token_decode(_signed(), secrets=["", ""])
    token = _signed()
    assert session_token_decode(token, secrets=["wrong", settings.SHOPIFY_API_SECRET])
    with pytest.raises(SessionTokenInvalidSignature):
        session_token_decode(token, secrets=["wrong", "also-wrong"])


def test_session_token_garbage_and_missing_header_are_rejected():
    with pytest.raises(SessionTokenMalformed):
        session_token_decode("not-a-jwt")
    with pytest.raises(SessionTokenMalformed):
        session_token_from_header(None)
    with pytest.raises(SessionTokenMalformed):
        session_token_from_header("Basic abc")
    assert session_token_from_header("Bearer abc.def.ghi") == "abc.def.ghi"


# -- webhook HMAC (base64 over the raw body) -------------------------------------------------

BODY = b'{"id":1,"inventory_item_id":2,"available":5}'


def test_webhook_hmac_with_the_current_secret_is_accepted():
    header = emulator_auth.webhook_hmac(BODY, settings.SHOPIFY_API_SECRET)
    assert webhook_hmac_is_valid(BODY, header) is True
    assert webhook_hmac(BODY, settings.SHOPIFY_API_SECRET) == header


def test_webhook_hmac_with_the_previous_secret_is_accepted_during_rotation():
    header = emulator_auth.webhook_hmac(BODY, "previous-secret")
    assert webhook_hmac_is_valid(BODY, header, secrets=["new-secret", "previous-secret"]) is True


def test_webhook_hmac_uses_the_previous_secret_from_settings(settings):
    settings.SHOPIFY_API_SECRET_PREVIOUS = "rotated-out-secret"
    header = emulator_auth.webhook_hmac(BODY, "rotated-out-secret")
    assert webhook_hmac_is_valid(BODY, header) is True


def test_webhook_hmac_with_another_secret_or_body_is_rejected():
    header = emulator_auth.webhook_hmac(BODY, "someone-else")
    assert webhook_hmac_is_valid(BODY, header) is False
    good = emulator_auth.webhook_hmac(BODY, settings.SHOPIFY_API_SECRET)
    assert webhook_hmac_is_valid(BODY + b" ", good) is False
    assert webhook_hmac_is_valid(BODY, None) is False
    assert webhook_hmac_is_valid(BODY, "") is False
    # The hex form (OAuth query style) is not the base64 webhook form
    assert webhook_hmac_is_valid(BODY, base64.b64decode(good).hex()) is False


# -- OAuth query HMAC (hex) and shop domains -------------------------------------------------


def test_query_hmac_from_the_emulators_authorize_redirect_is_accepted(emulator, shop):
    # Given the merchant approved the install on the (emulated) Shopify authorize page
    url = authorize_url(
        shop_domain=shop["domain"],
        redirect_uri="http://127.0.0.1:8000/auth/callback",
        state="nonce-123",
    )
    path = urllib.parse.urlsplit(url)
    response = emulator.control.get(f"/shops/{shop['domain']}{path.path}?{path.query}")
    assert response.status_code == 302
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(response.headers["Location"]).query))
    # When our callback checks the query
    # Then the hex HMAC and the timestamp are good
    assert query["state"] == "nonce-123"
    assert query_hmac_is_valid(query) is True
    # And tampering with any parameter breaks it
    assert query_hmac_is_valid({**query, "shop": "other.myshopify.com"}) is False
    # And the code becomes an offline token
    with emulator.client(budget=None) as admin:
        token = authorization_code_exchange(
            shop_domain=shop["domain"], code=query["code"], client=admin
        )
    assert token.access_token.startswith("shpua_")
    assert token.refresh_token.startswith("shprt_")


def test_query_hmac_older_than_90_seconds_is_rejected():
    params = {"shop": "demo.myshopify.com", "timestamp": str(int(time.time()) - 91)}
    params["hmac"] = query_hmac(params, settings.SHOPIFY_API_SECRET)
    assert query_hmac_is_valid(params) is False
    params["timestamp"] = str(int(time.time()))
    params["hmac"] = query_hmac(params, settings.SHOPIFY_API_SECRET)
    assert query_hmac_is_valid(params) is True


def test_query_hmac_from_the_future_is_rejected():
    # ShopifyAPI's validate_params refuses only timestamps over a day old; we want 90 s both ways
    params = {"shop": "demo.myshopify.com", "timestamp": str(int(time.time()) + 91)}
    params["hmac"] = query_hmac(params, settings.SHOPIFY_API_SECRET)
    assert query_hmac_is_valid(params) is False
    assert query_hmac_is_valid(params, now=time.time() + 91) is True


def test_query_hmac_with_the_previous_secret_is_accepted_during_rotation():
    params = {"shop": "demo.myshopify.com", "timestamp": str(int(time.time()))}
    params["hmac"] = query_hmac(params, "previous-secret")
    assert query_hmac_is_valid(params, secrets=["new-secret", "previous-secret"]) is True
    assert query_hmac_is_valid(params, secrets=["new-secret"]) is False
    assert query_hmac_is_valid(params, secrets=[]) is False


def test_query_hmac_reads_django_query_lists_and_upper_case_hex():
    params = {"shop": ["demo.myshopify.com"], "timestamp": [str(int(time.time()))]}
    given = query_hmac(params, settings.SHOPIFY_API_SECRET)
    assert given == query_hmac({k: v[0] for k, v in params.items()}, settings.SHOPIFY_API_SECRET)
    assert query_hmac_is_valid({**params, "hmac": [given.upper()]}) is True
    assert query_hmac_is_valid({**params, "hmac": []}) is False
    assert query_hmac_is_valid({**params, "timestamp": ["soon"], "hmac": [given]}) is False


def test_query_hmac_signs_the_message_the_way_shopify_documents_it():
    # every parameter but hmac (and signature), sorted; `ids[]` as a JSON list under `ids`;
    # `&` and `%` escaped in values, `=` in keys
    secret = "hush"
    params = {"shop": "a.myshopify.com", "ids[]": ["1", "2"], "note": "x&y%z", "k=v": "1",
              "signature": "legacy", "hmac": "ignored"}
    message = 'ids=["1", "2"]&k%3Dv=1&note=x%26y%25z&shop=a.myshopify.com'
    expected = hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()
    assert query_hmac(params, secret) == expected


def test_query_hmac_never_writes_shopifyapis_global_session_secret():
    # `shopify.Session.setup(secret=...)` is process-wide; concurrent checks with different
    # secrets must not see each other's, so we never set it
    params = {"shop": "demo.myshopify.com", "timestamp": str(int(time.time()))}
    signed = {secret: {**params, "hmac": query_hmac(params, secret)} for secret in ("a", "b")}
    results: list[bool] = []

    def check(secret: str, other: str) -> None:
        for _ in range(200):
            results.append(query_hmac_is_valid(signed[secret], secrets=[secret]))
            results.append(not query_hmac_is_valid(signed[other], secrets=[secret]))

    threads = [threading.Thread(target=check, args=pair) for pair in (("a", "b"), ("b", "a"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results == [True] * 800
    assert shopify.Session.secret is None


def test_shop_domains_are_validated_and_normalised():
    assert shop_domain_is_valid("demo-shop.myshopify.com") is True
    assert shop_domain_is_valid("demo.myshopify.com.evil.com") is False
    assert shop_domain_is_valid("https://demo.myshopify.com") is False
    assert shop_domain_is_valid("") is False
    assert shop_domain_normalize("https://Demo.myshopify.com/") == "demo.myshopify.com"
    assert shop_domain_normalize("demo") == "demo.myshopify.com"
    assert shop_domain_normalize("demo.myshopify.com/admin") is None
    assert shop_domain_normalize("evil.com") is None


def test_host_param_is_decoded_only_for_shopify_admin_hosts():
    host = emulator_auth.admin_host_param("demo.myshopify.com")
    assert host_param_decode(host) == "admin.shopify.com/store/demo"
    evil = base64.b64encode(b"evil.example.com/admin").decode()
    assert host_param_decode(evil) is None


# -- token exchange and refresh --------------------------------------------------------------


def test_token_exchange_with_a_session_token_gives_an_expiring_offline_token(emulator, shop):
    # Given a session token from App Bridge
    session_token = emulator.session_token(shop["domain"])
    before = datetime.now(UTC)
    # When we exchange it
    with emulator.client(budget=None) as admin:
        token = token_exchange(
            shop_domain=shop["domain"], session_token=session_token, client=admin
        )
    # Then we hold an expiring offline token and its refresh token
    assert token.access_token.startswith("shpua_")
    assert token.refresh_token.startswith("shprt_")
    assert before + timedelta(seconds=3599) <= token.expires_at
    assert token.expires_at <= datetime.now(UTC) + timedelta(seconds=3600)
    assert token.refresh_token_expires_at - token.expires_at == timedelta(seconds=90 * 86400 - 3600)
    # And the token opens the Admin API
    with emulator.client(budget=None) as admin:
        data = admin.execute(
            shop_domain=shop["domain"], access_token=token.access_token, document="shop_info"
        )
    assert data["shop"]["myshopifyDomain"] == shop["domain"]


def test_token_exchange_with_a_bad_session_token_is_an_auth_error(emulator, shop):
    bad = _mint(shop_domain=shop["domain"], secret="wrong")
    with emulator.client(budget=None) as admin, pytest.raises(ShopifyAuthError) as caught:
        token_exchange(shop_domain=shop["domain"], session_token=bad, client=admin)
    assert caught.value.status_code == 400
    assert caught.value.error_code == "invalid_subject_token"
    assert "invalid subject token" in str(caught.value)


def test_refresh_replaces_both_tokens(emulator, shop):
    with emulator.client(budget=None) as admin:
        first = token_exchange(
            shop_domain=shop["domain"],
            session_token=emulator.session_token(shop["domain"]),
            client=admin,
        )
        second = token_refresh(
            shop_domain=shop["domain"], refresh_token=first.refresh_token, client=admin
        )
    assert second.access_token != first.access_token
    assert second.refresh_token != first.refresh_token
    assert emulator.app.auth.authenticate(token=second.access_token, shop=shop["domain"])
    assert emulator.app.auth.authenticate(token=first.access_token, shop=shop["domain"]) is None


class TokenRow:
    """Stands in for the Shop row that will hold tokens: load/store under a DB-like lock."""

    def __init__(self, token: OfflineToken) -> None:
        self.token = token
        self.stores: list[OfflineToken] = []
        self.lock = threading.Lock()

    def load(self) -> OfflineToken:
        with self.lock:
            return self.token

    def store(self, token: OfflineToken) -> None:
        with self.lock:
            self.token = token
            self.stores.append(token)


def test_two_workers_refreshing_at_once_refresh_exactly_once(emulator, shop, redis_db):
    # Given a stored token that expires within the refresh margin
    with emulator.client(budget=None) as admin:
        issued = token_exchange(
            shop_domain=shop["domain"],
            session_token=emulator.session_token(shop["domain"]),
            client=admin,
        )
        # (stored 59 minutes ago: one minute of life left)
        row = TokenRow(replace(issued, expires_at=datetime.now(UTC) + timedelta(seconds=60)))
        refresh_tokens_before = len(emulator.app.auth.refresh_tokens)
        results: list[OfflineToken] = []
        errors: list[BaseException] = []
        start = threading.Barrier(2)

        def worker() -> None:
            start.wait()
            try:
                results.append(
                    access_token_fresh(
                        shop_domain=shop["domain"],
                        load=row.load,
                        store=row.store,
                        margin_seconds=300,
                        client=admin,
                        redis_connection=redis_db,
                    )
                )
            except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)

        # When two workers ask for a fresh token at the same moment
        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

    # Then Shopify saw exactly one refresh, it was stored once, and both got the new token
    assert errors == []
    assert len(emulator.app.auth.refresh_tokens) == refresh_tokens_before + 1
    assert len(row.stores) == 1
    assert [r.access_token for r in results] == [row.token.access_token] * 2
    assert row.token.access_token != issued.access_token
    assert emulator.app.auth.authenticate(token=row.token.access_token, shop=shop["domain"])


def test_a_token_far_from_expiry_is_not_refreshed(emulator, shop, redis_db):
    with emulator.client(budget=None) as admin:
        issued = token_exchange(
            shop_domain=shop["domain"],
            session_token=emulator.session_token(shop["domain"]),
            client=admin,
        )
        row = TokenRow(issued)
        token = access_token_fresh(
            shop_domain=shop["domain"],
            load=row.load,
            store=row.store,
            margin_seconds=300,
            client=admin,
            redis_connection=redis_db,
        )
    assert token == issued
    assert row.stores == []


def test_a_refused_refresh_is_an_auth_error_and_stores_nothing(emulator, shop, redis_db):
    stale = OfflineToken(
        access_token="shpua_gone",
        scope="read_products",
        expires_at=datetime.now(UTC) - timedelta(seconds=1),
        refresh_token="shprt_unknown",
        refresh_token_expires_at=datetime.now(UTC) + timedelta(days=1),
    )
    row = TokenRow(stale)
    with emulator.client(budget=None) as admin, pytest.raises(ShopifyAuthError) as caught:
        access_token_fresh(
            shop_domain=shop["domain"],
            load=row.load,
            store=row.store,
            client=admin,
            redis_connection=redis_db,
        )
    assert caught.value.error_code == "invalid_grant"
    assert row.stores == []
