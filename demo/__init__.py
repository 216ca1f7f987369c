"""The demo world of `make run` (scripts/seed_demo.py) and the demo tests.

A consumer on top of the apps, like scripts/: it reaches the Shopify emulator only through its
control API (`demo.emulator`) and Syncer only through its services; it reads Syncer's state
with selectors, and with plain model reads only to wait for what the worker writes. No app
imports it.

    demo.catalogue  the products (a source catalogue; an import and a map by SKU)
    demo.orders     a destination's orders in every tab of Orders
"""
