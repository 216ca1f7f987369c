"""The dashboard benchmark's world, written with set-based SQL (INSERT ... SELECT over
generate_series): one source, `stores` connected destinations, a catalogue, and `orders`
destination orders spread evenly over the last `days` days, each paid with two synced lines —
each line a sale of the source's (products.DestinationSale, at the source's price), pushed or
not — a push to the source (98 % pushed, 1 % failed, 1 % pending) with its lines, and a
fulfilment with tracking for about 64 % of the pushed ones (statuses spread by order id modulo
primes, so every store gets its share).

Row-by-row inserts would take an hour at a million orders; this takes a minute or two.
"""

from __future__ import annotations

SOURCE_DOMAIN = "bench-source.myshopify.com"
SOURCE_KEY = "syncer_bench_source_key"
PRODUCTS = 500
VARIANTS_PER_PRODUCT = 2


def _variant(order_id: str) -> str:
    """The variant index of line k of an order: a fixed pseudo-random pick, skewed (cubed) so a
    few products sell most, the same wherever it is computed."""
    return (f"floor(%(variants)s * power((({order_id}) * 2654435761 + k * 40503) %% 1000003"
            " / 1000003.0, 3))::int")


def _quantity(order_id: str) -> str:
    return f"1 + (({order_id}) + k) %% 3"


def _steps(*, orders: int, stores: int, days: int) -> list[tuple[str, str, dict]]:
    variants = PRODUCTS * VARIANTS_PER_PRODUCT
    params = {"orders": orders, "stores": stores, "days": days, "products": PRODUCTS,
              "per": VARIANTS_PER_PRODUCT, "variants": variants, "source": SOURCE_DOMAIN,
              "key": SOURCE_KEY}
    return [("shops", """
        INSERT INTO stores_shop (domain, name, email, currency, plan_name, role,
                                 store_key_hash, store_key_prefix,
                                 access_token, refresh_token, scopes, settings, installed_at,
                                 created_at, updated_at)
        SELECT %(source)s, 'Bench Source', '', 'USD', '', 'source',
               encode(sha256(convert_to(%(key)s, 'UTF8')), 'hex'), left(%(key)s, 11),
               '', '', '', '{}'::jsonb, now(), now(), now()
        UNION ALL
        SELECT 'bench-dest-' || g || '.myshopify.com', 'Bench Destination ' || g, '', 'USD', '',
               'destination', NULL, '', '', '', '', '{}'::jsonb, now(), now(), now()
        FROM generate_series(1, %(stores)s) AS g
        ORDER BY 1 DESC
    """, params), ("connections", """
        INSERT INTO stores_connection (status, resync_required, sync_variants, field_sync,
                                       metafield_namespaces, safety_stock, count_pending_orders,
                                       connected_at, last_activity_at, created_at, updated_at,
                                       destination_id, source_id)
        SELECT 'connected', false, false, '{}'::jsonb, '[]'::jsonb, 0, false,
               now() - %(days)s * interval '1 day', now(), now(), now(), d.id, s.id
        FROM stores_shop d, stores_shop s
        WHERE d.role = 'destination' AND s.domain = %(source)s
        ORDER BY d.id
    """, params), ("catalogue", """
        WITH source AS (SELECT id FROM stores_shop WHERE domain = %(source)s),
        products AS (
            INSERT INTO products_sourceproduct (shopify_id, title, handle, description_html,
                vendor, product_type, tags, status, options, images, hidden, updated_at, shop_id)
            SELECT 900000 + g, 'Bench product ' || g, 'bench-' || g, '', 'Bench', '', '[]',
                   'ACTIVE', '[]', '[]', g %% 10 = 0, now(), source.id
            FROM generate_series(0, %(products)s - 1) AS g, source
            RETURNING id, shopify_id, shop_id)
        INSERT INTO products_sourcevariant (shopify_id, inventory_item_id, title, sku, barcode,
            price, option_values, position, tracked, product_id, shop_id)
        SELECT 100000 + (p.shopify_id - 900000) * %(per)s + v,
               500000 + (p.shopify_id - 900000) * %(per)s + v, 'Size ' || v,
               'B' || ((p.shopify_id - 900000) * %(per)s + v),
               '', 10 + ((p.shopify_id - 900000) * %(per)s + v) %% 50, '[]', v + 1, true,
               p.id, p.shop_id
        FROM products p, generate_series(0, %(per)s - 1) AS v
    """, params), ("product links", """
        INSERT INTO products_productlink (destination_product_id, origin, auto_sync, created_at,
                                          connection_id, source_product_id)
        SELECT 7000000 + c.id * 10000 + p.shopify_id - 900000, 'imported', true, now(), c.id,
               p.id
        FROM stores_connection c JOIN products_sourceproduct p ON p.shop_id = c.source_id
        WHERE (p.shopify_id + c.destination_id) %% 3 = 0 AND NOT p.hidden
    """, params), ("orders", f"""
        WITH dest AS (SELECT min(id) AS first FROM stores_shop WHERE role = 'destination')
        INSERT INTO orders_destinationorder (shopify_id, name, order_number, processed_at,
            customer_name, email, financial_status, fulfillment_status, tags, shipping_method,
            shipping_address, currency, subtotal_price, total_price, shop_id, phone, push_state,
            created_at, updated_at)
        SELECT 10000000 + g, '#' || (1000 + g / %(stores)s), 1000 + g / %(stores)s,
               now() - interval '10 minutes'
                   - %(days)s * interval '1 day' * (1 - (g + 0.5) / %(orders)s),
               'Customer ' || g, '', 'paid', 'unfulfilled', '[]', 'Standard',
               '{{"city": "Bench", "country_code": "US"}}', 'USD', sub.subtotal,
               sub.subtotal + 5, dest.first + g %% %(stores)s, '', 'pushed', now(), now()
        FROM generate_series(0, %(orders)s - 1) AS g, dest,
             LATERAL (SELECT sum(({_quantity("10000000 + g")}) * (10 + pick.v %% 50))
                             AS subtotal
                      FROM generate_series(0, 1) AS k,
                           LATERAL (SELECT {_variant("10000000 + g")} AS v) AS pick) AS sub
    """, params), ("order lines", f"""
        WITH source AS (SELECT id FROM stores_shop WHERE domain = %(source)s)
        INSERT INTO orders_orderline (shopify_id, source_variant_id, destination_variant_id, sku,
            title, variant_title, quantity, current_quantity, price, properties, order_id,
            source_id)
        SELECT o.shopify_id * 2 + k, 100000 + v, 8000000 + v, 'B' || v,
               'Bench product ' || (v / %(per)s), 'Size ' || (v %% %(per)s),
               {_quantity("o.shopify_id")}, {_quantity("o.shopify_id")}, 10 + v %% 50, '[]',
               o.id, source.id
        FROM orders_destinationorder o, source, generate_series(0, 1) AS k,
             LATERAL (SELECT {_variant("o.shopify_id")} AS v) AS pick
        ORDER BY o.id, k
    """, params), ("sales", """
        INSERT INTO products_destinationsale (source_id, destination_id, order_id, line_item_id,
                                              source_variant_id, quantity, price, sold_at)
        SELECT l.source_id, o.shop_id, o.shopify_id, l.shopify_id, l.source_variant_id,
               l.quantity, l.price, o.processed_at + interval '5 minutes'
        FROM orders_orderline l JOIN orders_destinationorder o ON o.id = l.order_id
        ORDER BY o.processed_at, l.id
    """, params), ("pushes", """
        WITH source AS (SELECT id FROM stores_shop WHERE domain = %(source)s)
        INSERT INTO orders_orderpush (status, trigger, source_order_id, source_order_name,
            source_fulfillment_status, shipping_fee, contact_email, currency, subtotal_price,
            total_price, error, attempts, pushed_at, created_at, updated_at, order_id, source_id)
        SELECT CASE WHEN o.id %% 101 = 1 THEN 'failed' WHEN o.id %% 101 = 2 THEN 'pending'
                    ELSE 'pushed' END, 'automatic',
               CASE WHEN o.id %% 101 > 2 THEN 40000000 + o.id END,
               CASE WHEN o.id %% 101 > 2 THEN '#S' || (5000 + o.id) ELSE '' END,
               CASE WHEN o.id %% 101 > 2 AND o.id %% 11 < 7 THEN 'fulfilled'
                    ELSE 'unfulfilled' END,
               5, 'orders@bench.example', 'USD', o.subtotal_price, o.total_price,
               CASE WHEN o.id %% 101 = 1 THEN 'The source refused it.' ELSE '' END, 1,
               CASE WHEN o.id %% 101 > 2 THEN o.processed_at + interval '5 minutes' END,
               o.processed_at, o.processed_at, o.id, source.id
        FROM orders_destinationorder o, source
        ORDER BY o.id
    """, params), ("push lines", """
        INSERT INTO orders_orderpushline (source_line_item_id, quantity, price,
                                          fulfilled_quantity, line_id, push_id)
        SELECT 60000000 + l.id, l.quantity, l.price,
               CASE WHEN p.source_fulfillment_status = 'fulfilled' THEN l.quantity ELSE 0 END,
               l.id, p.id
        FROM orders_orderpush p JOIN orders_orderline l ON l.order_id = p.order_id
        ORDER BY p.id, l.id
    """, params), ("fulfilments", """
        INSERT INTO orders_orderfulfillment (source_fulfillment_id, source_status, lines,
            tracking_company, tracking_number, tracking_url, destination_fulfillment_ids,
            status, error, attempts, source_updated_at, synced_at, created_at, updated_at,
            push_id)
        SELECT 70000000 + p.id, 'success', '[]', 'UPS', '1Z' || p.id,
               'https://ups.example/1Z' || p.id, '[]', 'synced', '', 1,
               p.pushed_at + interval '1 day', p.pushed_at + interval '1 day',
               p.pushed_at + interval '1 day', p.pushed_at + interval '1 day', p.id
        FROM orders_orderpush p WHERE p.source_fulfillment_status = 'fulfilled'
        ORDER BY p.id
    """, params)]


def seed(cursor, *, orders: int, stores: int, days: int, log=print) -> dict[str, float]:
    """Writes the world through `cursor` (autocommit off: one transaction); returns seconds per
    step."""
    import time

    cursor.execute("SET LOCAL synchronous_commit = off")
    timings = {}
    for name, sql, params in _steps(orders=orders, stores=stores, days=days):
        started = time.perf_counter()
        cursor.execute(sql, params)
        timings[name] = round(time.perf_counter() - started, 2)
        log(f"seed {name}: {timings[name]} s")
    return timings
