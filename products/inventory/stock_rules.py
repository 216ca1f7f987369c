"""The "below N: set the product to draft" stock rule (Connection.draft_below).

When a linked product's stock at the destination (the sum of its syncing variants' targets,
sql.STOCK_RULE_DUE) falls below N, its destination product is set to draft and the link
remembers that the rule did it (ProductLink.drafted_by_rule); once it is back at N or above, or
the rule is turned off, the rule sets it active again. Only a product the rule drafted is ever
set active by it: one the merchant drafted, archived or re-activated by hand stays as it is.

While the rule holds a product in draft, the rule wins over the "Status" field choice
(products/field_sync.py): auto sync leaves the status of such a product alone, and when the rule
lets it go the product takes the source's status if Status syncs, else active.

It runs after stock changes: after a flush wrote a destination's stock (products/inventory/
tasks.py), and after the merchant saved the connection's inventory settings. State-based and
idempotent: the destination product is read first and only a status that differs is set.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection as db_connection
from django.db import transaction
from redis.exceptions import LockError

from products.field_sync import fields_syncing
from products.inventory.sql import RULED_CONNECTIONS, STOCK_RULE_DUE
from products.models import ProductLink, SyncEvent, VariantLink
from products.sync_events import sync_event_record
from stores.models import Connection
from stores.services import shop_admin_session
from syncer.redis import redis_client
from syncer.shopify.admin_session import AdminSession
from syncer.shopify.errors import ShopifyRetryable, ShopifyUserErrors
from syncer.shopify.operations.products import product_read, product_status_set

ACTIVE = "ACTIVE"
DRAFT = "DRAFT"
# One connection's rule applied by one worker at a time (a later run decides from the state the
# earlier one left); how long a run may hold it between two products, and wait for it.
LOCK_SECONDS = 120
LOCK_WAIT_SECONDS = 60


@dataclass(frozen=True, slots=True)
class StockRuleDue:
    product_link_id: int
    quantity: int | None
    drafted_by_rule: bool
    draft_below: int | None

    @property
    def to_draft(self) -> bool:
        return not self.drafted_by_rule


@dataclass
class StockRuleResult:
    drafted: int = 0
    activated: int = 0
    left_alone: int = 0
    failed: int = 0


def stock_rule_due(*, connection_id: int,
                   product_link_ids: Iterable[int] | None = None) -> list[StockRuleDue]:
    """The product links of one connection (all of them, or those given) whose destination
    product the rule should draft or set active again."""
    links = None if product_link_ids is None else sorted(set(product_link_ids))
    if links == []:
        return []
    with db_connection.cursor() as cursor:
        cursor.execute(STOCK_RULE_DUE, {
            "connection": connection_id, "connected": Connection.Status.CONNECTED,
            "every": links is None, "links": links or []})
        return [StockRuleDue(product_link_id=int(link_id),
                             quantity=None if quantity is None else int(quantity),
                             drafted_by_rule=bool(drafted), draft_below=draft_below)
                for link_id, quantity, drafted, draft_below in cursor.fetchall()]


def stock_rule_due_after_write(*, destination_id: int,
                               stock_ids: Iterable[int]) -> dict[int, list[int]]:
    """After a flush wrote these stock rows: the product links whose status the rule should
    change, by connection. One indexed query when no source of the destination has the rule
    on (the rule off drafts nothing; what it drafted it set active when it was turned off)."""
    stock_ids = list(stock_ids)
    if not stock_ids:
        return {}
    with db_connection.cursor() as cursor:
        cursor.execute(RULED_CONNECTIONS, {"destination": destination_id,
                                           "connected": Connection.Status.CONNECTED})
        ruled = [connection_id for (connection_id,) in cursor.fetchall()]
    if not ruled:
        return {}
    touched: dict[int, set[int]] = defaultdict(set)
    for connection_id, product_link_id in VariantLink.objects.filter(
            connection_id__in=ruled, stock__pk__in=stock_ids).values_list(
            "connection_id", "product_link_id").distinct():
        touched[connection_id].add(product_link_id)
    due: dict[int, list[int]] = {}
    for connection_id, product_link_ids in touched.items():
        found = stock_rule_due(connection_id=connection_id, product_link_ids=product_link_ids)
        if found:
            due[connection_id] = [row.product_link_id for row in found]
    return due


def stock_rule_apply(*, connection_id: int,
                     product_link_ids: list[int] | None = None) -> StockRuleResult:
    """Drafts (or sets active again) each product of the connection the rule says should be:
    all of them, or those given. Decided under the connection's lock from the state as it is
    then, so of two runs the later one decides last. Raises ShopifyRetryable for the task to
    retry (the same run again changes nothing twice)."""
    result = StockRuleResult()
    connection = (Connection.objects.select_related("source", "destination")
                  .filter(pk=connection_id, status=Connection.Status.CONNECTED).first())
    if connection is None:
        return result
    lock = redis_client().lock(f"syncer:stock-rule:{connection_id}", timeout=LOCK_SECONDS,
                               blocking_timeout=LOCK_WAIT_SECONDS, thread_local=False)
    if not lock.acquire():
        raise ShopifyRetryable("Another run of the stock rule holds this source; retrying.")
    try:
        due = stock_rule_due(connection_id=connection_id, product_link_ids=product_link_ids)
        if not due:
            return result
        session = shop_admin_session(shop_domain=connection.destination.domain)
        links = ProductLink.objects.select_related("source_product").in_bulk(
            [row.product_link_id for row in due])
        for row in due:
            lock.reacquire()
            link = links.get(row.product_link_id)
            if link is None:
                continue
            if row.to_draft:
                _draft(session=session, connection=connection, link=link, row=row,
                       result=result)
            else:
                _activate(session=session, connection=connection, link=link, row=row,
                          result=result)
    finally:
        with contextlib.suppress(LockError):  # expired: a newer run owns it now
            lock.release()
    return result


def _draft(*, session: AdminSession, connection: Connection, link: ProductLink,
           row: StockRuleDue, result: StockRuleResult) -> None:
    current = product_read(session=session, product_id=link.destination_product_id)
    if current is None or current.status != ACTIVE:
        # Gone (auto sync unlinks it), or drafted or archived by the merchant (or by the
        # source's status): not the rule's to manage, nor ever to set active.
        result.left_alone += 1
        return
    cause = f"stock below {row.draft_below} (stock rule)"
    try:
        product_status_set(session=session, product_id=link.destination_product_id,
                           status=DRAFT)
    except ShopifyUserErrors as exc:
        _status_failed(connection=connection, link=link, from_status=ACTIVE, to_status=DRAFT,
                       cause=cause, exc=exc)
        result.failed += 1
        return
    with transaction.atomic():
        ProductLink.objects.filter(pk=link.pk).update(drafted_by_rule=True)
        sync_event_record(connection=connection, kind=SyncEvent.Kind.STATUS, product_link=link,
                          field="status", from_value="active", to_value="draft", cause=cause)
    result.drafted += 1


def _activate(*, session: AdminSession, connection: Connection, link: ProductLink,
              row: StockRuleDue, result: StockRuleResult) -> None:
    # The rule held the product in draft over the Status choice; letting it go, the product
    # takes the source's status when Status syncs.
    wanted = (link.source_product.status if "status" in fields_syncing(connection=connection)
              else ACTIVE)
    cause = ("stock rule turned off" if row.draft_below is None
             else f"stock back at {row.draft_below} or above (stock rule)")
    current = product_read(session=session, product_id=link.destination_product_id)
    if current is not None and current.status == DRAFT and wanted != DRAFT:
        try:
            product_status_set(session=session, product_id=link.destination_product_id,
                               status=wanted)
        except ShopifyUserErrors as exc:
            _status_failed(connection=connection, link=link, from_status=DRAFT,
                           to_status=wanted, cause=cause, exc=exc)
            result.failed += 1
            return
        with transaction.atomic():
            ProductLink.objects.filter(pk=link.pk).update(drafted_by_rule=False)
            sync_event_record(connection=connection, kind=SyncEvent.Kind.STATUS,
                              product_link=link, field="status", from_value="draft",
                              to_value=wanted.lower(), cause=cause)
        result.activated += 1
        return
    # Set active (or archived) by the merchant meanwhile, or gone: the rule lets it go as it is.
    ProductLink.objects.filter(pk=link.pk).update(drafted_by_rule=False)
    result.left_alone += 1


def _status_failed(*, connection: Connection, link: ProductLink, from_status: str,
                   to_status: str, cause: str, exc: ShopifyUserErrors) -> None:
    sync_event_record(connection=connection, kind=SyncEvent.Kind.STATUS, product_link=link,
                      field="status", from_value=from_status.lower(),
                      to_value=to_status.lower(), cause=cause, result=SyncEvent.Result.FAILED,
                      error=exc.merchant_message)
