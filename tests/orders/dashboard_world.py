"""A small, hand-countable world for the dashboard and report tests, straight in the database.

One source (time zone Asia/Kolkata, UTC+05:30, so day boundaries are not UTC midnights) with
four stores — A and B connected, C blocked, D disconnected — a catalogue of five products (P4
hidden, P5 deleted) and pushes placed on and around the edges of a three-day range
[D0, D0 + 2], twenty days ago. Every order was paid at its store, so each line is also a sale
(products.DestinationSale) at the moment of its push, or of its order when it was not pushed.
The figures each test expects are worked out by hand from the table in `world()` below.
"""

import re
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import jwt
import pytest
from django.conf import settings
from django.utils import timezone

from orders.models import DestinationOrder, OrderFulfillment, OrderLine, OrderPush, OrderPushLine
from products.models import DestinationSale, ProductLink, SourceProduct, SourceVariant
from stores.models import Connection, Shop
from tests.stores.factories import ConnectionFactory, DestinationFactory, SourceFactory

ZONE = ZoneInfo("Asia/Kolkata")
ONE_MICROSECOND = timedelta(microseconds=1)
# (variant id, sku, product title, variant title)
V1 = (101, "SHIRT-S", "Linen shirt", "S")
V2 = (102, "MUG-1", "Stoneware mug", "")
V3 = (103, "TOTE-1", "Canvas tote", "")


def session_headers(shop: Shop, *, htmx: bool = False) -> dict[str, str]:
    now = int(time.time())
    token = jwt.encode({
        "iss": f"https://{shop.domain}/admin", "dest": f"https://{shop.domain}",
        "aud": settings.SHOPIFY_API_KEY, "sub": "1", "exp": now + 60, "nbf": now - 5,
        "iat": now - 5, "jti": "j", "sid": "s",
    }, settings.SHOPIFY_API_SECRET, algorithm="HS256")
    headers = {"Authorization": f"Bearer {token}"}
    if htmx:
        headers["HX-Request"] = "true"
    return headers


def start_of(day: date, zone: ZoneInfo = ZONE) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=zone)


_numbers = iter(range(1, 1_000_000))


def pushed_order(*, store: Shop, source: Shop, at: datetime | None,
                 lines: list[tuple[tuple, int, str]], shipping: str = "0.00",
                 status: str = OrderPush.Status.PUSHED, name: str | None = None,
                 cancelled: bool = False, sold: bool = True) -> OrderPush:
    """A destination order with its lines, pushed to `source` at `at`. `lines`: (variant,
    quantity, unit price). `sold`: each line is a paid sale of the source's too, at `at` (not
    pushed: when the order was placed), at that unit price."""
    number = next(_numbers)
    placed = (at or timezone.now()) - timedelta(minutes=3)
    subtotal = sum((Decimal(price) * quantity for _, quantity, price in lines), Decimal("0"))
    order = DestinationOrder.objects.create(
        shop=store, shopify_id=900_000 + number, name=name or f"#{1000 + number}",
        order_number=1000 + number, processed_at=placed, customer_name="Grace Hopper",
        financial_status="paid", currency="USD", subtotal_price=subtotal,
        total_price=subtotal + Decimal(shipping),
        cancelled_at=placed if cancelled else None,
        push_state=(DestinationOrder.PushState.PUSHED if status == OrderPush.Status.PUSHED
                    else DestinationOrder.PushState.NOT_PUSHED))
    push = OrderPush.objects.create(
        order=order, source=source, status=status, shipping_fee=Decimal(shipping),
        currency="USD", subtotal_price=subtotal, total_price=subtotal + Decimal(shipping),
        pushed_at=at if status == OrderPush.Status.PUSHED else None,
        source_order_id=7_000_000 + number if status == OrderPush.Status.PUSHED else None,
        source_order_name=f"#S{100 + number}" if status == OrderPush.Status.PUSHED else "")
    for index, ((variant_id, sku, title, variant_title), quantity, price) in enumerate(lines):
        line = OrderLine.objects.create(
            order=order, shopify_id=number * 10 + index, source=source,
            source_variant_id=variant_id, sku=sku, title=title, variant_title=variant_title,
            quantity=quantity, current_quantity=quantity, price=Decimal(price))
        OrderPushLine.objects.create(push=push, line=line, quantity=quantity,
                                     price=Decimal(price))
        if sold:
            sale_sold(store=store, source=source, variant=variant_id, quantity=quantity,
                      price=price, at=at or placed, line_item_id=line.shopify_id,
                      order_id=order.shopify_id)
    return push


def sale_sold(*, store: Shop, source: Shop, variant: int, quantity: int, price: str,
              at: datetime, line_item_id: int | None = None,
              order_id: int | None = None) -> DestinationSale:
    """A paid line of `store` selling `source`'s variant, as the sale effect records it."""
    number = next(_numbers)
    return DestinationSale.objects.create(
        source=source, destination=store, order_id=order_id or 800_000 + number,
        line_item_id=line_item_id or 800_000 + number, source_variant_id=variant,
        quantity=quantity, price=Decimal(price), sold_at=at)


def track(push: OrderPush, *, company: str, number: str, url: str = "",
          status: str = "success") -> OrderFulfillment:
    return OrderFulfillment.objects.create(
        push=push, source_fulfillment_id=next(_numbers), source_status=status,
        tracking_company=company, tracking_number=number, tracking_url=url,
        status=OrderFulfillment.Status.SYNCED)


@dataclass
class World:
    source: Shop
    other_source: Shop
    a: Connection
    b: Connection
    c: Connection  # blocked
    d: Connection  # disconnected
    d0: date
    pushes: dict[str, OrderPush]

    @property
    def d2(self) -> date:
        return self.d0 + timedelta(days=2)

    def custom(self, first: date | None = None, last: date | None = None, **extra) -> dict:
        return {"range": "custom", "start": (first or self.d0).isoformat(),
                "end": (last or self.d2).isoformat(), **extra}


@pytest.fixture
def sales_world(db) -> World:
    source = SourceFactory(name="Main Source", currency="USD", iana_timezone=ZONE.key)
    other_source = SourceFactory(name="Other Source", currency="USD")
    stores = {}
    for key, status in (("a", "connected"), ("b", "connected"), ("c", "blocked"),
                        ("d", "disconnected")):
        stores[key] = ConnectionFactory(
            source=source, status=status,
            destination=DestinationFactory(name=f"Store {key.upper()}",
                                           domain=f"store-{key}.myshopify.com"))
    products = {}
    for number, (variant, hidden, deleted) in enumerate(
            ((V1, False, False), (V2, False, False), (V3, False, False),
             ((104, "HID-1", "Hidden thing", ""), True, False),
             ((105, "OLD-1", "Deleted thing", ""), False, True)), start=1):
        product = SourceProduct.objects.create(
            shop=source, shopify_id=number, title=variant[2], hidden=hidden,
            deleted_at=timezone.now() if deleted else None)
        SourceVariant.objects.create(product=product, shop=source, shopify_id=variant[0],
                                     inventory_item_id=500 + number, sku=variant[1],
                                     title=variant[3] or "Default Title")
        products[f"P{number}"] = product
    for key, names in (("a", ["P1", "P2"]), ("b", ["P2"]), ("c", ["P3"])):
        for name in names:
            ProductLink.objects.create(connection=stores[key], source_product=products[name],
                                       destination_product_id=products[name].pk + 1000,
                                       origin="imported")

    d0 = timezone.now().astimezone(ZONE).date() - timedelta(days=20)
    a, b, c, d = (stores[k].destination for k in "abcd")
    pushes = {
        # on D0 00:00 exactly: in
        "p1": pushed_order(store=a, source=source, at=start_of(d0), shipping="3.00",
                           lines=[(V1, 2, "10.00"), (V2, 1, "5.00")]),
        # the instant before: the day before, out
        "p2": pushed_order(store=a, source=source, at=start_of(d0) - ONE_MICROSECOND,
                           lines=[(V1, 5, "10.00")]),
        # the last instant of D0 + 2: in
        "p3": pushed_order(store=b, source=source,
                           at=start_of(d0 + timedelta(days=3)) - ONE_MICROSECOND,
                           lines=[(V2, 4, "5.00")]),
        # 00:00 of the day after the range: out
        "p4": pushed_order(store=b, source=source, at=start_of(d0 + timedelta(days=3)),
                           lines=[(V1, 1, "10.00")]),
        # from the store blocked since
        "p5": pushed_order(store=c, source=source, shipping="2.50",
                           at=start_of(d0 + timedelta(days=1)) + timedelta(hours=12),
                           lines=[(V3, 3, "7.50")]),
        # not received: failed and still pending
        "p6": pushed_order(store=a, source=source, at=None, status=OrderPush.Status.FAILED,
                           lines=[(V1, 9, "10.00")]),
        "p7": pushed_order(store=a, source=source, at=None, status=OrderPush.Status.PENDING,
                           lines=[(V1, 8, "10.00")]),
        # store A's order pushed to another source
        "p8": pushed_order(store=a, source=other_source,
                           at=start_of(d0 + timedelta(days=1)) + timedelta(hours=1),
                           lines=[(V1, 7, "10.00")]),
        # from the store that disconnected since
        "p9": pushed_order(store=d, source=source,
                           at=start_of(d0 + timedelta(days=2)) + timedelta(hours=9),
                           lines=[(V1, 1, "10.00")]),
    }
    return World(source=source, other_source=other_source, a=stores["a"], b=stores["b"],
                 c=stores["c"], d=stores["d"], d0=d0, pushes=pushes)


def figures(html: str) -> dict[str, str]:
    """The dashboard's figures by their data-figure name, as the merchant reads them."""
    return {name: " ".join(re.sub(r"<[^>]+>", " ", value).split())
            for name, value in re.findall(r'data-figure="([\w-]+)">(.*?)</dd>', html, re.S)}
