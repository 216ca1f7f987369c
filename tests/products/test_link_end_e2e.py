"""Links ending through real web + worker processes: the destination's choice is applied by a
worker (no inline Celery), after the source deletes a product and after it uninstalls."""

import pytest

from products.inventory.reconciliation import reconciliation_start
from products.inventory.tasks import reconciliation_run_task
from stores.models import Connection, EndedLink
from tests.products.inventory_world import build
from tests.products.stack import Stack

pytestmark = [pytest.mark.serial, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def stack(live_server, tmp_path):
    stack = Stack(live_server=live_server, tmp_path=tmp_path, workers=1, concurrency=4).start()
    yield stack
    stack.stop()


def _products(emulator, domain: str) -> dict[str, str]:
    return {p["title"]: p["status"] for p in emulator.shop(domain, orders=False)["products"]}


def test_a_deleted_source_product_and_an_uninstalled_source_through_workers(stack):
    # given two destinations following the source: one zeroes, the other drafts
    world = build(stack.emulator, destinations=2)
    first, second = world.destinations
    Connection.objects.filter(destination__domain=second).update(on_link_end="draft")
    for connection in Connection.objects.all():
        reconciliation_run_task.delay(reconciliation_start(connection=connection,
                                                           trigger="merchant").pk)
    written = {"SHIRT-S": 10, "SHIRT-M": 8, "TOTE-1": 25}
    assert stack.wait_until(lambda: all(world.levels(d) == written for d in (first, second)),
                            timeout=60)
    # when the source deletes the tote
    tote = next(p for p in stack.emulator.shop(world.source, orders=False)["products"]
                if p["title"] == "Canvas tote")
    stack.emulator._json("DELETE", f"/_emulator/shops/{world.source}/products/{tote['id']}")
    # then the first destination's tote goes to zero, the second's becomes a draft
    assert stack.wait_until(lambda: world.levels(first) == {**written, "TOTE-1": 0},
                            timeout=60)
    assert stack.wait_until(lambda: _products(stack.emulator, second) == {
        "Linen shirt": "active", "Canvas tote": "draft"}, timeout=60)
    # when the source uninstalls Syncer
    stack.emulator.uninstall(world.source)
    # then the shirt follows the same choices, and every ended link is done
    assert stack.wait_until(lambda: world.levels(first) == {
        "SHIRT-S": 0, "SHIRT-M": 0, "TOTE-1": 0}, timeout=60)
    assert stack.wait_until(lambda: _products(stack.emulator, second) == {
        "Linen shirt": "draft", "Canvas tote": "draft"}, timeout=60)
    assert stack.wait_until(lambda: sorted(EndedLink.objects.values_list(
        "reason", "choice", "status")) == sorted([
            ("product_deleted", "zero", "done"), ("product_deleted", "draft", "done"),
            ("source_uninstalled", "zero", "done"), ("source_uninstalled", "draft", "done")]),
        timeout=30)
