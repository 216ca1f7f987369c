"""The Admin GraphQL client against the emulator: data, budget, retries, errors, pagination."""

from __future__ import annotations

import multiprocessing
import random
import threading
import time
import uuid
from typing import Any

import httpx
import pytest
from django.conf import settings

from syncer.shopify.budget import ShopBudget
from syncer.shopify.client import ShopifyAdminClient, admin_client, paginate
from syncer.shopify.documents import (
    document_from_text,
    inventory_change_input,
    inventory_quantity_input,
    inventory_set_quantities_input,
)
from syncer.shopify.errors import (
    ShopifyAuthError,
    ShopifyClientError,
    ShopifyGraphQLError,
    ShopifyOutcomeUnknown,
    ShopifyRetryable,
    ShopifyServerError,
    ShopifyThrottled,
    ShopifyTimeout,
    ShopifyUserErrors,
    raise_for_user_errors,
)


def _gid(kind: str, number: int) -> str:
    return f"gid://shopify/{kind}/{number}"


def _stocked_item(emulator, shop: dict[str, Any], *, available: int) -> tuple[str, str]:
    """(inventory item gid, primary location gid) of a new one-variant product."""
    product = emulator.product_create(
        shop["domain"],
        title=f"Shirt {uuid.uuid4().hex[:6]}",
        variants=[{"sku": f"SKU-{uuid.uuid4().hex[:6]}", "price": "10.00", "available": available}],
    )
    item = _gid("InventoryItem", product["variants"][0]["inventory_item_id"])
    return item, _gid("Location", shop["primary_location_id"])


def _available(client, shop, item: str, location: str) -> int:
    data = client.execute(
        shop_domain=shop["domain"],
        access_token=shop["access_token"],
        document="inventory_item_levels",
        variables={"id": item},
    )
    for level in data["inventoryItem"]["inventoryLevels"]["nodes"]:
        if level["location"]["id"] == location:
            quantities = {q["name"]: q["quantity"] for q in level["quantities"]}
            return quantities["available"]
    raise AssertionError(f"{item} is not stocked at {location}")


def _wide_product(emulator, shop, *, variants: int) -> str:
    """A product with many variants: reading it is expensive (cost grows with variants)."""
    product = emulator.product_create(
        shop["domain"],
        title="Wide",
        variants=[
            {"sku": f"W-{n}", "price": "1.00", "available": 1, "option1": f"V{n}"}
            for n in range(variants)
        ],
    )
    return product["admin_graphql_api_id"]


class CountingTransport(httpx.BaseTransport):
    """Passes every request through to the real transport and counts them."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.requests = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        return self.inner.handle_request(request)


def _seed_with_first_rolls(*, below: int, rate: float) -> int:
    """A seed whose first `below` draws fall under `rate` and the next one does not."""
    for seed in range(10_000):
        rng = random.Random(seed)
        if all(rng.random() < rate for _ in range(below)) and rng.random() >= rate:
            return seed
    raise AssertionError("no seed found")


# -- data and budget -------------------------------------------------------------------------


def test_query_returns_data_and_records_the_shops_budget(emulator, shop, client, budget, caplog):
    caplog.set_level("DEBUG")
    # When we read the shop
    result = client.request(
        shop_domain=shop["domain"], access_token=shop["access_token"], document="shop_info"
    )
    # Then we get Shopify's data
    assert result.data["shop"]["myshopifyDomain"] == shop["domain"]
    assert result.attempts == 1
    # And the shop's budget in Redis is what Shopify reported
    status = result.extensions["cost"]["throttleStatus"]
    state = budget.state(shop_domain=shop["domain"])
    assert state["maximum"] == status["maximumAvailable"] == 2000
    assert state["rate"] == status["restoreRate"] == 100
    assert state["available"] == status["currentlyAvailable"]
    # And the call was logged with shop, document, cost and attempt, but never the token
    (logged,) = [r.shopify for r in caplog.records if hasattr(r, "shopify")]
    assert (logged["shop_domain"], logged["document"], logged["attempt"]) == (
        shop["domain"],
        "shop_info",
        1,
    )
    assert logged["requested_cost"] == result.requested_cost
    assert shop["access_token"] not in caplog.text
    # And the document's cost is learned for next time
    assert budget.expected_cost(document_name="shop_info", variables={}, default=0) == float(
        result.extensions["cost"]["requestedQueryCost"]
    )


def test_schema_invalid_document_is_a_graphql_error_with_shopifys_message(emulator, shop, client):
    # Given a document asking for a field Shop does not have
    bad = document_from_text("bad_shop", "query BadShop {\n  shop {\n    id\n    nope\n  }\n}\n")
    # When it is sent
    with pytest.raises(ShopifyGraphQLError) as caught:
        client.execute(shop_domain=shop["domain"], access_token=shop["access_token"], document=bad)
    # Then Shopify's own message and code are kept, and it was sent once (no retry)
    assert str(caught.value) == "Field 'nope' doesn't exist on type 'Shop'"
    assert caught.value.codes == ["undefinedField"]
    assert emulator.stats(shop["domain"])["graphql_requests"] == 1


def test_admin_client_is_built_once_per_process_from_settings():
    first = admin_client()
    assert admin_client() is first
    assert first.base_url_template == settings.SHOPIFY_ADMIN_BASE_URL.rstrip("/")
    assert first.api_version == settings.SHOPIFY_API_VERSION == "2026-07"
    assert first.http.timeout.read == settings.SHOPIFY_HTTP_TIMEOUT
    assert first.budget is not None


def test_a_shop_domain_that_is_no_shop_is_refused_before_any_request(client):
    with pytest.raises(ValueError, match="Not a Shopify shop domain"):
        client.execute(shop_domain="evil.com/x", access_token="t", document="shop_info")


# -- throttling ------------------------------------------------------------------------------


def _drain(careless, shop, steps: list[tuple[str, dict[str, Any]]]) -> None:
    """Send each document until Shopify says THROTTLED: big reads first, then a small write,
    so the bucket ends below the small write's cost."""
    for name, variables in steps:
        for _ in range(500):
            try:
                careless.execute(
                    shop_domain=shop["domain"],
                    access_token=shop["access_token"],
                    document=name,
                    variables=variables,
                )
            except ShopifyThrottled:
                break
        else:
            raise AssertionError(f"the bucket never ran dry with {name}")


def test_throttled_call_waits_for_the_bucket_to_refill_and_succeeds(emulator, shop, budget):
    # Given a shop whose bucket another client (without our Redis budget) has just emptied
    product_id = _wide_product(emulator, shop, variants=100)
    page = {"first": 250, "variantsFirst": 250}
    with emulator.client(budget=None, max_attempts=1) as careless:
        _drain(
            careless,
            shop,
            [("products_page", page), ("tags_add", {"id": product_id, "tags": ["busy"]})],
        )
    throttled_before = emulator.stats(shop["domain"])["throttled"]
    # When our client (whose Redis model still believes the bucket is full) asks for a page
    # that needs far more points than are left (requested cost 442 of 2000)
    with emulator.client(budget=budget) as client:
        result = client.request(
            shop_domain=shop["domain"],
            access_token=shop["access_token"],
            document="products_page",
            variables=page,
        )
    # Then the first attempt is THROTTLED, the client waits for the refill, the second succeeds
    assert result.attempts == 2
    assert result.requested_cost == 442
    assert [p["title"] for p in result.data["products"]["nodes"]] == ["Wide"]
    assert emulator.stats(shop["domain"])["throttled"] == throttled_before + 1


def test_four_threads_sharing_a_shop_never_exceed_its_budget(emulator_server, redis_db):
    # Given a Standard-plan shop (2000 points, 100/s) and a read of known cost
    server = emulator_server
    shop = server.shop_create(plan="standard")
    product_id = _wide_product(server, shop, variants=60)
    variables = {"id": product_id, "variantsFirst": 250}
    budget = ShopBudget(redis_db, prefix=f"test-shopify-{uuid.uuid4().hex[:8]}")
    with server.client(budget=budget) as client:
        warm = client.request(
            shop_domain=shop["domain"],
            access_token=shop["access_token"],
            document="product_by_id",
            variables=variables,
        )
        # Enough calls to spend the whole bucket and ~4 s of refill on top
        calls_per_thread = -(-(2000 + 400) // (4 * warm.actual_cost))
        results: list[int] = []
        errors: list[BaseException] = []
        start = threading.Barrier(4)

        def worker() -> None:
            start.wait()
            for _ in range(calls_per_thread):
                try:
                    result = client.request(
                        shop_domain=shop["domain"],
                        access_token=shop["access_token"],
                        document="product_by_id",
                        variables=variables,
                    )
                    results.append(result.attempts)
                except BaseException as exc:  # noqa: BLE001 - reported below
                    errors.append(exc)

        # When 4 threads call it at the same time, all through the shared Redis budget
        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

    # Then every call succeeded at its first attempt and Shopify never throttled us
    stats = server.stats(shop["domain"])
    assert errors == []
    assert results == [1] * (4 * calls_per_thread)
    assert stats["throttled"] == 0
    assert stats["graphql_requests"] == 4 * calls_per_thread + 1


def _process_worker(
    redis_url: str, prefix: str, base_url: str, shop: dict[str, Any], variables, calls: int
) -> list[int]:
    """One worker process: its own client and Redis connection, the shared Redis budget."""
    import redis as redis_module

    budget = ShopBudget(
        redis_module.Redis.from_url(redis_url, decode_responses=True), prefix=prefix
    )
    with ShopifyAdminClient(
        base_url_template=f"{base_url}/shops/{{shop}}",
        api_version="2026-07",
        timeout=10.0,
        budget=budget,
    ) as client:
        return [
            client.request(
                shop_domain=shop["domain"],
                access_token=shop["access_token"],
                document="product_by_id",
                variables=variables,
            ).attempts
            for _ in range(calls)
        ]


def test_four_processes_sharing_a_shop_never_exceed_its_budget(emulator_server, redis_db):
    # Given a Standard-plan shop and a read whose cost Redis has already learned
    server = emulator_server
    shop = server.shop_create(plan="standard")
    product_id = _wide_product(server, shop, variants=60)
    variables = {"id": product_id, "variantsFirst": 250}
    prefix = f"test-shopify-{uuid.uuid4().hex[:8]}"
    with server.client(budget=ShopBudget(redis_db, prefix=prefix)) as client:
        warm = client.request(
            shop_domain=shop["domain"],
            access_token=shop["access_token"],
            document="product_by_id",
            variables=variables,
        )
    calls = -(-(2000 + 400) // (4 * warm.actual_cost))
    # When 4 worker processes call it at the same time
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        attempts = pool.starmap(
            _process_worker,
            [(settings.REDIS_URL, prefix, server.base_url, shop, variables, calls)] * 4,
        )
    # Then every call succeeded at its first attempt and Shopify never throttled anyone
    stats = server.stats(shop["domain"])
    assert attempts == [[1] * calls] * 4
    assert stats["throttled"] == 0
    assert stats["graphql_requests"] == 4 * calls + 1


def test_budget_reserve_waits_for_the_refill(budget):
    # Given a shop whose modelled bucket (2000 points at 100/s) is empty
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)

    paced = ShopBudget(budget.redis, prefix=budget.prefix, sleep=sleep)
    first = paced.reserve(shop_domain="pace.myshopify.com", cost=2000)
    # When 50 more points are wanted
    second = paced.reserve(shop_domain="pace.myshopify.com", cost=50)
    # Then it slept about the 0.5 s the bucket needs to refill 50 points
    assert first.waited_seconds == 0
    assert len(slept) == 1
    assert 0.45 <= slept[0] <= 0.51
    assert second.cost == 50


# -- retries ---------------------------------------------------------------------------------


def test_server_errors_are_retried_until_one_succeeds(emulator, shop, client):
    # Given Shopify answers 502/503 to half the requests, starting with the first (seeded dice)
    seed = _seed_with_first_rolls(below=1, rate=0.5)
    emulator.faults_set(shop=shop["domain"], error_rate=0.5, seed=seed)
    # When we read the shop
    result = client.request(
        shop_domain=shop["domain"], access_token=shop["access_token"], document="shop_info"
    )
    # Then every failed attempt was retried and the last one got the data
    errors = emulator.stats(shop["domain"])["graphql_errors_injected"]
    assert errors >= 1
    assert result.attempts == errors + 1
    assert result.data["shop"]["myshopifyDomain"] == shop["domain"]


def test_server_errors_give_up_after_max_attempts(emulator, shop, budget):
    emulator.faults_set(shop=shop["domain"], error_rate=1.0)
    with (
        emulator.client(budget=budget, max_attempts=3) as client,
        pytest.raises(ShopifyServerError) as caught,
    ):
        client.execute(
            shop_domain=shop["domain"], access_token=shop["access_token"], document="shop_info"
        )
    assert caught.value.status_code in (502, 503)
    assert emulator.stats(shop["domain"])["graphql_errors_injected"] == 3


def test_retry_after_of_a_503_is_honoured(emulator, shop, budget, caplog):
    # Given every request answered 502 or 503 (Shopify's 503 carries Retry-After: 1)
    emulator.faults_set(shop=shop["domain"], error_rate=1.0)
    pauses: list[float] = []
    caplog.set_level("INFO", logger="syncer.shopify")
    # When the client gives up after 6 attempts (pauses recorded, not slept)
    with (
        emulator.client(budget=budget, max_attempts=6, sleep=pauses.append) as client,
        pytest.raises(ShopifyServerError),
    ):
        client.execute(
            shop_domain=shop["domain"], access_token=shop["access_token"], document="shop_info"
        )
    outcomes = [
        record.shopify["outcome"] for record in caplog.records if hasattr(record, "shopify")
    ]
    # Then it paused at least the Retry-After second after each 503, and backed off after 502s
    assert len(outcomes) == 6
    assert len(pauses) == 5
    for outcome, pause in zip(outcomes, pauses, strict=False):
        assert (pause >= 1.0) == (outcome == "503"), (outcome, pause)


def test_timeouts_are_retried_then_succeed(emulator_server, budget):
    # Given the real server holds the first reply longer than our read timeout
    server = emulator_server
    shop = server.shop_create()
    seed = _seed_with_first_rolls(below=1, rate=0.5)
    server.faults_set(shop=shop["domain"], timeout_rate=0.5, seed=seed)
    # When we read the shop with a 0.5 s timeout
    with server.client(budget=budget, timeout=0.5) as client:
        result = client.request(
            shop_domain=shop["domain"], access_token=shop["access_token"], document="shop_info"
        )
    # Then the second attempt got the data
    assert result.attempts == 2
    assert result.data["shop"]["myshopifyDomain"] == shop["domain"]
    assert server.stats(shop["domain"])["graphql_timeouts_injected"] == 1


def test_a_timed_out_order_create_is_not_sent_again(emulator_server, budget):
    # Given Shopify executes orderCreate but its reply never reaches us in time
    server = emulator_server
    shop = server.shop_create()
    product = server.product_create(
        shop["domain"], title="Mug", variants=[{"sku": "MUG", "price": "5.00", "available": 3}]
    )
    server.faults_set(shop=shop["domain"], timeout_rate=1.0)
    order = {
        "lineItems": [{"variantId": product["variants"][0]["admin_graphql_api_id"], "quantity": 1}],
        "email": "buyer@example.com",
    }
    # When we create the order
    with (
        server.client(budget=budget, timeout=0.5) as client,
        pytest.raises(ShopifyOutcomeUnknown) as caught,
    ):
        client.execute(
            shop_domain=shop["domain"],
            access_token=shop["access_token"],
            document="order_create",
            variables={"order": order, "options": {"inventoryBehaviour": "BYPASS"}},
        )
    # Then it was sent once, not retried into a second order, and the caller is told to look
    # before sending it again (not a retryable error a Celery task would blindly repeat)
    assert isinstance(caught.value.cause, ShopifyTimeout)
    assert not isinstance(caught.value, ShopifyRetryable)
    assert server.stats(shop["domain"])["graphql_requests"] == 1
    assert len(server.control.get(f"/_emulator/shops/{shop['domain']}").json()["orders"]) == 1


def test_a_bad_token_is_an_auth_error_and_not_retried(emulator, shop, client):
    with pytest.raises(ShopifyAuthError) as caught:
        client.execute(shop_domain=shop["domain"], access_token="shpat_wrong", document="shop_info")
    assert caught.value.status_code == 401
    assert "Invalid API key or access token" in str(caught.value)
    assert emulator.stats(shop["domain"])["graphql_unauthorized"] == 1


def test_other_4xx_is_a_client_error_and_not_retried(emulator, shop, budget):
    counting = CountingTransport(emulator.transport)
    with (
        emulator.client(budget=budget, transport=counting, api_version="latest") as client,
        pytest.raises(ShopifyClientError) as caught,
    ):
        client.execute(
            shop_domain=shop["domain"], access_token=shop["access_token"], document="shop_info"
        )
    assert caught.value.status_code == 404
    assert counting.requests == 1


# -- mutations: userErrors and idempotency ---------------------------------------------------


def test_stale_change_from_quantity_raises_user_errors_with_its_code(emulator, shop, client):
    # Given an item with 5 available
    item, location = _stocked_item(emulator, shop, available=5)
    # When we set it to 9 believing it was 3
    variables = {
        "input": inventory_set_quantities_input(
            name="available",
            reason="correction",
            quantities=[
                inventory_quantity_input(
                    inventory_item_id=item, location_id=location, quantity=9, change_from_quantity=3
                )
            ],
        ),
        "idempotencyKey": str(uuid.uuid4()),
    }
    data = client.execute(
        shop_domain=shop["domain"],
        access_token=shop["access_token"],
        document="inventory_set_quantities",
        variables=variables,
    )
    # Then Shopify refuses with CHANGE_FROM_QUANTITY_STALE, in plain words for the merchant
    with pytest.raises(ShopifyUserErrors) as caught:
        raise_for_user_errors(data["inventorySetQuantities"])
    assert caught.value.codes == ["CHANGE_FROM_QUANTITY_STALE"]
    assert caught.value.merchant_message.startswith("The stock level changed in Shopify")
    # And nothing changed
    assert _available(client, shop, item, location) == 5


def test_set_with_the_right_change_from_quantity_applies(emulator, shop, client):
    item, location = _stocked_item(emulator, shop, available=5)
    data = client.execute(
        shop_domain=shop["domain"],
        access_token=shop["access_token"],
        document="inventory_set_quantities",
        variables={
            "input": inventory_set_quantities_input(
                name="available",
                reason="correction",
                quantities=[
                    inventory_quantity_input(
                        inventory_item_id=item,
                        location_id=location,
                        quantity=9,
                        change_from_quantity=5,
                    )
                ],
            ),
            "idempotencyKey": str(uuid.uuid4()),
        },
    )
    payload = raise_for_user_errors(data["inventorySetQuantities"])
    assert payload["inventoryAdjustmentGroup"]["reason"] == "correction"
    assert payload["inventoryAdjustmentGroup"]["id"].startswith("gid://shopify/InventoryAdjustmentGroup/")
    assert _available(client, shop, item, location) == 9


def test_the_same_idempotency_key_twice_applies_once(emulator, shop, client):
    # Given an item with 5 available and one planned adjustment of +2 with its key
    item, location = _stocked_item(emulator, shop, available=5)
    variables = {
        "input": {
            "name": "available",
            "reason": "correction",
            "changes": [
                inventory_change_input(
                    inventory_item_id=item, location_id=location, delta=2, change_from_quantity=None
                )
            ],
        },
        "idempotencyKey": str(uuid.uuid4()),
    }
    # When it is sent twice (a retried task)
    results = [
        client.execute(
            shop_domain=shop["domain"],
            access_token=shop["access_token"],
            document="inventory_adjust_quantities",
            variables=variables,
        )
        for _ in range(2)
    ]
    # Then Shopify replays the first result and the stock moved once
    assert results[0] == results[1]
    assert raise_for_user_errors(results[0]["inventoryAdjustQuantities"])["userErrors"] == []
    assert _available(client, shop, item, location) == 7


def test_an_inventory_mutation_without_a_key_is_refused_before_sending(emulator, shop, client):
    with pytest.raises(ValueError, match="idempotency key"):
        client.execute(
            shop_domain=shop["domain"],
            access_token=shop["access_token"],
            document="inventory_adjust_quantities",
            variables={"input": {}},
        )
    assert emulator.stats(shop["domain"]).get("graphql_requests", 0) == 0


# -- pagination ------------------------------------------------------------------------------


def test_paginate_walks_every_product(emulator, shop, client):
    # Given 7 products
    titles = [f"Product {n}" for n in range(7)]
    for title in titles:
        emulator.product_create(
            shop["domain"], title=title, variants=[{"sku": title, "price": "1.00"}]
        )
    # When we walk them 3 at a time
    products = list(
        paginate(
            client=client,
            shop_domain=shop["domain"],
            access_token=shop["access_token"],
            document="products_page",
            variables={"first": 3},
            connection_path="products",
        )
    )
    # Then each comes once, in order, in 3 pages
    assert [p["title"] for p in products] == titles
    assert emulator.stats(shop["domain"])["graphql_requests"] == 3


def test_paginate_refuses_pages_larger_than_250(client, shop):
    with pytest.raises(ValueError, match="first must be between 1 and 250"):
        next(
            paginate(
                client=client,
                shop_domain=shop["domain"],
                access_token=shop["access_token"],
                document="products_page",
                variables={"first": 251},
                connection_path="products",
            )
        )


def test_client_is_usable_against_the_real_server(emulator_server, budget):
    server = emulator_server
    shop = server.shop_create()
    with server.client(budget=budget) as client:
        data = client.execute(
            shop_domain=shop["domain"],
            access_token=shop["access_token"],
            document="locations",
            variables={"first": 10},
        )
    names = [location["name"] for location in data["locations"]["nodes"]]
    assert names[0] == "Main warehouse"
