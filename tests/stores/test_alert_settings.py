"""The Email alerts settings page: the owner's email, extra addresses with field errors, a
switch per kind, what went lately; linked from Home."""

from html import escape

import pytest
from django.utils import timezone

from stores.auth import shop_csrf_token
from stores.models import AlertDigest, AlertKind, AlertSettings, Shop
from tests.htmx_events import said

pytestmark = pytest.mark.django_db(transaction=True)

SOURCE = "alerts-source.myshopify.com"
DEST = "alerts-dest.myshopify.com"
ALL_ON = {f"kind_{kind}": "on" for kind in AlertKind.values}


@pytest.fixture
def headers(client, emulator):
    def for_shop(domain: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {emulator.session_token(domain)}",
                "HX-Request": "true",
                "X-CSRFToken": shop_csrf_token(shop_domain=domain, user_id="1")}

    for domain, name, role in ((SOURCE, "Alert Source", "source"),
                               (DEST, "Alert Dest", "destination")):
        emulator.shop_create(domain, name=name)
        emulator.install(domain)
        assert client.post("/settings/role", {"role": role},
                           headers=for_shop(domain)).status_code == 200
    return for_shop


def page(client, headers, domain: str = DEST) -> str:
    response = client.get("/settings/alerts", headers={**headers(domain), "HX-Request": ""})
    assert response.status_code == 200
    return response.content.decode()


def test_the_page_shows_the_owner_email_the_switches_and_what_went(client, headers):
    dest = Shop.objects.get(domain=DEST)
    AlertDigest.objects.create(shop=dest, kind=AlertKind.PUSH_FAILED, sent_count=2,
                               last_sent_at=timezone.now(), pending_count=3)
    html = page(client, headers)
    assert f"<strong>owner@{DEST}</strong>" in html
    assert 'data-save-bar' in html
    for kind in AlertKind:
        assert escape(kind.label) in html
        assert f'name="kind_{kind.value}" checked' in html
    assert '<tr data-kind="push_failed">' in html
    assert '<span class="badge badge-warning">3</span>' in html
    # a source is offered only what can reach it
    source_html = page(client, headers, SOURCE)
    assert 'name="kind_connection_ended"' in source_html
    assert 'name="kind_push_failed"' not in source_html
    assert 'name="kind_stock_write_failed"' not in source_html


@pytest.mark.parametrize(("typed", "error"), [
    ("ops@example.com, not-an-address, bob@", "Not an email address: “not-an-address”, “bob@”"),
    ("\n".join(f"ops{n}@example.com" for n in range(6)), "Add at most 5 addresses (this has 6)."),
])
def test_bad_addresses_are_field_errors_and_nothing_is_saved(client, headers, typed, error):
    response = client.post("/settings/alerts", {"extra_emails": typed, **ALL_ON},
                           headers=headers(DEST))
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="id_extra_emails_error" role="alert"' in html
    assert escape(error) in html
    assert 'aria-invalid="true"' in html
    assert not AlertSettings.objects.exists()


def test_saving_keeps_the_addresses_and_the_switches(client, headers):
    data = {**ALL_ON, "extra_emails": "ops@example.com\nOps@Example.com; night@example.com"}
    del data[f"kind_{AlertKind.STOCK_WRITE_FAILED}"]
    response = client.post("/settings/alerts", data, headers=headers(DEST))
    assert response.status_code == 200
    assert said(response)["message"] == "Alert settings saved."
    saved = AlertSettings.objects.get(shop__domain=DEST)
    assert saved.extra_emails == ["ops@example.com", "night@example.com"]
    assert saved.disabled_kinds == [AlertKind.STOCK_WRITE_FAILED]
    html = response.content.decode()
    assert 'name="kind_stock_write_failed">' in html  # off
    assert 'name="kind_push_failed" checked' in html
    # a switch that is neither on nor off is an error, not a guess
    response = client.post("/settings/alerts", {**ALL_ON, "kind_push_failed": "maybe"},
                           headers=headers(DEST))
    assert response.status_code == 422
    assert "Choose on or off." in response.content.decode()


def test_home_links_to_email_alerts(client, headers):
    response = client.get("/", headers={**headers(DEST), "HX-Request": ""})
    assert 'href="/settings/alerts" id="home-email-alerts">Email alerts</a>' in (
        response.content.decode())
