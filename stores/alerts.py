"""Email alerts to store owners: what failed, as a digest rather than a flood.

Every failure point calls `alert_raise` (through `alert_raise_on_commit`, so an alert is only
counted once the failure it reports is recorded). Each (store, kind) has one AlertDigest row:
the count since the last email and the latest detail. The first failure after a quiet window
queues the email (a minute later, so a burst goes as one); later ones only add to the count, and
the email that covers them goes when the window since the last one is over. So a store hears
at most once per kind per window (settings.SYNCER_ALERT_WINDOW_SECONDS), with how many
happened.

The send itself is in stores.alert_email (run by stores.alert_tasks).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from stores.alert_email import alert_window
from stores.alert_tasks import alert_digest_send_later
from stores.models import AlertDigest, AlertKind, AlertSettings, Shop

MAX_EXTRA_EMAILS = 5
DETAIL_LIMIT = 2000
# The first email after a quiet window waits this long, so a burst (a failing batch, a wiped
# catalogue) arrives as one email with its count rather than "1" now and the rest an hour later.
GATHER = timedelta(seconds=60)
# A digest still waiting this long after its window ended lost its task (a broker restart):
# the next alert of its kind queues another.
LOST_TASK_SLACK = timedelta(minutes=5)

# The kinds each role can receive (the settings page offers only these).
KINDS_BY_ROLE: dict[str, tuple[str, ...]] = {
    Shop.Role.SOURCE: (AlertKind.SOURCE_DECREMENT_FAILED, AlertKind.OVERSOLD,
                       AlertKind.BREAKER_HELD, AlertKind.CONNECTION_ENDED),
    Shop.Role.DESTINATION: tuple(AlertKind.values),
}


# -- raising ---------------------------------------------------------------------------------


def alert_raise(*, shop: Shop, kind: str, detail: str) -> None:
    """Counts one `kind` of trouble for `shop` and makes sure an email about it will go: now
    when the last one went more than a window ago, else when the window is over. A kind the
    store switched off is neither counted nor sent."""
    if kind in alert_disabled_kinds(shop=shop):
        return
    now = timezone.now()
    with transaction.atomic():
        digest, _ = AlertDigest.objects.select_for_update().get_or_create(shop=shop, kind=kind)
        # The first since the last email queues it; the rest ride along. A digest waiting
        # well past its window lost its task: queue again (and restart the wait for that).
        lost = (digest.pending_count > 0 and digest.pending_since is not None
                and digest.pending_since < now - alert_window() - LOST_TASK_SLACK)
        queue = digest.pending_count == 0 or lost
        AlertDigest.objects.filter(pk=digest.pk).update(
            pending_count=F("pending_count") + 1, pending_detail=(detail or "")[:DETAIL_LIMIT],
            pending_since=Value(now) if lost else Coalesce("pending_since", Value(now)))
        if queue:
            due = max(now + GATHER, digest.last_sent_at + alert_window() if digest.last_sent_at
                      else now)
            transaction.on_commit(functools.partial(
                alert_digest_send_later, digest_id=digest.pk,
                countdown=max(0.0, (due - now).total_seconds())), robust=True)


def _raise_logged(*, shop_id: int, kind: str, detail: str) -> None:
    shop = Shop.objects.filter(pk=shop_id).first()
    if shop is not None:
        alert_raise(shop=shop, kind=kind, detail=detail)


def alert_raise_on_commit(*, shop_ids: Iterable[int | None], kind: str, detail: str) -> None:
    """`alert_raise` for each shop once the current transaction commits: the failure being
    reported is recorded first, and an alert never breaks (or rolls back) what failed."""
    for shop_id in sorted({shop_id for shop_id in shop_ids if shop_id is not None}):
        transaction.on_commit(functools.partial(
            _raise_logged, shop_id=shop_id, kind=kind, detail=detail), robust=True)


# -- settings --------------------------------------------------------------------------------


def alert_disabled_kinds(*, shop: Shop) -> list[str]:
    return AlertSettings.objects.filter(shop=shop).values_list(
        "disabled_kinds", flat=True).first() or []


def alert_settings_for(*, shop: Shop) -> AlertSettings:
    """The store's alert settings; defaults (every kind on, no extra address) if never saved."""
    return AlertSettings.objects.filter(shop=shop).first() or AlertSettings(shop=shop)


def alert_kinds_for(*, shop: Shop) -> tuple[str, ...]:
    return KINDS_BY_ROLE.get(shop.role, ())


def alert_settings_update(*, shop: Shop, extra_emails: list[str],
                          enabled_kinds: list[str]) -> AlertSettings:
    """Saves the extra addresses and which of the role's kinds are on; kinds the role does not
    offer keep their setting."""
    for address in extra_emails:
        validate_email(address)
    if len(extra_emails) > MAX_EXTRA_EMAILS:
        raise ValidationError(f"Add at most {MAX_EXTRA_EMAILS} extra addresses.")
    offered = alert_kinds_for(shop=shop)
    with transaction.atomic():
        row, _ = AlertSettings.objects.select_for_update().get_or_create(shop=shop)
        kept = [kind for kind in row.disabled_kinds or [] if kind not in offered]
        row.extra_emails = extra_emails
        row.disabled_kinds = kept + [kind for kind in offered if kind not in enabled_kinds]
        row.save()
    return row


@dataclass(frozen=True)
class AlertSent:
    kind: str
    label: str
    enabled: bool
    last_sent_at: datetime | None
    sent_count: int
    pending_count: int


def alerts_sent_for(*, shop: Shop) -> list[AlertSent]:
    """Per kind the store can receive: when the last email went, how many went, how many
    failures wait for the next one."""
    digests = {digest.kind: digest for digest in AlertDigest.objects.filter(shop=shop)}
    disabled = alert_disabled_kinds(shop=shop)
    rows = []
    for kind in alert_kinds_for(shop=shop):
        digest = digests.get(kind)
        rows.append(AlertSent(
            kind=kind, label=AlertKind(kind).label, enabled=kind not in disabled,
            last_sent_at=digest.last_sent_at if digest else None,
            sent_count=digest.sent_count if digest else 0,
            pending_count=digest.pending_count if digest else 0))
    return rows
