"""Stock webhooks: inventory_levels/update|disconnect, orders/paid|create|cancelled|edited,
refunds/create."""

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils.dateparse import parse_datetime

from products.inventory.drift import DRIFT_GRACE, destination_level_changed
from products.inventory.echoes import level_delivery_is_echo
from products.inventory.edits import order_edit_count, order_edit_read
from products.inventory.effects import inventory_effects_for_order, inventory_effects_for_refund
from products.inventory.holds import destination_holds_for_order, destination_holds_release
from products.inventory.targets import source_level_unstocked, source_levels_changed
from products.inventory.tasks import inventory_effects_apply_on_commit, inventory_flush_on_commit
from stores.models import Shop
from syncer.rows import model_from_row, model_select
from webhooks.registry import (
    webhook_batch_handler_register,
    webhook_echo_check_register,
    webhook_handler_register,
    webhook_items_one_at_a_time,
    webhook_payload_int,
    webhook_queue_register,
    webhook_time_plausible,
)
from webhooks.selectors import delivery_triggered_at


def _shop(shop_domain: str) -> Shop | None:
    return Shop.objects.filter(domain=shop_domain, uninstalled_at__isnull=True).first()


_LEVEL_SHOP_FIELDS = ("id", "domain", "role")
_LEVEL_SHOP_SQL = (model_select(Shop, _LEVEL_SHOP_FIELDS)
                   + " WHERE domain = %s AND uninstalled_at IS NULL")


def _level_shop(shop_domain: str) -> Shop | None:
    """The installed shop of a level webhook, with only what the handler reads (the rest is
    read if touched). A level webhook is nearly always an echo of our own write: the ORM's
    read of the whole row was a tenth of the worker's time writing to 20 destinations."""
    with connection.cursor() as cursor:
        cursor.execute(_LEVEL_SHOP_SQL, [shop_domain])
        row = cursor.fetchone()
    return model_from_row(Shop, _LEVEL_SHOP_FIELDS, row) if row else None


def _datetime(value: Any) -> datetime | None:
    try:
        parsed = parse_datetime(str(value or ""))
    except ValueError:  # well-formed but impossible, e.g. month 13
        return None
    return webhook_time_plausible(parsed)


_SHOP_ROLE_SQL = model_select(Shop, ("role",)) + " WHERE domain = %s"


def _level_queue(shop_domain: str) -> str | None:
    # A destination's level webhooks are nearly all echoes of our own writes, and a manual
    # edit waits out a grace period before it is healed anyway: they go to the queue workers
    # take last, so the echoes of the first destinations written never hold up the writes to
    # the others (a source's level changes keep the first queue: they start the writes).
    with connection.cursor() as cursor:  # in the web tier, once per shop's burst
        cursor.execute(_SHOP_ROLE_SQL, [shop_domain])
        row = cursor.fetchone()
    return settings.CELERY_QUEUE_WEBHOOKS_LATER if row and row[0] == Shop.Role.DESTINATION else None


webhook_queue_register("inventory_levels/update", _level_queue)
# The echoes of our own writes are answered at the door, not stored (echoes.py).
webhook_echo_check_register("inventory_levels/update", level_delivery_is_echo)


def _level(payload: dict[str, Any],
           ) -> tuple[int, int, int | None, datetime | None] | None:
    """(item, location, available, updated_at) of an inventory_levels/update payload."""
    item_id = webhook_payload_int(payload.get("inventory_item_id"))
    location_id = webhook_payload_int(payload.get("location_id"))
    if item_id is None or location_id is None:
        return None
    return (item_id, location_id, webhook_payload_int(payload.get("available")),
            _datetime(payload.get("updated_at")))


@webhook_batch_handler_register("inventory_levels/update")
def inventory_levels_updated(*, shop_domain: str,
                             items: list[tuple[int, dict[str, Any]]]) -> dict[int, Exception]:
    """One or many level changes of one shop: a source's are recorded in order and every
    linked target recomputed once (one pass for a bulk edit of thousands of variants, one
    flush request per destination); a destination's are compared one by one."""
    shop = _level_shop(shop_domain)
    if shop is None:
        return {}
    if shop.role == Shop.Role.SOURCE:
        # No surrounding transaction: each target update commits on its own, so fan-outs to
        # many destinations never hold locks that a destination's flush is waiting for.
        levels = [level for level in (_level(payload) for _, payload in items) if level]
        inventory_flush_on_commit(source_levels_changed(source=shop, levels=levels))
        return {}
    if shop.role != Shop.Role.DESTINATION:
        return {}

    def destination_level_updated(*, payload: dict[str, Any], delivery_id: int,
                                  **_: Any) -> None:
        level = _level(payload)
        if level is None:
            return
        item_id, location_id, available, updated_at = level
        inventory_flush_on_commit(destination_level_changed(
            destination=shop, inventory_item_id=item_id, location_id=location_id,
            available=available, updated_at=updated_at, delivery_id=delivery_id),
            countdown=DRIFT_GRACE.total_seconds() + 0.5)

    return webhook_items_one_at_a_time(handlers=[destination_level_updated],
                                       shop_domain=shop_domain, items=items)


@webhook_handler_register("inventory_levels/disconnect")
def inventory_level_disconnected(*, shop_domain: str, payload: dict[str, Any],
                                 delivery_id: int) -> None:
    """A source's unstocked level stops counting at once, unless Shopify reported it changed
    after the unstocking (targets.source_level_unstocked). At a destination there is nothing to
    do now: the next write to that location stocks the item there again (flush.py)."""
    shop = _level_shop(shop_domain)
    item_id = webhook_payload_int(payload.get("inventory_item_id"))
    location_id = webhook_payload_int(payload.get("location_id"))
    if shop is None or shop.role != Shop.Role.SOURCE or item_id is None or location_id is None:
        return
    inventory_flush_on_commit(source_level_unstocked(
        source=shop, inventory_item_id=item_id, location_id=location_id,
        triggered_at=delivery_triggered_at(delivery_id=delivery_id)))


def _order(shop_domain: str, payload: dict[str, Any], trigger: str) -> None:
    shop = _shop(shop_domain)
    if (shop is None or shop.role != Shop.Role.DESTINATION
            or webhook_payload_int(payload.get("id")) is None):
        return
    if trigger == "create" and payload.get("financial_status") == "paid":
        trigger = "paid"  # created already paid: counts like orders/paid (same effect keys)
    with transaction.atomic():
        inventory_effects_apply_on_commit(inventory_effects_for_order(
            destination=shop, payload=payload, trigger=trigger))
        # Unpaid, its units stay off sale at this store until paid (holds.py); paid, its sale
        # (just made) moves the source, and the store's raises wait for it.
        inventory_flush_on_commit(
            destination_holds_release(destination=shop, payload=payload, paid=True)
            if trigger == "paid" else
            destination_holds_for_order(destination=shop, payload=payload))


@webhook_handler_register("orders/paid")
def order_paid(*, shop_domain: str, payload: dict[str, Any], delivery_id: int) -> None:
    _order(shop_domain, payload, "paid")


@webhook_handler_register("orders/create")
def order_created(*, shop_domain: str, payload: dict[str, Any], delivery_id: int) -> None:
    _order(shop_domain, payload, "create")


@webhook_handler_register("orders/cancelled")
def order_cancelled(*, shop_domain: str, payload: dict[str, Any], delivery_id: int) -> None:
    """An order cancelled unpaid gives back the units it held at its store (holds.py)."""
    shop = _shop(shop_domain)
    if (shop is None or shop.role != Shop.Role.DESTINATION
            or webhook_payload_int(payload.get("id")) is None):
        return
    with transaction.atomic():
        inventory_flush_on_commit(destination_holds_release(destination=shop, payload=payload))


@webhook_handler_register("orders/edited")
def order_edited(*, shop_domain: str, payload: dict[str, Any], delivery_id: int) -> None:
    """Units an order gained in an edit count like its sale: at the source when the order is
    counted, else held at the store until paid (edits.py)."""
    shop = _shop(shop_domain)
    if shop is None or shop.role != Shop.Role.DESTINATION:
        return
    edit = order_edit_read(destination=shop, payload=payload)  # an API call: no transaction
    if edit is None:
        return
    with transaction.atomic():
        effects, to_flush = order_edit_count(destination=shop, edit=edit)
        inventory_effects_apply_on_commit(effects)
        inventory_flush_on_commit(to_flush)


@webhook_handler_register("refunds/create")
def refund_created(*, shop_domain: str, payload: dict[str, Any], delivery_id: int) -> None:
    shop = _shop(shop_domain)
    if shop is None or shop.role != Shop.Role.DESTINATION:
        return
    with transaction.atomic():
        inventory_effects_apply_on_commit(inventory_effects_for_refund(destination=shop,
                                                                         payload=payload))
