"""Seeds the demo world of `make run` (idempotent; safe to run on every start): the shops
(demo/shops.py), the catalogue (demo/catalogue.py) and the orders (demo/orders.py)."""

import os
import sys
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "syncer.settings.base")
django.setup()

from demo.billing import demo_billing_seed  # noqa: E402
from demo.catalogue import demo_catalogue_seed  # noqa: E402
from demo.orders import orders_demo_seed  # noqa: E402
from demo.shops import DESTINATIONS, SOURCE, demo_shops_seed  # noqa: E402


def main() -> None:
    emulator_url = f"http://127.0.0.1:{os.environ.get('EMULATOR_PORT', '8765')}"
    try:
        source = demo_shops_seed(emulator_url=emulator_url)
    except RuntimeError as exc:
        raise SystemExit(str(exc)) from None
    # Plans first: their allowances must fit what the catalogue then imports and maps.
    billing = demo_billing_seed(emulator_url=emulator_url)
    print(f"Demo plans: {billing}")
    catalogue = demo_catalogue_seed(emulator_url=emulator_url)
    print(f"Demo catalogue: {catalogue}")
    orders = orders_demo_seed(emulator_url=emulator_url, destination_domain=DESTINATIONS[0])
    print(f"Demo orders on {DESTINATIONS[0]}: {orders}")
    print(f"Demo world ready: {SOURCE} (key {source.store_key}) with "
          f"{', '.join(DESTINATIONS)} connected.")


if __name__ == "__main__":
    main()
