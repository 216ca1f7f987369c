"""Changing an existing product's fields (one call for its product-level fields) and its
metafields, for the field flush (`products.field_flush`). Ids in as numbers; Shopify's refusals
raise `ShopifyUserErrors`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from syncer.shopify.admin_session import AdminSession
from syncer.shopify.ids import gid
from syncer.shopify.operations.products import Metafield, ProductImage, _mutate, _seo_input


@dataclass(frozen=True, slots=True)
class ProductFieldsUpdate:
    """Product-level fields to change on an existing product; None leaves a field as it is.
    `images` replaces the product's whole media list with these images."""

    product_id: int
    title: str | None = None
    description_html: str | None = None
    vendor: str | None = None
    product_type: str | None = None
    tags: tuple[str, ...] | None = None
    status: str | None = None
    seo_title: str | None = None
    seo_description: str | None = None
    images: tuple[ProductImage, ...] | None = None

    @property
    def changes_anything(self) -> bool:
        return any(value is not None for value in (
            self.title, self.description_html, self.vendor, self.product_type, self.tags,
            self.status, self.seo_title, self.seo_description, self.images))


def _product_fields_input(update: ProductFieldsUpdate) -> dict[str, Any]:
    fields = {"title": update.title, "descriptionHtml": update.description_html,
              "vendor": update.vendor, "productType": update.product_type,
              "tags": list(update.tags) if update.tags is not None else None,
              "status": update.status,
              "seo": _seo_input(update.seo_title, update.seo_description)}
    return {key: value for key, value in fields.items() if value is not None}


def product_fields_update(*, session: AdminSession, update: ProductFieldsUpdate) -> None:
    """Changes the given product-level fields of an existing product in one call.

    Without images this is `productUpdate`: it changes exactly the fields it names and has no
    list that replaces anything. Images need `productSet` (by `identifier`): its `files` list
    replaces the product's whole media list, which is what following the source's images
    means, while productUpdate's `media` could only add. That productSet names only these
    fields (no variants, options or metafields), so nothing else of the product changes; the
    destination's own metafields in particular are never in it.
    """
    data = _product_fields_input(update)
    if update.images is None:
        _mutate(session, "product_update", "productUpdate",
                {"product": {"id": gid("Product", update.product_id), **data}})
        return
    data["files"] = [{"originalSource": image.src, "alt": image.alt, "contentType": "IMAGE"}
                     for image in update.images if image.src]
    _mutate(session, "product_set_fields", "productSet",
            {"input": data, "identifier": {"id": gid("Product", update.product_id)}})


# Shopify takes at most 25 metafields per metafieldsSet.
METAFIELDS_SET_MAX: Final = 25


def product_metafields_set(*, session: AdminSession, product_id: int,
                           metafields: Sequence[Metafield]) -> None:
    """Creates or updates these metafields of the product (others are left as they are), in
    calls of METAFIELDS_SET_MAX."""
    owner = gid("Product", product_id)
    for start in range(0, len(metafields), METAFIELDS_SET_MAX):
        _mutate(session, "metafields_set", "metafieldsSet", {"metafields": [
            {"ownerId": owner, "namespace": metafield.namespace, "key": metafield.key,
             "type": metafield.type, "value": metafield.value}
            for metafield in metafields[start:start + METAFIELDS_SET_MAX]]})
