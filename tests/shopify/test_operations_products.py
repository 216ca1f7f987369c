"""Product operations against the emulator: what they send (read back through the emulator's
state and `product_read`) and the dataclasses they return; refusals raise ShopifyUserErrors."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from syncer.shopify.errors import ShopifyUserErrors, UserError
from syncer.shopify.operations.products import (
    CreatedVariant,
    NewProduct,
    NewProductOption,
    NewVariant,
    OptionValue,
    Product,
    ProductCreated,
    ProductImage,
    ProductOption,
    ProductVariant,
    SelectedOption,
    VariantUpdate,
    catalogue_read_products,
    catalogue_read_start,
    catalogue_read_status,
    product_create,
    product_read,
    product_status_set,
    product_variants_create,
    product_variants_delete,
    product_variants_update,
)


def _size(name: str) -> tuple[OptionValue, ...]:
    return (OptionValue(option_name="Size", name=name),)


SHIRT = NewProduct(
    title="Linen shirt", description_html="<p>Cool linen.</p>", vendor="Acme",
    product_type="Shirts", tags=("summer", "linen"), status="ACTIVE",
    # "L" is not used by any variant: it is left out of the product's options.
    options=(NewProductOption(name="Size", values=("S", "M", "L")),),
    variants=(
        NewVariant(option_values=_size("S"), price=Decimal("30"),
                   compare_at_price=Decimal("40.5"), barcode="BAR-S", sku="SHIRT-S", tracked=True,
                   available=7),
        NewVariant(option_values=_size("M"), price=None, compare_at_price=None, barcode="",
                   sku="SHIRT-M", tracked=False, available=0),
    ),
    images=(ProductImage(src="https://cdn.example/shirt.png", alt="Shirt"),),
)


def _levels(emulator, domain: str) -> dict[tuple[int, int], int]:
    """(inventory item, location) → available, from the emulator's own state."""
    shop = emulator.control.get(f"/_emulator/shops/{domain}").json()
    return {(level["inventory_item_id"], level["location_id"]): level["available"]
            for level in shop["inventory_levels"]}


def _variant(created: CreatedVariant, **fields: Any) -> ProductVariant:
    values: dict[str, Any] = {"id": created.id, "inventory_item_id": created.inventory_item_id,
                              "barcode": "", "compare_at_price": None, "tracked": True,
                              "weight": Decimal("0.000"), "weight_unit": "KILOGRAMS"}
    values.update(fields)
    return ProductVariant(**values)


def _shirt_read(created: ProductCreated, **fields: Any) -> Product:
    small, medium = created.variants
    values: dict[str, Any] = {
        "id": created.id, "title": "Linen shirt", "handle": "linen-shirt",
        "description_html": "<p>Cool linen.</p>", "vendor": "Acme", "product_type": "Shirts",
        "tags": ("summer", "linen"), "status": "ACTIVE",
        "options": (ProductOption(name="Size", position=1, values=("S", "M")),),
        "images": (ProductImage(src="https://cdn.example/shirt.png", alt="Shirt"),),
        "variants": (
            _variant(small, title="S", sku="SHIRT-S", barcode="BAR-S", price=Decimal("30.00"),
                     compare_at_price=Decimal("40.50"), position=1,
                     selected_options=(SelectedOption(name="Size", value="S"),)),
            _variant(medium, title="M", sku="SHIRT-M", price=Decimal("0.00"), position=2,
                     tracked=False, selected_options=(SelectedOption(name="Size", value="M"),)),
        ),
        "variants_complete": True,
    }
    values.update(fields)
    return Product(**values)


def test_product_create_copies_the_product_and_stocks_each_variant(emulator, shop, session):
    # When a product is created with two variants, stocked at the primary location
    location = shop["primary_location_id"]
    created = product_create(session=session, product=SHIRT, location_id=location)
    # Then it answers the product and its variants by option value
    assert (created.title, [v.option_values for v in created.variants]) == (
        "Linen shirt", [("S",), ("M",)])
    # And a read gives back exactly what was sent, the unused option value left out
    read = product_read(session=session, product_id=created.id)
    assert read is not None
    assert read == _shirt_read(created, updated_at=read.updated_at)
    small, medium = created.variants
    assert _levels(emulator, shop["domain"]) == {(small.inventory_item_id, location): 7,
                                                 (medium.inventory_item_id, location): 0}


def test_a_product_the_shop_does_not_have_reads_as_none(session):
    assert product_read(session=session, product_id=999_999_999) is None


def test_status_and_variant_updates_change_only_what_they_name(shop, session):
    # Given the shirt
    created = product_create(session=session, product=SHIRT,
                             location_id=shop["primary_location_id"])
    small, medium = created.variants
    # When its status changes, S gets a price and loses its compare-at price, M a new SKU
    product_status_set(session=session, product_id=created.id, status="DRAFT")
    product_variants_update(session=session, product_id=created.id, updates=[
        VariantUpdate(variant_id=small.id, price=Decimal("32.5"), compare_at_price=None),
        VariantUpdate(variant_id=medium.id, sku="SHIRT-M2"),
    ])
    # Then the rest of each variant is kept
    read = product_read(session=session, product_id=created.id)
    assert read is not None
    expected = _shirt_read(created, updated_at=read.updated_at, status="DRAFT")
    assert read == _shirt_read(created, updated_at=read.updated_at, status="DRAFT", variants=(
        _variant(small, title="S", sku="SHIRT-S", barcode="BAR-S", price=Decimal("32.50"),
                 position=1, selected_options=expected.variants[0].selected_options),
        _variant(medium, title="M", sku="SHIRT-M2", price=Decimal("0.00"), position=2,
                 tracked=False, selected_options=expected.variants[1].selected_options),
    ))
    assert VariantUpdate(variant_id=small.id).changes_anything is False


def test_variants_are_added_stocked_and_deleted(emulator, shop, session):
    # Given the shirt
    location = shop["primary_location_id"]
    created = product_create(session=session, product=SHIRT, location_id=location)
    small, medium = created.variants
    # When an L is added with 5 in stock, then M is deleted
    (large,) = product_variants_create(session=session, product_id=created.id, location_id=location,
                                       variants=[NewVariant(
                                           option_values=_size("L"), price=Decimal("35"),
                                           compare_at_price=None, barcode="", sku="SHIRT-L",
                                           tracked=True, available=5)])
    product_variants_delete(session=session, product_id=created.id, variant_ids=[medium.id])
    # Then the product has S and L, and L is stocked
    assert large.option_values == ("L",)
    read = product_read(session=session, product_id=created.id)
    assert read is not None
    assert [(v.id, v.sku, v.price, v.selected_options) for v in read.variants] == [
        (small.id, "SHIRT-S", Decimal("30.00"), (SelectedOption(name="Size", value="S"),)),
        (large.id, "SHIRT-L", Decimal("35.00"), (SelectedOption(name="Size", value="L"),)),
    ]
    assert _levels(emulator, shop["domain"])[(large.inventory_item_id, location)] == 5


def test_refused_changes_raise_user_errors_and_change_nothing(shop, session):
    # When the status of a product the shop does not have is set
    with pytest.raises(ShopifyUserErrors) as refused:
        product_status_set(session=session, product_id=999_999_999, status="DRAFT")
    # Then Shopify's userErrors come with the exception
    assert refused.value.user_errors == [
        UserError(field=["id"], message="Product does not exist", code=None)]
    assert refused.value.document == "product_update"
    # Given the shirt
    created = product_create(session=session, product=SHIRT,
                             location_id=shop["primary_location_id"])
    small, medium = created.variants
    # When one of two variant updates is refused
    with pytest.raises(ShopifyUserErrors) as refused:
        product_variants_update(session=session, product_id=created.id, updates=[
            VariantUpdate(variant_id=small.id, sku="SHIRT-S2"),
            VariantUpdate(variant_id=medium.id, price=Decimal("-1")),
        ])
    # Then the refusal names the variant and its field by code, and neither changed
    assert refused.value.user_errors == [UserError(
        field=["variants", "1", "price"], message="Price must be greater than or equal to 0",
        code="GREATER_THAN_OR_EQUAL_TO")]
    read = product_read(session=session, product_id=created.id)
    assert read is not None
    assert read == _shirt_read(created, updated_at=read.updated_at)
    # When a product's last variants would all be deleted
    with pytest.raises(ShopifyUserErrors) as refused:
        product_variants_delete(session=session, product_id=created.id,
                                variant_ids=[small.id, medium.id])
    assert refused.value.codes == ["CANNOT_DELETE_LAST_VARIANT"]


def test_a_catalogue_read_gives_every_product_as_a_live_read_does(emulator, shop, session):
    # Given the shirt and a mug made in the admin
    created = product_create(session=session, product=SHIRT,
                             location_id=shop["primary_location_id"])
    mug = emulator.product_create(shop["domain"], title="Mug",
                                  variants=[{"sku": "MUG", "price": "5.00", "available": 3}])
    # When the catalogue is read with one bulk query
    started = catalogue_read_start(session=session)
    finished = catalogue_read_status(session=session, operation_id=started.id)
    assert finished is not None
    assert (finished.status, finished.root_object_count) == ("COMPLETED", 2)
    products = list(catalogue_read_products(url=finished.url))
    # Then its products are exactly what a read of each one answers
    assert products == [product_read(session=session, product_id=created.id),
                        product_read(session=session, product_id=mug["id"])]
    assert [[v.sku for v in p.variants] for p in products] == [["SHIRT-S", "SHIRT-M"], ["MUG"]]


def test_a_catalogue_read_of_an_empty_shop_has_no_products(session):
    started = catalogue_read_start(session=session)
    finished = catalogue_read_status(session=session, operation_id=started.id)
    assert finished is not None
    assert (finished.status, finished.object_count) == ("COMPLETED", 0)
    assert list(catalogue_read_products(url=finished.url)) == []
    # Shopify sends no file at all when the query matched nothing
    assert list(catalogue_read_products(url=None)) == []
