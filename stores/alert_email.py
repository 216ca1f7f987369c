"""Sending an alert digest: who gets it, the email itself, and the send that happens only when
the digest is due (stores.alerts counts; stores.alert_tasks calls `alert_digest_send`).

The send runs under the digest's row lock and sends only what is due, so running it twice, or
early, sends nothing more; a send that fails raises and leaves the digest waiting.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone

from stores.models import AlertDigest, AlertKind, AlertSettings, Shop
from syncer.shopify.domains import admin_app_url

logger = logging.getLogger(__name__)

# What the subject says, for one and for several ({count}).
_SUBJECTS: dict[str, tuple[str, str]] = {
    AlertKind.STOCK_WRITE_FAILED: ("a stock update failed", "{count} stock updates failed"),
    AlertKind.SOURCE_DECREMENT_FAILED: (
        "a sale or refund could not change the source's stock",
        "{count} sales or refunds could not change the source's stock"),
    AlertKind.PUSH_FAILED: ("an order push failed", "{count} order pushes failed"),
    AlertKind.OVERSOLD: ("a sale left the source's stock below zero",
                         "{count} sales left the source's stock below zero"),
    AlertKind.BREAKER_HELD: ("stock was held back by the zero-stock safety check",
                             "stock was held back {count} times by the zero-stock safety check"),
    AlertKind.CONNECTION_ENDED: ("a store connection ended", "{count} store connections ended"),
    AlertKind.ALLOWANCE_REACHED: ("the plan's product allowance was reached",
                                  "the plan's product allowance was reached {count} times"),
}

# What each kind means to the merchant, and what to do, in the email's body.
_ADVICE: dict[str, str] = {
    AlertKind.STOCK_WRITE_FAILED: (
        "Syncer could not set the stock of synced products in this store. It tries again "
        "every few minutes; the Activity log shows which products and why."),
    AlertKind.SOURCE_DECREMENT_FAILED: (
        "A sale or refund in a destination store could not be taken off (or put back on) the "
        "source store's stock. Check the item in the source store; the Activity log shows "
        "which order."),
    AlertKind.PUSH_FAILED: (
        "An order could not be pushed to its source store. Open the order in Syncer to see "
        "why and push it again."),
    AlertKind.OVERSOLD: (
        "Stores sold the same last units at the same moment: the source's stock is now below "
        "zero, so an order cannot be fulfilled from it. Restock the item at the source, or "
        "cancel or refund one of the orders; the Activity log shows which orders took it."),
    AlertKind.BREAKER_HELD: (
        "Many synced products would have gone to zero stock at once, which usually means the "
        "source's catalogue was wiped or mis-imported. Syncer held those zeros back: check the "
        "source's products; the destination store releases or keeps the zeros on its Inventory "
        "page."),
    AlertKind.CONNECTION_ENDED: (
        "A connection between this store and another one ended: stock no longer follows "
        "between them. The Activity log shows which store and when."),
    AlertKind.ALLOWANCE_REACHED: (
        "This store synced as many products as its plan allows. Products beyond it are not "
        "synced until you choose a larger plan or unsync others."),
}

def alert_window() -> timedelta:
    return timedelta(seconds=settings.SYNCER_ALERT_WINDOW_SECONDS)


def window_words(seconds: int | None = None) -> str:
    """'hour', '2 hours', '30 minutes': the window as the email says it."""
    seconds = settings.SYNCER_ALERT_WINDOW_SECONDS if seconds is None else seconds
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return "hour" if hours == 1 else f"{hours} hours"
    minutes = max(1, round(seconds / 60))
    return "minute" if minutes == 1 else f"{minutes} minutes"


# -- sending ---------------------------------------------------------------------------------


def alert_recipients(*, shop: Shop, alert_settings: AlertSettings | None = None) -> list[str]:
    """The store owner's email (as Shopify has it) and the extra addresses, once each."""
    if alert_settings is None:
        alert_settings = AlertSettings.objects.filter(shop=shop).first()
    extra = list(alert_settings.extra_emails or []) if alert_settings else []
    seen: set[str] = set()
    recipients = []
    for address in [shop.email, *extra]:
        address = (address or "").strip()
        if address and address.lower() not in seen:
            seen.add(address.lower())
            recipients.append(address)
    return recipients


def alert_digest_send(*, digest_id: int) -> float:
    """Sends the digest's email if it is due; returns how many seconds until it is due (0 when
    there is nothing more to do). A failed send raises and leaves the digest as it was."""
    with transaction.atomic():
        digest = (AlertDigest.objects.select_for_update(of=("self",)).select_related("shop")
                  .filter(pk=digest_id).first())
        if digest is None or digest.pending_count == 0:
            return 0.0
        now = timezone.now()
        if digest.last_sent_at is not None and digest.last_sent_at + alert_window() > now:
            return (digest.last_sent_at + alert_window() - now).total_seconds()
        shop = digest.shop
        alert_settings = AlertSettings.objects.filter(shop=shop).first()
        disabled = alert_settings is not None and digest.kind in (
            alert_settings.disabled_kinds or [])
        recipients = alert_recipients(shop=shop, alert_settings=alert_settings)
        sent = bool(recipients) and not disabled and shop.is_installed
        if sent:
            alert_email(digest=digest, recipients=recipients).send()
        # Sent, or nobody to send it to (switched off, no address, uninstalled): either way
        # this count is dealt with; the window only restarts when an email went.
        AlertDigest.objects.filter(pk=digest.pk).update(
            pending_count=0, pending_detail="", pending_since=None,
            **({"last_sent_at": now, "sent_count": F("sent_count") + 1} if sent else {}))
    if sent:
        logger.info("alert sent shop=%s kind=%s count=%s", shop.domain, digest.kind,
                    digest.pending_count)
    return 0.0


def alert_subject(*, kind: str, count: int, shop: Shop) -> str:
    one, many = _SUBJECTS.get(kind, ("something needs your attention",
                                     "{count} things need your attention"))
    what = one if count == 1 else many.format(count=count)
    # One line: a header cannot hold a line break, and names are the merchant's own text.
    store = " ".join((shop.name or shop.domain).split())
    period = "" if count == 1 else f" in the last {window_words()}"
    return f"Syncer: {what} in {store}{period}"


def alert_email(*, digest: AlertDigest, recipients: list[str]) -> EmailMultiAlternatives:
    shop = digest.shop
    context = {
        "shop": shop,
        "store_name": shop.name or shop.domain,
        "kind_label": AlertKind(digest.kind).label if digest.kind in AlertKind.values
        else digest.kind,
        "count": digest.pending_count,
        "since": (timezone.localtime(digest.pending_since, shop.zone)
                  if digest.pending_since else None),
        "detail": digest.pending_detail,
        "advice": _ADVICE.get(digest.kind, ""),
        "window": window_words(),
        "activity_url": admin_app_url(shop_domain=shop.domain, path="activity/"),
        "settings_url": admin_app_url(shop_domain=shop.domain, path="settings/alerts"),
    }
    message = EmailMultiAlternatives(
        subject=alert_subject(kind=digest.kind, count=digest.pending_count, shop=shop),
        body=render_to_string("stores/email/alert.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL, to=recipients)
    message.attach_alternative(render_to_string("stores/email/alert.html", context), "text/html")
    return message
