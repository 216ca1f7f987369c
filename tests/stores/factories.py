import itertools
import time
from datetime import timedelta
from decimal import Decimal

import factory
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from stores.models import Connection, Shop, Subscription
from stores.plans import orders_addon_price, plan_get
from stores.registry import entitlement_change_hooks_run


class ShopFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shop

    domain = factory.Sequence(lambda n: f"shop-{n}.myshopify.com")
    name = factory.Sequence(lambda n: f"Shop {n}")
    installed_at = factory.LazyFunction(timezone.now)
    access_token = "shpat_test"


class SourceFactory(ShopFactory):
    role = Shop.Role.SOURCE
    store_key = factory.Sequence(lambda n: f"syncer_testkey{n:06d}")


class DestinationFactory(ShopFactory):
    role = Shop.Role.DESTINATION


class ConnectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Connection

    source = factory.SubFactory(SourceFactory)
    destination = factory.SubFactory(DestinationFactory)
    connected_at = factory.LazyFunction(timezone.now)
    last_activity_at = factory.LazyFunction(timezone.now)


def subscription_active(shop: Shop, plan: str = "unlimited", orders_addon: bool = True, *,
                        notify: bool = False) -> Subscription:
    """The shop's plan as Shopify confirmed it: an ACTIVE subscription row (Shopify's unique id,
    the plan's price plus the add-on's, its name as Syncer asks for it), replacing any other
    active one, as an approval does. `notify` also runs the entitlement hooks on commit, as
    the billing flow does when the active subscription changes. The row is Syncer's only (the
    emulator holds no such charge): a test that goes through the billing flow (subscription_request,
    the emulator's Approve) should not also use this for the same shop, since Syncer keeps the
    newest (highest id) active subscription."""
    chosen = plan_get(handle=plan)
    if chosen is None or chosen.is_free:
        raise ValueError(f"Not a paid plan: {plan}")
    now = timezone.now()
    Subscription.objects.filter(shop=shop, status=Subscription.Status.ACTIVE).update(
        status=Subscription.Status.CANCELLED, status_changed_at=now)
    subscription = Subscription.objects.create(
        shop=shop, shopify_id=next(_subscription_ids), plan=chosen.handle,
        name=f"Syncer {chosen.name}{' + Orders add-on' if orders_addon else ''}",
        orders_addon=orders_addon,
        price=chosen.price + (orders_addon_price() if orders_addon else Decimal(0)),
        currency=settings.SYNCER_BILLING_CURRENCY, status=Subscription.Status.ACTIVE,
        test=True, current_period_end=now + timedelta(days=30), status_changed_at=now)
    if notify:
        transaction.on_commit(lambda: entitlement_change_hooks_run(shop_id=shop.pk))
    return subscription


# Shopify's AppSubscription ids: unique across the test run (and the database's rows).
_subscription_ids = itertools.count(int(time.time() * 1000) % 10**12)
