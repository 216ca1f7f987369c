"""An import batch that copies SEO or metafields reads them live first.

A products/* webhook cannot show a product's SEO or metafields, and the mirror reads them live
only while a destination follows them (products.catalogue_mirror): one edited at the source
after the catalogue was read, while nobody followed them, is stale in the mirror. A destination
that copies them at import (Sync or Create only) must get the source's as they are now, so each
product of such a batch is read live once (one product query at the source) and the mirror
updated — which also tells the destinations already following it, as any source change does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from products.catalogue_mirror import source_product_refresh
from products.field_sync import field_copied_at_import
from products.models import ProductJob, ProductLink, SourceProduct
from products.product_copy import product_import_batch
from syncer.shopify.errors import ShopifyError, ShopifyRetryable

logger = logging.getLogger(__name__)

READ_LIVE_FIELDS = ("seo", "metafields")


def product_import_batch_fresh(*, job: ProductJob, source_product_ids: list[int],
                               progress: Callable[..., None]) -> None:
    connection = job.connection
    if any(field_copied_at_import(connection=connection, name=name)
           for name in READ_LIVE_FIELDS):
        linked = ProductLink.objects.filter(connection=connection,
                                            source_product_id__in=source_product_ids)
        shopify_ids = (SourceProduct.objects
                       .filter(pk__in=source_product_ids, shop_id=connection.source_id,
                               deleted_at__isnull=True, hidden=False)
                       .exclude(pk__in=linked.values("source_product_id"))
                       .order_by("pk").values_list("shopify_id", flat=True))
        for shopify_id in shopify_ids:
            try:
                source_product_refresh(source=connection.source, shopify_id=shopify_id,
                                       cause=f"import job #{job.pk}")
            except ShopifyRetryable:
                raise  # the job's task retries the batch (nothing imported from it yet)
            except ShopifyError as exc:
                # A read Shopify refuses must not stop the import: the product is copied
                # from the mirror as it is.
                logger.warning("import job %s: source product %s not read live: %s",
                               job.pk, shopify_id, exc)
    product_import_batch(job=job, source_product_ids=source_product_ids, progress=progress)
