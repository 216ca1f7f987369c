"""Map existing products: link the destination's own variants to the source's by SKU.

1. `sku_scan_start` reads the destination's whole catalogue with a bulk query (a catalogue
   scan); when it is applied, `products.sku_matching` keeps its variants and computes the SKU
   health report.
2. `map_start` queues a product job linking exactly the report's unique matches; the job runner
   (`products.jobs`) links them batch by batch and brings their stock to the target.
"""

from __future__ import annotations

from django.db import transaction

from products.catalogue import catalogue_scan_start
from products.imports import (
    ImportRefused,
    connection_busy_product_ids,
    connection_require_connected,
)
from products.models import CatalogueScan, ProductJob
from products.tasks import product_job_run_task
from stores.models import Connection


def sku_scan_start(*, connection: Connection) -> CatalogueScan:
    connection_require_connected(connection)
    return catalogue_scan_start(shop=connection.destination,
                                purpose=CatalogueScan.Purpose.DESTINATION_SKUS,
                                connection=connection)


def map_start(*, connection: Connection, scan: CatalogueScan,
              actor_user_id: str = "") -> ProductJob:
    """Queues linking the scan's unique matches."""
    connection_require_connected(connection)
    if scan.connection_id != connection.pk or scan.status != CatalogueScan.Status.DONE:
        raise ImportRefused("Check your SKUs first, then link the matches.")
    if scan.jobs.exists():
        raise ImportRefused("These matches were linked already. Check your SKUs again to see "
                            "what is left to link.")
    with transaction.atomic():
        Connection.objects.select_for_update().filter(pk=connection.pk).first()
        busy = connection_busy_product_ids(connection)
        ids = sorted({m["source_product_id"] for m in scan.report.get("matches", [])} - busy)
        if not ids:
            raise ImportRefused("There is nothing to link: no SKU matches one variant on each "
                                "side. Fix the SKUs the report lists, then check again.")
        job = ProductJob.objects.create(connection=connection, kind=ProductJob.Kind.MAP,
                                        scan=scan, source_product_ids=ids, total=len(ids),
                                        actor_user_id=actor_user_id)
        transaction.on_commit(lambda: product_job_run_task.delay(job.pk))
    return job
