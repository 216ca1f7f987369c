"""Bulk queries against the emulator: start, wait, stream the JSONL result."""

from __future__ import annotations

import random

import pytest

from syncer.shopify.bulk import (
    BulkOperation,
    bulk_operation_current,
    bulk_operation_wait,
    bulk_query_run,
    bulk_results_stream,
)
from syncer.shopify.errors import ShopifyOutcomeUnknown


def _catalogue(emulator, shop, *, products: int, variants: int) -> None:
    for p in range(products):
        emulator.product_create(
            shop["domain"],
            title=f"Product {p}",
            variants=[
                {"sku": f"P{p}-V{v}", "price": "1.00", "available": v, "option1": f"V{v}"}
                for v in range(variants)
            ],
        )


def test_bulk_catalogue_query_streams_every_product_and_variant(emulator, shop, client):
    # Given 4 products with 3 variants each
    _catalogue(emulator, shop, products=4, variants=3)
    # When a bulk query runs and finishes
    started = bulk_query_run(
        client=client,
        shop_domain=shop["domain"],
        access_token=shop["access_token"],
        query="bulk_query_catalogue",
    )
    finished = bulk_operation_wait(
        client=client,
        shop_domain=shop["domain"],
        access_token=shop["access_token"],
        operation_id=started.id,
        poll_interval=0.05,
        timeout=10,
    )
    rows = list(bulk_results_stream(finished.url, client=client))
    # Then one line per product and per variant, variants pointing at their product
    products = [row for row in rows if "__parentId" not in row]
    variants = [row for row in rows if "__parentId" in row]
    assert started.status in ("CREATED", "RUNNING", "COMPLETED")
    assert finished.status == "COMPLETED"
    assert finished.object_count == 16
    assert [p["title"] for p in products] == [f"Product {n}" for n in range(4)]
    assert sorted(v["sku"] for v in variants) == sorted(
        f"P{p}-V{v}" for p in range(4) for v in range(3)
    )
    by_id = {p["id"]: p for p in products}
    assert {by_id[v["__parentId"]]["title"] for v in variants} == {p["title"] for p in products}


def test_bulk_inventory_query_streams_levels_under_their_items(emulator, shop, client):
    _catalogue(emulator, shop, products=2, variants=2)
    started = bulk_query_run(
        client=client,
        shop_domain=shop["domain"],
        access_token=shop["access_token"],
        query="bulk_query_inventory_levels",
    )
    finished = bulk_operation_wait(
        client=client,
        shop_domain=shop["domain"],
        access_token=shop["access_token"],
        operation_id=started.id,
        poll_interval=0.05,
        timeout=10,
    )
    rows = list(bulk_results_stream(finished.url, client=client))
    items = {row["id"]: row for row in rows if "__parentId" not in row}
    levels = [row for row in rows if "__parentId" in row]
    available = {
        items[level["__parentId"]]["sku"]: {q["name"]: q["quantity"] for q in level["quantities"]}[
            "available"
        ]
        for level in levels
    }
    assert available == {"P0-V0": 0, "P0-V1": 1, "P1-V0": 0, "P1-V1": 1}


def test_current_bulk_operation_is_the_one_we_started(emulator, shop, client):
    started = bulk_query_run(
        client=client,
        shop_domain=shop["domain"],
        access_token=shop["access_token"],
        query="bulk_query_catalogue",
    )
    bulk_operation_wait(
        client=client,
        shop_domain=shop["domain"],
        access_token=shop["access_token"],
        operation_id=started.id,
        poll_interval=0.05,
        timeout=10,
    )
    current = bulk_operation_current(
        client=client, shop_domain=shop["domain"], access_token=shop["access_token"]
    )
    assert current is not None
    assert (current.id, current.status) == (started.id, "COMPLETED")


def test_an_empty_result_streams_nothing():
    assert list(bulk_results_stream(None)) == []


def test_bulk_results_stream_reads_over_real_http(emulator_server, budget):
    # Given a finished bulk operation on the real server
    server = emulator_server
    shop = server.shop_create()
    _catalogue(server, shop, products=3, variants=1)
    with server.client(budget=budget) as client:
        started = bulk_query_run(
            client=client,
            shop_domain=shop["domain"],
            access_token=shop["access_token"],
            query="bulk_query_catalogue",
        )
        finished = bulk_operation_wait(
            client=client,
            shop_domain=shop["domain"],
            access_token=shop["access_token"],
            operation_id=started.id,
            poll_interval=0.05,
            timeout=10,
        )
        # When its JSONL is streamed from the signed URL
        rows = list(bulk_results_stream(finished.url, client=client))
    # Then it holds every row
    assert finished.url.startswith(server.base_url)
    assert len(rows) == 6


def test_bulk_operation_from_node_reads_shopifys_shape():
    operation = BulkOperation.from_node(
        {
            "id": "gid://shopify/BulkOperation/1",
            "status": "FAILED",
            "errorCode": "TIMEOUT",
            "objectCount": "12",
            "rootObjectCount": "3",
            "fileSize": None,
            "url": None,
        }
    )
    assert operation.finished is True
    assert (operation.object_count, operation.root_object_count) == (12, 3)
    assert operation.error_code == "TIMEOUT"


@pytest.mark.parametrize("status", ["CREATED", "RUNNING", "CANCELING"])
def test_unfinished_statuses_are_not_finished(status):
    assert BulkOperation(id="x", status=status).finished is False


def _seed_first_roll_below(rate: float) -> int:
    """A seed whose first draw falls under `rate` and the next one does not."""
    for seed in range(10_000):
        rng = random.Random(seed)
        if rng.random() < rate <= rng.random():
            return seed
    raise AssertionError("no seed found")


def test_a_start_whose_answer_is_lost_is_found_as_the_current_operation(emulator_server, budget):
    # Given Shopify starts the bulk query but its answer arrives after our read timeout
    server = emulator_server
    shop = server.shop_create()
    _catalogue(server, shop, products=2, variants=1)
    server.faults_set(shop=shop["domain"], timeout_rate=0.5,
                      seed=_seed_first_roll_below(0.5))
    with server.client(budget=budget, timeout=0.5) as client:
        # When we start it
        started = bulk_query_run(client=client, shop_domain=shop["domain"],
                                 access_token=shop["access_token"], query="bulk_query_catalogue")
        finished = bulk_operation_wait(client=client, shop_domain=shop["domain"],
                                       access_token=shop["access_token"],
                                       operation_id=started.id, poll_interval=0.05, timeout=10)
        rows = list(bulk_results_stream(finished.url, client=client))
    # Then the operation Shopify started is the one we get, and it reads the whole catalogue
    assert server.stats(shop["domain"])["graphql_timeouts_injected"] == 1
    assert finished.status == "COMPLETED"
    assert len(rows) == 4


def test_a_start_lost_before_shopify_ran_it_still_says_the_outcome_is_unknown(
        emulator_server, budget):
    # Given the start never reaches Shopify's executor (504 after the hold) and no bulk query
    # ran in the shop before
    server = emulator_server
    shop = server.shop_create()
    server.faults_set(shop=shop["domain"], timeout_rate=0.5, timeout_before_execute=True,
                      seed=_seed_first_roll_below(0.5))
    # When we start one
    with (server.client(budget=budget, timeout=0.5) as client,
          pytest.raises(ShopifyOutcomeUnknown)):
        bulk_query_run(client=client, shop_domain=shop["domain"],
                       access_token=shop["access_token"], query="bulk_query_catalogue")
    # Then nothing is taken for it: the shop has no bulk operation at all
    with server.client(budget=budget) as client:
        assert bulk_operation_current(client=client, shop_domain=shop["domain"],
                                      access_token=shop["access_token"]) is None
