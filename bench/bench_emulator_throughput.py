"""How many 250-item `inventorySetQuantities` per second the emulator sustains over real HTTP.

Each client thread writes to its own Enterprise-plan shop with 250 inventory items — the way
Syncer writes destinations in parallel — so every request carries a correct
`changeFromQuantity` for all 250 quantities and a fresh `@idempotent` key. Then the same
threads send `{ shop { name } }` for a few seconds: the cost of a request that does nothing.
The emulator runs in its own process on 127.0.0.1 (`python -m shopify_emulator serve`, one
gunicorn gthread worker by default; `server="werkzeug"` or BENCH_EMULATOR_SERVER=werkzeug for
werkzeug's threaded server), or pass `url=` to measure an emulator that is already running.

The client shares the machine with the emulator, so it is kept light (http.client, bodies
built from pre-rendered JSON) and both sides' CPU per request is reported with the load
average before the run: on a busy machine requests/s says more about the neighbours.

Run: `python -m bench emulator_throughput` (or `python bench/bench_emulator_throughput.py`).
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from typing import Any

import httpx

ITEMS = 250
API_VERSION = "2026-07"
MUTATION = """
mutation SetAvailable($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id }
    userErrors { field message code }
  }
}
"""


def _setup_shop(client: httpx.Client, domain: str, plan: str) -> tuple[str, str, dict[str, int]]:
    """Create the shop and its 250 items; returns (token, location gid, {item gid: available})."""
    created = client.post("/_emulator/shops", json={"domain": domain, "plan": plan})
    created.raise_for_status()
    token = created.json()["access_token"]
    per_product = 10
    for product in range(ITEMS // per_product):
        variants = [
            {"sku": f"{domain}-{product}-{v}", "price": "10.00", "available": 50}
            for v in range(per_product)
        ]
        client.post(
            f"/_emulator/shops/{domain}/products",
            json={"title": f"Bench product {product}", "variants": variants},
        ).raise_for_status()
    shop = client.get(f"/_emulator/shops/{domain}").json()
    primary = shop["primary_location_id"]
    location_gid = next(
        loc["admin_graphql_api_id"] for loc in shop["locations"] if loc["id"] == primary
    )
    item_gid = {
        v["inventory_item_id"]: v["inventory_item_admin_graphql_api_id"]
        for p in shop["products"]
        for v in p["variants"]
    }
    levels = {
        item_gid[lv["inventory_item_id"]]: lv["available"]
        for lv in shop["inventory_levels"]
        if lv["location_id"] == primary
    }
    assert len(levels) == ITEMS, f"expected {ITEMS} levels, got {len(levels)}"
    return token, location_gid, levels


def _worker(
    *,
    base_url: str,
    domain: str,
    token: str,
    location: str,
    levels: dict[str, int],
    stop_at: float,
    latencies: list[float],
    counters: dict[str, int],
    lock: threading.Lock,
) -> None:
    # The client shares the machine's cores with the emulator it measures, so it is kept
    # light: http.client on one kept-alive connection (reopened when the server closes it)
    # instead of httpx, and the JSON of each item up to its quantity built once.
    address = urllib.parse.urlsplit(base_url)
    path = f"/shops/{domain}/admin/api/{API_VERSION}/graphql.json"
    headers = {"X-Shopify-Access-Token": token, "Content-Type": "application/json"}
    item_heads = {
        item: f'{{"inventoryItemId":{json.dumps(item)},"locationId":{json.dumps(location)},'
        '"quantity":'
        for item in levels
    }
    body_head = '{"query":' + json.dumps(MUTATION) + ',"variables":{"input":{"name":"available",'
    body_head += '"reason":"correction","quantities":['
    local_latencies: list[float] = []
    local = {"ok": 0, "throttled": 0, "errors": 0}
    round_number = 0
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30.0)
    try:
        while time.monotonic() < stop_at:
            round_number += 1
            target = 20 + (round_number % 50)
            quantities = ",".join(
                f'{head}{target},"changeFromQuantity":{levels[item]}}}'
                for item, head in item_heads.items()
            )
            body = f'{body_head}{quantities}]}},"key":"{uuid.uuid4()}"}}}}'.encode()
            started = time.perf_counter()
            try:
                connection.request("POST", path, body=body, headers=headers)
                response = connection.getresponse()
                status_code, text = response.status, response.read()
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                status_code, text = 0, repr(exc).encode()
            elapsed = time.perf_counter() - started
            payload = json.loads(text) if status_code == 200 else {}
            errors = payload.get("errors") or []
            if any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors):
                local["throttled"] += 1
                status = payload["extensions"]["cost"]["throttleStatus"]
                time.sleep(max(0.05, 20 / float(status.get("restoreRate") or 100)))
                continue
            result = (payload.get("data") or {}).get("inventorySetQuantities") or {}
            if status_code != 200 or errors or result.get("userErrors"):
                local["errors"] += 1
                if local["errors"] == 1:
                    print(f"bench error: {status_code} {text[:500]!r}", file=sys.stderr)
                continue
            for item in levels:
                levels[item] = target
            local["ok"] += 1
            local_latencies.append(elapsed)
    finally:
        connection.close()
    with lock:
        latencies.extend(local_latencies)
        for key, value in local.items():
            counters[key] += value


SIMPLE_QUERY = json.dumps({"query": "{ shop { name } }"}).encode()


def _simple_worker(
    *,
    base_url: str,
    domain: str,
    token: str,
    stop_at: float,
    latencies: list[float],
    counters: dict[str, int],
    lock: threading.Lock,
    **_unused: Any,
) -> None:
    """`{ shop { name } }` in a loop: what a request costs when the work is next to nothing."""
    address = urllib.parse.urlsplit(base_url)
    path = f"/shops/{domain}/admin/api/{API_VERSION}/graphql.json"
    headers = {"X-Shopify-Access-Token": token, "Content-Type": "application/json"}
    local_latencies: list[float] = []
    local = {"ok": 0, "throttled": 0, "errors": 0}
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30.0)
    try:
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                connection.request("POST", path, body=SIMPLE_QUERY, headers=headers)
                response = connection.getresponse()
                status_code, text = response.status, response.read()
            except (OSError, http.client.HTTPException):
                connection.close()
                status_code, text = 0, b""
            elapsed = time.perf_counter() - started
            payload = json.loads(text) if status_code == 200 else {}
            if status_code == 200 and not payload.get("errors"):
                local["ok"] += 1
                local_latencies.append(elapsed)
            elif any(
                (e.get("extensions") or {}).get("code") == "THROTTLED"
                for e in payload.get("errors") or ()
            ):
                local["throttled"] += 1
                time.sleep(0.05)
            else:
                local["errors"] += 1
    finally:
        connection.close()
    with lock:
        latencies.extend(local_latencies)
        for key, value in local.items():
            counters[key] += value


def _measure(
    worker: Any,
    shops: list[tuple[str, str, str, dict[str, int]]],
    *,
    base_url: str,
    duration: float,
) -> tuple[float, list[float], dict[str, int]]:
    """Run ``worker`` in one thread per shop for ``duration`` s: (elapsed, latencies, counters)."""
    latencies: list[float] = []
    counters = {"ok": 0, "throttled": 0, "errors": 0}
    lock = threading.Lock()
    started = time.monotonic()
    threads = [
        threading.Thread(
            target=worker,
            kwargs={
                "base_url": base_url,
                "domain": domain,
                "token": token,
                "location": location,
                "levels": levels,
                "stop_at": started + duration,
                "latencies": latencies,
                "counters": counters,
                "lock": lock,
            },
        )
        for domain, token, location, levels in shops
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.monotonic() - started, latencies, counters


def _percentile(ordered: list[float], fraction: float) -> float | None:
    if not ordered:
        return None
    return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000, 2)


def _process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU of process ``pid`` and its children (gunicorn's worker) so far.

    Linux /proc only; None elsewhere.
    """
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as handle:
            children = [int(child) for child in handle.read().split()]
        total = 0.0
        for one in (pid, *children):
            with open(f"/proc/{one}/stat", encoding="ascii") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total
    except (OSError, IndexError, ValueError):
        return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_server(server: str) -> tuple[subprocess.Popen[bytes], str]:
    """`python -m shopify_emulator serve` in its own process (its own GIL), on a free port."""
    port = _free_port()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    command = [sys.executable, "-m", "shopify_emulator", "serve", "--port", str(port)]
    command += ["--quiet", "--no-webhooks", "--server", server, "--app-url", "http://127.0.0.1:9"]
    process = subprocess.Popen(
        command,
        cwd=root,
        env={**os.environ, "PYTHONPATH": root},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/_emulator/health", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the emulator did not start")


def run(
    *,
    threads: int | None = None,
    duration: float = 10.0,
    simple_duration: float = 3.0,
    plan: str = "enterprise",
    server: str | None = None,
    url: str | None = None,
) -> dict[str, Any]:
    load_before = os.getloadavg()[0]  # the machine is shared: how busy it was already
    threads = threads or int(os.environ.get("BENCH_EMULATOR_THREADS", "8"))
    server = server or os.environ.get("BENCH_EMULATOR_SERVER", "gunicorn")
    process = None
    if url is None:
        process, url = _start_server(server)
    try:
        shops = []
        with httpx.Client(base_url=url, timeout=60.0) as control:
            run_id = uuid.uuid4().hex[:6]
            for index in range(threads):
                domain = f"bench-{run_id}-{index}.myshopify.com"
                shops.append((domain, *_setup_shop(control, domain, plan)))
            # warm-up: schema build and first validation happen outside the measured window
            warm_domain, warm_token, warm_location, warm_levels = shops[0]
            _worker(
                base_url=url,
                domain=warm_domain,
                token=warm_token,
                location=warm_location,
                levels=warm_levels,
                stop_at=time.monotonic() + 0.5,
                latencies=[],
                counters={"ok": 0, "throttled": 0, "errors": 0},
                lock=threading.Lock(),
            )
            stats_before = control.get("/_emulator/stats").json()["totals"]
            # The emulator's own CPU per request says whether it or the client is the limit
            # (both share the machine's cores).
            cpu_before = _process_cpu_seconds(process.pid) if process is not None else None
            client_before = time.process_time()

            elapsed, latencies, counters = _measure(
                _worker, shops, base_url=url, duration=duration
            )
            cpu_after = _process_cpu_seconds(process.pid) if process is not None else None
            client_cpu = time.process_time() - client_before
            stats_after = control.get("/_emulator/stats").json()["totals"]
            simple_elapsed, simple_latencies, simple_counters = _measure(
                _simple_worker, shops, base_url=url, duration=simple_duration
            )
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)

    ordered = sorted(latencies)
    simple_ordered = sorted(simple_latencies)
    requests_per_s = counters["ok"] / elapsed
    server_cpu_ms = None
    if cpu_before is not None and cpu_after is not None and counters["ok"]:
        server_cpu_ms = round((cpu_after - cpu_before) * 1000 / counters["ok"], 2)
    return {
        "name": "emulator_throughput",
        "params": {
            "simple_duration_s": simple_duration,
            "threads": threads,
            "shops": threads,
            "items_per_request": ITEMS,
            "duration_s": duration,
            "plan": plan,
            "server": "external" if process is None else f"{server} (own process)",
            "mutation": "inventorySetQuantities @idempotent, changeFromQuantity on every item",
        },
        "requests_per_s": round(requests_per_s, 1),
        "items_per_s": round(requests_per_s * ITEMS, 1),
        "p50_ms": _percentile(ordered, 0.50),
        "p99_ms": _percentile(ordered, 0.99),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 2) if ordered else None,
        "server_cpu_ms_per_request": server_cpu_ms,
        "client_cpu_ms_per_request": (
            round(client_cpu * 1000 / counters["ok"], 2) if counters["ok"] else None
        ),
        "load_average_1m_before": round(load_before, 2),
        "requests_ok": counters["ok"],
        "throttled": counters["throttled"],
        "errors": counters["errors"],
        "cost_consumed": stats_after["cost_consumed"] - stats_before["cost_consumed"],
        # `{ shop { name } }` from the same threads for simple_duration s after the writes.
        "simple_query_requests_per_s": round(simple_counters["ok"] / simple_elapsed, 1),
        "simple_query_p50_ms": _percentile(simple_ordered, 0.50),
        "simple_query_errors": simple_counters["errors"] + simple_counters["throttled"],
    }


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    print(json.dumps(run(), indent=2))
