"""Which worker queue a stock webhook goes to: writes are never held up by echoes."""

import pytest

from tests.stores.factories import DestinationFactory, SourceFactory
from webhooks.registry import webhook_queue_for

pytestmark = pytest.mark.django_db


def test_a_destinations_level_webhooks_wait_behind_the_writes():
    destination = DestinationFactory()
    # when a destination's stock level webhook arrives (nearly always our own write's echo)
    queue = webhook_queue_for(shop_domain=destination.domain, topic="inventory_levels/update")
    # then it goes to the queue workers take after the writes
    assert queue == "webhooks_later"


def test_a_sources_level_webhooks_and_other_topics_keep_the_first_queue():
    source = SourceFactory()
    destination = DestinationFactory()
    assert webhook_queue_for(shop_domain=source.domain, topic="inventory_levels/update") is None
    assert webhook_queue_for(shop_domain=destination.domain, topic="orders/paid") is None
    assert webhook_queue_for(shop_domain="unknown.myshopify.com",
                             topic="inventory_levels/update") is None
