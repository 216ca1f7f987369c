"""Map existing products, the work: the check's report from a destination's catalogue scan, and
the linking of its unique matches (a product job's batch, run by `products.jobs`).

A variant matches by the connection's chosen key (`Connection.match_by`): its SKU or its
barcode. The report compares both sides before anything is linked: duplicate values on either
side, blank values, near matches (differ only in case or spaces), products of which only some
variants match (the merchant links those matches or skips the product), and matches that cannot
be linked (one destination product matching several source products, or the other way round).
Linking takes exactly the unique matches (exact value after trimming spaces, one variant on
each side; a blank value never matches) and brings their stock to the target. Mapping syncs
inventory only: nothing else of the destination's products is touched.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import ngettext

from products.inventory.links import variant_links_stock_write
from products.models import (
    CatalogueScan,
    ProductJob,
    ProductLink,
    SourceVariant,
    SyncEvent,
    VariantLink,
)
from products.sync_events import sync_event_record
from stores.models import Connection
from syncer.shopify.operations.products import Product

REPORT_LIST_LIMIT = 200

MatchBy = Connection.MatchBy
# How a product link made by each key says so.
ORIGIN_OF_KEY: dict[str, str] = {MatchBy.SKU: ProductLink.Origin.MAPPED,
                                 MatchBy.BARCODE: ProductLink.Origin.MAPPED_BARCODE}


def key_words(key: str) -> str:
    """The key as a merchant reads it in a sentence: "SKU", "barcode"."""
    return "SKU" if key == MatchBy.SKU else "barcode"


def key_normal(value: str | None) -> str:
    """What must match exactly: the value without surrounding whitespace."""
    return (value or "").strip()


def key_loose(value: str | None) -> str:
    """Near-match key: no whitespace at all, case folded."""
    return "".join((value or "").split()).casefold()


def destination_scan_apply(*, scan: CatalogueScan, products: Iterable[Product]) -> None:
    """Keeps the destination's variants from its catalogue scan and computes the report, by the
    connection's key as it is now."""
    product_count = 0
    variants: list[dict[str, Any]] = []
    for product in products:
        product_count += 1
        variants.extend({
            "product_id": product.id, "product_title": product.title,
            "variant_id": variant.id, "variant_title": variant.title,
            "inventory_item_id": variant.inventory_item_id, "sku": variant.sku,
            "barcode": variant.barcode,
        } for variant in product.variants)
    # A read for a check before connecting has no connection yet: its report is computed
    # against the source whose key is pasted, each time it is shown (products.precheck).
    report = {} if scan.connection is None else match_report(
        connection=scan.connection, destination_variants=variants,
        key=scan.connection.match_by)
    CatalogueScan.objects.filter(pk=scan.pk).update(
        destination_variants=variants, report=report, products=product_count,
        variants=len(variants))


def source_variants_visible(*, source_id: int) -> list[dict]:
    """The source's variants its destinations may see (not deleted, not hidden)."""
    rows = (SourceVariant.objects.filter(shop_id=source_id, deleted_at__isnull=True,
                                         product__deleted_at__isnull=True,
                                         product__hidden=False)
            .values("pk", "sku", "barcode", "title", "product_id", "product__title"))
    return [{"id": r["pk"], "sku": r["sku"], "barcode": r["barcode"], "title": r["title"],
             "product_id": r["product_id"], "product_title": r["product__title"]}
            for r in rows]


def _product_variant_counts(variants: Iterable[dict], key: str) -> dict[int, int]:
    counts: dict[int, int] = defaultdict(int)
    for variant in variants:
        counts[variant[key]] += 1
    return counts


def match_report(*, connection: Connection, destination_variants: list[dict],
                 key: str) -> dict:
    """Everything a merchant should know before linking by `key` ("sku" or "barcode"), and the
    matches to link."""
    linked_source = dict(VariantLink.objects.filter(connection=connection)
                         .values_list("source_variant_id", "destination_variant_id"))
    product_links = {link.source_product_id: link.destination_product_id
                     for link in ProductLink.objects.filter(connection=connection)}
    return variants_match(source_variants=source_variants_visible(source_id=connection.source_id),
                          destination_variants=destination_variants, key=key,
                          linked_source=linked_source, product_links=product_links)


def variants_match(*, source_variants: list[dict], destination_variants: list[dict], key: str,
                   linked_source: dict[int, int], product_links: dict[int, int]) -> dict:
    """The report of `match_report` for any two catalogues: `linked_source` maps source variant
    ids to the destination variants they are linked to already, `product_links` source product
    ids to destination product ids (both empty before a connection exists)."""

    def value(variant: dict) -> str:
        return key_normal(variant.get(key))

    source_by_value: dict[str, list[dict]] = defaultdict(list)
    destination_by_value: dict[str, list[dict]] = defaultdict(list)
    blank_source = [v for v in source_variants if not value(v)]
    blank_destination = [v for v in destination_variants if not value(v)]
    for variant in source_variants:
        if value(variant):
            source_by_value[value(variant)].append(variant)
    for variant in destination_variants:
        if value(variant):
            destination_by_value[value(variant)].append(variant)

    duplicates = []
    for side, by_value in (("source", source_by_value), ("destination", destination_by_value)):
        for text, found in sorted(by_value.items()):
            if len(found) > 1:
                duplicates.append({"side": side, "value": text, "count": len(found),
                                   "products": sorted({v["product_title"] for v in found})})

    linked_destination = set(linked_source.values())
    destination_taken = {dest: src for src, dest in product_links.items()}

    candidates = []
    already_linked = 0
    for text, sources in source_by_value.items():
        destinations = destination_by_value.get(text, [])
        if len(sources) != 1 or len(destinations) != 1:
            continue
        source, destination = sources[0], destinations[0]
        if source["id"] in linked_source or destination["variant_id"] in linked_destination:
            already_linked += 1
            continue
        candidates.append((text, source, destination))

    # A product link pairs one source product with one destination product.
    destinations_of: dict[int, set[int]] = defaultdict(set)
    sources_of: dict[int, set[int]] = defaultdict(set)
    for _text, source, destination in candidates:
        destinations_of[source["product_id"]].add(destination["product_id"])
        sources_of[destination["product_id"]].add(source["product_id"])
    matches, conflicts = [], []
    for text, source, destination in candidates:
        reason = None
        if len(destinations_of[source["product_id"]]) > 1:
            reason = (f"The source product “{source['product_title']}” matches variants of "
                      "several products in your store.")
        elif len(sources_of[destination["product_id"]]) > 1:
            reason = (f"Your product “{destination['product_title']}” matches variants of "
                      "several source products.")
        elif product_links.get(source["product_id"], destination["product_id"]) != destination[
                "product_id"]:
            reason = (f"The source product “{source['product_title']}” is already synced with "
                      "another product in your store.")
        elif destination_taken.get(destination["product_id"], source["product_id"]) != source[
                "product_id"]:
            reason = (f"Your product “{destination['product_title']}” is already synced with "
                      "another source product.")
        if reason:
            conflicts.append({"value": text, "reason": reason})
            continue
        matches.append({
            "value": text, "source_variant_id": source["id"],
            "source_product_id": source["product_id"], "source_title": source["product_title"],
            "source_variant_title": source["title"],
            "destination_product_id": destination["product_id"],
            "destination_variant_id": destination["variant_id"],
            "destination_inventory_item_id": destination["inventory_item_id"],
            "destination_title": destination["product_title"],
        })

    source_loose: dict[str, list[dict]] = defaultdict(list)
    for text, sources in source_by_value.items():
        source_loose[key_loose(text)].extend(sources)
    near = []
    for text, destinations in sorted(destination_by_value.items()):
        if text in source_by_value:
            continue
        for source in source_loose.get(key_loose(text), []):
            near.append({"destination_value": text, "source_value": value(source),
                         "destination_product": destinations[0]["product_title"],
                         "source_product": source["product_title"]})

    # Product pairs of which only some variants match (either side has variants the other's do
    # not match): the merchant links the matches or skips the product.
    source_counts = _product_variant_counts(source_variants, "product_id")
    destination_counts = _product_variant_counts(destination_variants, "product_id")
    pairs: dict[tuple[int, int], dict] = {}
    for match in matches:
        pair_key = (match["source_product_id"], match["destination_product_id"])
        pair = pairs.setdefault(pair_key, {
            "source_product_id": pair_key[0], "destination_product_id": pair_key[1],
            "source_product": match["source_title"],
            "destination_product": match["destination_title"],
            "source_variants": source_counts[pair_key[0]],
            "destination_variants": destination_counts[pair_key[1]], "matched": 0})
        pair["matched"] += 1
    partial = sorted((pair for pair in pairs.values()
                      if pair["matched"] < max(pair["source_variants"],
                                               pair["destination_variants"])),
                     key=lambda pair: (pair["source_product"], pair["destination_product"]))

    matched_source = {m["source_variant_id"] for m in matches}
    matched_destination = {m["destination_variant_id"] for m in matches}
    return {
        "key": key,
        "computed_at": timezone.now().isoformat(timespec="seconds"),
        "source_variants": len(source_variants),
        "destination_variants": len(destination_variants),
        "matches": matches,
        "match_count": len(matches),
        "product_count": len({m["source_product_id"] for m in matches}),
        "already_linked": already_linked,
        "duplicates": duplicates[:REPORT_LIST_LIMIT],
        "duplicate_count": len(duplicates),
        "blank": {"source": len(blank_source), "destination": len(blank_destination),
                  "source_products": sorted({v["product_title"] for v in blank_source}
                                            )[:REPORT_LIST_LIMIT],
                  "destination_products": sorted({v["product_title"] for v in blank_destination}
                                                 )[:REPORT_LIST_LIMIT]},
        "near": near[:REPORT_LIST_LIMIT],
        "near_count": len(near),
        # Every partial product is kept (not cut at the list limit): each carries a choice.
        "variant_count_mismatch": partial,
        # Source products of partial pairs the merchant chose to skip (see mapping.py).
        "skipped_products": [],
        "conflicts": conflicts[:REPORT_LIST_LIMIT],
        "conflict_count": len(conflicts),
        "unmatched_source": len([v for v in source_variants
                                 if v["id"] not in matched_source
                                 and v["id"] not in linked_source]),
        "unmatched_destination": len([v for v in destination_variants
                                      if v["variant_id"] not in matched_destination
                                      and v["variant_id"] not in linked_destination]),
    }


def map_batch(*, job: ProductJob, source_product_ids: list[int],
              progress: Callable[..., None]) -> None:
    """Links the matches of a batch of source products, then writes their stock."""
    connection = job.connection
    report = job.scan.report if job.scan else {}
    key = report.get("key", MatchBy.SKU)
    cause = f"map by {key_words(key)} job #{job.pk}"
    matches: dict[int, list[dict]] = defaultdict(list)
    for match in report.get("matches", []):
        if match["source_product_id"] in source_product_ids:
            matches[match["source_product_id"]].append(match)
    created: list[VariantLink] = []
    rest = list(job.source_product_ids[len(source_product_ids):])
    for index, product_id in enumerate(source_product_ids):
        remaining = source_product_ids[index + 1:] + rest
        new, problem = _link_product(connection=connection, matches=matches.get(product_id, []),
                                     key=key, cause=cause)
        created.extend(new)
        title = matches[product_id][0]["source_title"] if matches.get(product_id) else ""
        if problem:
            progress(job, remaining=remaining, failed=1,
                     error={"product": title, "message": problem})
        else:
            progress(job, remaining=remaining, done=1)
    if created:
        links = list(VariantLink.objects.filter(pk__in=[v.pk for v in created])
                     .select_related("product_link", "source_variant", "connection"))
        result = variant_links_stock_write(connection=connection, variant_links=links,
                                           cause=cause)
        if result.failed:
            errors = [*job.errors, {"product": "", "message": (
                ngettext("Stock could not be set for %(count)d variant: ",
                         "Stock could not be set for %(count)d variants: ",
                         len(result.failed)) % {"count": len(result.failed)}
                + f"{result.failed[0][1]} See each product's sync history.")}]
            job.errors = errors
            ProductJob.objects.filter(pk=job.pk).update(errors=errors)


def _link_product(*, connection: Connection, matches: list[dict], key: str,
                  cause: str) -> tuple[list[VariantLink], str | None]:
    words = key_words(key)
    if not matches:
        return [], f"Its {words}s no longer match (the source changed since the check)."
    source_product_id = matches[0]["source_product_id"]
    destination_product_id = matches[0]["destination_product_id"]
    live = {v.pk: v for v in SourceVariant.objects.filter(
        pk__in=[m["source_variant_id"] for m in matches], deleted_at__isnull=True,
        product__hidden=False, product__deleted_at__isnull=True).select_related("product")}
    created = []
    with transaction.atomic():
        link = ProductLink.objects.filter(connection=connection,
                                          source_product_id=source_product_id).first()
        if link is not None and link.destination_product_id != destination_product_id:
            return [], "It is already synced with another product in your store."
        if ProductLink.objects.filter(connection=connection,
                                      destination_product_id=destination_product_id).exclude(
                source_product_id=source_product_id).exists():
            return [], "Your product is already synced with another source product."
        if not live:
            return [], "It was hidden, deleted or changed at the source since the check."
        if link is None:
            link = ProductLink.objects.create(connection=connection,
                                              source_product_id=source_product_id,
                                              destination_product_id=destination_product_id,
                                              origin=ORIGIN_OF_KEY[key])
            sync_event_record(connection=connection, kind=SyncEvent.Kind.MAPPED,
                              product_link=link, field="product", from_value="",
                              to_value=matches[0]["destination_title"], cause=cause)
        taken_source = set(VariantLink.objects.filter(connection=connection).filter(
            source_variant_id__in=list(live)).values_list("source_variant_id", flat=True))
        taken_destination = set(VariantLink.objects.filter(
            connection=connection,
            destination_variant_id__in=[m["destination_variant_id"] for m in matches],
        ).values_list("destination_variant_id", flat=True))
        for match in matches:
            variant = live.get(match["source_variant_id"])
            if (variant is None or variant.pk in taken_source
                    or match["destination_variant_id"] in taken_destination
                    or key_normal(getattr(variant, key)) != match["value"]):
                continue
            created.append(VariantLink.objects.create(
                product_link=link, connection=connection, source_variant=variant,
                destination_variant_id=match["destination_variant_id"],
                destination_inventory_item_id=match["destination_inventory_item_id"]))
            sync_event_record(connection=connection, kind=SyncEvent.Kind.MAPPED,
                              product_link=link, field=f"variant {match['value']}",
                              from_value="", to_value=f"linked by {words}", cause=cause,
                              source_variant_id=variant.pk)
    return created, None
