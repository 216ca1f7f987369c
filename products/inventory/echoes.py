"""The echoes of our own stock writes, recognised at the webhook door.

Shopify sends an inventory_levels/update for every level Syncer sets at a destination: one
delivery per level written, most of what a busy network receives, and each used to cost an
inbox row, a queued task and a worker's look that found it equal to what Syncer holds.

Before a batch is sent, each of its levels is marked in Redis with the quantity it sets
(per shop, item and location). The door answers the first delivery of a marked level without
storing it if it carries exactly that quantity: the worker would find it equal to what we hold
(or to a write still in flight) and stop. Whatever it carries, that first delivery takes the
mark away, so anything after it (a sale, a hand edit, even one back to the same figure) is
stored and judged as before. A batch Shopify refused takes its marks back (nothing was set);
a mark lasts ECHO_MARK_SECONDS, after which a late echo goes the long way, as every echo did.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Iterable
from typing import Any

from redis.commands.core import Script
from redis.exceptions import RedisError

from syncer.redis import redis_client

logger = logging.getLogger(__name__)

# Shopify's echo comes within seconds; a retried one (the door was down) may come much later,
# and is then stored and judged by the worker.
ECHO_MARK_SECONDS = 300


def _mark_key(shop_domain: str, inventory_item_id: int, location_id: int) -> str:
    return f"syncer:wrote:{shop_domain}:{inventory_item_id}:{location_id}"


# One command for a batch's marks (250 SETs in a pipeline cost the worker more than the write's
# bookkeeping statement).
_MARK_SCRIPT = """
for i, key in ipairs(KEYS) do redis.call('set', key, ARGV[i + 1], 'EX', ARGV[1]) end
return #KEYS
"""


@functools.cache
def _mark_script() -> Script:
    return redis_client().register_script(_MARK_SCRIPT)


def _keys(shop_domain: str, items: Iterable[dict[str, Any]]) -> list[str]:
    return [_mark_key(shop_domain, item["item"], item["location"]) for item in items]


def echoes_expect(*, shop_domain: str, items: list[dict[str, Any]]) -> None:
    """Marks the levels a batch is about to set (its items: item, location, quantity). A
    failure to mark costs only the short way for their echoes."""
    try:
        _mark_script()(keys=_keys(shop_domain, items),
                       args=[ECHO_MARK_SECONDS, *(item["quantity"] for item in items)])
    except RedisError as exc:
        logger.warning("echo marks of %s not set: %r", shop_domain, exc)


def echoes_forget(*, shop_domain: str, items: list[dict[str, Any]]) -> None:
    """Takes back the marks of a batch Shopify did not apply."""
    try:
        redis_client().delete(*_keys(shop_domain, items))
    except RedisError as exc:  # they expire; until then a delivery of such a level is dropped
        logger.warning("echo marks of %s not taken back: %r", shop_domain, exc)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def level_delivery_is_echo(shop_domain: str, raw_body: str) -> bool:
    """The door's check for inventory_levels/update (webhooks.registry): True for the first
    delivery of a marked level when it carries the quantity we set."""
    try:
        payload = json.loads(raw_body)
    except ValueError:
        return False  # stored, and failed by the handler with its reason
    if not isinstance(payload, dict):
        return False
    item, location = _int(payload.get("inventory_item_id")), _int(payload.get("location_id"))
    available = _int(payload.get("available"))
    if item is None or location is None:
        return False
    try:
        marked = redis_client().getdel(_mark_key(shop_domain, item, location))
    except RedisError:
        return False  # judged by the worker, as before
    return marked is not None and available is not None and marked == str(available)
