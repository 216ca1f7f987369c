import importlib.util
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_defines_every_service_with_a_health_check():
    services = compose()["services"]
    assert sorted(services) == ["beat", "emulator", "postgres", "redis", "web", "worker"]
    for name, service in services.items():
        assert service["healthcheck"]["test"], name


def test_compose_commands_point_at_real_entry_points():
    services = compose()["services"]
    web = " ".join(services["web"]["command"].split())
    assert "gunicorn syncer.wsgi" in web
    assert "manage.py migrate" in web
    assert services["worker"]["command"][:4] == ["celery", "-A", "syncer", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "syncer", "beat"]
    assert services["emulator"]["command"][:4] == ["python", "-m", "shopify_emulator", "serve"]
    # each module those commands start exists in this checkout
    assert importlib.util.find_spec("syncer.wsgi") is not None
    assert importlib.util.find_spec("syncer.celery") is not None
    assert (ROOT / "shopify_emulator" / "__main__.py").is_file()
    assert (ROOT / "Dockerfile").is_file()


def test_app_services_depend_on_healthy_databases():
    services = compose()["services"]
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
        }, name


def test_shopify_app_toml_declares_webhooks_and_compliance_topics():
    config = tomllib.loads((ROOT / "shopify.app.toml").read_text())
    assert config["webhooks"]["api_version"] == "2026-07"
    subscriptions = config["webhooks"]["subscriptions"]
    compliance = [s for s in subscriptions if "compliance_topics" in s]
    assert compliance == [{
        "compliance_topics": ["customers/data_request", "customers/redact", "shop/redact"],
        "uri": "/webhooks/shopify",
    }]
    topics = {t for s in subscriptions for t in s.get("topics", [])}
    assert {"app/uninstalled", "inventory_levels/update", "orders/paid",
            "refunds/create"} <= topics


def test_app_processes_are_restarted_when_they_exit():
    # A worker can exit on a Redis restart; the README's failure bounds assume it comes back.
    services = compose()["services"]
    for name in ("web", "worker", "beat"):
        assert services[name]["restart"] == "unless-stopped", name
