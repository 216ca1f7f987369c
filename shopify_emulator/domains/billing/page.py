"""The merchant's confirmation page for a recurring charge, in the emulated admin's look:

    GET  /admin/<shop>/charges/<n>/confirm_recurring_application_charge?signature=...
    POST the same, action=approve|decline

Approve: 303 to the app's returnUrl with ``charge_id=<n>``; decline: 303 back to the app in
the admin (Shopify shows the declined merchant the admin, not the app's page). A missing or
wrong signature is a 403, as a confirmation URL is only valid as the API handed it out.
"""

from __future__ import annotations

import html
from decimal import Decimal

from werkzeug.wrappers import Request, Response

from shopify_emulator.control_support import Emulator, act
from shopify_emulator.domains.billing.models import PENDING, AppSubscription
from shopify_emulator.domains.billing.operations import (
    confirmation_path,
    signature_valid,
    subscription_approve,
    subscription_decline,
)
from shopify_emulator.world import EmulatorError

SYMBOLS = {"USD": "$", "CAD": "$", "AUD": "$", "NZD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}
INTERVAL_WORDS = {"EVERY_30_DAYS": "every 30 days", "ANNUAL": "every year"}
STATUS_WORDS = {
    "ACTIVE": "This charge has already been approved.",
    "DECLINED": "This charge was declined.",
    "EXPIRED": "This charge has expired: ask the app for a new one.",
    "FROZEN": "This charge is on hold until your Shopify bill is paid.",
    "CANCELLED": "This charge was cancelled by the app.",
}

_STYLE = """
  * { box-sizing: border-box; }
  body { margin: 0; font-family: -apple-system, BlinkMacSystemFont, "San Francisco",
    "Segoe UI", Roboto, "Helvetica Neue", sans-serif; font-size: 13px; background: #f1f1f1;
    color: #303030; }
  .topbar { height: 56px; background: #1a1a1a; color: #e3e3e3; display: flex;
    align-items: center; gap: 12px; padding: 0 16px; }
  .topbar strong { color: #fff; font-size: 14px; }
  main { max-width: 620px; margin: 32px auto; padding: 0 16px; }
  h1 { font-size: 20px; margin: 0 0 16px; }
  .card { background: #fff; border-radius: 12px; padding: 20px;
    box-shadow: 0 1px 0 rgba(0,0,0,.07), inset 0 0 0 1px #e3e3e3; }
  .card h2 { font-size: 15px; margin: 0 0 4px; display: flex; gap: 8px; align-items: center; }
  .muted { color: #616161; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: 8px 24px; margin: 16px 0; }
  dt { color: #616161; } dd { margin: 0; font-weight: 600; }
  .badge { background: #ffd6a4; color: #5e4200; border-radius: 8px; padding: 2px 8px;
    font-size: 12px; font-weight: 600; }
  .notice { background: #eaf4ff; border-radius: 8px; padding: 12px; margin: 16px 0 0; }
  .notice.error { background: #fee9e8; color: #8e1f0b; }
  .actions { display: flex; justify-content: flex-end; gap: 8px; margin-top: 20px; }
  .actions form { margin: 0; }
  button, .button { font: inherit; font-weight: 600; border-radius: 8px; padding: 8px 14px;
    cursor: pointer; border: 0; text-decoration: none; display: inline-block; }
  .secondary { background: #fff; color: #303030;
    box-shadow: inset 0 -1px 0 #b5b5b5, inset 0 0 0 1px #e3e3e3; }
  .primary { background: #303030; color: #fff; }
"""


def price_words(subscription: AppSubscription) -> str:
    symbol = SYMBOLS.get(subscription.currency, "")
    amount = f"{Decimal(subscription.price):,.2f}"
    every = INTERVAL_WORDS.get(subscription.interval, subscription.interval.lower())
    return f"{symbol}{amount} {subscription.currency} {every}"


def trial_words(days: int) -> str:
    if days <= 0:
        return "No free trial"
    return f"{days} day{'s' if days != 1 else ''}"


def _layout(*, shop_name: str, shop: str, title: str, body: str) -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)} · Shopify admin (emulated)</title>"
        f"<style>{_STYLE}</style></head><body>"
        f'<header class="topbar"><strong>{html.escape(shop_name)}</strong>'
        f"<span>{html.escape(shop)}</span></header>"
        f"<main><h1>{html.escape(title)}</h1>{body}</main></body></html>"
    )


def confirmation_html(*, shop_name: str, shop: str, app_name: str, app_base: str,
                      subscription: AppSubscription, action_url: str,
                      message: str | None = None) -> str:
    badge = '<span class="badge">Test charge</span>' if subscription.test else ""
    test_note = (
        '<p class="muted">This is a test charge: you will not be billed.</p>'
        if subscription.test else ""
    )
    rows = (
        f"<dt>Plan</dt><dd data-field=\"name\">{html.escape(subscription.name)}</dd>"
        f"<dt>Price</dt><dd data-field=\"price\">{html.escape(price_words(subscription))}</dd>"
        f"<dt>Free trial</dt><dd data-field=\"trial\">"
        f"{html.escape(trial_words(subscription.trial_days))}</dd>"
    )
    if subscription.status == PENDING and message is None:
        action = html.escape(action_url, quote=True)
        actions = (
            '<div class="actions">'
            f'<form method="post" action="{action}"><input type="hidden" name="action" '
            'value="decline"><button type="submit" class="secondary">Decline</button></form>'
            f'<form method="post" action="{action}"><input type="hidden" name="action" '
            'value="approve"><button type="submit" class="primary">Approve</button></form>'
            "</div>"
        )
    else:
        notice = message or STATUS_WORDS.get(subscription.status, subscription.status)
        actions = (
            f'<p class="notice" role="status">{html.escape(notice)}</p>'
            f'<div class="actions"><a class="button secondary" '
            f'href="{html.escape(app_base, quote=True)}">Back to {html.escape(app_name)}</a></div>'
        )
    body = (
        '<section class="card" aria-labelledby="charge-app">'
        f'<h2 id="charge-app">{html.escape(app_name)} {badge}</h2>'
        f'<p class="muted">{html.escape(app_name)} is asking to charge your store on a '
        "recurring basis. Charges appear on your Shopify bill.</p>"
        f"<dl>{rows}</dl>{test_note}{actions}</section>"
    )
    return _layout(shop_name=shop_name, shop=shop, title="Approve subscription", body=body)


def error_html(*, shop_name: str, shop: str, message: str) -> str:
    body = f'<section class="card"><p class="notice error" role="alert">{html.escape(message)}' \
           "</p></section>"
    return _layout(shop_name=shop_name, shop=shop, title="Approve subscription", body=body)


def confirm_charge(*, emulator: Emulator, request: Request, domain: str,
                   number: int) -> Response:
    shop = emulator.world.shop_get(domain)
    if shop is None:
        return Response('{"errors":"Not Found"}', status=404, mimetype="application/json")
    app_name = emulator.config.app_name
    app_base = f"{emulator.config.base_url or ''}/admin/{domain}/apps/{emulator.config.app_handle}"

    def page(text: str, status: int) -> Response:
        return Response(error_html(shop_name=shop.name, shop=domain, message=text),
                        status=status, mimetype="text/html")

    with emulator.world.lock:
        subscription = shop.app_subscriptions.get(number)
    if subscription is None:
        return page("This charge doesn't exist.", 404)
    signature = request.args.get("signature")
    if not signature_valid(subscription, signature):
        return page("This confirmation link is invalid. Go back to the app and try again.", 403)
    action_url = f"{confirmation_path(shop_domain=domain, subscription=subscription)}" \
                 f"?{request.query_string.decode('latin-1')}"

    def render(status: int = 200, message: str | None = None) -> Response:
        return Response(
            confirmation_html(shop_name=shop.name, shop=domain, app_name=app_name,
                              app_base=app_base, subscription=subscription,
                              action_url=action_url, message=message),
            status=status, mimetype="text/html")

    if request.method == "GET":
        return render()
    choice = request.form.get("action")
    if choice not in ("approve", "decline"):
        return render(400, "Choose Approve or Decline.")
    try:
        if choice == "approve":
            location = act(emulator=emulator, operation=subscription_approve,
                           shop_domain=domain, number=number)
        else:
            act(emulator=emulator, operation=subscription_decline, shop_domain=domain,
                number=number)
            location = app_base
    except EmulatorError:  # answered already (another tab, the control API)
        return render(409)
    return Response(status=303, headers={"Location": location})
