"""Map existing products: link the destination's own variants to the source's by SKU or by
barcode (`Connection.match_by`, chosen with `connection_match_by_set`).

1. `sku_scan_start` reads the destination's whole catalogue with a bulk query (a catalogue
   scan); when it is applied, `products.sku_matching` keeps its variants and computes the
   report by the chosen key.
2. For a product of which only some variants match, the merchant links those matches (the
   default) or skips the product: `map_product_choice_set` keeps the choice in the report.
3. `map_start` queues a product job linking exactly the report's unique matches of the
   products not skipped (`map_plan`); the job runner (`products.jobs`) links them batch by
   batch and brings their stock to the target.

Variants the keys cannot pair are linked by hand: `products.manual_mapping`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from products.allowance import (
    MAP,
    allowance_check,
    allowance_reached_alert,
    destination_allowance_lock,
)
from products.catalogue import catalogue_scan_start
from products.imports import (
    ImportRefused,
    allowance_refused,
    connection_busy_product_ids,
    connection_require_connected,
)
from products.models import CatalogueScan, ProductJob, ProductLink
from products.sku_matching import key_words
from products.tasks import product_job_run_task
from stores.models import Connection


@dataclass(frozen=True, slots=True)
class MapPlan:
    """What linking a check's matches would link: the source products (and their count of
    matching variants) not skipped by the merchant."""

    source_product_ids: list[int]
    variant_count: int
    skipped_count: int

    @property
    def product_count(self) -> int:
        return len(self.source_product_ids)


def connection_match_by_set(*, connection: Connection, match_by: str) -> bool:
    """Chooses what mapping matches variants by (SKU or barcode). Returns whether it changed;
    a check made by the other key has to be made again before anything is linked."""
    if match_by not in Connection.MatchBy.values:
        raise ValueError(f"Unknown match key: {match_by!r}")
    return bool(Connection.objects.filter(pk=connection.pk).exclude(match_by=match_by).update(
        match_by=match_by, updated_at=timezone.now()))


def map_report_current(*, connection: Connection, scan: CatalogueScan | None) -> dict | None:
    """The scan's report if it is finished and made by the key the connection matches by now
    (a report made before the key was chosen, or by the other key, does not count)."""
    if scan is None or scan.status != CatalogueScan.Status.DONE:
        return None
    report = scan.report or {}
    return report if report.get("key") == connection.match_by else None


def map_plan(*, report: dict) -> MapPlan:
    skipped = set(report.get("skipped_products", []))
    counts: dict[int, int] = {}
    for match in report.get("matches", []):
        if match["source_product_id"] not in skipped:
            counts[match["source_product_id"]] = counts.get(match["source_product_id"], 0) + 1
    return MapPlan(source_product_ids=sorted(counts), variant_count=sum(counts.values()),
                   skipped_count=len(skipped))


def map_product_choice_set(*, connection: Connection, scan: CatalogueScan,
                           source_product_id: int, link: bool) -> dict:
    """For a product of which only some variants match: link its matches, or skip it when the
    check's matches are linked. Returns the report with the choice."""
    with transaction.atomic():
        locked = (CatalogueScan.objects.select_for_update()
                  .filter(pk=scan.pk, connection=connection).first())
        report = map_report_current(connection=connection, scan=locked)
        if locked is None or report is None:
            raise ImportRefused("Check again first: this check is no longer the current one.")
        if locked.jobs.exists():
            raise ImportRefused("These matches were linked already. Check again to see what is "
                                "left to link.")
        partial = {pair["source_product_id"] for pair in report.get("variant_count_mismatch", [])}
        if source_product_id not in partial:
            raise ImportRefused("That product's variants all match, or it is not in this check: "
                                "nothing to choose. Check again if your store changed.")
        skipped = set(report.get("skipped_products", []))
        if link:
            skipped.discard(source_product_id)
        else:
            skipped.add(source_product_id)
        report["skipped_products"] = sorted(skipped)
        CatalogueScan.objects.filter(pk=locked.pk).update(report=report)
    return report


def sku_scan_start(*, connection: Connection) -> CatalogueScan:
    connection_require_connected(connection)
    return catalogue_scan_start(shop=connection.destination,
                                purpose=CatalogueScan.Purpose.DESTINATION_SKUS,
                                connection=connection)


def map_start(*, connection: Connection, scan: CatalogueScan,
              actor_user_id: str = "") -> ProductJob:
    """Queues linking the scan's unique matches."""
    connection_require_connected(connection)
    words = key_words(connection.match_by)
    if scan.connection_id != connection.pk or scan.status != CatalogueScan.Status.DONE:
        raise ImportRefused(f"Check your {words}s first, then link the matches.")
    if scan.jobs.exists():
        raise ImportRefused(f"These matches were linked already. Check your {words}s again to "
                            "see what is left to link.")
    destination = connection.destination
    with transaction.atomic():
        destination_allowance_lock(shop=destination)
        Connection.objects.select_for_update().filter(pk=connection.pk).first()
        # The report as it is now, with the merchant's latest choices.
        scan.refresh_from_db(fields=["report"])
        report = map_report_current(connection=connection, scan=scan)
        if report is None:
            raise ImportRefused(f"This check did not match by {words}. Check again, then link "
                                "the matches.")
        busy = connection_busy_product_ids(connection)
        ids = sorted(set(map_plan(report=report).source_product_ids) - busy)
        if not ids:
            raise ImportRefused(f"There is nothing to link: no {words} matches one variant on "
                                f"each side (or you skipped every product). Fix the {words}s "
                                "the report lists, then check again.")
        # A product synced already only gets more variants linked: not one more product.
        adding = len(set(ids) - set(ProductLink.objects.filter(
            connection=connection, source_product_id__in=ids,
        ).values_list("source_product_id", flat=True)))
        refusal = allowance_check(shop=destination, adding=adding, action=MAP)
        if refusal is None:
            job = ProductJob.objects.create(connection=connection, kind=ProductJob.Kind.MAP,
                                            scan=scan, source_product_ids=ids, total=len(ids),
                                            actor_user_id=actor_user_id)
            transaction.on_commit(lambda: product_job_run_task.delay(job.pk))
    if refusal is not None:
        raise allowance_refused(shop=destination, refusal=refusal)
    allowance_reached_alert(shop=destination)
    return job
