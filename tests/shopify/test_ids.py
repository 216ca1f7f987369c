"""Shopify global ids: made and read in one place."""

import pytest

from syncer.shopify.ids import gid, gid_id, gid_id_or_none


def test_gid_round_trips():
    assert gid("ProductVariant", 42) == "gid://shopify/ProductVariant/42"
    assert gid_id(gid("ProductVariant", 42)) == 42


@pytest.mark.parametrize(("value", "number"), [
    ("gid://shopify/InventoryLevel/7?inventory_item_id=9", 7), ("15", 15), (16, 16)])
def test_gid_id_reads_gids_and_bare_numbers(value, number):
    assert gid_id(value) == number


def test_gid_id_refuses_what_is_no_id():
    with pytest.raises(ValueError):
        gid_id("gid://shopify/Order/")


@pytest.mark.parametrize("value", [None, True, "", "gid://shopify/Order/x", [1], {"id": 1}])
def test_gid_id_or_none_gives_none_for_untrusted_junk(value):
    assert gid_id_or_none(value) is None


def test_gid_id_or_none_reads_ids():
    assert gid_id_or_none("gid://shopify/Order/123") == 123
    assert gid_id_or_none(123) == 123
