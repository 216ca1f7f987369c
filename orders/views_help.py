"""Help: answers to what merchants ask, for each role (and a store with no role yet), and a form
that writes to Syncer support with the store's diagnostic summary attached if the merchant
wants. orders composes it because the summary reads every app."""

from datetime import timedelta

import redis
from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timeuntil
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from orders.diagnostics import shop_diagnostic_summary
from orders.forms_help import MESSAGE_MAX, SUBJECT_MAX, SupportMessageForm
from orders.support_tasks import MESSAGES_PER_HOUR, TooManyMessages, support_message_submit
from products.selectors import destination_connections
from stores.auth import shop_session_required
from stores.models import Connection, Shop
from stores.plans import orders_addon_price, plans
from syncer.htmx import ShopRequest, page_or_fragment, toast

TEMPLATE = "orders/help_center.html"


def _links(shop: Shop) -> dict[str, str]:
    """The pages the answers point to, only those this store can open (a page of the other
    role would refuse it)."""
    links = {"home": reverse("home"), "order_help": reverse("orders:order_help")}
    if shop.role == Shop.Role.SOURCE:
        links |= {"stores": reverse("stores:store_list"),
                  "products": reverse("products:product_list"),
                  "inventory": reverse("inventory:settings"),
                  "dashboard": reverse("orders:dashboard")}
    elif shop.role == Shop.Role.DESTINATION:
        links |= {"sources": reverse("stores:source_list"),
                  "products": reverse("products:product_list"),
                  "inventory": reverse("inventory:settings"),
                  "orders": reverse("orders:order_list"),
                  "order_settings": reverse("orders:order_settings"),
                  "dashboard": reverse("orders:dashboard"),
                  "billing": reverse("orders:billing")}
        connected = next((connection for connection in destination_connections(destination=shop)
                          if connection.status == Connection.Status.CONNECTED), None)
        if connected is not None:
            links["product_settings"] = reverse("products:product_settings",
                                                args=[connected.pk])
    return links


def _plan_rows() -> list[dict[str, str]]:
    """The tiers as settings.SYNCER_PLANS has them, in words."""
    currency = settings.SYNCER_BILLING_CURRENCY
    return [{"name": plan.name,
             "products": ("Unlimited" if plan.products is None
                          else f"{plan.products:,} product{'s' if plan.products != 1 else ''}"),
             "price": "Free" if plan.is_free else f"{plan.price:,.2f} {currency} per 30 days"}
            for plan in plans()]


def _blank_form(shop: Shop) -> SupportMessageForm:
    return SupportMessageForm(initial={"email": shop.email, "attach_diagnostics": True})


def _context(request: ShopRequest[Shop], *, form: SupportMessageForm,
             sent_to: str = "") -> dict:
    shop = request.shop
    return {
        "shop": shop,
        "links": _links(shop),
        "plans": _plan_rows(),
        "addon_price": f"{orders_addon_price():,.2f} {settings.SYNCER_BILLING_CURRENCY}",
        "trial_days": settings.SYNCER_TRIAL_DAYS,
        "form": form,
        "diagnostics": shop_diagnostic_summary(shop=shop),
        "sent_to": sent_to,
        "subject_max": SUBJECT_MAX,
        "message_max": MESSAGE_MAX,
        "support_email": settings.SYNCER_SUPPORT_EMAIL,
    }


@require_GET
@vary_on_headers("HX-Request", "Authorization")
@shop_session_required
def help_page(request: ShopRequest[Shop]) -> HttpResponse:
    return render(request, TEMPLATE, _context(request, form=_blank_form(request.shop)))


@require_POST
@shop_session_required
def help_contact(request: ShopRequest[Shop]) -> HttpResponse:
    template = page_or_fragment(request, TEMPLATE, "contact-form")
    form = SupportMessageForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            support_message_submit(
                shop=request.shop, name=data["name"], email=data["email"],
                subject=data["subject"], message=data["message"],
                diagnostics=(shop_diagnostic_summary(shop=request.shop)
                             if data["attach_diagnostics"] else ""))
        except TooManyMessages as exc:
            wait = timeuntil(timezone.now() + timedelta(seconds=exc.wait_seconds))
            form.add_error(None, (
                f"You have sent {MESSAGES_PER_HOUR} messages in the past hour, the most we "
                f"take from one store. Try again in {wait.replace(chr(160), ' ')}, or email "
                f"{settings.SYNCER_SUPPORT_EMAIL}."))
        except redis.RedisError:
            form.add_error(None, (
                "Your message could not be sent just now. Try again in a minute, or email "
                f"{settings.SYNCER_SUPPORT_EMAIL}."))
        else:
            response = render(request, template, _context(
                request, form=_blank_form(request.shop), sent_to=data["email"]))
            return toast(response, "Message sent.")
    return render(request, template, _context(request, form=form), status=422)
