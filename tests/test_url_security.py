"""Walks every URL pattern: embedded views need a valid session token, and a token for shop A
never reads or changes shop B's data. A new URL must be classified here to pass."""

import time

import jwt
import pytest
from django.conf import settings
from django.forms.models import model_to_dict
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from orders.models import DestinationOrder, OrderLine, OrderPush, OrderPushLine
from products.models import ProductJob, ReconciliationRun, SourceProduct, SourceVariant
from stores.auth import shop_csrf_token
from stores.models import Connection, Invitation, Shop
from tests.orders.factories import DestinationOrderFactory
from tests.stores.factories import ConnectionFactory, DestinationFactory, ShopFactory

pytestmark = pytest.mark.django_db(transaction=True)

SHOP_A = "alpha-store.myshopify.com"
SHOP_B = "bravo-store.myshopify.com"

# Views that do not belong to an embedded session, and how they protect themselves instead.
PUBLIC = {
    "healthz": "read-only readiness, no shop data",
    "metrics": "aggregate counters, no shop data",
    "system_status": "readiness page, no shop data",
    "webhooks:shopify": "HMAC-verified (tests/webhooks)",
    "stores:oauth_install": "signed query or merchant-typed shop, redirects to Shopify",
    "stores:oauth_callback": "signed query + state nonce (tests/stores/test_install.py)",
}
# URL parameters, by name: which of shop B's objects to aim at (filled in by the test).
SAMPLE_KWARGS: dict[str, str] = {"connection_id": "b_connection", "order_id": "b_order",
                                 "job_id": "b_job", "source_product_id": "b_product",
                                 "run_id": "b_run", "invitation_id": "b_invitation"}


def named_patterns(resolvers=None, namespace="") -> list[tuple[str, str]]:
    found = []
    for entry in resolvers if resolvers is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            if entry.app_name == "admin":
                continue  # Django admin: staff login, not shops
            prefix = f"{entry.namespace}:" if entry.namespace else namespace
            found += named_patterns(entry.url_patterns, prefix)
        elif isinstance(entry, URLPattern) and entry.name:
            found.append((f"{namespace}{entry.name}", entry))
    return found


def embedded_patterns():
    return [(name, p) for name, p in named_patterns() if name not in PUBLIC]


def url_for(name: str, objects: dict[str, int] | None = None) -> str:
    from django.urls import reverse

    pattern = dict(named_patterns())[name]
    kwargs = {key: (objects or {}).get(SAMPLE_KWARGS[key], 1)
              for key in pattern.pattern.converters}
    return reverse(name, kwargs=kwargs)


def session_token(shop: str, *, secret: str | None = None) -> str:
    now = int(time.time())
    return jwt.encode({
        "iss": f"https://{shop}/admin", "dest": f"https://{shop}", "aud": settings.SHOPIFY_API_KEY,
        "sub": "1", "exp": now + 60, "nbf": now - 5, "iat": now - 5, "jti": "j", "sid": "s",
    }, secret or settings.SHOPIFY_API_SECRET, algorithm="HS256")


def test_every_url_is_classified():
    names = [name for name, _ in named_patterns()]
    assert set(PUBLIC) <= set(names)
    for name, pattern in embedded_patterns():
        missing = set(pattern.pattern.converters) - set(SAMPLE_KWARGS)
        assert not missing, f"{name}: add sample values for {missing}"


@pytest.mark.parametrize("name", [name for name, _ in embedded_patterns()])
@pytest.mark.parametrize("method", ["get", "post"])
def test_embedded_url_refuses_requests_without_a_valid_session_token(client, name, method):
    url = url_for(name)
    anonymous = getattr(client, method)(url)
    forged = getattr(client, method)(url, headers={
        "Authorization": f"Bearer {session_token(SHOP_A, secret='not-the-app-secret')}"})
    assert anonymous.status_code in (401, 405), (name, anonymous.status_code)
    assert forged.status_code in (401, 405), (name, forged.status_code)


@pytest.mark.parametrize("name", [name for name, _ in embedded_patterns()])
@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("role_a", ["source", "destination"])
def test_shop_a_can_neither_see_nor_change_shop_b(client, redis_db, name, method, role_a):
    ShopFactory(domain=SHOP_A, name="Alpha Goods", role=role_a, store_key="syncer_alpha")
    bravo = ShopFactory(domain=SHOP_B, name="Bravo Secret Goods", role="source",
                        store_key="syncer_bravo")
    follower = DestinationFactory(name="Bravo Follower Store")
    b_connection = ConnectionFactory(source=bravo, destination=follower)
    b_order = DestinationOrderFactory(shop=follower, customer_name="Bravo Secret Goods")
    b_product = SourceProduct.objects.create(shop=bravo, shopify_id=1, title="Bravo Secret Goods")
    # an order B received, so dashboards and reports have B's names to leak if they could
    SourceVariant.objects.create(product=b_product, shop=bravo, shopify_id=2,
                                 inventory_item_id=3, sku="BRAVO-1", title="Bravo Secret Goods")
    b_push = OrderPush.objects.create(order=b_order, source=bravo, status="pushed",
                                      pushed_at=timezone.now(), source_order_name="#B1",
                                      total_price=42)
    OrderPushLine.objects.create(push=b_push, quantity=1, price=42, line=OrderLine.objects.create(
        order=b_order, shopify_id=1, source=bravo, source_variant_id=2, title="Bravo Secret Goods",
        quantity=1, current_quantity=1, price=42))
    b_job = ProductJob.objects.create(connection=b_connection, kind="import", total=1)
    b_run = ReconciliationRun.objects.create(connection=b_connection)
    b_invitation = Invitation.objects.create(source=bravo, email="owner@bravo.example",
                                             store_name="Bravo Secret Goods")
    invitations_before = list(Invitation.objects.values())
    orders_before = list(DestinationOrder.objects.values())
    before = model_to_dict(bravo)
    connections_before = list(Connection.objects.values())
    # when shop A's session calls the URL (with shop B's ids where the URL takes any)
    response = getattr(client, method)(
        url_for(name, {"b_connection": b_connection.pk, "b_order": b_order.pk,
                       "b_job": b_job.pk, "b_product": b_product.pk, "b_run": b_run.pk,
                       "b_invitation": b_invitation.pk}),
        data={"role": "destination", "shop": SHOP_B, "store_key": "syncer_unknown",
              "store": b_connection.pk},
        headers={"Authorization": f"Bearer {session_token(SHOP_A)}",
                 "X-CSRFToken": shop_csrf_token(shop_domain=SHOP_A, user_id="1"),
                 "HX-Request": "true"},
    )
    # then nothing of B shows and nothing of B changed
    body = response.content.decode(errors="replace")
    assert SHOP_B not in body
    assert "Bravo Secret Goods" not in body
    assert "Bravo Follower Store" not in body
    assert model_to_dict(Shop.objects.get(domain=SHOP_B)) == before
    assert list(Connection.objects.values()) == connections_before
    assert list(DestinationOrder.objects.values()) == orders_before
    assert list(Invitation.objects.filter(source=bravo).values()) == invitations_before
