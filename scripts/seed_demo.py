"""Seeds the demo world of `make run` (idempotent; safe to run on every start).

Shops demo-source, demo-dest-1 and demo-dest-2 exist in the emulator and are installed into
Syncer the way Shopify's admin does it (the emulator's install action loads the app URL with a
session token; Syncer exchanges it for an offline token). Then roles are set and both
destinations connect to the source with its key. Other tools rely on these names.
"""

import os
import sys
from pathlib import Path

import django
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "syncer.settings.base")
django.setup()

from stores.connections import ConnectionRefused, connection_create  # noqa: E402
from stores.models import Connection, Shop  # noqa: E402
from stores.services import shop_role_choose  # noqa: E402

SOURCE = "demo-source.myshopify.com"
DESTINATIONS = ("demo-dest-1.myshopify.com", "demo-dest-2.myshopify.com")
NAMES = {SOURCE: "Demo Source", DESTINATIONS[0]: "Demo Dest 1", DESTINATIONS[1]: "Demo Dest 2"}


def emulator() -> httpx.Client:
    return httpx.Client(base_url=f"http://127.0.0.1:{os.environ.get('EMULATOR_PORT', '8765')}",
                        timeout=60)


def install(client: httpx.Client, domain: str) -> None:
    if client.get(f"/_emulator/shops/{domain}").status_code == 404:
        client.post("/_emulator/shops", json={"domain": domain, "name": NAMES[domain],
                                              "plan": "standard"}).raise_for_status()
    # A fresh emulator has forgotten the tokens Syncer holds: make Syncer exchange anew.
    Shop.objects.filter(domain=domain).update(access_token="", refresh_token="")
    result = client.post(f"/_emulator/shops/{domain}/install").json()
    if result.get("app_status") != 200:
        raise SystemExit(f"Installing {domain} failed: {result}")


def main() -> None:
    with emulator() as client:
        for domain in (SOURCE, *DESTINATIONS):
            install(client, domain)
    source = shop_role_choose(shop=Shop.objects.get(domain=SOURCE), role=Shop.Role.SOURCE)
    for domain in DESTINATIONS:
        destination = Shop.objects.get(domain=domain)
        if destination.role != Shop.Role.DESTINATION:
            destination = shop_role_choose(shop=destination, role=Shop.Role.DESTINATION)
        if not Connection.objects.filter(source=source, destination=destination,
                                         status=Connection.Status.CONNECTED).exists():
            try:
                connection_create(destination=destination, store_key=source.store_key)
            except ConnectionRefused as exc:
                print(f"{domain}: {exc}")
    from products.demo import demo_catalogue_seed

    catalogue = demo_catalogue_seed(
        emulator_url=f"http://127.0.0.1:{os.environ.get('EMULATOR_PORT', '8765')}")
    print(f"Demo catalogue: {catalogue}")
    from orders.demo import orders_demo_seed

    with emulator() as client:
        orders = orders_demo_seed(
            control=lambda method, path, body=None: client.request(
                method, path, json=body).raise_for_status().json(),
            destination_domain=DESTINATIONS[0])
    print(f"Demo orders on {DESTINATIONS[0]}: {orders}")
    print(f"Demo world ready: {SOURCE} (key {source.store_key}) with "
          f"{', '.join(DESTINATIONS)} connected.")


if __name__ == "__main__":
    main()
