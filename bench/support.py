"""Shared plumbing for benchmarks: a scratch database, env, free ports, process lifecycle."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg2

from scripts.local_services import url_with_path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# `make bench` names the server (scripts/local_services.py: yours, the local one or embedded);
# each benchmark makes its own database there and runs alone in the Redis database it was given.
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL") or url_with_path(
    os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"), "postgres")
BENCH_REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/13")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_env(*, database: str = "syncer_bench", **extra: str) -> dict:
    """Environment for processes under benchmark: real PostgreSQL and Redis, bench secrets."""
    env = dict(os.environ)
    env.update({
        "DJANGO_SETTINGS_MODULE": "syncer.settings.base",
        "SECRET_KEY": "bench-secret-key-0123456789abcdef0123456789abcdef",
        "SHOPIFY_API_KEY": "bench-client-id",
        "SHOPIFY_API_SECRET": "bench-client-secret-0123456789abcdef0123456789abcdef",
        "TOKEN_ENCRYPTION_KEYS": "bench-token-key",
        "DATABASE_URL": url_with_path(PG_ADMIN_URL, database),
        "REDIS_URL": BENCH_REDIS_URL,
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    })
    env.update(extra)
    return env


def database_fresh(name: str) -> None:
    """Drops and recreates a scratch database, then migrates it."""
    connection = psycopg2.connect(PG_ADMIN_URL)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()
    subprocess.run([str(BIN / "python"), "manage.py", "migrate", "--noinput", "-v", "0"],
                   cwd=ROOT, env=bench_env(database=name), check=True)


def wait_http(url: str, *, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up in {timeout} s")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


class Process:
    """A child process stopped (TERM, then KILL) when the benchmark is done."""

    def __init__(self, args: list[str], *, env: dict, log: Path) -> None:
        self.log = log.open("w")
        self.popen = subprocess.Popen(args, cwd=ROOT, env=env, stdout=self.log,
                                      stderr=subprocess.STDOUT, start_new_session=True)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
        self.log.close()


def child_figures(module: str, *args: str, env: dict, timeout: float) -> dict:
    """Runs `python -m <module> child <args>` with the bench's environment and returns the JSON
    figures it prints last."""
    result = subprocess.run([str(BIN / "python"), "-m", module, "child", *args], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"benchmark child failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def run_child_with_emulator(*, name: str, database: str, timeout: float,
                            http_timeout: str = "60") -> dict:
    """The usual benchmark: a fresh database and Redis, the emulator serving alone (webhooks
    off: the benchmark feeds Syncer what Shopify would send), and `bench.bench_<name>`'s
    `child(emulator_url)` in its own process with Django configured for that database. Returns
    its figures with the load average before it ran."""
    import redis

    database_fresh(database)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = bench_env(database=database, SHOPIFY_ADMIN_BASE_URL=f"{url}/shops/{{shop}}",
                    SHOPIFY_HTTP_TIMEOUT=http_timeout)
    redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    emulator = Process([str(BIN / "python"), "-m", "shopify_emulator", "serve", "--port",
                        str(port), "--no-webhooks", "--quiet", "--app-url", "http://127.0.0.1:9",
                        "--api-key", env["SHOPIFY_API_KEY"], "--app-config",
                        str(ROOT / "shopify.app.toml")],
                       env=env, log=ROOT / "bench" / "results" / f"{name}.emulator.log")
    try:
        wait_http(f"{url}/_emulator/health")
        load_before = os.getloadavg()
        figures = child_figures(f"bench.bench_{name}", url, env=env, timeout=timeout)
    finally:
        emulator.stop()
        redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    figures["load_average_before"] = [round(x, 2) for x in load_before]
    return figures
