"""The per-connection field flush: the one path that writes a destination product's synced
fields after import (title, description, images, tags, vendor, type, SEO, status, metafields,
options, weight, barcode, price, compare-at price).

Source edits of the fields a destination syncs wait on its product link (`pending_fields`:
{field: its value before the first waiting edit, as text}, coalesced, `pending_since` = the
first); stock's flush is the model (`products.inventory.flush`). A flush takes the waiting
links in `pending_since, id` order and sends, per product, at most one product call, the
chosen metafields (`metafieldsSet`, 25 a call) and one variants call, with the values the
mirror holds then (the latest edit wins). Each field written is one SyncEvent. What Shopify
refuses is recorded as failed and not tried again; what may recover (throttle, 5xx, timeout)
stays waiting and the task retries.

An entry is cleared only once its call is answered, and only if the mirror still holds what
was sent: an edit that arrived meanwhile keeps it waiting for the next round. So a flush that
dies mid-way loses nothing (the sweeper queues it again), and a retry resends absolute values.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from redis.exceptions import LockError
from redis.lock import Lock

from products.catalogue_data import (
    NONE_TEXT,
    product_field_text,
    variant_field_text,
    variant_texts,
    variant_texts_read,
)
from products.field_sync import BY_NAME, fields_syncing
from products.models import ProductLink, SourceProduct, SourceVariant, SyncEvent, VariantLink
from products.pricing import PriceBelowZero, PriceRule, compare_at_apply, price_apply
from products.sync_events import SyncEventSpec, sync_events_record
from stores.models import Connection
from stores.services import shop_admin_session
from syncer.redis import locked_while_wanted, redis_client
from syncer.shopify.admin_session import AdminSession
from syncer.shopify.errors import ShopifyError, ShopifyRetryable
from syncer.shopify.operations.product_fields import (
    ProductFieldsUpdate,
    product_fields_update,
    product_metafields_set,
)
from syncer.shopify.operations.products import (
    KEEP,
    Metafield,
    OptionValue,
    ProductImage,
    VariantUpdate,
    Weight,
    product_read,
    product_variants_update,
)

logger = logging.getLogger(__name__)

Kind = SyncEvent.Kind
Result = SyncEvent.Result

# Links read per claim (each is then sent on its own: at most three calls a product).
CLAIM_SIZE = 50
PRODUCT_CALL_FIELDS = ("title", "description", "images", "tags", "vendor", "product_type",
                       "seo", "status")
VARIANT_CALL_FIELDS = ("price", "compare_at", "barcode", "weight", "options")
SOURCE_CHANGE = "A change at the source"
SENT_AGAIN = "Sent again by Syncer after your settings changed"
LABELS = {"status": "Status", "metafields": "Metafields", "options": "Options",
          "seo": "SEO title and description"}


def pending_fields_merge(*, pending: dict[str, str], edited: dict[str, str]) -> dict[str, str]:
    """Waiting fields plus newer edits: each field keeps its FIRST from (what the destination
    had before the waiting edits); variant-level fields per variant. "" (sent again, every
    variant) stays ""."""
    merged = dict(pending)
    for name, old in edited.items():
        if name not in merged:
            merged[name] = old
        elif BY_NAME[name].variant_level and merged[name] and old:
            merged[name] = variant_texts({**variant_texts_read(old),
                                          **variant_texts_read(merged[name])})
    return merged


# --- one flush per connection at a time -------------------------------------------------------


@dataclass
class FieldFlushResult:
    products: int = 0
    calls: int = 0
    busy: bool = False


def _lock(connection_id: int) -> Lock:
    lock: Lock = redis_client().lock(
        f"syncer:field-flush:{connection_id}", timeout=settings.INVENTORY_FLUSH_LOCK_SECONDS * 3,
        blocking=False, thread_local=False)
    return lock


def field_flush_connection(*, connection_id: int) -> FieldFlushResult:
    """Sends every waiting field of the connection's products. Raises ShopifyRetryable for the
    task to retry later (what was not answered stays waiting)."""
    result = FieldFlushResult()
    connection = (Connection.objects.select_related("source", "destination")
                  .filter(pk=connection_id).first())
    if connection is None:
        return result
    result.busy = not locked_while_wanted(
        wanted_key=f"syncer:field-flush-wanted:{connection_id}",
        lock=lambda: _lock(connection_id),
        work=lambda lock: _flush_locked(connection, result, lock))
    return result


def _flush_locked(connection: Connection, result: FieldFlushResult, lock: Lock) -> None:
    seen: set[int] = set()
    while True:
        claimed = _claim(connection, seen)
        if not claimed:
            return
        # One session per claim, made when first needed: its token read costs queries and a
        # decryption, and a claim's products take seconds, well inside the token's life.
        session_of = functools.cache(functools.partial(
            shop_admin_session, shop_domain=connection.destination.domain))
        for link_id in claimed:
            with contextlib.suppress(LockError):  # expired: absolute values make a race safe
                lock.reacquire()
            seen.add(link_id)
            result.calls += _link_flush(connection=connection, link_id=link_id,
                                        session_of=session_of)
            result.products += 1


def _claim(connection: Connection, seen: set[int]) -> list[int]:
    """The next waiting links, oldest first; links a source change holds right now are
    skipped (its commit queues another flush)."""
    with transaction.atomic():
        return list(ProductLink.objects.select_for_update(skip_locked=True)
                    .filter(connection=connection, pending_since__isnull=False)
                    .exclude(pk__in=seen).order_by("pending_since", "pk")
                    .values_list("pk", flat=True)[:CLAIM_SIZE])


# --- one product --------------------------------------------------------------------------------


@dataclass
class _Product:
    """A link with what the mirror holds now, and the events to record."""

    connection: Connection
    link: ProductLink
    product: SourceProduct
    variant_links: list[VariantLink]
    pending: dict[str, str]
    since_ms: int | None
    events: list[SyncEventSpec] = field(default_factory=list)

    def event(self, *, kind: str, label: str, from_value: str, to_value: str, cause: str,
              result: str = Result.OK, error: str = "",
              source_variant_id: int | None = None) -> None:
        self.events.append(SyncEventSpec(
            connection=self.connection, kind=kind, product_link=self.link, field=label,
            from_value=from_value, to_value=to_value, cause=cause, result=result, error=error,
            source_variant_id=source_variant_id,
            latency_ms=self.since_ms if result == Result.OK else None))


def _load(connection: Connection, link_id: int) -> _Product | None:
    link = (ProductLink.objects.select_related("source_product").filter(pk=link_id).first())
    if link is None or link.pending_since is None:
        return None
    link.connection = connection
    since_ms = max(int((timezone.now() - link.pending_since).total_seconds() * 1000), 0)
    variant_links = list(link.variant_links.filter(source_variant__deleted_at__isnull=True)
                         .select_related("source_variant").order_by("source_variant__position",
                                                                    "pk"))
    return _Product(connection=connection, link=link, product=link.source_product,
                    variant_links=variant_links, pending=dict(link.pending_fields or {}),
                    since_ms=since_ms)


def _state(name: str, product: SourceProduct, variants: list[SourceVariant]) -> str:
    """What the mirror holds for a field, to tell whether it changed while it was sent."""
    value: Any
    if name in VARIANT_CALL_FIELDS:
        value = [[v.pk, str(v.price), str(v.compare_at_price), v.barcode, str(v.weight),
                  v.weight_unit, v.option_values] for v in variants]
        if name == "options":
            value.append(product.options)
    else:
        value = {"title": product.title, "description": product.description_html,
                 "images": product.images, "tags": product.tags, "vendor": product.vendor,
                 "product_type": product.product_type,
                 "seo": [product.seo_title, product.seo_description],
                 "metafields": product.metafields, "status": product.status}[name]
    return json.dumps(value, sort_keys=True, default=str)


def _states(item: _Product, names: list[str]) -> dict[str, str]:
    variants = [v.source_variant for v in item.variant_links]
    return {name: _state(name, item.product, variants) for name in names}


def _settle(item: _Product, sent: dict[str, str]) -> None:
    """Clears the entries that were answered, unless the mirror changed since they were read
    (`sent`: their states then). Short transaction: the link row, then the mirror."""
    if not sent:
        return
    with transaction.atomic():
        link = ProductLink.objects.select_for_update().filter(pk=item.link.pk).first()
        if link is None:
            return
        product = SourceProduct.objects.get(pk=link.source_product_id)
        variants = [v.source_variant for v in VariantLink.objects.filter(
            pk__in=[v.pk for v in item.variant_links]).select_related("source_variant")
            .order_by("source_variant__position", "pk")]
        pending = dict(link.pending_fields or {})
        for name, state in sent.items():
            if name in pending and _state(name, product, variants) == state:
                del pending[name]
        link.pending_fields = pending
        if not pending:
            link.pending_since = None
        link.save(update_fields=["pending_fields", "pending_since"])


def _link_flush(*, connection: Connection, link_id: int,
                session_of: Callable[[], AdminSession]) -> int:
    """Sends one product's waiting fields; returns the calls made."""
    item = _load(connection, link_id)
    if item is None:
        return 0
    product = item.product
    syncing = fields_syncing(connection=connection)
    # A field no longer synced (the merchant chose otherwise since) is dropped unsent: new
    # choices apply from the next source change. So is everything of a product that stopped
    # syncing (auto sync off, hidden, deleted, connection not connected).
    active = (connection.status == Connection.Status.CONNECTED and item.link.auto_sync
              and not product.hidden and product.deleted_at is None)
    names = [name for name in item.pending if active and name in syncing]
    dropped = [name for name in item.pending if name not in names]
    _settle_dropped(item, dropped)
    if not names:
        return 0
    session = session_of()
    calls = 0
    steps: list[tuple[list[str], Callable[[AdminSession, _Product, list[str]], int]]] = [
        ([n for n in names if n in PRODUCT_CALL_FIELDS], _product_call),
        ([n for n in names if n == "metafields"], _metafields_call),
        ([n for n in names if n in VARIANT_CALL_FIELDS], _variants_call),
    ]
    for step_names, step in steps:
        if not step_names:
            continue
        states = _states(item, step_names)
        try:
            calls += step(session, item, step_names)
        except ShopifyRetryable:
            sync_events_record(events=item.events)  # what was answered before stays recorded
            raise
        sync_events_record(events=item.events)
        item.events = []
        _settle(item, states)
    return calls


def _settle_dropped(item: _Product, names: list[str]) -> None:
    if not names:
        return
    with transaction.atomic():
        link = ProductLink.objects.select_for_update().filter(pk=item.link.pk).first()
        if link is None:
            return
        pending = {k: v for k, v in (link.pending_fields or {}).items() if k not in names}
        link.pending_fields = pending
        if not pending:
            link.pending_since = None
        link.save(update_fields=["pending_fields", "pending_since"])


def _cause(from_text: str) -> str:
    return SENT_AGAIN if from_text == "" else SOURCE_CHANGE


def _label(name: str) -> str:
    return LABELS.get(name) or BY_NAME[name].label


def _kind(name: str) -> str:
    if name == "status":
        return Kind.STATUS
    return Kind.PRICE if name in ("price", "compare_at") else Kind.FIELD


# --- the product call ---------------------------------------------------------------------------


def _product_call(session: AdminSession, item: _Product, names: list[str]) -> int:
    product, link = item.product, item.link
    values: dict[str, Any] = {}
    sent: list[str] = []
    for name in names:
        if name == "status" and link.drafted_by_rule and product.status == "ACTIVE":
            # The "below N: draft" stock rule drafted it; that rule sets it active again.
            item.event(kind=Kind.STATUS, label="Status", from_value=item.pending[name],
                       to_value="active", cause=_cause(item.pending[name]),
                       result=Result.SKIPPED,
                       error="Kept as draft by your stock rule until its stock is back.")
            continue
        sent.append(name)
        if name == "title":
            values["title"] = product.title
        elif name == "description":
            values["description_html"] = product.description_html
        elif name == "images":
            values["images"] = tuple(ProductImage(src=image.get("src") or "",
                                                  alt=image.get("alt") or "")
                                     for image in product.images or [])
        elif name == "tags":
            values["tags"] = tuple(product.tags or [])
        elif name == "vendor":
            values["vendor"] = product.vendor
        elif name == "product_type":
            values["product_type"] = product.product_type
        elif name == "seo":
            values["seo_title"] = product.seo_title
            values["seo_description"] = product.seo_description
        elif name == "status":
            values["status"] = product.status
    if not sent:
        return 0
    error = _send(lambda: product_fields_update(session=session, update=ProductFieldsUpdate(
        product_id=link.destination_product_id, **values)))
    for name in sent:
        from_text = item.pending[name]
        item.event(kind=_kind(name), label=_label(name), from_value=from_text,
                   to_value=product_field_text(name=name, product=product),
                   cause=_cause(from_text), result=Result.FAILED if error else Result.OK,
                   error=error or "")
    return 1


def _send(call: Callable[[], object]) -> str | None:
    """Runs one call: None when Shopify applied it, its refusal in words when it did not.
    Retryable failures propagate (the entries stay waiting)."""
    try:
        call()
    except ShopifyRetryable:
        raise
    except ShopifyError as exc:
        return exc.merchant_message
    return None


# --- metafields ---------------------------------------------------------------------------------


def _metafields_call(session: AdminSession, item: _Product, names: list[str]) -> int:
    """The source's metafields of the chosen namespaces, created or updated (never deleted:
    one removed at the source stays at the destination, which may use it)."""
    chosen = {str(namespace) for namespace in item.connection.metafield_namespaces or []}
    metafields = [Metafield(namespace=str(m.get("namespace") or ""), key=str(m.get("key") or ""),
                            type=str(m.get("type") or ""), value=str(m.get("value") or ""))
                  for m in item.product.metafields or [] if m.get("namespace") in chosen]
    from_text = item.pending["metafields"]
    if not metafields:
        return 0  # nothing of the chosen namespaces: nothing to send
    error = _send(lambda: product_metafields_set(
        session=session, product_id=item.link.destination_product_id, metafields=metafields))
    to_text = "; ".join(f"{m.namespace}.{m.key} = {m.value}" for m in metafields)
    item.event(kind=Kind.FIELD, label=_label("metafields"), from_value=from_text,
               to_value=to_text[:500], cause=_cause(from_text),
               result=Result.FAILED if error else Result.OK, error=error or "")
    return (len(metafields) + 24) // 25


# --- the variants call --------------------------------------------------------------------------


def _money(value: Decimal | None) -> str:
    return f"{value:.2f}" if value is not None else NONE_TEXT


def _price_cause(rule: PriceRule, held: str, old: str, new: str) -> str:
    """The source's change, in the cause (the event's from → to are this store's prices)."""
    if not held:
        return _cause(held)
    priced = "" if rule.is_identity else ", priced by your price rule"
    return f"{SOURCE_CHANGE}: {old or NONE_TEXT} → {new} there{priced}"


def _option_names(session: AdminSession, item: _Product) -> list[str] | None:
    """The destination's option names by position, when option values are to change; a
    renamed option name is recorded as not followed (Syncer renames values, not options)."""
    current = product_read(session=session, product_id=item.link.destination_product_id)
    if current is None:
        return None
    names = [option.name for option in sorted(current.options, key=lambda o: o.position)]
    source_names = [str(option.get("name") or "") for option in item.product.options or []]
    for position, (ours, theirs) in enumerate(zip(names, source_names, strict=False), start=1):
        if ours != theirs:
            item.event(kind=Kind.FIELD, label=f"Option {position} name", from_value=ours,
                       to_value=theirs, cause=_cause(item.pending["options"]),
                       result=Result.SKIPPED,
                       error=f"Option names are not renamed by Syncer: rename “{ours}” to "
                             f"“{theirs}” in your store if you want it to follow.")
    return names


def _variants_call(session: AdminSession, item: _Product, names: list[str]) -> int:
    rule = PriceRule.of(item.connection)
    calls = 0
    option_names: list[str] | None = None
    if "options" in names:
        option_names = _option_names(session, item)
        calls += 1
    updates: list[VariantUpdate] = []
    planned: list[tuple[str, VariantLink, str, str]] = []  # (field, link, from, to)
    causes: dict[tuple[str, int], str] = {}
    for variant_link in item.variant_links:
        source = variant_link.source_variant
        label = source.sku or source.title
        values: dict[str, Any] = {}
        rows: list[tuple[str, VariantLink, str, str]] = []
        failed: str | None = None
        for name in names:
            held = item.pending[name]
            if name == "options":
                if option_names is None:
                    continue
                values["option_values"] = tuple(
                    OptionValue(option_name=option_names[i] if i < len(option_names)
                                else value["name"], name=value["value"])
                    for i, value in enumerate(source.option_values or []))
                continue  # one event for the product's options, below
            froms = variant_texts_read(held)
            if held and source.pk not in froms:
                continue  # this variant's value did not change at the source
            from_text = froms.get(source.pk, "")
            try:
                if name == "price":
                    if source.price is None:
                        continue
                    values["price"] = price_apply(rule=rule, price=source.price)
                    to_text = _money(values["price"])
                    causes[(name, source.pk)] = _price_cause(rule, held, from_text,
                                                             _money(source.price))
                    # This store's price before is not known (not read before writing, and
                    # a rule, or the rule as it was then, priced it): blank, the cause says
                    # what the source's did.
                    from_text = ""
                elif name == "compare_at":
                    values["compare_at_price"] = compare_at_apply(
                        rule=rule, compare_at_price=source.compare_at_price)
                    to_text = _money(values["compare_at_price"])
                    causes[(name, source.pk)] = _price_cause(rule, held, from_text,
                                                             _money(source.compare_at_price))
                    # This store's price before is not known (not read before writing, and
                    # a rule, or the rule as it was then, priced it): blank, the cause says
                    # what the source's did.
                    from_text = ""
                elif name == "barcode":
                    values["barcode"] = source.barcode
                    to_text = variant_field_text(name=name, variant=source)
                else:  # weight
                    if source.weight is None or not source.weight_unit:
                        continue
                    values["weight"] = Weight(value=source.weight, unit=source.weight_unit)
                    to_text = variant_field_text(name=name, variant=source)
            except PriceBelowZero as exc:
                failed = str(exc)
                rows.append((name, variant_link, from_text, ""))
                continue
            rows.append((name, variant_link, from_text, to_text))
        if failed is not None:
            # Nothing is sent for this variant: every field of it is recorded as not sent.
            for name, _variant_link, from_text, _to in rows:
                item.event(kind=_kind(name), label=_variant_label(name, label),
                           from_value=from_text, to_value="", cause=_cause(item.pending[name]),
                           result=Result.FAILED, error=failed,
                           source_variant_id=source.pk)
            continue
        update = VariantUpdate(variant_id=variant_link.destination_variant_id, **values)
        if update.changes_anything:
            updates.append(update)
            planned.extend(rows)
    error: str | None = None
    if updates:
        error = _send(lambda: product_variants_update(
            session=session, product_id=item.link.destination_product_id, updates=updates))
        calls += 1
    result = Result.FAILED if error else Result.OK
    for name, variant_link, from_text, to_text in planned:
        source = variant_link.source_variant
        item.event(kind=_kind(name), label=_variant_label(name, source.sku or source.title),
                   from_value=from_text, to_value=to_text,
                   cause=causes.get((name, source.pk)) or _cause(item.pending[name]),
                   result=result, error=error or "", source_variant_id=source.pk)
    if option_names is not None and any(u.option_values is not KEEP for u in updates):
        from_text = item.pending["options"]
        item.event(kind=Kind.FIELD, label=_label("options"), from_value=from_text,
                   to_value=product_field_text(name="options", product=item.product),
                   cause=_cause(from_text), result=result, error=error or "")
    return calls


def _variant_label(name: str, label: str) -> str:
    return {"price": f"{label} price", "compare_at": f"{label} compare-at price",
            "barcode": f"{label} barcode", "weight": f"{label} weight"}[name]
