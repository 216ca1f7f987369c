import json
import re
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from stores.auth import shop_csrf_token
from stores.models import Shop
from stores.services import shop_access_token
from syncer.shopify.oauth import query_hmac

pytestmark = pytest.mark.django_db(transaction=True)

SOURCE = "demo-source.myshopify.com"


def bearer(token: str, shop: str = SOURCE) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "HX-Request": "true",
            "X-CSRFToken": shop_csrf_token(shop_domain=shop, user_id="1")}


def test_install_from_shopify_admin_exchanges_an_expiring_token(emulator):
    # given a store in Shopify
    emulator.shop_create(SOURCE, name="Demo Source")
    # when the merchant installs and Shopify admin loads the app with a session token
    result = emulator.install(SOURCE)
    # then the app page answered and the shop is installed with an expiring offline token
    assert result["app_status"] == 200
    shop = Shop.objects.get(domain=SOURCE)
    assert shop.name == "Demo Source"
    # with the shop's details read from Shopify (the emulator's default plan is "standard",
    # which Shopify shows as "Shopify")
    assert (shop.shopify_id > 0, shop.plan_name) == (True, "Shopify")
    assert shop.is_installed
    assert shop.role == ""
    assert shop.access_token.startswith("shpat_") or len(shop.access_token) > 20
    assert shop.refresh_token
    remaining = shop.access_token_expires_at - timezone.now()
    assert timedelta(minutes=55) < remaining <= timedelta(minutes=60)
    assert set(shop.scopes.split(",")) == set(settings.SHOPIFY_SCOPES)


def test_tokens_are_encrypted_at_rest(emulator):
    emulator.shop_create(SOURCE)
    emulator.install(SOURCE)
    shop = Shop.objects.get(domain=SOURCE)
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token, refresh_token FROM stores_shop WHERE id = %s",
                       [shop.pk])
        stored_access, stored_refresh = cursor.fetchone()
    assert shop.access_token not in stored_access
    assert shop.refresh_token not in stored_refresh
    assert stored_access.startswith("gAAAAA")  # Fernet


def test_first_run_screen_asks_for_the_role_with_the_shops_frame_ancestors(client, emulator):
    emulator.shop_create(SOURCE, name="Demo Source")
    token = emulator.session_token(SOURCE)
    # when the app loads in the admin iframe
    response = client.get("/", {"embedded": "1", "shop": SOURCE, "id_token": token})
    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert "How will this store use Syncer?" in html
    assert 'name="role" value="source"' in html
    assert response["Content-Security-Policy"] == (
        f"frame-ancestors https://{SOURCE} https://admin.shopify.com;")
    assert "X-Frame-Options" not in response


def test_choosing_a_role_over_htmx(client, emulator):
    emulator.shop_create(SOURCE)
    emulator.install(SOURCE)
    # when
    response = client.post("/settings/role", {"role": "source"},
                           headers=bearer(emulator.session_token(SOURCE)))
    # then
    assert response.status_code == 200
    assert Shop.objects.get(domain=SOURCE).role == "source"
    assert "No destination stores yet" in response.content.decode()
    assert json.loads(response["HX-Trigger"]) == {
        "toast": {"message": "This store is now a source."}}


def test_invalid_role_is_a_field_error(client, emulator):
    emulator.shop_create(SOURCE)
    emulator.install(SOURCE)
    response = client.post("/settings/role", {"role": "warehouse"},
                           headers=bearer(emulator.session_token(SOURCE)))
    assert response.status_code == 422
    assert "Choose whether this store is a source or a destination." in response.content.decode()
    assert Shop.objects.get(domain=SOURCE).role == ""


def test_expired_session_token_on_xhr_is_401_with_retry_header(client, emulator):
    emulator.shop_create(SOURCE)
    emulator.install(SOURCE)
    now = int(time.time())
    expired = jwt.encode({
        "iss": f"https://{SOURCE}/admin", "dest": f"https://{SOURCE}",
        "aud": settings.SHOPIFY_API_KEY, "sub": "1", "exp": now - 120, "nbf": now - 180,
        "iat": now - 180, "jti": "x", "sid": "s",
    }, settings.SHOPIFY_API_SECRET, algorithm="HS256")
    response = client.post("/settings/role", {"role": "source"}, headers=bearer(expired))
    assert response.status_code == 401
    assert response["X-Shopify-Retry-Invalid-Session-Request"] == "1"
    assert Shop.objects.get(domain=SOURCE).role == ""


def test_document_load_without_token_gets_the_bounce_page(client, emulator):
    response = client.get("/", {"embedded": "1", "shop": SOURCE})
    assert response.status_code == 401
    assert "Checking your Shopify session" in response.content.decode()
    assert response["Content-Security-Policy"] == (
        f"frame-ancestors https://{SOURCE} https://admin.shopify.com;")


@pytest.mark.parametrize("csrf", [None, "0" * 64, "token-of-another-shop"])
def test_post_without_the_shop_bound_csrf_token_is_refused(emulator, csrf):
    from django.test import Client

    emulator.shop_create(SOURCE)
    emulator.install(SOURCE)
    strict = Client(enforce_csrf_checks=True)
    headers = bearer(emulator.session_token(SOURCE))
    if csrf is None:
        del headers["X-CSRFToken"]
    elif csrf == "token-of-another-shop":
        headers["X-CSRFToken"] = shop_csrf_token(shop_domain="other.myshopify.com", user_id="1")
    else:
        headers["X-CSRFToken"] = csrf
    response = strict.post("/settings/role", {"role": "source"}, headers=headers)
    assert response.status_code == 403
    assert response.json() == {"error": "This form has expired. Reload the app and try again."}
    assert Shop.objects.get(domain=SOURCE).role == ""


def test_post_with_the_shop_bound_csrf_token_passes_strict_csrf(emulator):
    from django.test import Client

    emulator.shop_create(SOURCE)
    emulator.install(SOURCE)
    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/settings/role", {"role": "source"},
                           headers=bearer(emulator.session_token(SOURCE)))
    assert response.status_code == 200
    assert Shop.objects.get(domain=SOURCE).role == "source"


def test_access_token_is_refreshed_before_expiry_and_refresh_token_rotates(emulator):
    emulator.shop_create(SOURCE)
    emulator.install(SOURCE)
    shop = Shop.objects.get(domain=SOURCE)
    old_access, old_refresh = shop.access_token, shop.refresh_token
    # given the token is about to expire
    Shop.objects.filter(pk=shop.pk).update(
        access_token_expires_at=timezone.now() + timedelta(seconds=30))
    # when background work asks for a token
    fresh = shop_access_token(shop_domain=SOURCE)
    # then a new pair was fetched and stored
    shop.refresh_from_db()
    assert fresh == shop.access_token != old_access
    assert shop.refresh_token != old_refresh
    assert shop.access_token_expires_at - timezone.now() > timedelta(minutes=55)


def test_authorization_code_grant_installs_a_non_embedded_shop(client, emulator):
    emulator.shop_create(SOURCE, name="Demo Source")
    params = {"shop": SOURCE, "timestamp": str(int(time.time()))}
    params["hmac"] = query_hmac(params, settings.SHOPIFY_API_SECRET)
    # when Shopify sends the merchant to our install URL
    response = client.get("/auth/install", params)
    # then we send them to approve the scopes, with a state nonce
    assert response.status_code == 302
    authorize = urlsplit(response["Location"])
    assert authorize.path == f"/shops/{SOURCE}/admin/oauth/authorize"
    query = parse_qs(authorize.query)
    assert query["redirect_uri"] == [f"{settings.APP_URL}/auth/callback"]
    state = query["state"][0]
    # when the merchant approves, Shopify redirects back with a code
    approved = emulator.http.get(response["Location"], follow_redirects=False)
    assert approved.status_code in (302, 303)
    callback = urlsplit(approved.headers["Location"])
    assert parse_qs(callback.query)["state"] == [state]
    done = client.get("/auth/callback?" + callback.query)
    # then the shop is installed
    assert done.status_code in (200, 302)
    shop = Shop.objects.get(domain=SOURCE)
    assert shop.is_installed
    assert shop.name == "Demo Source"


def test_authorization_code_callback_with_a_forged_hmac_is_refused(client, emulator):
    params = {"shop": SOURCE, "code": "abc", "state": "x", "timestamp": str(int(time.time())),
              "hmac": "0" * 64}
    response = client.get("/auth/callback", params)
    assert response.status_code == 400
    assert re.search(r"signature is invalid", response.content.decode())
    assert not Shop.objects.filter(domain=SOURCE).exists()


def test_install_link_for_a_non_shopify_domain_is_refused(client):
    response = client.get("/auth/install", {"shop": "evil.example.com"})
    assert response.status_code == 400
    assert "Enter your store&#x27;s myshopify.com address." in response.content.decode()


@pytest.mark.parametrize("htmx", [False, True])
def test_a_signed_session_token_of_an_unknown_store_is_a_401_and_creates_nothing(client,
                                                                                 emulator,
                                                                                 htmx):
    # given a session token signed with the app's secret, for a store Shopify does not know
    unknown = "nowhere.myshopify.com"
    now = int(time.time())
    token = jwt.encode({
        "iss": f"https://{unknown}/admin", "dest": f"https://{unknown}",
        "aud": settings.SHOPIFY_API_KEY, "sub": "1", "exp": now + 60, "nbf": now - 5,
        "iat": now - 5, "jti": "j", "sid": "s",
    }, settings.SHOPIFY_API_SECRET, algorithm="HS256")
    # when the app is loaded with it (a document load, or an HTMX request)
    if htmx:
        response = client.get("/", headers=bearer(token, unknown))
    else:
        response = client.get("/", {"embedded": "1", "shop": unknown, "id_token": token})
    # then it is told to install the app again, and no shop row was made
    assert response.status_code == 401
    if htmx:
        assert response.json() == {
            "error": "The app is not installed on this store; reload it."}
    else:
        html = response.content.decode()
        assert "Syncer is not installed on nowhere.myshopify.com, or it was uninstalled." in html
        assert f'<input type="hidden" name="shop" value="{unknown}">' in html
        assert response["Content-Security-Policy"] == (
            f"frame-ancestors https://{unknown} https://admin.shopify.com;")
    assert not Shop.objects.exists()
