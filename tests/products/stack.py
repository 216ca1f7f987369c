"""A production-shaped stack for end-to-end tests: this test's own Redis server (so it can be
restarted without disturbing anything else), the emulator over real HTTP, Syncer's web app
(pytest-django's live server) and real Celery worker processes (one also running beat)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import redis
from django.conf import settings
from django.db import connection

from scripts.local_services import redis_server_binary
from syncer.celery import app as celery_app
from syncer.redis import redis_client
from tests.conftest import ROOT, Emulator


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Stack:
    def __init__(self, *, live_server, tmp_path: Path, workers: int = 2,
                 concurrency: int = 4, worker_settings: dict[str, str] | None = None) -> None:
        self.worker_settings = worker_settings or {}
        self.live_server = live_server
        self.tmp = tmp_path
        self.workers: list[subprocess.Popen] = []
        self.worker_count = workers
        self.concurrency = concurrency
        self.redis_port = free_port()
        self.redis_process: subprocess.Popen | None = None
        self.emulator: Emulator | None = None
        self._server = None
        self._saved: dict = {}
        # Like production's supervisor (compose's restart policy, `make run`): a worker that
        # exits by itself (Celery can, when Redis drops under it) is started again.
        self._supervising = threading.Event()
        self._killed: set[int] = set()
        self.restarts = 0

    # -- redis --------------------------------------------------------------------------------
    def redis_start(self) -> None:
        self.redis_process = subprocess.Popen(
            [redis_server_binary(), "--bind", "127.0.0.1", "--port", str(self.redis_port),
             "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.redis_port)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis did not start")

    def redis_restart(self) -> None:
        """Stops Redis (everything queued in it is lost) and starts an empty one."""
        assert self.redis_process
        self.redis_process.send_signal(signal.SIGKILL)
        self.redis_process.wait()
        time.sleep(0.5)
        self.redis_start()

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    # -- the whole stack -----------------------------------------------------------------------
    def start(self) -> Stack:
        from shopify_emulator.config import EmulatorConfig
        from shopify_emulator.testing import EmulatorServer
        from syncer.shopify import client as shopify_client

        self.redis_start()
        config = EmulatorConfig(
            app_url=self.live_server.url, api_key=settings.SHOPIFY_API_KEY,
            app_secret=settings.SHOPIFY_API_SECRET,
            app_config_path=str(ROOT / "shopify.app.toml"),
            webhook_backoff_base=0.2, webhook_backoff_max=2.0, fault_timeout_seconds=3.0,
        )
        self._server = EmulatorServer(config=config).start()
        self.emulator = Emulator(self._server)
        self._saved = {
            "REDIS_URL": settings.REDIS_URL, "SHOPIFY_ADMIN_BASE_URL":
            settings.SHOPIFY_ADMIN_BASE_URL, "SHOPIFY_HTTP_TIMEOUT": settings.SHOPIFY_HTTP_TIMEOUT,
            "broker_url": celery_app.conf.broker_url,
            "eager": celery_app.conf.task_always_eager,
        }
        settings.REDIS_URL = self.redis_url
        settings.SHOPIFY_ADMIN_BASE_URL = f"{self._server.url}/shops/{{shop}}"
        settings.SHOPIFY_HTTP_TIMEOUT = 2.0
        celery_app.conf.broker_url = self.redis_url
        celery_app.conf.task_always_eager = False
        celery_app._pool = None
        celery_app.amqp._producer_pool = None
        redis_client.cache_clear()
        shopify_client._clients.clear()
        for index in range(self.worker_count):
            self.worker_start(index)
        self._supervising.set()
        threading.Thread(target=self._supervise, daemon=True).start()
        return self

    def _supervise(self) -> None:
        while self._supervising.is_set():
            for index, process in enumerate(list(self.workers)):
                if index not in self._killed and process.poll() is not None:
                    self.restarts += 1
                    self.worker_start(index)
            time.sleep(0.5)

    def worker_env(self) -> dict[str, str]:
        database = connection.settings_dict
        env = dict(os.environ)
        env.update({
            "DJANGO_SETTINGS_MODULE": "syncer.settings.test",
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:"
                            f"{database['PORT']}/{database['NAME']}",
            "REDIS_URL": self.redis_url,
            "SHOPIFY_ADMIN_BASE_URL": settings.SHOPIFY_ADMIN_BASE_URL,
            "SHOPIFY_HTTP_TIMEOUT": "2",
            "LOG_LEVEL": "WARNING",
            "DB_CONN_MAX_AGE": "60",
        })
        env.update(self.worker_settings)
        return env

    def worker_start(self, index: int) -> subprocess.Popen:
        args = [sys.executable, "-m", "celery", "-A", "syncer", "worker", "--loglevel",
                "WARNING", "-Q", "webhooks,sync,default,webhooks_later,bulk", "--concurrency",
                str(self.concurrency), "--hostname", f"e2e{index}-{time.time_ns()}@%h"]
        if index == 0:
            args += ["--beat", "--schedule", str(self.tmp / "beat-schedule")]
        log = (self.tmp / f"worker-{index}.log").open("a")
        process = subprocess.Popen(args, cwd=ROOT, env=self.worker_env(), stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        if index < len(self.workers):
            self.workers[index] = process
        else:
            self.workers.append(process)
        self._killed.discard(index)
        return process

    def worker_kill(self, index: int) -> None:
        """SIGKILL a worker and its pool children mid-task, as a crash would. It stays down
        until worker_start."""
        self._killed.add(index)
        os.killpg(self.workers[index].pid, signal.SIGKILL)
        self.workers[index].wait()

    def stop(self) -> None:
        from syncer.shopify import client as shopify_client

        self._supervising.clear()
        time.sleep(0.6)
        for process in self.workers:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.workers:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        if self.emulator:
            self.emulator.http.close()
        if self._server:
            self._server.stop()
        if self.redis_process and self.redis_process.poll() is None:
            self.redis_process.kill()
            self.redis_process.wait()
        settings.REDIS_URL = self._saved.get("REDIS_URL", settings.REDIS_URL)
        settings.SHOPIFY_ADMIN_BASE_URL = self._saved.get("SHOPIFY_ADMIN_BASE_URL",
                                                          settings.SHOPIFY_ADMIN_BASE_URL)
        settings.SHOPIFY_HTTP_TIMEOUT = self._saved.get("SHOPIFY_HTTP_TIMEOUT", 10.0)
        celery_app.conf.broker_url = self._saved.get("broker_url", celery_app.conf.broker_url)
        celery_app.conf.task_always_eager = self._saved.get("eager", True)
        celery_app._pool = None
        celery_app.amqp._producer_pool = None
        redis_client.cache_clear()
        shopify_client._clients.clear()

    def wait_until(self, predicate, *, timeout: float, interval: float = 0.5) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(interval)
        return predicate()
