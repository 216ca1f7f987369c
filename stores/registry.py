"""What the apps above stores do when a shop is erased. They register here in
AppConfig.ready(), the way webhook handlers register with webhooks.registry, so stores never
imports them.

An eraser is `eraser(*, shop: Shop) -> None`. `shop_redact` runs every eraser in registration
order inside its transaction, before the shop's rows are deleted (the cascade would take the
rows an eraser reads to know what to drop). Erasers must be idempotent: shop/redact can be
delivered more than once.
"""

from collections.abc import Callable

from stores.models import Shop

ShopEraser = Callable[..., None]

_erasers: list[ShopEraser] = []


def shop_eraser_register(eraser: ShopEraser) -> ShopEraser:
    """Registers `eraser` (once); usable as a decorator."""
    if eraser not in _erasers:
        _erasers.append(eraser)
    return eraser


def shop_erasers_run(*, shop: Shop) -> None:
    for eraser in list(_erasers):
        eraser(shop=shop)
