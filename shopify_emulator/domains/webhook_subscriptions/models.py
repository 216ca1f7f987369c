"""Webhook subscriptions: a topic and where to deliver it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class WebhookSubscription:
    id: int
    topic: str  # REST form, "orders/paid"
    uri: str
    created_at: datetime
    updated_at: datetime
    source: str = "api"
    format: str = "JSON"
    include_fields: list[str] = field(default_factory=list)
    filter: str | None = None
    name: str | None = None
