"""Recording source levels: newest wins, whatever order the webhooks arrive in; a same-second
conflict is settled by reading the live level."""

from datetime import timedelta

import pytest
from django.utils import timezone

from products.inventory.levels import source_levels_record
from products.inventory.targets import source_levels_changed
from products.models import SourceLevel
from stores.models import Shop
from tests.products.inventory_world import build

pytestmark = pytest.mark.django_db(transaction=True)

ITEM, LOCATION = 1001, 2001


@pytest.fixture
def source(db):
    return Shop.objects.create(domain="levels-src.myshopify.com", role="source")


def stored(source) -> tuple[int, object]:
    level = SourceLevel.objects.get(shop=source, inventory_item_id=ITEM, location_id=LOCATION)
    return level.available, level.shopify_updated_at


def test_newest_of_several_levels_of_one_item_wins_in_any_order(source):
    t = timezone.now().replace(microsecond=0)
    # when three changes of one item arrive out of order together
    ambiguous = source_levels_record(source=source, levels=[
        (ITEM, LOCATION, 4, t), (ITEM, LOCATION, 6, t + timedelta(seconds=2)),
        (ITEM, LOCATION, 9, t + timedelta(seconds=1))])
    # then the newest is held
    assert ambiguous == set()
    assert stored(source) == (6, t + timedelta(seconds=2))


def test_an_older_level_is_ignored(source):
    t = timezone.now().replace(microsecond=0)
    source_levels_record(source=source, levels=[(ITEM, LOCATION, 5, t)])
    # when a level from before arrives late
    ambiguous = source_levels_record(source=source,
                                     levels=[(ITEM, LOCATION, 3, t - timedelta(seconds=1))])
    # then nothing changes
    assert ambiguous == set()
    assert stored(source) == (5, t)


def test_another_quantity_in_the_same_second_is_ambiguous_and_changes_nothing(source):
    t = timezone.now().replace(microsecond=0)
    source_levels_record(source=source, levels=[(ITEM, LOCATION, 5, t)])
    # when another quantity stamped with the same second arrives, alone or with its twin
    assert source_levels_record(source=source, levels=[(ITEM, LOCATION, 7, t)]) == {
        (ITEM, LOCATION)}
    assert source_levels_record(source=source, levels=[
        (ITEM, LOCATION, 8, t + timedelta(seconds=1)),
        (ITEM, LOCATION, 9, t + timedelta(seconds=1))]) == {(ITEM, LOCATION)}
    # then what we hold is untouched; the same quantity again is no conflict
    assert stored(source) == (5, t)
    assert source_levels_record(source=source, levels=[(ITEM, LOCATION, 5, t)]) == set()


def test_an_authoritative_level_replaces_the_same_second(source):
    t = timezone.now().replace(microsecond=0)
    source_levels_record(source=source, levels=[(ITEM, LOCATION, 5, t)])
    # when the live level read to settle a conflict carries the same second
    source_levels_record(source=source, levels=[(ITEM, LOCATION, 7, t)], authoritative=True)
    # then it is recorded
    assert stored(source) == (7, t)


def test_a_same_second_conflict_is_settled_by_the_live_level(emulator):
    world = build(emulator)
    source = Shop.objects.get(domain=world.source)
    item = world.items["SHIRT-S"][world.source][1]
    location = emulator.shop(world.source, orders=False)["primary_location_id"]
    t = timezone.now().replace(microsecond=0)
    # given we hold 3 for the shirt at second t (the live level is 10)
    source_levels_record(source=source, levels=[(item, location, 3, t)])
    # when a delivery says 4 at the same second
    source_levels_changed(source=source, levels=[(item, location, 4, t)])
    # then the live level was read and recorded
    level = SourceLevel.objects.get(shop=source, inventory_item_id=item, location_id=location)
    assert level.available == 10
