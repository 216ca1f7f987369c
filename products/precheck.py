"""The check before connecting (`stores.connect_check`), computed here: the destination's
variants, as a catalogue read of its store without a connection keeps them, against the
source's visible catalogue mirror, by the same report the mapping check makes
(`products.sku_matching.variants_match`).

Both sides must be whole before a figure is shown: until the source's first full load is done
and the destination's read is finished, the check says what it is waiting for (the page polls)
rather than showing counts of a half-read catalogue. A read is used for PRECHECK_FRESH; then,
or when the merchant asks, the store is read again. The read is the destination's own (it says
nothing of any source): the source's figures are computed each time the check is shown, for the
source the pasted key opens, and never stored.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from products.catalogue import catalogue_scan_start, source_catalogue_ensure
from products.models import CatalogueScan
from products.sku_matching import key_words, source_variants_visible, variants_match
from stores.connect_check import (
    LIST_LIMIT,
    CheckState,
    Conflict,
    ConnectCheck,
    Duplicate,
    NearMatch,
    VariantCountMismatch,
    connect_checker_register,
)
from stores.models import Shop

Purpose = CatalogueScan.Purpose
Status = CatalogueScan.Status
PRECHECK_FRESH = timedelta(minutes=10)


def _reads(destination: Shop) -> QuerySet[CatalogueScan]:
    return CatalogueScan.objects.filter(shop=destination, purpose=Purpose.DESTINATION_SKUS,
                                        connection__isnull=True)


def _read_start(destination: Shop) -> CatalogueScan:
    with transaction.atomic():
        # Only the latest read is ever shown: the earlier ones' variant lists go.
        _reads(destination).filter(status__in=[Status.DONE, Status.FAILED]).delete()
        return catalogue_scan_start(shop=destination, purpose=Purpose.DESTINATION_SKUS)


def precheck_read_current(*, destination: Shop, read_again: bool = False) -> CatalogueScan:
    """The destination's read for checks before connecting: the one under way, else the latest
    finished within PRECHECK_FRESH (unless `read_again`), else a new one, queued."""
    scan = _reads(destination).order_by("-pk").first()
    if scan is not None and not scan.finished:
        return scan
    if scan is not None and not read_again and (
            (scan.finished_at or scan.created_at) >= timezone.now() - PRECHECK_FRESH):
        return scan
    return _read_start(destination)


def _source_loaded(source: Shop) -> bool:
    return CatalogueScan.objects.filter(shop=source, purpose=Purpose.SOURCE_CATALOGUE,
                                        status=Status.DONE).exists()


@connect_checker_register
def connect_precheck(*, destination: Shop, source: Shop, key: str,
                     read_again: bool = False) -> ConnectCheck:
    """`stores.connect_check`'s checker."""
    scan = precheck_read_current(destination=destination, read_again=read_again)
    if not _source_loaded(source):
        source_catalogue_ensure(source=source)  # the sweeper would, later
        return ConnectCheck(state=CheckState.PREPARING, key=key, detail=(
            f"Syncer is still loading {source.name or source.domain}'s catalogue."))
    if not scan.finished:
        return ConnectCheck(state=CheckState.PREPARING, key=key, detail=(
            f"Reading your store's products and {key_words(key)}s from Shopify."))
    if scan.status == Status.FAILED:
        return ConnectCheck(state=CheckState.FAILED, key=key, detail=scan.error,
                            read_at=scan.finished_at)
    report = variants_match(source_variants=source_variants_visible(source_id=source.pk),
                            destination_variants=scan.destination_variants, key=key,
                            linked_source={}, product_links={})
    mismatches = report["variant_count_mismatch"]
    blank = report["blank"]
    return ConnectCheck(
        state=CheckState.READY, key=key, read_at=scan.finished_at,
        source_variants=report["source_variants"],
        destination_variants=report["destination_variants"],
        match_count=report["match_count"], match_products=report["product_count"],
        duplicate_count=report["duplicate_count"],
        duplicates=[Duplicate(side=d["side"], value=d["value"], count=d["count"],
                              products=d["products"])
                    for d in report["duplicates"][:LIST_LIMIT]],
        blank_source=blank["source"], blank_destination=blank["destination"],
        blank_source_products=blank["source_products"][:LIST_LIMIT],
        blank_destination_products=blank["destination_products"][:LIST_LIMIT],
        near_count=report["near_count"],
        near=[NearMatch(**near) for near in report["near"][:LIST_LIMIT]],
        mismatch_count=len(mismatches),
        mismatches=[VariantCountMismatch(
            source_product=m["source_product"], destination_product=m["destination_product"],
            source_variants=m["source_variants"], destination_variants=m["destination_variants"],
            matched=m["matched"]) for m in mismatches[:LIST_LIMIT]],
        conflict_count=report["conflict_count"],
        conflicts=[Conflict(value=c["value"], reason=c["reason"])
                   for c in report["conflicts"][:LIST_LIMIT]],
        unmatched_source=report["unmatched_source"],
        unmatched_destination=report["unmatched_destination"],
    )
