"""The demo's shops: demo-source, demo-dest-1 and demo-dest-2 exist in the emulator and are
installed into Syncer the way Shopify's admin does it (the emulator's install action loads the
app URL with a session token; Syncer exchanges it for an offline token); then roles are set and
both destinations connect to the source with its key. Other tools rely on these names."""

from __future__ import annotations

from demo.emulator import EmulatorControl
from stores.connections import ConnectionRefused, connection_create
from stores.models import Connection, Shop
from stores.services import shop_role_choose, shop_tokens_forget

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


def demo_shops_seed(*, emulator_url: str) -> Shop:
    """Installs and connects the demo shops (idempotent); returns the source. A destination
    the source refuses is reported, not raised: the rest of the demo still runs."""
    with EmulatorControl(emulator_url) as control:
        for domain in (SOURCE, *DESTINATIONS):
            _install(control, domain)
    source = shop_role_choose(shop=Shop.objects.get(domain=SOURCE), role=Shop.Role.SOURCE)
    store_key = source.store_key
    if not store_key:
        raise RuntimeError(f"{SOURCE} has no store key after choosing the source role")
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
