"""Emulator configuration: the app it plays Shopify for, and delivery/fault knobs.

The app is described the way Shopify knows it: client id and secret, the app URL, and the
`shopify.app.toml` (scopes, redirect URLs and app-specific webhook subscriptions).
"""

from __future__ import annotations

import os
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_API_VERSION = "2026-07"
DEFAULT_PORT = 8765


@dataclass(frozen=True)
class TomlSubscription:
    """One `[[webhooks.subscriptions]]` entry of shopify.app.toml."""

    uri: str
    topics: tuple[str, ...] = ()
    compliance_topics: tuple[str, ...] = ()
    name: str | None = None
    include_fields: tuple[str, ...] = ()
    filter: str | None = None

    @property
    def all_topics(self) -> tuple[str, ...]:
        return self.topics + self.compliance_topics


@dataclass(frozen=True)
class AppToml:
    """The parts of shopify.app.toml the emulator acts on."""

    client_id: str | None = None
    name: str | None = None
    application_url: str | None = None
    scopes: tuple[str, ...] = ()
    redirect_urls: tuple[str, ...] = ()
    webhook_api_version: str = DEFAULT_API_VERSION
    subscriptions: tuple[TomlSubscription, ...] = ()

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> AppToml:
        with open(path, "rb") as handle:
            return cls.from_dict(tomllib.load(handle))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AppToml:
        scopes_value = (data.get("access_scopes") or {}).get("scopes") or ""
        if isinstance(scopes_value, str):
            scopes = tuple(s.strip() for s in scopes_value.split(",") if s.strip())
        else:
            scopes = tuple(str(s).strip() for s in scopes_value)
        webhooks = data.get("webhooks") or {}
        subscriptions = tuple(
            TomlSubscription(
                uri=str(entry["uri"]),
                topics=tuple(entry.get("topics") or ()),
                compliance_topics=tuple(entry.get("compliance_topics") or ()),
                name=entry.get("name"),
                include_fields=tuple(entry.get("include_fields") or ()),
                filter=entry.get("filter"),
            )
            for entry in webhooks.get("subscriptions") or ()
            if entry.get("uri")
        )
        return cls(
            client_id=data.get("client_id"),
            name=data.get("name"),
            application_url=data.get("application_url"),
            scopes=scopes,
            redirect_urls=tuple((data.get("auth") or {}).get("redirect_urls") or ()),
            webhook_api_version=str(webhooks.get("api_version") or DEFAULT_API_VERSION),
            subscriptions=subscriptions,
        )


@dataclass
class EmulatorConfig:
    """Everything `create_app` needs. Only `app_secret` and `api_key` matter for most tests."""

    app_url: str = ""  # default: the TOML's application_url, else http://127.0.0.1:8000
    app_secret: str = "emulator-app-secret-change-me-0123456789"
    api_key: str = ""  # default: the TOML's client_id, else "emulator-api-key"
    previous_secret: str | None = None
    app_config_path: str | None = None
    app_toml: AppToml | None = None
    scopes: tuple[str, ...] | None = None
    snapshot_path: str | None = None
    # Public URL of the emulator itself (bulk operation URLs, admin page). Set by the server.
    base_url: str | None = None
    api_version: str = DEFAULT_API_VERSION
    # The app as the admin names it: its left-column entry and its pages' addresses
    # (/admin/<shop>/apps/<app_handle>/<path>).
    app_name: str = "Syncer"
    app_handle: str = "syncer"
    webhook_timeout: float = 5.0
    webhook_connect_timeout: float = 1.0
    webhook_max_attempts: int = 8
    webhook_backoff_base: float = 1.0
    webhook_backoff_max: float = 3600.0
    webhook_workers: int = 8
    deliver_webhooks: bool = True
    # The mail sink's SMTP port on 127.0.0.1 (shopify_emulator/mail.py); None: no sink, 0: any.
    smtp_port: int | None = None
    # How long a `timeout_rate` fault holds the reply; longer than any sane client timeout.
    fault_timeout_seconds: float = 30.0
    # Shopify: "Only one expiring offline token can be active per app/shop combination".
    revoke_previous_expiring_tokens: bool = True
    # Transport used for every call to the app (webhooks, install page load). None = real HTTP.
    # Tests can pass httpx.WSGITransport(app=django_wsgi_app) to deliver in process.
    app_transport: Any = None
    clock: Callable[[], float] = field(default=time.time)

    def __post_init__(self) -> None:
        if self.app_toml is None and self.app_config_path:
            self.app_toml = AppToml.load(self.app_config_path)
        if self.app_toml is None:
            self.app_toml = AppToml()
        self.app_url = (
            self.app_url or self.app_toml.application_url or "http://127.0.0.1:8000"
        ).rstrip("/")
        self.api_key = self.api_key or self.app_toml.client_id or "emulator-api-key"

    @property
    def granted_scopes(self) -> tuple[str, ...]:
        if self.scopes is not None:
            return tuple(self.scopes)
        assert self.app_toml is not None
        return self.app_toml.scopes

    @property
    def scope_string(self) -> str:
        return ",".join(self.granted_scopes)

    @property
    def app_secrets(self) -> tuple[str, ...]:
        """Secrets accepted from the app: the current one, then the previous (rotation)."""
        if self.previous_secret:
            return (self.app_secret, self.previous_secret)
        return (self.app_secret,)

    @property
    def webhook_api_version(self) -> str:
        assert self.app_toml is not None
        return self.app_toml.webhook_api_version

    @classmethod
    def from_env(cls, **overrides: Any) -> EmulatorConfig:
        """Defaults from APP_URL, SHOPIFY_API_KEY, SHOPIFY_API_SECRET,
        SHOPIFY_API_SECRET_PREVIOUS, SHOPIFY_APP_CONFIG, EMULATOR_SMTP_PORT. The secrets come
        only from here: a command line is readable by anyone on the machine (`ps`)."""
        values: dict[str, Any] = {}
        env_map = {
            "app_url": "APP_URL",
            "api_key": "SHOPIFY_API_KEY",
            "app_secret": "SHOPIFY_API_SECRET",
            "previous_secret": "SHOPIFY_API_SECRET_PREVIOUS",
            "app_config_path": "SHOPIFY_APP_CONFIG",
        }
        for attribute, variable in env_map.items():
            if os.environ.get(variable):
                values[attribute] = os.environ[variable]
        if os.environ.get("EMULATOR_SMTP_PORT", "").strip().isdigit():
            values["smtp_port"] = int(os.environ["EMULATOR_SMTP_PORT"])
        if "app_config_path" not in values and Path("shopify.app.toml").is_file():
            values["app_config_path"] = "shopify.app.toml"
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)
