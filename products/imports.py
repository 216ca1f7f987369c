"""Import ("sync") source products into a destination, as a background job with progress.

`product_import_start` queues a product job of the products that can still be imported; the job
runner (`products.jobs`) copies them batch by batch with `products.product_copy`. The refusals a
merchant sees when a job cannot start (`ImportRefused`) are shared with map by SKU, and so is
the plan's allowance (`products.allowance`): the whole selection is refused when it would pass it.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from products.allowance import (
    AllowanceRefusal,
    allowance_check,
    allowance_reached_alert,
    allowance_refused_alert,
    destination_allowance_lock,
)
from products.jobs import product_job_run
from products.models import ProductJob, SourceProduct
from products.tasks import product_job_run_task
from stores.models import Connection, Shop

__all__ = [
    "ImportRefused",
    "allowance_refused",
    "connection_busy_product_ids",
    "connection_require_connected",
    "product_import_start",
    "product_job_run",  # the demo seeding and the import bench run jobs in process
]


class ImportRefused(Exception):
    """Shown to the merchant as it is; with `upgrade_url` (the Plan & billing page) when it is
    the plan's allowance that refused it."""

    def __init__(self, message: str, *, upgrade_url: str = "") -> None:
        super().__init__(message)
        self.upgrade_url = upgrade_url


def allowance_refused(*, shop: Shop, refusal: AllowanceRefusal) -> ImportRefused:
    """The refusal to raise (once the transaction is over: nothing was created), with its
    alert."""
    allowance_refused_alert(shop=shop, refusal=refusal)
    return ImportRefused(refusal.message, upgrade_url=refusal.upgrade_url)


def connection_busy_product_ids(connection: Connection) -> set[int]:
    """Products already in a queued or running job of this connection."""
    busy: set[int] = set()
    for ids in ProductJob.objects.filter(
            connection=connection, status__in=[ProductJob.Status.QUEUED, ProductJob.Status.RUNNING]
    ).values_list("source_product_ids", flat=True):
        busy.update(ids or [])
    return busy


def connection_require_connected(connection: Connection) -> None:
    if connection.status == Connection.Status.BLOCKED:
        raise ImportRefused("This source blocked your store: its catalogue is no longer "
                            "available to you.")
    if connection.status != Connection.Status.CONNECTED:
        raise ImportRefused("You are not connected to this source. Reconnect with its store "
                            "key first.")


def product_import_start(*, connection: Connection, source_product_ids: Iterable[int],
                         actor_user_id: str = "") -> ProductJob:
    """Queues the import of the selected products that can still be imported."""
    connection_require_connected(connection)
    destination = connection.destination
    with transaction.atomic():
        destination_allowance_lock(shop=destination)
        Connection.objects.select_for_update().filter(pk=connection.pk).first()
        wanted = set(int(i) for i in source_product_ids)
        ids = list(SourceProduct.objects.filter(
            shop_id=connection.source_id, pk__in=wanted, deleted_at__isnull=True, hidden=False,
        ).exclude(links__connection=connection)
            .exclude(pk__in=connection_busy_product_ids(connection))
            .order_by("title", "pk").values_list("pk", flat=True))
        if not ids:
            raise ImportRefused("The selected products are already synced or being synced. "
                                "Select products that are not synced yet.")
        # Counted with the Shop row locked: a second click waits, then counts this job.
        refusal = allowance_check(shop=destination, adding=len(ids))
        if refusal is None:
            job = ProductJob.objects.create(connection=connection, kind=ProductJob.Kind.IMPORT,
                                            source_product_ids=ids, total=len(ids),
                                            actor_user_id=actor_user_id)
            transaction.on_commit(lambda: product_job_run_task.delay(job.pk))
    if refusal is not None:
        raise allowance_refused(shop=destination, refusal=refusal)
    allowance_reached_alert(shop=destination)
    return job
