"""A destination's plan through Shopify's Billing API: ask for a subscription, record what
Shopify says about it, cancel it.

Shopify allows one recurring price per subscription and one active subscription per install, so
the plan and the Orders add-on are sold together as one subscription ("Syncer Growth + Orders
add-on") priced plan + add-on. Changing either is a new subscription, which replaces the active
one once the merchant approves it (APPLY_IMMEDIATELY). Nothing changes a shop's plan until
Shopify confirms it: the read after the merchant comes back from approving, and the
app_subscriptions/update webhook, the truth, which may come before or after that read, twice,
or out of order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from stores.models import Shop, Subscription
from stores.plans import Plan, orders_addon_price, plan_get, plans, shop_entitlement
from stores.registry import entitlement_change_hooks_run
from stores.services import shop_admin_session
from syncer.shopify.domains import admin_app_url
from syncer.shopify.errors import ShopifyError
from syncer.shopify.operations.billing import (
    AppSubscriptionRead,
    BillingRefused,
    app_subscription_cancel,
    app_subscription_create,
    app_subscriptions_active,
)

logger = logging.getLogger(__name__)

NAME_PREFIX = "Syncer "
ADDON_SUFFIX = " + Orders add-on"
RETURN_PATH = "billing/return"
# Shopify's plan names of stores that can only approve test charges (development, partner
# test and sandbox stores, staff and affiliate stores).
TEST_ONLY_PLAN_WORDS = ("development", "developer", "partner", "sandbox", "staff", "affiliate")
TERMINAL = frozenset({Subscription.Status.DECLINED, Subscription.Status.EXPIRED,
                      Subscription.Status.CANCELLED})


class BillingError(Exception):
    """A plan change that cannot be made; `str(exc)` says why in the merchant's words."""

    @property
    def merchant_message(self) -> str:
        return str(self)


def subscription_name(*, plan: Plan, orders_addon: bool) -> str:
    return f"{NAME_PREFIX}{plan.name}{ADDON_SUFFIX if orders_addon else ''}"


def subscription_price(*, plan: Plan, orders_addon: bool) -> Decimal:
    return plan.price + (orders_addon_price() if orders_addon else Decimal(0))


def _plan_from_name(name: str) -> tuple[Plan, bool] | None:
    """The paid plan and add-on a subscription name of ours stands for; None if not ours."""
    if not name.startswith(NAME_PREFIX):
        return None
    rest = name.removeprefix(NAME_PREFIX)
    addon = rest.endswith(ADDON_SUFFIX)
    rest = rest.removesuffix(ADDON_SUFFIX)
    plan = next((p for p in plans() if p.name == rest and not p.is_free), None)
    return (plan, addon) if plan is not None else None


def shop_charges_are_tests(*, shop: Shop) -> bool:
    """Test charges are never billed: always in test mode, and for stores that can only
    approve test charges anyway."""
    plan_name = (shop.plan_name or "").lower()
    return bool(settings.SYNCER_BILLING_TEST) or any(w in plan_name for w in TEST_ONLY_PLAN_WORDS)


def shop_had_paid_plan(*, shop: Shop) -> bool:
    """Only a shop's first paid subscription gets the free trial."""
    # A subscription Shopify ever activated has a period end; one still active or frozen counts
    # even if we never learnt it.
    return Subscription.objects.filter(shop=shop).exclude(
        current_period_end__isnull=True,
        status__in=[Subscription.Status.PENDING, *TERMINAL]).exists()


def _active_key(shop_id: int) -> tuple[int, str, bool] | None:
    row = (Subscription.objects.filter(shop_id=shop_id, status=Subscription.Status.ACTIVE)
           .order_by("-shopify_id").values_list("shopify_id", "plan", "orders_addon").first())
    return tuple(row) if row else None  # type: ignore[return-value]


def _entitlement_may_change(shop_id: int, before: tuple[int, str, bool] | None) -> None:
    if _active_key(shop_id) != before:
        # The apps above act on the new entitlement (stores.registry).
        transaction.on_commit(lambda: entitlement_change_hooks_run(shop_id=shop_id))


def _one_active(*, shop_id: int, now: datetime) -> None:
    """Shopify keeps one active subscription per install: the newest (ids grow) replaced the
    others, whose CANCELLED webhook may still be on its way."""
    active = list(Subscription.objects.filter(shop_id=shop_id, status=Subscription.Status.ACTIVE)
                  .order_by("-shopify_id").values_list("pk", flat=True))
    if len(active) > 1:
        Subscription.objects.filter(pk__in=active[1:]).update(
            status=Subscription.Status.CANCELLED, status_changed_at=now, updated_at=now)


def subscription_request(*, shop: Shop, plan_handle: str, orders_addon: bool) -> str:
    """Asks Shopify for the subscription and returns the URL where the merchant approves it.
    The plan does not change here: only once Shopify confirms the approval."""
    if shop.role != Shop.Role.DESTINATION:
        raise BillingError("Syncer is free for source stores: there is nothing to subscribe to.")
    plan = plan_get(handle=plan_handle)
    if plan is None:
        raise BillingError("Choose one of the plans listed.")
    if plan.is_free:
        raise BillingError(f"To move to {plan.name}, cancel your subscription instead.")
    current = shop_entitlement(shop=shop)
    if (current.subscription is not None and current.plan.handle == plan.handle
            and current.orders_addon == orders_addon):
        on = subscription_name(plan=plan, orders_addon=orders_addon).removeprefix(NAME_PREFIX)
        raise BillingError(f"You're already on {on}.")
    name = subscription_name(plan=plan, orders_addon=orders_addon)
    price = subscription_price(plan=plan, orders_addon=orders_addon)
    currency = str(settings.SYNCER_BILLING_CURRENCY)
    test = shop_charges_are_tests(shop=shop)
    trial_days = 0 if shop_had_paid_plan(shop=shop) else max(0, int(settings.SYNCER_TRIAL_DAYS))
    created = app_subscription_create(
        session=shop_admin_session(shop_domain=shop.domain), name=name,
        return_url=admin_app_url(shop_domain=shop.domain, path=RETURN_PATH), price=price,
        currency=currency, test=test, trial_days=trial_days)
    read = created.subscription
    Subscription.objects.update_or_create(
        shopify_id=read.id, defaults={
            "shop": shop, "name": name, "plan": plan.handle, "orders_addon": orders_addon,
            "price": price, "currency": currency, "test": read.test, "trial_days": trial_days,
            "confirmation_url": created.confirmation_url, "status": Subscription.Status.PENDING,
            "status_changed_at": timezone.now()})
    logger.info("subscription requested shop=%s subscription=%s name=%r", shop.domain, read.id,
                name)
    return created.confirmation_url


def _record_read(*, shop: Shop, read: AppSubscriptionRead, now: datetime) -> Subscription | None:
    """One subscription as Shopify's Admin API shows it now."""
    row = Subscription.objects.filter(shopify_id=read.id).first()
    if row is not None and row.shop_id != shop.pk:
        return None
    if row is None:
        ours = _plan_from_name(read.name)
        if ours is None:
            return None
        plan, addon = ours
        row = Subscription(shop=shop, shopify_id=read.id, name=read.name, plan=plan.handle,
                           orders_addon=addon,
                           price=read.price if read.price is not None else plan.price,
                           currency=read.currency or str(settings.SYNCER_BILLING_CURRENCY))
    if row.status != read.status and read.status in Subscription.Status.values:
        row.status = read.status
        row.status_changed_at = now
    row.test = read.test
    row.trial_days = read.trial_days
    row.current_period_end = read.current_period_end or row.current_period_end
    row.save()
    return row


def _apply_reads(*, shop: Shop, reads: list[AppSubscriptionRead], now: datetime
                 ) -> list[Subscription]:
    """Inside the shop's lock: the active subscriptions as Shopify lists them now; a local
    ACTIVE one Shopify no longer lists was replaced or cancelled (its webhook will say which)."""
    rows = [row for read in reads if (row := _record_read(shop=shop, read=read, now=now))]
    if rows:
        (Subscription.objects.filter(shop=shop, status=Subscription.Status.ACTIVE)
         .exclude(shopify_id__in={row.shopify_id for row in rows})
         .update(status=Subscription.Status.CANCELLED, status_changed_at=now, updated_at=now))
    return rows


def subscription_sync(*, shop: Shop) -> list[Subscription]:
    """Records the shop's active subscriptions as Shopify lists them now."""
    reads = app_subscriptions_active(session=shop_admin_session(shop_domain=shop.domain))
    now = timezone.now()
    with transaction.atomic():
        Shop.objects.select_for_update().filter(pk=shop.pk).first()
        before = _active_key(shop.pk)
        rows = _apply_reads(shop=shop, reads=reads, now=now)
        _one_active(shop_id=shop.pk, now=now)
        _entitlement_may_change(shop.pk, before)
    return rows


def subscription_confirm(*, shop: Shop, charge_id: int | None) -> Subscription | None:
    """The merchant is back from approving: records what Shopify says is active and returns
    the subscription the return is about (whatever its status), if it is the shop's."""
    subscription_sync(shop=shop)
    if charge_id is None:
        return None
    return Subscription.objects.filter(shop=shop, shopify_id=charge_id).first()


@dataclass(frozen=True, slots=True)
class SubscriptionUpdate:
    """An app_subscriptions/update webhook's facts."""

    shopify_id: int
    name: str
    status: str
    price: Decimal | None
    currency: str
    updated_at: datetime | None


def subscription_update_record(*, shop_domain: str, update: SubscriptionUpdate
                               ) -> Subscription | None:
    """Shopify's word on one subscription. Idempotent, and safe out of order: DECLINED, EXPIRED
    and CANCELLED are final, PENDING never follows another status, and an update older than
    the status we hold is stale. A subscription we have no row for is recorded if its name is
    one of ours (e.g. the request's answer was lost); otherwise it is not ours and ignored."""
    shop = Shop.objects.filter(domain=shop_domain).first()
    if shop is None or update.status not in Subscription.Status.values:
        return None
    # What Shopify holds active now, when this update may change the plan: the active one
    # cancelled may have been replaced (the new one's ACTIVE webhook may come later, so the
    # shop would look free in between), and the webhook does not say when a period ends.
    local = Subscription.objects.filter(shopify_id=update.shopify_id, shop=shop).first()
    active = Subscription.Status.ACTIVE
    reads: list[AppSubscriptionRead] | None = None
    if ((local is not None and local.status == active and update.status != active)
            or (update.status == active and (local is None or local.current_period_end is None))):
        try:
            reads = app_subscriptions_active(session=shop_admin_session(shop_domain=shop_domain))
        except ShopifyError:
            logger.warning("could not read the active subscriptions of %s", shop_domain)
    now = timezone.now()
    with transaction.atomic():
        Shop.objects.select_for_update().filter(pk=shop.pk).first()
        before = _active_key(shop.pk)
        row = Subscription.objects.filter(shopify_id=update.shopify_id).first()
        if row is not None and row.shop_id != shop.pk:
            logger.warning("subscription %s belongs to another shop than %s", update.shopify_id,
                           shop_domain)
            return None
        if row is None:
            ours = _plan_from_name(update.name)
            if ours is None:
                logger.info("subscription %s of %s is not Syncer's (%r): ignored",
                            update.shopify_id, shop_domain, update.name)
                return None
            plan, addon = ours
            row = Subscription.objects.create(
                shop=shop, shopify_id=update.shopify_id, name=update.name, plan=plan.handle,
                orders_addon=addon,
                price=update.price if update.price is not None else plan.price,
                currency=update.currency or str(settings.SYNCER_BILLING_CURRENCY),
                status=update.status, status_changed_at=update.updated_at or now)
        elif row.status != update.status and _applies(row=row, update=update):
            row.status = update.status
            row.status_changed_at = update.updated_at or now
            row.save(update_fields=["status", "status_changed_at", "updated_at"])
        if reads is not None:
            _apply_reads(shop=shop, reads=reads, now=now)
            row.refresh_from_db()
        _one_active(shop_id=shop.pk, now=now)
        _entitlement_may_change(shop.pk, before)
    return row


def _applies(*, row: Subscription, update: SubscriptionUpdate) -> bool:
    if row.status in TERMINAL or update.status == Subscription.Status.PENDING:
        return False
    if row.status == Subscription.Status.PENDING:
        return True
    # ACTIVE <-> FROZEN (or a final status): the later word wins.
    return (update.updated_at is None or row.status_changed_at is None
            or update.updated_at >= row.status_changed_at)


def subscription_cancel(*, shop: Shop) -> Subscription:
    """Cancels the active subscription: the shop is back on the free plan."""
    active = shop_entitlement(shop=shop).subscription
    if active is None:
        raise BillingError("You have no paid plan to cancel: you're on the free plan.")
    try:
        status = app_subscription_cancel(session=shop_admin_session(shop_domain=shop.domain),
                                         subscription_id=active.shopify_id)
    except BillingRefused:
        # Shopify may know better (cancelled or replaced meanwhile): take its word first.
        try:
            subscription_sync(shop=shop)
        except ShopifyError:
            logger.exception("subscription sync after a refused cancel failed shop=%s",
                             shop.domain)
        raise
    now = timezone.now()
    with transaction.atomic():
        Shop.objects.select_for_update().filter(pk=shop.pk).first()
        before = _active_key(shop.pk)
        active.refresh_from_db()
        if active.status not in TERMINAL:
            active.status = status if status in Subscription.Status.values else (
                Subscription.Status.CANCELLED)
            active.status_changed_at = now
            active.save(update_fields=["status", "status_changed_at", "updated_at"])
        _entitlement_may_change(shop.pk, before)
    logger.info("subscription cancelled shop=%s subscription=%s", shop.domain, active.shopify_id)
    return active


def subscriptions_end_for_uninstall(*, shop: Shop) -> int:
    """Shopify cancels the subscriptions of an app uninstalled, without a webhook (the app is
    gone): a reinstall starts on Free. Returns how many were ended."""
    now = timezone.now()
    with transaction.atomic():
        Shop.objects.select_for_update().filter(pk=shop.pk).first()
        before = _active_key(shop.pk)
        ended = (Subscription.objects.filter(shop=shop, status__in=[
            Subscription.Status.ACTIVE, Subscription.Status.FROZEN, Subscription.Status.PENDING])
            .update(status=Subscription.Status.CANCELLED, status_changed_at=now,
                    updated_at=now))
        _entitlement_may_change(shop.pk, before)
    return ended


# -- what the billing page shows ----------------------------------------------------------


def subscription_pending_latest(*, shop: Shop) -> Subscription | None:
    """The newest request still waiting for the merchant, if newer than the active plan."""
    pending = (Subscription.objects.filter(shop=shop, status=Subscription.Status.PENDING)
               .exclude(confirmation_url="").order_by("-shopify_id").first())
    active = shop_entitlement(shop=shop).subscription
    if pending is None or (active is not None and active.shopify_id > pending.shopify_id):
        return None
    return pending


def subscription_declined_latest(*, shop: Shop) -> Subscription | None:
    """The newest request, if the merchant declined it (nothing asked since)."""
    latest = Subscription.objects.filter(shop=shop).order_by("-shopify_id").first()
    return latest if latest is not None and latest.status == Subscription.Status.DECLINED else None
