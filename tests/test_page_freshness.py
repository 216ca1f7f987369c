"""Pages are never kept by the browser, a fragment answer never stands for its page, and Back
to a page htmx does not keep gets the whole page."""

import pytest

from stores.auth import shop_csrf_token

pytestmark = pytest.mark.django_db(transaction=True)

SOURCE = "demo-source.myshopify.com"


@pytest.fixture
def source_headers(client, emulator):
    emulator.shop_create(SOURCE, name="Demo Source")
    emulator.install(SOURCE)
    headers = {"Authorization": f"Bearer {emulator.session_token(SOURCE)}",
               "HX-Request": "true",
               "X-CSRFToken": shop_csrf_token(shop_domain=SOURCE, user_id="1")}
    assert client.post("/settings/role", {"role": "source"}, headers=headers).status_code == 200
    return headers


def test_pages_and_fragments_are_not_stored_and_vary_on_hx_request(client, source_headers):
    # when the Stores list is asked for as a fragment (a tab or a search)
    response = client.get("/stores/?tab=blocked", headers=source_headers)

    # then the answer is the table alone, never stored, and keyed on HX-Request
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert 'id="store-table"' in html
    assert response["Cache-Control"] == "no-store"
    assert "HX-Request" in [v.strip() for v in response["Vary"].split(",")]


def test_a_history_restore_gets_the_whole_page(client, source_headers):
    # when Back reaches a page htmx does not keep: its own request, with HX-Request set too
    response = client.get("/stores/?tab=blocked", headers={
        **source_headers, "HX-History-Restore-Request": "true"})

    # then the answer is the whole page, on the tab asked for
    html = response.content.decode()
    assert response.status_code == 200
    assert html.startswith("<!doctype html>")
    assert '<h1 class="page-title visually-hidden">Stores</h1>' in html  # the admin shows it
    assert 'aria-selected="true" class="tab tab-selected">\n    Blocked' in html


def test_the_bounce_page_may_be_framed_by_an_admin_but_an_unknown_page_by_none(client, settings):
    # when the app frame reloads at an address of its own, without a token or a shop
    bounce = client.get("/stores/?tab=blocked")

    # then the bounce page (no shop's data) may be framed by an admin, so it can fetch a token
    assert bounce.status_code == 401
    assert bounce["Content-Security-Policy"] == "frame-ancestors {};".format(
        " ".join(["https://admin.shopify.com", *settings.SHOPIFY_FRAME_ANCESTORS_EXTRA]))
    assert bounce["Cache-Control"] == "no-store"

    # and a page outside the app's shell still may not be framed at all
    install = client.get("/auth/install")
    assert install["Content-Security-Policy"] == "frame-ancestors 'none';"
