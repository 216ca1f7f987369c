"""inventory_fanout's echo phase: what the level webhooks Shopify sends back for Syncer's own
writes cost Syncer (one delivery per level written; the round itself runs the emulator with its
webhooks off, so it leaves them out).

After the concurrent round is quiet, every destination level change the emulator recorded in
the round (`GET /_emulator/inventory/changes`: each is an `inventory_levels/update` Shopify
would send) is delivered through the web tier's door (`webhooks.ingest.webhook_ingest`, the
function gunicorn's lean path calls, with a signed WSGI environ; signing is the sender's work
and done before the clock starts) from BENCH_FANOUT_FEEDERS threads, and Syncer's processes'
CPU is sampled until everything is quiet again, as in the round:

* `at_the_door`: as production runs now; the first delivery of each level Syncer marked when
  writing it is answered as an echo and not stored (products/inventory/echoes.py);
* `the_long_way`: the first BENCH_FANOUT_ECHOES_LONG_WAY (40,000) of the same deliveries again,
  under new webhook ids: their marks are gone (a mark answers one delivery), so each is stored,
  queued and judged by the worker (found equal to what Syncer holds) — what every echo cost
  before the marks, per delivery.

Each pass also counts drift recorded meanwhile (an echo must never be taken for a hand edit).
"""

from __future__ import annotations

import io
import os
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from bench.support import feed_in_threads

LONG_WAY = int(os.environ.get("BENCH_FANOUT_ECHOES_LONG_WAY", "40000"))
TOPIC = "inventory_levels/update"


def echo_bodies(control: Any, domains: list[str], *, since: float) -> list[tuple[str, bytes]]:
    """(shop, body) of every level change of these shops after `since`, oldest first, in the
    payload shape Shopify sends."""
    import json

    bodies = []
    for domain in domains:
        changes = control.get("/_emulator/inventory/changes", params={
            "since": since, "shop": domain, "limit": 100_000}).json()["changes"]
        for change in changes:
            payload = {
                "inventory_item_id": change["inventory_item_id"],
                "location_id": change["location_id"], "available": change["available"],
                "updated_at": datetime.fromtimestamp(change["at"], UTC).isoformat(
                    timespec="seconds").replace("+00:00", "Z"),
                "admin_graphql_api_id": (f"gid://shopify/InventoryLevel/{change['location_id']}"
                                         f"?inventory_item_id={change['inventory_item_id']}"),
            }
            bodies.append((domain, json.dumps(payload, separators=(",", ":")).encode()))
    return bodies


def _signed(deliveries: list[tuple[str, bytes]], *, api_version: str) -> list[dict[str, Any]]:
    """The WSGI environ of each delivery as gunicorn hands it over (less the body stream)."""
    from django.conf import settings

    from syncer.shopify.webhook_hmac import webhook_hmac

    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    environs = []
    for domain, body in deliveries:
        webhook_id = str(uuid.uuid4())
        environs.append({
            "REQUEST_METHOD": "POST", "PATH_INFO": "/webhooks/shopify",
            "CONTENT_LENGTH": str(len(body)), "body": body,
            "HTTP_X_SHOPIFY_HMAC_SHA256": webhook_hmac(body, settings.SHOPIFY_API_SECRET),
            "HTTP_X_SHOPIFY_TOPIC": TOPIC, "HTTP_X_SHOPIFY_SHOP_DOMAIN": domain,
            "HTTP_X_SHOPIFY_WEBHOOK_ID": webhook_id, "HTTP_X_SHOPIFY_EVENT_ID": webhook_id,
            "HTTP_X_SHOPIFY_API_VERSION": api_version, "HTTP_X_SHOPIFY_TRIGGERED_AT": now,
        })
    return environs


def _pass(round_: Any, environs: list[dict[str, Any]], *, worker_pid: int, feeders: int,
          deadline: float, what: str) -> dict:
    from django.db import connection as db_connection

    from products.models import SyncEvent
    from webhooks.ingest import webhook_ingest

    answers: Counter[str] = Counter()
    feeder_cpu: list[float] = []

    def feed(share: list[dict[str, Any]]) -> None:
        started_cpu = time.thread_time()
        seen: Counter[str] = Counter()
        try:
            for prepared in share:
                environ = {key: value for key, value in prepared.items() if key != "body"}
                environ["wsgi.input"] = io.BytesIO(prepared["body"])
                answer = webhook_ingest(environ=environ, enqueue_soon=True)
                seen[answer.payload.get("status") or f"http {answer.status}"] += 1
        finally:
            db_connection.close()
            feeder_cpu.append(time.thread_time() - started_cpu)
            answers.update(seen)

    drift_before = SyncEvent.objects.filter(kind=SyncEvent.Kind.DRIFT).count()
    sampler = round_.cpu_sampler(worker_pid=worker_pid)
    sampler.start()
    started, fed_s, publisher_cpu = feed_in_threads(feed, environs, threads=feeders)
    feeder_cpu.append(publisher_cpu)
    round_.wait(lambda: round_.deliveries_open() == 0 and round_.writes_open() == (0, 0),
                what=f"echoes {what}: all processed", deadline=deadline)
    elapsed = time.time() - started
    cpu = {**sampler.stop(), "web": sum(feeder_cpu)}
    syncer = sum(cpu.get(group, 0.0) for group in ("worker", "web", "postgres", "beat"))
    return {
        "deliveries": len(environs), "answers": dict(answers),
        "fed_s": round(fed_s, 2), "elapsed_s": round(elapsed, 2),
        "syncer_cpu_s": round(syncer, 2),
        "syncer_cpu_s_per_10k": round(syncer * 10_000 / len(environs), 3) if environs else None,
        "cpu_s_by_process": {group: round(cpu.get(group, 0.0), 2)
                             for group in ("worker", "web", "postgres", "beat", "emulator")},
        "drift_recorded": SyncEvent.objects.filter(kind=SyncEvent.Kind.DRIFT).count()
        - drift_before,
    }


def echo_phase(round_: Any, *, worker_pid: int, since: float, feeders: int, deadline: float,
               api_version: str) -> dict:
    """Both passes (see the module's docstring); figures per 10,000 deliveries."""
    domains = [destination.domain for destination in round_.catalogue.destinations]
    deliveries = echo_bodies(round_.control, domains, since=since)
    door = _pass(round_, _signed(deliveries, api_version=api_version), worker_pid=worker_pid,
                 feeders=feeders, deadline=deadline, what="at the door")
    long_way = _pass(round_, _signed(deliveries[:LONG_WAY], api_version=api_version),
                     worker_pid=worker_pid, feeders=feeders, deadline=deadline,
                     what="the long way")
    return {"deliveries": len(deliveries), "at_the_door": door, "the_long_way": long_way}
