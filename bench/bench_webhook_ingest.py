"""webhook_ingest: how many signed Shopify deliveries per second Syncer accepts into the inbox,
and how long each waits for its 200, with gunicorn on this machine and real PostgreSQL + Redis.

The load generator is an asyncio HTTP/1.1 client with keep-alive connections on the same
machine (so it competes for the same cores: the figure is a floor). Workers are not running:
this measures the receive path (HMAC, inbox insert committed before the 200, enqueue), not
processing. The server runs as production's does (syncer/wsgi.py, WEB_SERVER_FLAGS below, the
flags scripts/run_demo.py, the Dockerfile and docker-compose.yml use); BENCH_WEBHOOK_WORKERS,
_THREADS and _WORKER_CLASS try another model. The load average at start and end says how busy
the machine was with other work.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import os
import sys
import time
import uuid
from collections.abc import Iterator

import psutil
import redis

from bench.support import (
    BIN,
    ROOT,
    Process,
    bench_env,
    child_figures,
    database_fresh,
    free_port,
    percentile,
)
from bench.support import wait_http as wait_up

DURATION_SECONDS = float(os.environ.get("BENCH_WEBHOOK_SECONDS", "15"))
WARMUP_SECONDS = 2.0
CONNECTIONS = int(os.environ.get("BENCH_WEBHOOK_CONNECTIONS", "32"))
# What production runs (keep in step with scripts/run_demo.py, Dockerfile, docker-compose.yml).
GUNICORN_WORKERS = int(os.environ.get("BENCH_WEBHOOK_WORKERS", "3"))
GUNICORN_THREADS = int(os.environ.get("BENCH_WEBHOOK_THREADS", "8"))
GUNICORN_WORKER_CLASS = os.environ.get("BENCH_WEBHOOK_WORKER_CLASS", "gthread")
# Levels marked for the echo round (more than it can send in its time); 0 leaves it out.
ECHO_LEVELS = int(os.environ.get("BENCH_WEBHOOK_ECHO_LEVELS", "80000"))
ECHO_LOCATION = 7001
SHOP = "bench-dest.myshopify.com"
GOAL_PER_SECOND = 1000
GOAL_P99_MS = 50


def order_paid_body() -> bytes:
    line = {"id": 1, "variant_id": 2, "product_id": 3, "sku": "SHIRT-S", "title": "Linen shirt",
            "quantity": 1, "price": "30.00", "fulfillable_quantity": 1}
    order = {"id": 4501, "name": "#1001", "order_number": 1001, "email": "ada@example.com",
             "financial_status": "paid", "fulfillment_status": None, "currency": "USD",
             "total_price": "60.00", "created_at": "2026-11-23T10:00:00+00:00",
             "updated_at": "2026-11-23T10:00:00+00:00",
             "customer": {"id": 7, "first_name": "Ada", "last_name": "Lovelace"},
             "line_items": [dict(line, id=i) for i in range(1, 5)],
             "admin_graphql_api_id": "gid://shopify/Order/4501"}
    return json.dumps(order).encode()


# One delivery to send: its body and its headers (less the ids, new for each request).
Delivery = tuple[bytes, bytes]


async def client_loop(port: int, deliveries: Iterator[Delivery], stop_at: float,
                      record_from: float, latencies: list[float], errors: list[str],
                      answered: list[int], echoes: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < stop_at:
            delivery = next(deliveries, None)
            if delivery is None:
                break
            body, headers = delivery
            webhook_id = uuid.uuid4().hex.encode()
            request = (b"POST /webhooks/shopify HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       b"Content-Type: application/json\r\nContent-Length: "
                       + str(len(body)).encode() + b"\r\n" + headers
                       + b"X-Shopify-Webhook-Id: " + webhook_id + b"\r\n"
                       + b"X-Shopify-Event-Id: " + webhook_id + b"\r\n\r\n" + body)
            started = time.perf_counter()
            writer.write(request)
            await writer.drain()
            status_line = await reader.readline()
            length = 0
            close = False
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
                elif name.lower() == "connection" and "close" in value.lower():
                    close = True
            content = await reader.readexactly(length)
            elapsed = time.perf_counter() - started
            if b" 200 " not in status_line:
                errors.append(status_line.decode().strip())
            else:
                answered.append(1)
                if b'"echo"' in content:
                    echoes.append(1)
                if started >= record_from:
                    latencies.append(elapsed)
            if close:
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
    finally:
        writer.close()


async def load(port: int, deliveries: Iterator[Delivery], answered: list[int],
               echoes: list[int]) -> tuple[list[float], list[str], float]:
    latencies: list[float] = []
    errors: list[str] = []
    start = time.perf_counter()
    record_from = start + WARMUP_SECONDS
    stop_at = record_from + DURATION_SECONDS
    await asyncio.gather(*[
        client_loop(port, deliveries, stop_at, record_from, latencies, errors, answered, echoes)
        for _ in range(CONNECTIONS)
    ])
    return latencies, errors, DURATION_SECONDS


def _signed_headers(topic: str, body: bytes, secret: str) -> bytes:
    signature = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
    return (b"X-Shopify-Topic: " + topic.encode() + b"\r\nX-Shopify-Hmac-Sha256: " + signature
            + b"\r\nX-Shopify-Shop-Domain: " + SHOP.encode() + b"\r\n"
            b"X-Shopify-API-Version: 2026-07\r\n"
            b"X-Shopify-Triggered-At: 2026-11-23T10:00:00Z\r\n")


def level_body(item: int) -> bytes:
    return json.dumps({"inventory_item_id": item, "location_id": ECHO_LOCATION, "available": 5,
                       "updated_at": "2026-11-23T10:00:00Z",
                       "admin_graphql_api_id": f"gid://shopify/InventoryLevel/{ECHO_LOCATION}"
                                               f"?inventory_item_id={item}"}).encode()


def _measured(port: int, server_pid: int, deliveries: Iterator[Delivery]) -> dict:
    """One load run: rate, latency and CPU per accepted delivery, and how many were echoes.
    CPU seconds of the server (master and workers) and of this load generator per accepted
    delivery: unlike the rate, barely moved by other work on the machine."""
    answered: list[int] = []
    echoes: list[int] = []
    server_cpu, client_cpu = _server_cpu_seconds(server_pid), time.process_time()
    latencies, errors, seconds = asyncio.run(load(port, deliveries, answered, echoes))
    server_cpu = _server_cpu_seconds(server_pid) - server_cpu
    client_cpu = time.process_time() - client_cpu
    per_second = len(latencies) / seconds
    return {
        "deliveries_per_s": round(per_second, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "server_cpu_ms_per_delivery": round(server_cpu * 1000 / max(len(answered), 1), 3),
        "load_generator_cpu_ms_per_delivery": round(
            client_cpu * 1000 / max(len(answered), 1), 3),
        "answered": len(answered), "answered_as_echo": len(echoes),
        "errors": len(errors), "error_samples": sorted(set(errors))[:5],
    }


def _rows_stored(env: dict) -> int:
    import psycopg2

    with psycopg2.connect(env["DATABASE_URL"]) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM webhooks_webhookdelivery")
        return cursor.fetchone()[0]


def _server_cpu_seconds(pid: int) -> float:
    """User + system CPU of gunicorn's master and its workers so far."""
    master = psutil.Process(pid)
    total = 0.0
    for process in (master, *master.children()):
        times = process.cpu_times()
        total += times.user + times.system
    return total


def run() -> dict:
    database = "syncer_bench_webhooks"
    database_fresh(database)
    env = bench_env(database=database)
    redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    port = free_port()
    log_dir = ROOT / "bench" / "results"
    server_args = ["syncer.wsgi", "--workers", str(GUNICORN_WORKERS),
                   "--worker-class", GUNICORN_WORKER_CLASS, "--threads", str(GUNICORN_THREADS),
                   "--keep-alive", "30"]
    server = Process([
        str(BIN / "gunicorn"), *server_args, "--bind", f"127.0.0.1:{port}",
        "--log-level", "warning",
    ], env=env, log=log_dir / "webhook_ingest.gunicorn.log")
    try:
        # A busy machine (other benchmarks) can take a while to import Django in each worker.
        wait_up(f"http://127.0.0.1:{port}/metrics", timeout=120)
        load_start = os.getloadavg()
        body = order_paid_body()
        headers = _signed_headers("orders/paid", body, env["SHOPIFY_API_SECRET"])
        figures = _measured(port, server.popen.pid, itertools.repeat((body, headers)))
        stored = _rows_stored(env)
        queued = redis.Redis.from_url(env["REDIS_URL"]).llen("webhooks")
        # The echo round: levels marked as Syncer marks what it writes, then one delivery of
        # each, as Shopify sends them back (signed before the clock starts).
        echo = None
        if ECHO_LEVELS:
            child_figures("bench.bench_webhook_ingest", "mark", str(ECHO_LEVELS), env=env,
                          timeout=600)
            bodies = [level_body(item) for item in range(1, ECHO_LEVELS + 1)]
            echo = _measured(port, server.popen.pid, iter([
                (level, _signed_headers("inventory_levels/update", level,
                                        env["SHOPIFY_API_SECRET"])) for level in bodies]))
            echo["rows_stored"] = _rows_stored(env) - stored
        load_end = os.getloadavg()
    finally:
        server.stop()
    redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    return {
        "name": "webhook_ingest",
        "params": {"seconds": DURATION_SECONDS, "connections": CONNECTIONS,
                   "gunicorn_workers": GUNICORN_WORKERS, "gunicorn_threads": GUNICORN_THREADS,
                   "gunicorn_worker_class": GUNICORN_WORKER_CLASS,
                   "server": "gunicorn " + " ".join(server_args),
                   "body_bytes": len(body), "cpu_count": os.cpu_count(),
                   "echo_levels_marked": ECHO_LEVELS,
                   "load_generator": "asyncio keep-alive client on the same machine"},
        # bench/__main__.py sets its own "machine" over this one; the load averages are kept
        # at the top level too so they survive it.
        "machine": {"cpu_count": os.cpu_count(),
                    "load_average_start": [round(x, 2) for x in load_start],
                    "load_average_end": [round(x, 2) for x in load_end]},
        "load_average_start": [round(x, 2) for x in load_start],
        "load_average_end": [round(x, 2) for x in load_end],
        **figures,
        "rows_stored": stored,
        "tasks_queued": queued,
        # inventory_levels/update deliveries that are echoes of Syncer's own writes
        "echoes": echo,
        "ratio_rate_to_goal": round(figures["deliveries_per_s"] / GOAL_PER_SECOND, 3),
        "ratio_p99_to_goal": round(figures["p99_ms"] / GOAL_P99_MS, 3),
        "goal": {"deliveries_per_s": GOAL_PER_SECOND, "p99_ms": GOAL_P99_MS},
    }


def mark(count: int) -> dict:
    """In a child with the bench's settings: marks `count` levels as Syncer's flush does."""
    import django

    django.setup()
    from products.inventory.echoes import echoes_expect

    for start in range(1, count + 1, 250):
        echoes_expect(shop_domain=SHOP, items=[
            {"item": item, "location": ECHO_LOCATION, "quantity": 5}
            for item in range(start, min(start + 250, count + 1))])
    return {"marked": count}


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1:2] == ["child"] and sys.argv[2] == "mark":
        print(json.dumps(mark(int(sys.argv[3]))))
