"""Automatic push looks again at waiting orders when a source unblocks a store, and when the
destination gets the Orders add-on (an entitlement hook of stores.registry, registered in
orders.apps).

Apart from `orders.tasks` because this task calls a service that queues tasks (the pushes):
`orders.services` imports `orders.tasks`, this module imports `orders.services`, and
`connection_unblock_with_orders` (which queues it) imports this one; imports run one way.
The task keeps its `orders.tasks.*` name, so routing and queued messages stay as they were.
"""

from celery import shared_task

from orders.selectors import orders_addon_on
from orders.services import order_auto_push_recheck
from orders.tasks import task_enqueue_on_commit
from stores.connections import connection_unblock
from stores.models import Connection, Shop


@shared_task(name="orders.tasks.order_auto_push_recheck_task", ignore_result=True)
def order_auto_push_recheck_task(destination_id: int, source_id: int | None = None) -> None:
    order_auto_push_recheck(destination_id=destination_id, source_id=source_id)


def orders_addon_changed(*, shop_id: int) -> None:
    """The shop's plan changed (registered in orders.apps): with the Orders add-on on now, the
    orders automatic push waited with are pushed, in the background."""
    shop = Shop.objects.filter(pk=shop_id, role=Shop.Role.DESTINATION).first()
    if shop is not None and orders_addon_on(shop=shop):
        task_enqueue_on_commit(order_auto_push_recheck_task, shop.pk, None)


def connection_unblock_with_orders(*, connection: Connection, actor: Shop,
                                   actor_user_id: str = "") -> Connection:
    """The source unblocks a store (stores.connections); the orders automatic push waited
    to push to it are looked at again, in the background."""
    connection = connection_unblock(connection=connection, actor=actor,
                                    actor_user_id=actor_user_id)
    task_enqueue_on_commit(order_auto_push_recheck_task, connection.destination_id,
                           connection.source_id)
    return connection
