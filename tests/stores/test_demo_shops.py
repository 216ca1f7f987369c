"""demo/shops.py, the first step of `make run`'s seed: the demo knows its source's key in full
(Syncer keeps only its hash), so it can connect both destinations and print the key on every
start."""

import hashlib

import pytest

from demo.shops import DESTINATIONS, SOURCE, demo_shops_seed
from stores.connections import connection_create
from stores.models import Connection, Shop
from tests.stores.factories import DestinationFactory

pytestmark = pytest.mark.django_db(transaction=True)

DEMO_KEY = "syncer_DemoKeyFromDemoEnv00123"


def test_the_demo_source_takes_the_key_from_demo_env_and_keeps_it_across_starts(emulator,
                                                                                monkeypatch):
    # given make run's environment, with the key var/demo.env holds
    monkeypatch.setenv("DEMO_SOURCE_STORE_KEY", DEMO_KEY)
    # when the demo is seeded, and seeded again (a restart)
    first = demo_shops_seed(emulator_url=emulator.url)
    again = demo_shops_seed(emulator_url=emulator.url)
    # then both starts know (and print) that key, the source is found by it, and both
    # destinations are connected once
    assert (first.store_key, again.store_key) == (DEMO_KEY, DEMO_KEY)
    assert Shop.objects.get(domain=SOURCE).store_key_hash == hashlib.sha256(
        DEMO_KEY.encode()).hexdigest()
    assert sorted(Connection.objects.filter(status="connected").values_list(
        "destination__domain", flat=True)) == sorted(DESTINATIONS)
    assert connection_create(destination=DestinationFactory(),
                             store_key=DEMO_KEY).source.domain == SOURCE


def test_without_a_demo_key_the_seed_still_knows_the_key_it_connects_with(emulator,
                                                                         monkeypatch):
    monkeypatch.delenv("DEMO_SOURCE_STORE_KEY", raising=False)
    first = demo_shops_seed(emulator_url=emulator.url)
    # a restart cannot read the key back: the source is given a new one to print
    again = demo_shops_seed(emulator_url=emulator.url)
    assert first.store_key.startswith("syncer_")
    assert again.store_key.startswith("syncer_")
    assert again.store_key != first.store_key
    assert Connection.objects.filter(status="connected").count() == 2
    assert connection_create(destination=DestinationFactory(),
                             store_key=again.store_key).source.domain == SOURCE
