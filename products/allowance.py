"""The plan's synced-product allowance, checked where a merchant's action would sync new products.

A destination's synced products are its product links, across all its sources; products in a
queued or running import or map job count too, so two quick clicks cannot pass the allowance
between them. Sources are never limited (their plan is unlimited).

Every action that makes new links (import, link matches, link by hand) runs its check and its
job creation (or link) with the destination's Shop row locked (`destination_allowance_lock`),
so two actions, even of two sources, are counted one after the other. Refused means nothing was
created. A store over its allowance (after a downgrade or a cancel) keeps every link it has,
stock included: only new links are refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from products.models import ProductJob, ProductLink
from stores.alerts import alert_raise
from stores.models import AlertKind, Shop
from stores.plans import shop_entitlement

BILLING_URL_NAME = "orders:billing"
UPGRADE_LABEL = "Upgrade your plan"

# What the merchant was doing, for the refusal's words: (what they chose, how to choose fewer).
IMPORT = ("you chose {adding}", "Choose fewer")
MAP = ("these matches would link {adding}", "Skip some products")
HAND = ("linking this variant would sync one more", "Unsync a product first")


def upgrade_url() -> str:
    """The Plan & billing page, where the plan and the Orders add-on are changed."""
    return reverse(BILLING_URL_NAME)


@dataclass(frozen=True, slots=True)
class AllowanceRefusal:
    """Why an action would sync more products than the plan allows, in words."""

    plan_name: str
    allowance: int
    synced: int  # linked now
    queued: int  # in import or map jobs still running
    adding: int
    action: tuple[str, str] = IMPORT

    @property
    def used(self) -> int:
        return self.synced + self.queued

    @property
    def room(self) -> int:
        return max(0, self.allowance - self.used)

    @property
    def message(self) -> str:
        plan = f"Your {self.plan_name} plan syncs up to {_products(self.allowance)}."
        are = "are synced" if not self.queued else "are synced or being synced"
        chosen, fewer = self.action
        if self.room:
            return (f"{plan} {self.used} {are}, so {self.room} more can be; "
                    f"{chosen.format(adding=self.adding)}. {fewer}, or upgrade your plan.")
        if self.used > self.allowance:
            return (f"{plan} {self.used} {are}, more than it allows: they keep syncing, but no "
                    "more can be added. Upgrade your plan to sync more.")
        return (f"{plan} {self.used} {are}, so no more can be. Upgrade your plan to sync more, "
                "or unsync products you no longer need.")

    @property
    def upgrade_url(self) -> str:
        return upgrade_url()


def _products(count: int) -> str:
    return f"{count} product" if count == 1 else f"{count} products"


def destination_products_synced(*, shop: Shop) -> int:
    """The destination's synced products: its product links, of every source."""
    return ProductLink.objects.filter(connection__destination=shop).count()


def destination_products_queued(*, shop: Shop) -> int:
    """Products in the destination's queued or running import and map jobs not linked yet
    (a job's list shrinks as it goes; one it links in the meantime counts once)."""
    waiting: set[tuple[int, int]] = set()
    for connection_id, ids in ProductJob.objects.filter(
            connection__destination=shop,
            status__in=[ProductJob.Status.QUEUED, ProductJob.Status.RUNNING],
    ).values_list("connection_id", "source_product_ids"):
        waiting.update((connection_id, int(pk)) for pk in ids or [])
    if not waiting:
        return 0
    linked = set(ProductLink.objects.filter(
        connection_id__in={c for c, _ in waiting},
        source_product_id__in={p for _, p in waiting},
    ).values_list("connection_id", "source_product_id"))
    return len(waiting - linked)


def destination_allowance_lock(*, shop: Shop) -> None:
    """Inside a transaction, before counting: one linking action of the destination at a time.
    Taken before any of its connections' rows (the order the uninstall path locks them in)."""
    Shop.objects.select_for_update().filter(pk=shop.pk).first()


def allowance_check(*, shop: Shop, adding: int,
                    action: tuple[str, str] = IMPORT) -> AllowanceRefusal | None:
    """Would syncing `adding` more products pass the shop's plan? None if it would (or the plan
    is unlimited), else the refusal, in words. used + adding == allowance passes."""
    entitlement = shop_entitlement(shop=shop)
    allowance = entitlement.products
    if allowance is None or adding <= 0:
        return None
    synced = destination_products_synced(shop=shop)
    queued = destination_products_queued(shop=shop)
    if synced + queued + adding <= allowance:
        return None
    return AllowanceRefusal(plan_name=entitlement.plan.name,
                            allowance=allowance, synced=synced, queued=queued, adding=adding,
                            action=action)


def allowance_reached(*, shop: Shop) -> bool:
    """Is the plan's allowance used up (nothing more can be synced)?"""
    allowance = shop_entitlement(shop=shop).products
    if allowance is None:
        return False
    return (destination_products_synced(shop=shop)
            + destination_products_queued(shop=shop)) >= allowance


def allowance_refused_alert(*, shop: Shop, refusal: AllowanceRefusal) -> None:
    """Tells the store (alert email, by its alert settings) that an action was refused."""
    _alert(shop=shop, detail=f"Not synced: {refusal.message}")


def allowance_reached_alert(*, shop: Shop) -> None:
    """After an action was let through: if it used up the allowance, tell the store once."""
    if not allowance_reached(shop=shop):
        return
    entitlement = shop_entitlement(shop=shop)
    allowance = entitlement.products or 0
    _alert(shop=shop, detail=(
        f"Your {entitlement.plan.name} plan's {_products(allowance)} are all in use now: "
        "new products cannot be synced until you upgrade your plan or unsync some. Everything "
        "synced keeps syncing."))


def _alert(*, shop: Shop, detail: str) -> None:
    alert_raise(shop=shop, kind=AlertKind.ALLOWANCE_REACHED, detail=detail)
