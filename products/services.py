"""Small services shared by the catalogue, import, mapping and auto-sync modules: Shopify calls
on behalf of one shop, Shopify ids, and the SyncEvent trail every applied change writes."""

from __future__ import annotations

from typing import Any

from products.models import ProductLink, SourceProduct, SyncEvent
from stores.models import Connection, Shop
from stores.services import shop_access_token
from syncer.shopify.client import admin_client
from syncer.shopify.documents import document
from syncer.shopify.errors import raise_for_user_errors


def shop_execute(*, shop: Shop, name: str, variables: dict[str, Any] | None = None) -> dict:
    """Runs one of our GraphQL documents against the shop with its offline token."""
    return admin_client().execute(shop_domain=shop.domain,
                                  access_token=shop_access_token(shop_domain=shop.domain),
                                  document=document(name), variables=variables or {})


def shop_mutate(*, shop: Shop, name: str, root: str, variables: dict[str, Any]) -> dict:
    """Runs a mutation and returns its payload, raising ShopifyUserErrors on userErrors."""
    data = shop_execute(shop=shop, name=name, variables=variables)
    return dict(raise_for_user_errors(data.get(root), shop_domain=shop.domain, document=name))


def sync_event_record(
    *,
    connection: Connection | None,
    kind: str,
    product_link: ProductLink | None = None,
    source_product: SourceProduct | None = None,
    destination_product_id: int | None = None,
    field: str = "",
    from_value: object = "",
    to_value: object = "",
    cause: str = "",
    result: str = SyncEvent.Result.OK,
    error: str = "",
) -> SyncEvent:
    """One row of the audit trail. The product link's ids are copied so the history stays
    findable after the link is gone."""
    if product_link is not None:
        source_product = source_product or product_link.source_product
        destination_product_id = destination_product_id or product_link.destination_product_id
    return SyncEvent.objects.create(
        connection=connection, product_link=product_link, source_product=source_product,
        destination_product_id=destination_product_id, kind=kind, field=field[:100],
        from_value="" if from_value is None else str(from_value),
        to_value="" if to_value is None else str(to_value), cause=cause[:255], result=result,
        error=error,
    )
