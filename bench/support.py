"""Shared plumbing for benchmarks: a scratch database, env, free ports, process lifecycle."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

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
        # so the child can tell the emulator's CPU apart from Syncer's (CpuSampler)
        env["BENCH_EMULATOR_PID"] = str(emulator.popen.pid)
        figures = child_figures(f"bench.bench_{name}", url, env=env, timeout=timeout)
    finally:
        emulator.stop()
        redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    figures["load_average_before"] = [round(x, 2) for x in load_before]
    return figures


# The web tier's publishing thread (webhooks.broker_marks), whose CPU is the web tier's too.
PUBLISHER_THREAD = "webhook-publisher"


def thread_cpu_s(name: str) -> float:
    """CPU seconds of this process's thread `name` so far (0 if it has not started)."""
    import threading

    for thread in threading.enumerate():
        if thread.name == name and thread.native_id is not None:
            return proc_cpu_s(os.getpid(), task=thread.native_id)
    return 0.0


def feed_in_threads(feed: Callable[[list], None], items: list, *,
                    threads: int) -> tuple[float, float, float]:
    """Runs `feed` on `threads` shares of `items` at once, as the web tier's threads take
    deliveries, then waits for the process's publishing thread to queue their tasks. Returns
    (when feeding started, seconds it took, the publishing thread's CPU seconds meanwhile: the
    web tier's too)."""
    from webhooks.broker_marks import webhook_deliveries_published_wait

    started = time.time()
    publisher_before = thread_cpu_s(PUBLISHER_THREAD)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(feed, [items[n::threads] for n in range(threads)]))
    fed_s = time.time() - started
    webhook_deliveries_published_wait(timeout=60)
    return started, fed_s, thread_cpu_s(PUBLISHER_THREAD) - publisher_before


def proc_cpu_s(pid: int, *, task: int | None = None) -> float:
    path = f"/proc/{pid}/task/{task}/stat" if task is not None else f"/proc/{pid}/stat"
    fields = Path(path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuSampler:
    """CPU seconds (user + system) used by groups of processes over a measured interval, for
    figures such as "CPU per write" that must leave other people's processes out.

    Two kinds of member, sampled every `interval` seconds from a thread (and once more by
    `sample()`, e.g. right before a watched process is stopped):

    * `watch(group, pid)`: a process we started and everything under it (a Celery prefork pool,
      a gunicorn arbiter and its workers). Each process counts its own time plus what its
      reaped children used (`children_user/system`), so a pool child that exits is not lost
      (its parent reaps it) nor counted twice (gone from the tree, it is no longer summed).
    * `postgres_backends(group, admin_url=, database=)`: the server processes serving one
      database on a PostgreSQL shared with others (backends and autovacuum workers are
      children of the postmaster, so there is no tree of ours to take): pids from
      `pg_stat_activity.datname` (asked on `admin_url`'s own database, so the asking is not
      counted), each read from /proc. A backend that ends between samples loses at most one
      interval; one already running at `start()` counts from then, a new one from birth.
      `exclude_pids` leaves out e.g. the bench's own polling connection.

    `stop()` returns {group: seconds}. Processes must be readable by us (root, or same user).
    """

    def __init__(self, *, interval: float = 0.2) -> None:
        import threading

        self.interval = interval
        self._roots: dict[int, str] = {}
        self._root_last: dict[int, float] = {}
        self._root_first: dict[int, float] = {}
        self._pg: list[tuple[str, str, str, frozenset[int]]] = []
        self._backend_first: dict[int, float] = {}
        self._backend_last: dict[int, tuple[str, float]] = {}
        self._pg_connections: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = False

    # -- members --------------------------------------------------------------------------

    def watch(self, group: str, pid: int) -> None:
        with self._lock:
            self._roots[pid] = group
            total = self._tree_seconds(pid)
            if total is not None:
                self._root_first[pid] = total
                self._root_last[pid] = total

    def postgres_backends(self, group: str, *, admin_url: str, database: str,
                          exclude_pids: tuple[int, ...] = ()) -> None:
        with self._lock:
            self._pg.append((group, admin_url, database, frozenset(exclude_pids)))

    # -- sampling -------------------------------------------------------------------------

    @staticmethod
    def _own_seconds(process) -> float:
        times = process.cpu_times()
        return (times.user + times.system + getattr(times, "children_user", 0.0)
                + getattr(times, "children_system", 0.0))

    def _tree_seconds(self, pid: int) -> float | None:
        import psutil

        try:
            root = psutil.Process(pid)
            total = self._own_seconds(root)
            for child in root.children(recursive=True):
                with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                    total += self._own_seconds(child)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return None
        return total

    def _backend_pids(self, admin_url: str, database: str) -> list[int]:
        connection = self._pg_connections.get(admin_url)
        if connection is None:
            connection = psycopg2.connect(admin_url)
            connection.autocommit = True
            self._pg_connections[admin_url] = connection
        with connection.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [database])
            return [pid for (pid,) in cursor.fetchall()]

    def sample(self, *, first: bool = False) -> None:
        import psutil

        with self._lock:
            for pid in self._roots:
                total = self._tree_seconds(pid)
                if total is not None:
                    self._root_last[pid] = total
                    if first or pid not in self._root_first:
                        self._root_first[pid] = total
            for group, admin_url, database, excluded in self._pg:
                for pid in self._backend_pids(admin_url, database):
                    if pid in excluded:
                        continue
                    try:
                        times = psutil.Process(pid).cpu_times()
                    except (psutil.NoSuchProcess, psutil.AccessDenied):
                        continue
                    seconds = times.user + times.system
                    if pid not in self._backend_first:
                        self._backend_first[pid] = seconds if first else 0.0
                    self._backend_last[pid] = (group, seconds)

    def _loop(self) -> None:
        while not self._done.wait(self.interval):
            self.sample()

    def start(self) -> None:
        import threading

        self.sample(first=True)
        self._started = True
        self._thread = threading.Thread(target=self._loop, name="cpu-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> dict[str, float]:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
        self.sample()
        for connection in self._pg_connections.values():
            connection.close()
        seconds: dict[str, float] = {}
        for pid, group in self._roots.items():
            if pid in self._root_last:
                seconds[group] = (seconds.get(group, 0.0)
                                  + self._root_last[pid] - self._root_first[pid])
            else:
                seconds.setdefault(group, 0.0)
        for group, *_ in self._pg:
            seconds.setdefault(group, 0.0)
        for pid, (group, last) in self._backend_last.items():
            seconds[group] += last - self._backend_first[pid]
        return {group: round(value, 3) for group, value in seconds.items()}

    @property
    def backends_seen(self) -> int:
        """How many PostgreSQL backends served the watched databases (connection churn: each
        new one costs its start-up)."""
        return len(self._backend_last)
