"""`make run` as a new user runs it: a clean copy of this working tree, real services, the
banner only once stock sync is proven, Ctrl-C leaving nothing behind, failures said plainly."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from celery import Celery

from scripts.local_services import (
    database_drop,
    free_port,
    redis_database_release,
    services_start,
    url_with_path,
)
from tests.conftest import ROOT
from tests.walkthrough import walk_demo

pytestmark = [pytest.mark.serial, pytest.mark.timeout(900)]
BANNER = "Syncer is up."
SOURCE = "demo-source.myshopify.com"
DESTINATIONS = ("demo-dest-1.myshopify.com", "demo-dest-2.myshopify.com")


@pytest.fixture
def checkout() -> Iterator[Path]:
    """A copy of the working tree as a clone would have it (tracked and new files, nothing
    ignored: no var/, no venv), in a folder every account can enter (embedded PostgreSQL runs
    as 'nobody' when we are root)."""
    parent = Path(tempfile.mkdtemp(prefix="syncer-clone-"))
    parent.chmod(0o755)
    target = parent / "syncer"
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    yield target
    shutil.rmtree(parent, ignore_errors=True)


def user_env(**extra: str) -> dict[str, str]:
    """A shell's environment: none of this test process's Django, database or Redis settings."""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "PYENV_ROOT")
           if key in os.environ}
    env.update(APP_PORT=str(free_port()), EMULATOR_PORT=str(free_port()),
               EMULATOR_SMTP_PORT=str(free_port()), **extra)
    return env


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class MakeRun:
    """`make run` in a checkout, in its own process group as a terminal would start it."""

    def __init__(self, checkout: Path, env: dict[str, str]) -> None:
        self.checkout = checkout
        self.env = env
        self.output = checkout / "make-run.out"
        self.started: set[int] = set()
        self.process = subprocess.Popen(
            ["make", "run", f"VENV={ROOT / '.venv'}"], cwd=checkout, env=env,
            stdout=self.output.open("w"), stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def wait_for(self, pattern: str, *, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.started |= descendants(self.process.pid)
            if pattern in self.text:
                return
            assert self.process.poll() is None, f"make run exited:\n{self.text[-4000:]}"
            time.sleep(0.5)
        raise AssertionError(f"no {pattern!r} in {timeout} s:\n{self.text[-4000:]}")

    def wait_exit(self, *, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while self.process.poll() is None:
            assert time.monotonic() < deadline, f"still running:\n{self.text[-4000:]}"
            self.started |= descendants(self.process.pid)
            time.sleep(0.2)
        return self.process.returncode

    def interrupt(self) -> int:
        """Ctrl-C: SIGINT to the foreground process group (make and run_demo.py)."""
        self.started |= descendants(self.process.pid)
        os.killpg(self.process.pid, signal.SIGINT)
        return self.process.wait(timeout=120)

    def wait_gone(self, *, timeout: float = 60) -> set[int]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(alive(pid) for pid in self.started):
            time.sleep(0.5)
        return {pid for pid in self.started if alive(pid)}

    def kill(self) -> None:
        for pid in self.started | {self.process.pid}:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def quantities(control: httpx.Client, domain: str) -> dict[str, int]:
    shop = control.get(f"/_emulator/shops/{domain}?orders=0").raise_for_status().json()
    return {variant["sku"]: variant["inventory_quantity"]
            for product in shop["products"] for variant in product["variants"]}


def level_set_and_followed(control: httpx.Client) -> bool:
    """Sets one SKU's level at demo-source and waits until both destinations moved with it."""
    source = quantities(control, SOURCE)
    before = {domain: quantities(control, domain) for domain in DESTINATIONS}
    sku = sorted(set(source) & set(before[DESTINATIONS[0]]) & set(before[DESTINATIONS[1]]))[-1]
    control.post(f"/_emulator/shops/{SOURCE}/inventory",
                 json={"sku": sku, "available": source[sku] + 7}).raise_for_status()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if all(quantities(control, domain)[sku] == before[domain][sku] + 7
               for domain in DESTINATIONS):
            return True
        time.sleep(0.25)
    return False


@pytest.mark.parametrize("services", ["forced", "nothing-answers"])
def test_make_run_from_a_clean_clone_syncs_stock_shows_every_screen_and_stops_cleanly(
        checkout, services, request):
    # given a clean clone, and either SYNCER_EMBEDDED_SERVICES=1 or probes that find nothing
    if services == "forced":
        env = user_env(SYNCER_EMBEDDED_SERVICES="1")
    else:
        env = user_env(SYNCER_PROBE_POSTGRES=f"127.0.0.1:{free_port()}",
                       SYNCER_PROBE_REDIS=f"127.0.0.1:{free_port()}")
    run = MakeRun(checkout, env)
    try:
        # when it comes up
        run.wait_for(BANNER, timeout=420)
        # then it took the embedded servers by itself
        assert "PostgreSQL: embedded PostgreSQL 18 (" in run.text
        assert "Redis: embedded Valkey 8 (" in run.text
        if services == "nothing-answers":
            assert re.search(r"PostgreSQL: embedded PostgreSQL 18 \(nothing answers on "
                             r"127\.0\.0\.1:\d+\)", run.text)
        # and a level set at demo-source through the emulator reaches both destinations
        control = httpx.Client(base_url=f"http://127.0.0.1:{env['EMULATOR_PORT']}", timeout=30)
        assert level_set_and_followed(control)
        app = httpx.Client(base_url=f"http://127.0.0.1:{env['APP_PORT']}", timeout=30)
        assert app.get("/healthz").json()["status"] == "ok"
        if services == "forced":
            # and every screen of the source and both destinations, as each merchant opens
            # them in Chromium, shows nothing a merchant must never meet (tests/walkthrough.py)
            walk = walk_demo(request.getfixturevalue("browser"),
                             admin_url=f"http://127.0.0.1:{env['EMULATOR_PORT']}",
                             app_origin=f"http://127.0.0.1:{env['APP_PORT']}",
                             out=ROOT / "var" / "test-artifacts" / "walkthrough")
            assert walk.problems == []
            assert len(walk.pages) >= 80, walk.pages
        # and /metrics counts deliveries the worker processed (the web process only stores them)
        metrics = app.get("/metrics").text
        processed = re.search(r'^syncer_webhooks_processed_total\{outcome="ok",'
                              r'topic="inventory_levels/update"\} (\d+)', metrics, re.M)
        assert processed, metrics[-2000:]
        assert float(processed.group(1)) > 0

        # when Ctrl-C stops it
        run.interrupt()
        # then every process it started is gone: app processes, emulator and both servers
        assert run.wait_gone() == set()
        assert len(run.started) >= 6
    finally:
        run.kill()


def test_a_failing_seed_stops_everything_without_the_banner(checkout):
    # given an APP_URL nothing listens on: the emulator cannot load the app to install the demo
    env = user_env(SYNCER_EMBEDDED_SERVICES="1")
    env["APP_URL"] = f"http://127.0.0.1:{free_port()}"
    run = MakeRun(checkout, env)
    try:
        # when it runs
        status = run.wait_exit(timeout=420)
        # then it fails with one sentence and the log's path, never the banner
        assert status != 0
        assert BANNER not in run.text
        log = checkout / "var" / "log" / "run.log"
        assert (f"make run failed: Seeding the demo failed (exit status 1). Everything it "
                f"started is stopped; the log is {log}.") in run.text
        assert "Installing demo-source.myshopify.com failed" in log.read_text()
        # and nothing it started is left running, the embedded servers included
        assert len(run.started) >= 6
        assert run.wait_gone(timeout=5) == set()
    finally:
        run.kill()


def test_an_unreachable_database_is_said_plainly(checkout):
    # given a DATABASE_URL where nothing answers
    env = user_env(DATABASE_URL=f"postgres://postgres@127.0.0.1:{free_port()}/syncer",
                   SYNCER_EMBEDDED_SERVICES="1")
    run = MakeRun(checkout, env)
    try:
        status = run.wait_exit(timeout=300)
        assert status != 0
        assert BANNER not in run.text
        assert "make run failed: Could not read the demo database (" in run.text
        assert run.wait_gone(timeout=5) == set()  # the embedded Redis it started too
    finally:
        run.kill()


def test_two_checkouts_never_share_a_database_or_queues(tmp_path):
    # given two checkouts on one machine, whatever PostgreSQL and Redis it offers
    first = services_start(purpose="run", environ={}, root=tmp_path / "one")
    second = services_start(purpose="run", environ={}, root=tmp_path / "two")
    try:
        # then each has its own database and Redis database
        assert first.database_url != second.database_url
        assert first.redis_url != second.redis_url
        # and a task queued by one is in its own queue only
        Celery(broker=first.redis_url).send_task("syncer.tasks.beat_heartbeat",
                                                 queue="webhooks")
        assert redis.Redis.from_url(first.redis_url).llen("webhooks") == 1
        assert redis.Redis.from_url(second.redis_url).llen("webhooks") == 0
        # and a checkout asking again gets what it had (on shared servers; embedded ones are
        # its own anyway)
        if not first.servers:
            again = services_start(purpose="run", environ={}, root=tmp_path / "one")
            assert (again.database_url, again.redis_url) == (first.database_url,
                                                             first.redis_url)
    finally:
        for services, root in ((first, tmp_path / "one"), (second, tmp_path / "two")):
            redis.Redis.from_url(services.redis_url).flushdb()
            redis_database_release(url=services.redis_url, owner=f"{root.resolve()}#run")
            database_drop(admin_url=url_with_path(services.database_url, "postgres"),
                          name=services.database_url.rsplit("/", 1)[-1])
            services.stop()


def test_servers_left_by_a_killed_run_are_stopped_by_the_next(tmp_path):
    # given embedded servers whose starter was killed before it could stop them
    root = Path(tempfile.mkdtemp(prefix="syncer-stale-"))
    root.chmod(0o755)
    starter = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "python"), "-c",
         "import sys, time; sys.path.insert(0, sys.argv[1]); from pathlib import Path; "
         "from scripts.local_services import services_start; "
         "services_start(purpose='test', environ={'SYNCER_EMBEDDED_SERVICES': '1'}, "
         "root=Path(sys.argv[2])); print('up', flush=True); time.sleep(600)",
         str(ROOT), str(root)], stdout=subprocess.PIPE, text=True)
    try:
        assert starter.stdout.readline() == "up\n"
        orphans = descendants(starter.pid)
        starter.kill()
        starter.wait()
        assert len(orphans) >= 2
        assert all(alive(pid) for pid in orphans)
        # when the next run starts its services
        services = services_start(purpose="test", environ={"SYNCER_EMBEDDED_SERVICES": "1"},
                                  root=root)
        services.stop()
        # then the old servers are gone, not serving the same data folder twice
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(alive(pid) for pid in orphans):
            time.sleep(0.2)
        assert [pid for pid in orphans if alive(pid)] == []
    finally:
        starter.kill()
        shutil.rmtree(root, ignore_errors=True)


def test_a_parallel_suite_gets_one_redis_database_per_worker_and_gives_them_back(tmp_path):
    # given a checkout whose suite runs in three processes, on whatever Redis this machine has
    environ = {"SYNCER_TEST_WORKERS": "3"}
    services = services_start(purpose="test", environ=environ, root=tmp_path / "suite")
    owner = f"{(tmp_path / 'suite').resolve()}#test"
    try:
        # then it has three distinct databases, the first being REDIS_URL, all handed on
        assert len(set(services.redis_urls)) == 3
        assert services.redis_urls[0] == services.redis_url
        assert services.environ()["SYNCER_TEST_REDIS_URLS"] == ",".join(services.redis_urls)
    finally:
        for url in services.redis_urls:
            redis.Redis.from_url(url).flushdb()
        for each in (owner, f"{owner}#2", f"{owner}#3"):
            redis_database_release(url=services.redis_url, owner=each)
        services.stop()
    # and a one-process suite hands on no list
    single = services_start(purpose="test", environ={}, root=tmp_path / "single")
    try:
        assert "SYNCER_TEST_REDIS_URLS" not in single.environ()
    finally:
        redis_database_release(url=single.redis_url,
                               owner=f"{(tmp_path / 'single').resolve()}#test")
        single.stop()
