"""Plan & billing: a destination's plan, what it uses of it, and changing it through Shopify.

Composed here, above products and stores, because usage counts synced products (products) and
pushed orders (orders); the plan itself is the stores app's (stores.plans, stores.billing).
Choosing a plan asks Shopify for a subscription and sends the whole admin (the top window, not
Syncer's frame) to Shopify's approval page; Shopify sends the merchant back to billing/return.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from django import forms
from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from orders.models import OrderPush
from products.allowance import destination_products_synced
from stores.auth import shop_role_required, shop_session_required
from stores.billing import (
    NAME_PREFIX,
    BillingError,
    shop_had_paid_plan,
    subscription_cancel,
    subscription_confirm,
    subscription_declined_latest,
    subscription_pending_latest,
    subscription_request,
)
from stores.models import Shop, Subscription
from stores.plans import Entitlement, Plan, orders_addon_price, plan_free, plans, shop_entitlement
from syncer.htmx import ShopRequest, failure, page_or_fragment, toast
from syncer.shopify.errors import ShopifyError

TEMPLATE = "orders/billing.html"


class SubscribeForm(forms.Form):
    plan = forms.ChoiceField(choices=(), error_messages={
        "required": "Choose a plan.", "invalid_choice": "Choose one of the plans listed."})
    orders_addon = forms.BooleanField(required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["plan"]).choices = [
            (p.handle, p.name) for p in plans() if not p.is_free]


@dataclass(frozen=True, slots=True)
class PlanRow:
    plan: Plan
    current: bool
    fits: bool  # the products synced now fit its allowance


def _usage(shop: Shop) -> tuple[int, int]:
    """Products synced (links to a source product, every connection), and orders pushed since
    the 1st of this month in the shop's time zone."""
    synced = destination_products_synced(shop=shop)
    today = timezone.now().astimezone(shop.zone)
    month_start = today.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    pushes = OrderPush.objects.filter(order__shop=shop, created_at__gte=month_start).count()
    return synced, pushes


def _trial_ends(entitlement: Entitlement) -> datetime | None:
    active = entitlement.subscription
    if active is None or not active.trial_days or active.status_changed_at is None:
        return None
    ends = active.status_changed_at + timedelta(days=active.trial_days)
    return ends if ends > timezone.now() else None


def _plan_words(entitlement: Entitlement) -> str:
    return (f"{entitlement.plan.name} with the Orders add-on" if entitlement.orders_addon
            else entitlement.plan.name)


def _context(request: ShopRequest[Shop], *, notice: dict | None = None,
             form: SubscribeForm | None = None) -> dict:
    shop = request.shop
    if shop.role != Shop.Role.DESTINATION:
        return {"for_source": shop.role == Shop.Role.SOURCE}
    entitlement = shop_entitlement(shop=shop)
    synced, pushes = _usage(shop)
    allowance = entitlement.products
    pending = subscription_pending_latest(shop=shop)
    declined = subscription_declined_latest(shop=shop)
    return {
        "entitlement": entitlement, "plan_words": _plan_words(entitlement),
        "synced": synced, "allowance": allowance, "pushes": pushes,
        "over": allowance is not None and synced > allowance,
        "plan_rows": [PlanRow(plan=p, current=p.handle == entitlement.plan.handle,
                              fits=p.products is None or synced <= p.products) for p in plans()],
        "addon_price": orders_addon_price(), "currency": settings.SYNCER_BILLING_CURRENCY,
        "free": plan_free(), "trial_ends": _trial_ends(entitlement),
        "trial_offer": 0 if shop_had_paid_plan(shop=shop) else settings.SYNCER_TRIAL_DAYS,
        "pending": pending,
        "pending_words": pending.name.removeprefix(NAME_PREFIX) if pending else "",
        "declined": declined,
        "declined_words": declined.name.removeprefix(NAME_PREFIX) if declined else "",
        "notice": notice, "form": form or SubscribeForm(initial={
            "orders_addon": entitlement.orders_addon}),
    }


@require_GET
@vary_on_headers("HX-Request", "Authorization")
@shop_session_required
def billing(request: ShopRequest[Shop]) -> HttpResponse:
    return render(request, page_or_fragment(request, TEMPLATE, "billing-plan"), _context(request))


@require_POST
@shop_session_required
@shop_role_required(Shop.Role.DESTINATION)
def billing_subscribe(request: ShopRequest[Shop]) -> HttpResponse:
    form = SubscribeForm(request.POST)
    if not form.is_valid():
        response = render(request, f"{TEMPLATE}#billing-plan", _context(request, form=form),
                          status=422)
        return failure(response, str(next(iter(form.errors.values()))[0]))
    try:
        url = subscription_request(shop=request.shop, plan_handle=form.cleaned_data["plan"],
                                   orders_addon=form.cleaned_data["orders_addon"])
    except (BillingError, ShopifyError) as exc:
        response = render(request, f"{TEMPLATE}#billing-plan", _context(request, form=form),
                          status=409 if isinstance(exc, BillingError) else 502)
        return failure(response, exc.merchant_message)
    response = render(request, f"{TEMPLATE}#billing-plan", _context(request))
    # Shopify's approval page opens in the admin's whole window (App Bridge: open(url, "_top")),
    # never inside Syncer's frame; the page's pending card links to it too.
    return trigger_client_event(response, "billing:approve", {"url": url})


def _charge_id(value: str | None) -> int | None:
    try:
        number = int(value or "")
    except ValueError:
        return None
    return number if 0 < number < 2**63 else None


@require_GET
@shop_session_required
@shop_role_required(Shop.Role.DESTINATION)
def billing_return(request: ShopRequest[Shop]) -> HttpResponse:
    """Back from Shopify's approval page: the plan is what Shopify says is active now."""
    try:
        subscription = subscription_confirm(shop=request.shop,
                                            charge_id=_charge_id(request.GET.get("charge_id")))
    except ShopifyError as exc:
        notice = {"tone": "critical", "text": f"We couldn't check your plan with Shopify: "
                  f"{exc.merchant_message} This page shows it as Shopify last told us."}
        return render(request, TEMPLATE, _context(request, notice=notice))
    entitlement = shop_entitlement(shop=request.shop)
    if subscription is not None and subscription.status == Subscription.Status.ACTIVE:
        notice = {"tone": "success", "text": f"You're on {_plan_words(entitlement)}."}
    elif subscription is not None and subscription.status == Subscription.Status.PENDING:
        notice = {"tone": "warning", "text": "Shopify hasn't confirmed your approval yet: "
                  f"you're still on {_plan_words(entitlement)}. This page updates once it does."}
    elif subscription is not None and subscription.status == Subscription.Status.DECLINED:
        notice = {"tone": "warning", "text": f"You declined "
                  f"{subscription.name.removeprefix(NAME_PREFIX)}; you're still on "
                  f"{_plan_words(entitlement)}."}
    else:
        notice = {"tone": "info", "text": f"You're on {_plan_words(entitlement)}."}
    return render(request, TEMPLATE, _context(request, notice=notice))


@require_POST
@shop_session_required
@shop_role_required(Shop.Role.DESTINATION)
def billing_cancel(request: ShopRequest[Shop]) -> HttpResponse:
    try:
        cancelled = subscription_cancel(shop=request.shop)
    except (BillingError, ShopifyError) as exc:
        response = render(request, f"{TEMPLATE}#billing-plan", _context(request),
                          status=409 if isinstance(exc, BillingError) else 502)
        return failure(response, exc.merchant_message)
    response = render(request, f"{TEMPLATE}#billing-plan", _context(request))
    return toast(response, f"{cancelled.name.removeprefix(NAME_PREFIX)} is cancelled: you're "
                           f"on {plan_free().name}.")

