import pytest


@pytest.mark.django_db
def test_shell_page_renders_the_full_layout(client, redis_db):
    # when
    response = client.get("/status")
    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith("<!doctype html>")
    assert '<nav class="shell-nav" aria-label="Syncer" hx-boost="true">' in html
    assert '<h1 class="page-title">System status</h1>' in html
    assert "/static/django_htmx/htmx-2.min.js" in html
    assert 'id="toasts"' in html
    assert 'id="system-status"' in html


@pytest.mark.django_db
def test_htmx_request_gets_only_the_fragment(client, redis_db):
    # when
    response = client.get("/status", headers={"HX-Request": "true"})
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="system-status"')
    assert "<nav" not in html
    assert "Database" in html
    assert response["Vary"] == "HX-Request"


@pytest.mark.django_db
def test_html_is_framable_by_nobody_until_a_shop_is_known(client, redis_db):
    # when
    response = client.get("/status")
    # then
    assert response["Content-Security-Policy"] == "frame-ancestors 'none';"
    assert "X-Frame-Options" not in response


def test_json_responses_carry_no_csp(client, db, redis_db):
    response = client.get("/healthz")
    assert "Content-Security-Policy" not in response


@pytest.mark.django_db
def test_unknown_path_opened_by_the_admin_is_the_apps_own_framable_404(client, redis_db):
    # when Shopify admin loads a path the app does not have
    response = client.get("/no-such-page?shop=demo.myshopify.com&host=YWRtaW4")
    # then it is the app's page with a way back, and the shop's admin may frame it
    html = response.content.decode()
    assert response.status_code == 404
    assert "Page not found" in html
    assert 'href="/?shop=demo.myshopify.com&amp;host=YWRtaW4"' in html
    assert response["Content-Security-Policy"].startswith(
        "frame-ancestors https://demo.myshopify.com https://admin.shopify.com")


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["", "?shop=evil.example.com"])
def test_unknown_path_without_a_shop_is_framable_by_nobody(client, redis_db, query):
    response = client.get(f"/no-such-page{query}")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
    assert response["Content-Security-Policy"] == "frame-ancestors 'none';"
