"""The demo destinations' plans, bought the way a merchant does: Syncer asks Shopify for the
subscription (stores.billing), the merchant approves it on Shopify's page (the emulator's
control route stands in for the click) and Shopify's app_subscriptions/update webhook, handled
by the worker, puts the shop on the plan. Before the catalogue: the plans' allowances must fit
what the destinations then import and map (dest-1 imports 25 products, dest-2 maps 8)."""

from __future__ import annotations

import time

from demo.emulator import EmulatorControl
from stores.billing import subscription_request
from stores.models import Shop, Subscription
from stores.plans import shop_entitlement

# domain -> (plan handle, Orders add-on): Growth + add-on for the one that pushes orders.
PLANS = {"demo-dest-1.myshopify.com": ("growth", True),
         "demo-dest-2.myshopify.com": ("starter", False)}


def _number(url: str) -> int:
    """The charge's number in Shopify's confirmation URL (.../charges/<n>/confirm_...)."""
    return int(url.split("/charges/", 1)[1].split("/", 1)[0])


def demo_billing_seed(*, emulator_url: str, timeout: float = 60.0) -> dict[str, str]:
    """Puts each demo destination on its plan (idempotent: one already on it is left alone; a
    request left waiting by an interrupted start is approved, not asked again)."""
    summary: dict[str, str] = {}
    with EmulatorControl(emulator_url) as control:
        for domain, (plan, addon) in PLANS.items():
            shop = Shop.objects.get(domain=domain)
            current = shop_entitlement(shop=shop)
            if current.subscription is not None and (current.plan.handle, current.orders_addon) \
                    == (plan, addon):
                summary[domain] = f"{current.subscription.name} (already)"
                continue
            waiting = (Subscription.objects.filter(shop=shop, plan=plan, orders_addon=addon,
                                                   status=Subscription.Status.PENDING)
                       .exclude(confirmation_url="").order_by("-shopify_id").first())
            url = waiting.confirmation_url if waiting else subscription_request(
                shop=shop, plan_handle=plan, orders_addon=addon)
            number = _number(url)
            status = next((row["status"] for row in control.subscriptions(domain)
                           if int(row["id"]) == number), "PENDING")
            if status == "PENDING":  # else approved already; its webhook may still be queued
                control.subscription_approve(domain, number)
            control.webhooks_flush()
            deadline = time.monotonic() + timeout
            while (shop_entitlement(shop=shop).plan.handle, shop_entitlement(shop=shop)
                   .orders_addon) != (plan, addon):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{domain}: Shopify's approval of the {plan} plan never "
                                       f"reached Syncer in {timeout:.0f} s")
                time.sleep(0.2)
            summary[domain] = shop_entitlement(shop=shop).subscription.name  # type: ignore[union-attr]
    return summary
