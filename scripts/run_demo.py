"""`make run`: migrate, start emulator + web + worker + beat in the foreground, seed the demo,
print the URL to open, and stop everything cleanly on Ctrl-C."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
BIN = Path(sys.executable).parent
COLOURS = {"emulator": "35", "web": "36", "worker": "33", "beat": "32"}


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
    env = dict(os.environ)
    for line in env_file.read_text().splitlines():
        key, _, value = line.partition("=")
        env.setdefault(key, value)
    app_port = env.setdefault("APP_PORT", "8000")
    emulator_port = env.setdefault("EMULATOR_PORT", "8765")
    env.setdefault("APP_URL", f"http://127.0.0.1:{app_port}")
    env.setdefault("SHOPIFY_API_KEY", "syncer-demo")
    env.setdefault("SHOPIFY_ADMIN_BASE_URL", f"http://127.0.0.1:{emulator_port}/shops/{{shop}}")
    env.setdefault("DJANGO_SETTINGS_MODULE", "syncer.settings.base")
    # The demo runs inside the emulator's admin page, which stands in for App Bridge.
    env.setdefault("SHOPIFY_APP_BRIDGE_URL", "")
    env.setdefault("SHOPIFY_FRAME_ANCESTORS_EXTRA", f"http://127.0.0.1:{emulator_port}")
    env["PYTHONUNBUFFERED"] = "1"
    if "REDIS_URL" not in env and redis_reachable("127.0.0.1", 6379):
        env["REDIS_URL"] = "redis://127.0.0.1:6379/0"
    return env


def redis_reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def pump(name: str, stream) -> None:
    colour = COLOURS.get(name, "0")
    prefix = f"\033[{colour}m{name:>8} |\033[0m " if sys.stdout.isatty() else f"{name:>8} | "
    for line in iter(stream.readline, ""):
        sys.stdout.write(prefix + line)
    stream.close()


def start(name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
    process = subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,  # Ctrl-C reaches us only; we stop the children in order.
    )
    threading.Thread(target=pump, args=(name, process.stdout), daemon=True).start()
    return process


def wait_http_ok(url: str, *, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    return False


def stop_all(processes: dict[str, subprocess.Popen]) -> None:
    for process in processes.values():
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for process in processes.values():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def main() -> int:
    env = demo_env()
    app_port, emulator_port = int(env["APP_PORT"]), int(env["EMULATOR_PORT"])
    for port in (app_port, emulator_port):
        if not port_free(port):
            print(f"Port {port} is in use. Set APP_PORT / EMULATOR_PORT to free ports.")
            return 1
    python = str(BIN / "python")
    manage = [python, "manage.py"]
    print("Migrating the database...")
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    subprocess.run([*manage, "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, env=env,
                   check=True)

    processes: dict[str, subprocess.Popen] = {}
    stopping = threading.Event()

    def on_signal(signum, frame):
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        if (ROOT / "shopify_emulator" / "__main__.py").exists():
            processes["emulator"] = start("emulator", [
                python, "-m", "shopify_emulator", "serve", "--host", "127.0.0.1",
                "--port", str(emulator_port), "--app-url", env["APP_URL"],
                "--app-secret", env["SHOPIFY_API_SECRET"], "--api-key", env["SHOPIFY_API_KEY"],
                "--app-config", "shopify.app.toml",
                "--snapshot", str(VAR / "emulator-state.json"),
            ], env)
        processes["web"] = start("web", [
            str(BIN / "gunicorn"), "syncer.wsgi", "--bind", f"127.0.0.1:{app_port}",
            "--workers", "2", "--threads", "4",
        ], env)
        if env.get("REDIS_URL"):
            processes["worker"] = start("worker", [
                str(BIN / "celery"), "-A", "syncer", "worker", "--loglevel", "INFO",
                "-Q", "webhooks,sync,default,webhooks_later,bulk", "--concurrency", "2",
            ], env)
            processes["beat"] = start("beat", [
                str(BIN / "celery"), "-A", "syncer", "beat", "--loglevel", "INFO",
                "--schedule", str(VAR / "celerybeat-schedule"),
            ], env)
        else:
            print("No Redis on 127.0.0.1:6379 and no REDIS_URL: tasks run inline (demo only).")

        health_url = f"http://127.0.0.1:{app_port}/healthz"
        if "emulator" in processes:
            wait_http_ok(f"http://127.0.0.1:{emulator_port}/_emulator/stats", timeout=60)
        if not wait_http_ok(health_url, timeout=60):
            print(f"Syncer did not become healthy; see {health_url}")
        seed = ROOT / "scripts" / "seed_demo.py"
        if seed.exists() and not stopping.is_set():
            subprocess.run([python, str(seed)], cwd=ROOT, env=env, check=False)
        open_url = env["APP_URL"] + "/"
        if "emulator" in processes:
            open_url = f"http://127.0.0.1:{emulator_port}/admin/demo-source.myshopify.com"
        print("\n" + "=" * 72)
        print(f"  Syncer is up. Open {open_url}")
        print(f"  App: {env['APP_URL']}/   Health: {health_url}   Ctrl-C stops everything.")
        print("=" * 72 + "\n", flush=True)
        while not stopping.is_set():
            for name, process in processes.items():
                if process.poll() is not None:
                    print(f"{name} exited with {process.returncode}; stopping.")
                    stopping.set()
                    break
            stopping.wait(0.5)
    finally:
        print("Stopping...")
        stop_all(processes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
