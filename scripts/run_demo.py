"""`make run`: the demo on real PostgreSQL and Redis, with a real worker, or a plain failure.

In order: find or start PostgreSQL and Redis (scripts/local_services.py), migrate, start the
Shopify emulator (its saved world belongs to this database), web, worker and beat, seed the
demo, then prove it works (a stock change at demo-source reaches both destinations) before
printing the banner. Any failure stops every process started here and exits non-zero with one
sentence and the log's path. Ctrl-C stops the app's processes, then the services.

`make reset-demo` (`--reset`) forgets the demo: its database, the emulator's saved world and
its Redis database.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

import httpx
import psycopg2
import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.local_services import (  # noqa: E402
    Services,
    ServicesError,
    database_drop,
    database_ensure,
    services_start,
    url_with_path,
)

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
LOG = VAR / "log" / "run.log"
BIN = Path(sys.executable).parent
COLOURS = {"emulator": "35", "web": "36", "worker": "33", "beat": "32"}
SOURCE = "demo-source.myshopify.com"
DESTINATIONS = ("demo-dest-1.myshopify.com", "demo-dest-2.myshopify.com")
ROUND_TRIP_TIMEOUT = 120.0


class RunFailed(Exception):
    """Why `make run` stopped: one plain sentence."""


class Output:
    """Everything the run prints goes to the terminal and to var/log/run.log."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file = path.open("w", buffering=1)
        self.lock = threading.Lock()
        self.tty = sys.stdout.isatty()

    def line(self, text: str, *, source: str = "") -> None:
        plain = f"{source:>8} | {text}" if source else text
        shown = plain
        if source and self.tty:
            shown = f"\033[{COLOURS.get(source, '0')}m{source:>8} |\033[0m {text}"
        with self.lock:
            sys.stdout.write(shown + "\n")
            sys.stdout.flush()
            self.file.write(plain + "\n")

    def pump(self, name: str, stream) -> None:
        for line in iter(stream.readline, ""):
            self.line(line.rstrip("\n"), source=name)
        stream.close()


def demo_env() -> dict[str, str]:
    """Environment for the demo: secrets generated once into var/demo.env, the rest defaulted."""
    VAR.mkdir(exist_ok=True)
    env_file = VAR / "demo.env"
    if not env_file.exists():
        env_file.write_text(
            f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
            f"SHOPIFY_API_SECRET={secrets.token_hex(32)}\n"
            f"TOKEN_ENCRYPTION_KEYS={secrets.token_urlsafe(32)}\n"
        )
        env_file.chmod(0o600)
    if "DEMO_SOURCE_STORE_KEY=" not in env_file.read_text():
        # Syncer keeps only a hash of a store key: the demo keeps its source's key here, to
        # print it on every start (demo/shops.py gives it to demo-source).
        with env_file.open("a") as file:
            file.write(f"DEMO_SOURCE_STORE_KEY=syncer_{secrets.token_urlsafe(16)}\n")
    env = dict(os.environ)
    for line in env_file.read_text().splitlines():
        key, _, value = line.partition("=")
        env.setdefault(key, value)
    app_port = env.setdefault("APP_PORT", "8000")
    emulator_port = env.setdefault("EMULATOR_PORT", "8765")
    # The emulator's mail sink catches every email the app sends (its admin's Mail page).
    smtp_port = env.setdefault("EMULATOR_SMTP_PORT", "8025")
    env.setdefault("EMAIL_HOST", "127.0.0.1")
    env.setdefault("EMAIL_PORT", smtp_port)
    env.setdefault("APP_URL", f"http://127.0.0.1:{app_port}")
    env.setdefault("SHOPIFY_API_KEY", "syncer-demo")
    env.setdefault("SHOPIFY_ADMIN_BASE_URL", f"http://127.0.0.1:{emulator_port}/shops/{{shop}}")
    env.setdefault("SHOPIFY_ADMIN_APP_URL",
                   f"http://127.0.0.1:{emulator_port}/admin/{{shop}}/apps/syncer")
    env.setdefault("DJANGO_SETTINGS_MODULE", "syncer.settings.base")
    # The demo runs inside the emulator's admin page, which stands in for App Bridge.
    env.setdefault("SHOPIFY_APP_BRIDGE_URL", "")
    env.setdefault("SHOPIFY_FRAME_ANCESTORS_EXTRA", f"http://127.0.0.1:{emulator_port}")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def metrics_dir_fresh() -> Path:
    """One PROMETHEUS_MULTIPROC_DIR for web, worker and beat, emptied at every start (files of
    processes from an earlier run would add their counts to this one's)."""
    path = VAR / "run" / "prometheus"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


# -- the emulator's world belongs to one database -----------------------------------------------

def database_identity(database_url: str) -> str:
    """Names this database for as long as it exists: a dropped and recreated database, or a new
    cluster (embedded data folder removed), gets a new name."""
    with psycopg2.connect(database_url, connect_timeout=5) as connection, \
            connection.cursor() as cursor:
        cursor.execute("SELECT oid FROM pg_database WHERE datname = current_database()")
        (oid,) = cursor.fetchone()
        try:
            cursor.execute("SELECT system_identifier FROM pg_control_system()")
            (cluster,) = cursor.fetchone()
        except psycopg2.Error:  # not allowed for every role; the server's address stands in
            connection.rollback()
            cursor.execute("SELECT coalesce(inet_server_addr()::text, '') || ':' || "
                           "inet_server_port()::text")
            (cluster,) = cursor.fetchone()
    return hashlib.sha1(f"{cluster}/{database_url.rsplit('/', 1)[-1]}/{oid}".encode()
                        ).hexdigest()[:12]


def database_has_demo(database_url: str) -> bool:
    with psycopg2.connect(database_url, connect_timeout=5) as connection, \
            connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('stores_shop') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return False
        cursor.execute("SELECT EXISTS (SELECT 1 FROM stores_shop)")
        return bool(cursor.fetchone()[0])


def world_path(database_url: str) -> Path:
    return VAR / "emulator" / f"world-{database_identity(database_url)}.json"


def world_for_database(*, services: Services, own_database: bool, out: Output) -> Path:
    """The emulator snapshot that belongs to the demo database. A database that holds a demo
    whose world is gone (the emulator was killed before it could save) is reset when it is the
    demo's own, since the seed would otherwise pair its links with a different world."""
    path = world_path(services.database_url)
    if path.exists() or not database_has_demo(services.database_url):
        return path
    if not own_database:
        raise RunFailed(f"The database in DATABASE_URL holds a demo whose Shopify world ({path}) "
                        "is gone; run `make reset-demo` to start a new one")
    out.line(f"The emulator's saved world for this database is gone ({path.name}); "
             "starting a new demo world.")
    admin_url = url_with_path(services.database_url, "postgres")
    name = services.database_url.rsplit("/", 1)[-1]
    database_drop(admin_url=admin_url, name=name)
    database_ensure(admin_url=admin_url, name=name)
    return world_path(services.database_url)


# -- processes ----------------------------------------------------------------------------------

class Run:
    def __init__(self, out: Output) -> None:
        self.out = out
        self.processes: dict[str, subprocess.Popen] = {}
        self.commands: dict[str, tuple[list[str], dict[str, str]]] = {}
        self.restarts: list[float] = []
        self.stopping = threading.Event()
        self.services: Services | None = None

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        process = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,  # Ctrl-C reaches us only; we stop the children in order.
        )
        threading.Thread(target=self.out.pump, args=(name, process.stdout), daemon=True).start()
        self.processes[name] = process
        self.commands[name] = (args, env)
        return process

    def step(self, name: str, args: list[str], env: dict[str, str], *, failure: str) -> None:
        """Runs a one-off command to its end; a non-zero exit fails the run with `failure`."""
        process = self.start(name, args, env)
        while process.poll() is None:
            if self.stopping.wait(0.2):
                os.killpg(process.pid, signal.SIGTERM)
                process.wait()
        del self.processes[name]
        if self.stopping.is_set():
            raise KeyboardInterrupt
        if process.returncode != 0:
            raise RunFailed(f"{failure} (exit status {process.returncode})")

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RunFailed(f"The {name} process exited with status {process.returncode}")

    def keep_alive(self, *, restartable: set[str]) -> None:
        """As a production supervisor does: a worker or beat that exits (Celery can, when Redis
        drops under it) is started again, and says so; anything else exiting, or more than
        five restarts a minute, ends the run."""
        for name, process in list(self.processes.items()):
            if process.poll() is None:
                continue
            now = time.monotonic()
            self.restarts = [at for at in self.restarts if now - at < 60]
            if name not in restartable or len(self.restarts) >= 5:
                raise RunFailed(f"The {name} process exited with status {process.returncode}")
            self.restarts.append(now)
            self.out.line(f"The {name} process exited with status {process.returncode}; "
                          f"starting it again (work it held is picked up by the sweepers).")
            self.start(name, *self.commands[name])

    def wait_until(self, ready, *, timeout: float, failure: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.stopping.is_set():
                raise KeyboardInterrupt
            self.check_alive()
            if ready():
                return
            time.sleep(0.25)
        raise RunFailed(failure)

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def ready_checks_pass(health_url: str) -> bool:
    """Database, broker and a worker heartbeat: what the demo needs to start. Failing work in an
    existing demo makes /healthz 503 too, but that is for the dashboards to show, not a reason
    to refuse to start."""
    try:
        body = httpx.get(health_url, timeout=3).json()
    except (httpx.HTTPError, ValueError):
        return False
    return all(body.get(check, {}).get("status") == "ok"
               for check in ("database", "broker", "worker"))


def emulator_answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/_emulator/health", timeout=3).status_code == 200
    except httpx.HTTPError:
        return False


def round_trip_verify(*, run: Run, emulator_url: str) -> str:
    """Moves one SKU's stock at demo-source by +1 and back through the emulator's control API
    (real inventory_levels/update webhooks to the app) and waits until both destinations follow
    each move: the webhook, the worker and the writes all work."""
    control = httpx.Client(base_url=emulator_url, timeout=30)

    def quantities(domain: str) -> dict[str, list[int]]:
        shop = control.get(f"/_emulator/shops/{domain}?orders=0").raise_for_status().json()
        found: dict[str, list[int]] = {}
        for product in shop["products"]:
            for variant in product["variants"]:
                if variant["sku"]:
                    found.setdefault(variant["sku"], []).append(variant["inventory_quantity"])
        return found

    source = quantities(SOURCE)
    destinations = {domain: quantities(domain) for domain in DESTINATIONS}
    shared = sorted(sku for sku, levels in source.items()
                    if len(levels) == 1 and all(len(d.get(sku, [])) == 1
                                                for d in destinations.values()))
    if not shared:
        raise RunFailed("The demo has no SKU sold by demo-source and both destinations, so "
                        "stock sync cannot be checked")
    sku = shared[0]
    before = {domain: levels[sku][0] for domain, levels in destinations.items()}
    for delta, expected in ((1, {d: q + 1 for d, q in before.items()}), (-1, before)):
        control.post(f"/_emulator/shops/{SOURCE}/inventory",
                     json={"sku": sku, "delta": delta}).raise_for_status()
        run.wait_until(
            lambda expected=expected: all(quantities(d)[sku][0] == q
                                          for d, q in expected.items()),
            timeout=ROUND_TRIP_TIMEOUT,
            failure=f"A stock change of {sku} at demo-source did not reach both destinations "
                    f"within {ROUND_TRIP_TIMEOUT:.0f} s")
    return sku


def emulator_command(*, python: str, port: int, env: dict[str, str], world: Path) -> list[str]:
    """The emulator's command line. The app's secret is not on it (anyone on the machine can
    read a command line with `ps`): the emulator reads SHOPIFY_API_SECRET from `env`."""
    return [python, "-m", "shopify_emulator", "serve", "--host", "127.0.0.1",
            "--port", str(port), "--app-url", env["APP_URL"], "--api-key", env["SHOPIFY_API_KEY"],
            "--app-config", "shopify.app.toml", "--snapshot", str(world)]


def run_demo(out: Output, run: Run) -> None:
    env = demo_env()
    app_port, emulator_port = int(env["APP_PORT"]), int(env["EMULATOR_PORT"])
    for port in (app_port, emulator_port, int(env["EMULATOR_SMTP_PORT"])):
        if not port_free(port):
            raise RunFailed(f"Port {port} is in use; set APP_PORT, EMULATOR_PORT and "
                            "EMULATOR_SMTP_PORT to free ports")
    own_database = not env.get("DATABASE_URL")
    try:
        services = services_start(purpose="run", environ=env)
    except ServicesError as exc:
        raise RunFailed(str(exc).rstrip(".")) from None
    run.services = services
    for note in services.notes:
        out.line(note)
    env.update(services.environ())
    env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir_fresh())
    try:
        world = world_for_database(services=services, own_database=own_database, out=out)
    except psycopg2.Error as exc:
        raise RunFailed(f"Could not read the demo database ({str(exc).strip()})") from None

    python = str(BIN / "python")
    out.line("Migrating the database...")
    run.step("migrate", [python, "manage.py", "migrate", "--noinput", "-v", "0"], env,
             failure="Migrating the database failed")
    run.step("static", [python, "manage.py", "collectstatic", "--noinput", "-v", "0"], env,
             failure="Collecting static files failed")

    world.parent.mkdir(parents=True, exist_ok=True)
    emulator_url = f"http://127.0.0.1:{emulator_port}"
    run.start("emulator", emulator_command(python=python, port=emulator_port, env=env,
                                           world=world), env)
    run.start("web", [
        str(BIN / "gunicorn"), "syncer.wsgi", "--bind", f"127.0.0.1:{app_port}",
        "--workers", "3", "--worker-class", "gthread", "--threads", "8", "--keep-alive", "30",
    ], env)
    run.start("worker", [
        str(BIN / "celery"), "-A", "syncer", "worker", "--loglevel", "INFO",
        "-Q", "webhooks,sync,default,webhooks_later,bulk", "--concurrency", "2",
    ], env)
    run.start("beat", [
        str(BIN / "celery"), "-A", "syncer", "beat", "--loglevel", "INFO",
        "--schedule", str(VAR / "run" / "celerybeat-schedule"),
    ], env)
    health_url = f"http://127.0.0.1:{app_port}/healthz"
    run.wait_until(lambda: emulator_answers(emulator_url), timeout=60,
                   failure="The Shopify emulator did not answer within 60 s")
    run.wait_until(lambda: ready_checks_pass(health_url), timeout=90,
                   failure=f"Syncer's web process or worker did not become ready within 90 s "
                           f"({health_url})")
    run.step("seed", [python, "scripts/seed_demo.py"], env, failure="Seeding the demo failed")
    out.line("Checking that a stock change at demo-source reaches both destinations...")
    sku = round_trip_verify(run=run, emulator_url=emulator_url)
    out.line(f"Stock sync works: {sku} moved at demo-source and both destinations followed.")

    open_url = f"{emulator_url}/admin/{SOURCE}"
    out.line("\n" + "=" * 72)
    out.line(f"  Syncer is up. Open {open_url}")
    out.line(f"  App: {env['APP_URL']}/   Health: {health_url}   Ctrl-C stops everything.")
    out.line(f"  Log: {LOG}   Mail the app sent: {emulator_url}/admin/mail")
    out.line("=" * 72 + "\n")
    while not run.stopping.wait(0.5):
        run.keep_alive(restartable={"worker", "beat"})


def reset_demo(out: Output) -> None:
    """Forgets the demo world: its database (dropped when it is the demo's own, emptied when it
    is yours), the emulator's saved worlds and the demo's Redis database."""

    env = demo_env()
    own_database = not env.get("DATABASE_URL")
    services = services_start(purpose="run", environ=env)
    try:
        if own_database:
            database_drop(admin_url=url_with_path(services.database_url, "postgres"),
                          name=services.database_url.rsplit("/", 1)[-1])
            out.line(f"Dropped the demo database {services.database_url.rsplit('/', 1)[-1]}.")
        else:
            subprocess.run([str(BIN / "python"), "manage.py", "flush", "--noinput"], cwd=ROOT,
                           env={**env, **services.environ()}, check=True)
            out.line("Emptied the database in DATABASE_URL.")
        redis.Redis.from_url(services.redis_url).flushdb()
        out.line(f"Emptied Redis {services.redis_url}.")
    finally:
        services.stop()
    for path in (VAR / "emulator", VAR / "run", VAR / "emulator-state.json"):
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    out.line("Forgot the emulator's saved worlds. `make run` starts a new demo world.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reset", action="store_true", help="forget the demo world")
    args = parser.parse_args(argv)
    out = Output(LOG)
    if args.reset:
        try:
            reset_demo(out)
        except (ServicesError, psycopg2.Error, subprocess.CalledProcessError) as exc:
            out.line(f"make reset-demo failed: {exc}")
            return 1
        return 0

    run = Run(out)

    def on_signal(signum, frame):
        run.stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    status = 0
    try:
        run_demo(out, run)
    except KeyboardInterrupt:
        pass
    except RunFailed as exc:
        out.line(f"\nmake run failed: {exc}. Everything it started is stopped; the log is {LOG}.")
        status = 1
    except Exception as exc:  # noqa: BLE001 - whatever broke, stop everything and say so
        out.file.write(traceback.format_exc())
        out.line(f"\nmake run failed: {type(exc).__name__}: {exc}. Everything it started is "
                 f"stopped; the log is {LOG}.")
        status = 1
    finally:
        out.line("Stopping...")
        run.stop_all()
        if run.services is not None:
            run.services.stop()
    return status


if __name__ == "__main__":
    sys.exit(main())
