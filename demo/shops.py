"""The demo's shops: demo-source, demo-dest-1 and demo-dest-2 exist in the emulator and are
installed into Syncer the way Shopify's admin does it (the emulator's install action loads the
app URL with a session token; Syncer exchanges it for an offline token); then roles are set and
both destinations connect to the source with its key. Other tools rely on these names."""

from __future__ import annotations

import os

from demo.emulator import EmulatorControl
from stores.connections import ConnectionRefused, connection_create
from stores.models import Connection, Shop, store_key_digest
from stores.services import shop_role_choose, shop_tokens_forget, store_key_rotate

SOURCE = "demo-source.myshopify.com"
DESTINATIONS = ("demo-dest-1.myshopify.com", "demo-dest-2.myshopify.com")
NAMES = {SOURCE: "Demo Source", DESTINATIONS[0]: "Demo Dest 1", DESTINATIONS[1]: "Demo Dest 2"}


def _install(control: EmulatorControl, domain: str) -> None:
    if domain not in {shop["domain"] for shop in control.shops()}:
        control.shop_create(domain, name=NAMES[domain])
    # A fresh emulator has forgotten the tokens Syncer holds: make Syncer exchange anew.
    shop_tokens_forget(shop_domain=domain)
    result = control.install(domain)
    if result.get("app_status") != 200:
        raise RuntimeError(f"Installing {domain} failed: {result}")


def demo_source_key(*, source: Shop) -> str:
    """The source's key in full, for the demo to connect with and print. Syncer keeps only its
    hash, so the demo keeps the key itself: DEMO_SOURCE_STORE_KEY (var/demo.env, made once by
    `make run`), given to the source whenever it holds another. Without it: the key the source
    was just given, else a new one."""
    wanted = os.environ.get("DEMO_SOURCE_STORE_KEY", "")
    if wanted:
        if source.store_key_hash != store_key_digest(wanted):
            store_key_rotate(shop=source, key=wanted)
        return wanted
    return source.store_key or str(store_key_rotate(shop=source).store_key)


def demo_shops_seed(*, emulator_url: str) -> Shop:
    """Installs and connects the demo shops (idempotent); returns the source, its full key in
    `store_key`. A destination the source refuses is reported, not raised: the rest of the
    demo still runs."""
    with EmulatorControl(emulator_url) as control:
        for domain in (SOURCE, *DESTINATIONS):
            _install(control, domain)
    source = shop_role_choose(shop=Shop.objects.get(domain=SOURCE), role=Shop.Role.SOURCE)
    store_key = demo_source_key(source=source)
    source.store_key = store_key
    for domain in DESTINATIONS:
        destination = Shop.objects.get(domain=domain)
        if destination.role != Shop.Role.DESTINATION:
            destination = shop_role_choose(shop=destination, role=Shop.Role.DESTINATION)
        if not Connection.objects.filter(source=source, destination=destination,
                                         status=Connection.Status.CONNECTED).exists():
            try:
                connection_create(destination=destination, store_key=store_key)
            except ConnectionRefused as exc:
                print(f"{domain}: {exc}")
    return source
