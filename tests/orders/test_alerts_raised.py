"""Failure points raise email alerts to the right owner: a failed push and a block reach the
destination, a disconnect reaches the source."""

import pytest

from orders.models import OrderPush
from orders.push import order_push_execute
from orders.services import order_push_prepare
from stores.connections import connection_block, connection_disconnect
from stores.models import AlertDigest, AlertKind
from tests.orders.conftest import DEST, SOURCE_2

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_block_and_the_push_it_stops_alert_the_destination(world, mailoutbox):
    order = world.mirrored(world.sell({"SHIRT-S": 1}))
    (push,) = order_push_prepare(order=order).pushes
    connection_block(connection=world.connection, actor=world.source)
    order_push_execute(push_id=push.pk)
    push.refresh_from_db()
    assert push.status == OrderPush.Status.FAILED

    assert [(email.to, email.subject) for email in mailoutbox] == [
        ([f"owner@{DEST}"], "Syncer: a store connection ended in Demo Dest One"),
        ([f"owner@{DEST}"], "Syncer: an order push failed in Demo Dest One"),
    ]
    assert "Demo Source blocked your store" in mailoutbox[0].body
    assert (f"Order {order.name} to Demo Source: Demo Source has blocked your store"
            in mailoutbox[1].body)
    assert set(AlertDigest.objects.filter(sent_count=1).values_list("shop__domain", "kind")) == {
        (DEST, AlertKind.CONNECTION_ENDED), (DEST, AlertKind.PUSH_FAILED)}


def test_a_disconnect_alerts_the_source(world, mailoutbox):
    connection_disconnect(connection=world.connection_2, actor=world.destination)
    (email,) = mailoutbox
    assert email.to == [f"owner@{SOURCE_2}"]
    assert email.subject == "Syncer: a store connection ended in Second Source"
    assert "Demo Dest One disconnected from your store" in email.body
