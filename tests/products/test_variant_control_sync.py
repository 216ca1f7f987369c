"""Variants the source's merchant adds or deletes in the Shopify admin (the emulator's control
API, as the merchant's Add variant / Delete variant, issue 20), end to end: a destination with
"Variants added or removed at the source" on gets the new one priced by its rule and loses the
deleted one; with it off nothing is added and the deleted one is kept, unlinked."""

import pytest

from products.models import VariantLink
from tests.products.catalogue_world import DEST_1, SOURCE, build, shirt
from tests.products.test_field_choices import choose, import_into, numeric, read

pytestmark = pytest.mark.django_db(transaction=True)


def _skus_and_prices(world, product_id: int) -> list[tuple[str, str]]:
    return [(v["sku"], v["price"]) for v in read(world, DEST_1, product_id)["variants"]["nodes"]]


def test_a_variant_added_and_one_deleted_at_the_source_follow_when_variants_sync(emulator):
    # given a shirt in S and M at 30.00, imported under +10 % with variants following the source
    world = build(emulator)
    choose(field_sync={}, sync_variants=True, markup_percent="10")
    product = shirt(world)
    world.settle()
    destination_id = import_into(world, DEST_1)
    small = numeric(product["variants"]["nodes"][0]["id"])
    # when the source's merchant adds an L at 32.00
    emulator.variant_add(SOURCE, numeric(product["id"]), options=["L"], sku="SHIRT-L",
                         price="32.00", available=6)
    world.settle()
    # then it arrives priced by the rule, next to the imported sizes
    assert _skus_and_prices(world, destination_id) == [
        ("SHIRT-S", "33.00"), ("SHIRT-M", "33.00"), ("SHIRT-L", "35.20")]
    assert VariantLink.objects.count() == 3
    # when the merchant deletes the S
    emulator.variant_remove(SOURCE, small)
    world.settle()
    # then the destination's S is deleted and unlinked too
    assert _skus_and_prices(world, destination_id) == [
        ("SHIRT-M", "33.00"), ("SHIRT-L", "35.20")]
    assert sorted(VariantLink.objects.values_list("source_variant__sku", flat=True)) == [
        "SHIRT-L", "SHIRT-M"]


def test_with_variants_not_following_nothing_is_added_and_a_deleted_one_is_kept(emulator):
    # given a shirt imported with variants added or removed at the source off
    world = build(emulator)
    choose(field_sync={}, sync_variants=False, markup_percent="10")
    product = shirt(world)
    world.settle()
    destination_id = import_into(world, DEST_1)
    small = numeric(product["variants"]["nodes"][0]["id"])
    # when the source's merchant adds an L and deletes the S
    emulator.variant_add(SOURCE, numeric(product["id"]), options=["L"], sku="SHIRT-L",
                         price="32.00", available=6)
    world.settle()
    emulator.variant_remove(SOURCE, small)
    world.settle()
    # then the destination has no L and keeps its S, no longer linked
    assert _skus_and_prices(world, destination_id) == [
        ("SHIRT-S", "33.00"), ("SHIRT-M", "33.00")]
    assert list(VariantLink.objects.values_list("source_variant__sku", flat=True)) == [
        "SHIRT-M"]
