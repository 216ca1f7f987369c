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
import json
import os
import time
import uuid

import psutil
import redis

from bench.support import BIN, ROOT, Process, bench_env, database_fresh, free_port, percentile
from bench.support import wait_http as wait_up

DURATION_SECONDS = float(os.environ.get("BENCH_WEBHOOK_SECONDS", "15"))
WARMUP_SECONDS = 2.0
CONNECTIONS = int(os.environ.get("BENCH_WEBHOOK_CONNECTIONS", "32"))
# What production runs (keep in step with scripts/run_demo.py, Dockerfile, docker-compose.yml).
GUNICORN_WORKERS = int(os.environ.get("BENCH_WEBHOOK_WORKERS", "3"))
GUNICORN_THREADS = int(os.environ.get("BENCH_WEBHOOK_THREADS", "8"))
GUNICORN_WORKER_CLASS = os.environ.get("BENCH_WEBHOOK_WORKER_CLASS", "gthread")
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


async def client_loop(port: int, body: bytes, headers: bytes, stop_at: float, record_from: float,
                      latencies: list[float], errors: list[str], answered: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < stop_at:
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
            await reader.readexactly(length)
            elapsed = time.perf_counter() - started
            if b" 200 " not in status_line:
                errors.append(status_line.decode().strip())
            else:
                answered.append(1)
                if started >= record_from:
                    latencies.append(elapsed)
            if close:
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
    finally:
        writer.close()


async def load(port: int, body: bytes, headers: bytes,
               answered: list[int]) -> tuple[list[float], list[str], float]:
    latencies: list[float] = []
    errors: list[str] = []
    start = time.perf_counter()
    record_from = start + WARMUP_SECONDS
    stop_at = record_from + DURATION_SECONDS
    await asyncio.gather(*[
        client_loop(port, body, headers, stop_at, record_from, latencies, errors, answered)
        for _ in range(CONNECTIONS)
    ])
    return latencies, errors, DURATION_SECONDS


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
        signature = base64.b64encode(
            hmac.new(env["SHOPIFY_API_SECRET"].encode(), body, hashlib.sha256).digest())
        headers = (b"X-Shopify-Topic: orders/paid\r\nX-Shopify-Hmac-Sha256: " + signature
                   + b"\r\nX-Shopify-Shop-Domain: bench-dest.myshopify.com\r\n"
                   b"X-Shopify-API-Version: 2026-07\r\n"
                   b"X-Shopify-Triggered-At: 2026-11-23T10:00:00Z\r\n")
        # CPU seconds the server (master and workers) and this load generator spend per
        # accepted delivery: unlike the rate, barely moved by other work on the machine.
        answered: list[int] = []
        server_cpu, client_cpu = _server_cpu_seconds(server.popen.pid), time.process_time()
        latencies, errors, seconds = asyncio.run(load(port, body, headers, answered))
        server_cpu = _server_cpu_seconds(server.popen.pid) - server_cpu
        client_cpu = time.process_time() - client_cpu
        load_end = os.getloadavg()
    finally:
        server.stop()
    import psycopg2

    with psycopg2.connect(env["DATABASE_URL"]) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM webhooks_webhookdelivery")
        stored = cursor.fetchone()[0]
    queued = redis.Redis.from_url(env["REDIS_URL"]).llen("webhooks")
    per_second = len(latencies) / seconds
    p50 = percentile(latencies, 0.50) * 1000
    p99 = percentile(latencies, 0.99) * 1000
    redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    return {
        "name": "webhook_ingest",
        "params": {"seconds": DURATION_SECONDS, "connections": CONNECTIONS,
                   "gunicorn_workers": GUNICORN_WORKERS, "gunicorn_threads": GUNICORN_THREADS,
                   "gunicorn_worker_class": GUNICORN_WORKER_CLASS,
                   "server": "gunicorn " + " ".join(server_args),
                   "body_bytes": len(body), "cpu_count": os.cpu_count(),
                   "load_generator": "asyncio keep-alive client on the same machine"},
        # bench/__main__.py sets its own "machine" over this one; the load averages are kept
        # at the top level too so they survive it.
        "machine": {"cpu_count": os.cpu_count(),
                    "load_average_start": [round(x, 2) for x in load_start],
                    "load_average_end": [round(x, 2) for x in load_end]},
        "load_average_start": [round(x, 2) for x in load_start],
        "load_average_end": [round(x, 2) for x in load_end],
        "deliveries_per_s": round(per_second, 1),
        "p50_ms": round(p50, 2),
        "p99_ms": round(p99, 2),
        "server_cpu_ms_per_delivery": round(server_cpu * 1000 / max(len(answered), 1), 3),
        "load_generator_cpu_ms_per_delivery": round(
            client_cpu * 1000 / max(len(answered), 1), 3),
        "errors": len(errors),
        "error_samples": sorted(set(errors))[:5],
        "rows_stored": stored,
        "tasks_queued": queued,
        "ratio_rate_to_goal": round(per_second / GOAL_PER_SECOND, 3),
        "ratio_p99_to_goal": round(p99 / GOAL_P99_MS, 3),
        "goal": {"deliveries_per_s": GOAL_PER_SECOND, "p99_ms": GOAL_P99_MS},
    }
