"""`python -m shopify_emulator`: help, control commands against a server, and `serve` itself."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import jwt
import pytest

from shopify_emulator.config import EmulatorConfig
from shopify_emulator.testing import EmulatorServer

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shopify_emulator", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_help_lists_every_command():
    result = cli("--help")

    assert result.returncode == 0
    for command in (
        "serve",
        "shop",
        "product",
        "stock",
        "sell",
        "refund",
        "cancel",
        "fulfill",
        "install",
        "faults",
        "stats",
    ):
        assert command in result.stdout


@pytest.fixture
def server():
    config = EmulatorConfig(app_secret="cli-secret-0123456789abcdef0123456789", api_key="cli-key")
    with EmulatorServer(config=config) as running:
        yield running


def test_control_commands_drive_a_running_server(server):
    # Given a shop with a product, created through the CLI
    created = cli("shop", "create", "demo", "--name", "Demo", "--plan", "plus", "--url", server.url)
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["domain"] == "demo.myshopify.com"
    added = cli(
        "product", "add", "demo", "--title", "Shirt", "--variant", "SHIRT-S:19.00:10",
        "--url", server.url,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr

    # When the CLI sells two
    sold = cli("sell", "demo", "SHIRT-S:2", "--url", server.url)

    # Then the order exists and stock went down
    assert sold.returncode == 0, sold.stderr
    assert json.loads(sold.stdout)["line_items"][0]["quantity"] == 2
    shop = httpx.get(f"{server.url}/_emulator/shops/demo.myshopify.com").json()
    assert [lv["available"] for lv in shop["inventory_levels"] if lv["sku"] == "SHIRT-S"][0] == 8


def test_product_add_gives_several_variants_their_own_option_values(server):
    assert cli("shop", "create", "demo", "--url", server.url).returncode == 0
    # When the README's example adds a product with two variants
    plain = cli("product", "add", "demo", "--title", "Tote", "--variant", "A", "--variant", "B",
                "--url", server.url)
    named = cli("product", "add", "demo", "--title", "Tee", "--option", "Size",
                "--variant", "TEE-S:10.00:1:Small", "--variant", "TEE-M:10.00:2:Medium",
                "--url", server.url)
    clash = cli("product", "add", "demo", "--title", "Cap", "--variant", "CAP-1:5:1:One",
                "--variant", "CAP-2:5:1:One", "--url", server.url)

    # Then each variant has its own value of a real option, as Shopify requires
    assert plain.returncode == 0, plain.stderr
    tote = json.loads(plain.stdout)
    assert [(o["name"], o["values"]) for o in tote["options"]] == [("Title", ["A", "B"])]
    assert [(v["sku"], v["title"]) for v in tote["variants"]] == [("A", "A"), ("B", "B")]
    tee = json.loads(named.stdout)
    assert [(o["name"], o["values"]) for o in tee["options"]] == [("Size", ["Small", "Medium"])]
    assert [v["title"] for v in tee["variants"]] == ["Small", "Medium"]
    # and two variants with the same value are refused, in Shopify's words
    assert clash.returncode == 1
    assert clash.stderr.strip() == ("error (422): The variant 'One' already exists. Please "
                                    "change at least one option value.")


def test_control_command_error_exits_non_zero_with_message(server):
    result = cli("sell", "ghost", "SKU:1", "--url", server.url)

    assert result.returncode == 1
    assert result.stderr.strip() == "error (404): Unknown shop 'ghost.myshopify.com'"


def test_faults_command_sets_and_shows_faults(server):
    result = cli("faults", "--throttle-rate", "0.3", "--webhook-reorder", "on", "--url", server.url)

    assert result.returncode == 0, result.stderr
    state = json.loads(result.stdout)
    assert (state["throttle_rate"], state["webhook_reorder"]) == (0.3, True)


def test_serve_runs_the_server_and_saves_a_snapshot_on_exit(tmp_path):
    port = free_port()
    snapshot = tmp_path / "state.json"
    env = {
        **os.environ,
        "EMULATOR_PORT": str(port),
        "SHOPIFY_API_KEY": "env-key",
        "SHOPIFY_API_SECRET": "env-secret-0123456789abcdef0123456789",
        "APP_URL": "http://127.0.0.1:9",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "shopify_emulator", "serve", "--quiet", "--snapshot", str(snapshot)],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{url}/_emulator/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "emulator did not start"
            time.sleep(0.1)
        created = httpx.post(f"{url}/_emulator/shops", json={"domain": "saved"})
        assert created.status_code == 201
        token = httpx.post(f"{url}/_emulator/shops/saved/session-token").json()["token"]
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)

    assert process.returncode == 0, output
    assert f"Shopify emulator on {url}" in output
    data = json.loads(snapshot.read_text())
    assert [shop["domain"] for shop in data["world"]["shops"]] == ["saved.myshopify.com"]
    assert jwt.decode(token, options={"verify_signature": False})["aud"] == "env-key"


def test_serve_takes_no_secret_on_its_command_line():
    # when someone passes the app's secret as an option (readable by anyone through `ps`)
    result = cli("serve", "--port", str(free_port()), "--app-secret", "visible-in-ps",
                 timeout=10)
    # then the emulator refuses to start and says why
    assert result.returncode == 2
    assert "unrecognized arguments: --app-secret visible-in-ps" in result.stderr


def test_the_demo_starts_the_emulator_with_its_secret_in_the_environment_only(tmp_path):
    from scripts.run_demo import emulator_command

    # given the demo's environment
    port = free_port()
    secret = "demo-secret-0123456789abcdef0123456789"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SHOPIFY_API_KEY": "demo-key",
           "SHOPIFY_API_SECRET": secret, "APP_URL": "http://127.0.0.1:9"}
    # when make run builds the emulator's command line
    command = emulator_command(python=sys.executable, port=port, env=env,
                               world=tmp_path / "world.json")
    # then the secret is not on it, and the emulator started with it signs with the secret
    assert secret not in " ".join(command)
    process = subprocess.Popen([*command, "--quiet"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{url}/_emulator/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "emulator did not start"
            time.sleep(0.1)
        httpx.post(f"{url}/_emulator/shops", json={"domain": "signed"})
        token = httpx.post(f"{url}/_emulator/shops/signed/session-token").json()["token"]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
    claims = jwt.decode(token, secret, algorithms=["HS256"], audience="demo-key")
    assert claims["dest"] == "https://signed.myshopify.com"
