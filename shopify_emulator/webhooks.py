"""Webhook delivery the way Shopify does it.

State changes reach `WebhookDispatcher.on_event` through `World.listeners`. Each event becomes one
delivery per matching subscription: a compact JSON body captured at trigger time, signed with the
app secret, POSTed with every `X-Shopify-*` header. Non-2xx (3xx included), timeouts and
connection errors are retried with exponential backoff up to `webhook_max_attempts` attempts,
always with the same body, URL and `X-Shopify-Webhook-Id`. Deliveries run on a small thread pool
behind a scheduler thread, so nothing here ever blocks the request that caused the event.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from shopify_emulator.auth import webhook_hmac
from shopify_emulator.config import EmulatorConfig
from shopify_emulator.domains.webhook_subscriptions.operations import subscriptions_for
from shopify_emulator.faults import FaultBoard
from shopify_emulator.stats import Stats

logger = logging.getLogger(__name__)

USER_AGENT = "Shopify-Captain-Hook"


def triggered_at_now() -> str:
    """`2026-07-13T10:00:00.123456789Z`: Shopify's format (nanosecond fraction, Zulu)."""
    nanos = time.time_ns()
    seconds, fraction = divmod(nanos, 1_000_000_000)
    stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{fraction:09d}Z"


def compact_json(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass
class Delivery:
    webhook_id: str
    event_id: str
    shop: str
    topic: str
    url: str
    body: bytes
    triggered_at: str
    api_version: str
    subscription_id: Any = None
    subscription_source: str | None = None
    name: str | None = None
    attempts: int = 0
    status: str = "pending"  # pending | delivered | failed | dropped
    last_status_code: int | None = None
    last_error: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    def headers(self, secret: str) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Shopify-Topic": self.topic,
            "X-Shopify-Hmac-Sha256": webhook_hmac(self.body, secret),
            "X-Shopify-Shop-Domain": self.shop,
            "X-Shopify-API-Version": self.api_version,
            "X-Shopify-Webhook-Id": self.webhook_id,
            "X-Shopify-Event-Id": self.event_id,
            "X-Shopify-Triggered-At": self.triggered_at,
        }
        if self.name:
            headers["X-Shopify-Name"] = self.name
        return headers

    def summary(self) -> dict[str, Any]:
        return {
            "webhook_id": self.webhook_id,
            "event_id": self.event_id,
            "shop": self.shop,
            "topic": self.topic,
            "url": self.url,
            "triggered_at": self.triggered_at,
            "attempts": self.attempts,
            "status": self.status,
            "last_status_code": self.last_status_code,
            "last_error": self.last_error,
            "payload": json.loads(self.body),
        }


class WebhookDispatcher:
    def __init__(
        self,
        *,
        config: EmulatorConfig,
        stats: Stats,
        faults: FaultBoard,
        subscriptions: Callable[[str, str], list[dict[str, Any]]] | None = None,
    ) -> None:
        self.config = config
        self.stats = stats
        self.faults = faults
        # (shop, topic) → [{"id", "topic", "uri", ...}]; set by attach() from the World.
        self.subscriptions = subscriptions or (lambda shop, topic: [])
        self.on_subscription_exhausted: Callable[[Delivery], None] | None = None
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Delivery]] = []
        self._seq = itertools.count()
        self._in_flight = 0
        self._closed = False
        self._scheduler: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._client: httpx.Client | None = None
        self._action = threading.local()
        self.recent: deque[Delivery] = deque(maxlen=2000)

    # -- wiring --------------------------------------------------------------------------

    def attach(self, world: Any) -> None:
        """Listen to a World's state changes and read its subscriptions."""

        def lookup(shop: str, topic: str) -> list[dict[str, Any]]:
            return list(subscriptions_for(world=world, shop_domain=shop, topic=topic))

        self.subscriptions = lookup
        if self.on_event not in world.listeners:
            world.listeners.append(self.on_event)

    @contextlib.contextmanager
    def merchant_action(self) -> Iterator[str]:
        """Every delivery triggered inside shares one X-Shopify-Event-Id (one merchant action)."""
        outer = getattr(self._action, "event_id", None)
        if outer is not None:
            yield outer
            return
        self._action.event_id = str(uuid.uuid4())
        try:
            yield self._action.event_id
        finally:
            self._action.event_id = None

    def _current_event_id(self) -> str:
        return getattr(self._action, "event_id", None) or str(uuid.uuid4())

    # -- producing deliveries ------------------------------------------------------------

    def on_event(self, shop: str, topic: str, payload: dict[str, Any]) -> None:
        """World listener: one delivery per subscription of (shop, topic). Never raises."""
        try:
            subscriptions = self.subscriptions(shop, topic)
        except Exception:  # a broken lookup must not break the state change that fired it
            logger.exception("webhook subscription lookup failed for %s %s", shop, topic)
            return
        if not subscriptions:
            return
        body = compact_json(payload)
        event_id = self._current_event_id()
        for subscription in subscriptions:
            self.enqueue(
                shop=shop,
                topic=topic,
                body=body,
                uri=str(subscription.get("uri") or subscription.get("callbackUrl") or ""),
                event_id=event_id,
                subscription_id=subscription.get("id"),
                subscription_source=subscription.get("source"),
                name=subscription.get("name"),
            )

    def send(self, *, shop: str, topic: str, payload: dict[str, Any], uri: str) -> Delivery | None:
        """Deliver outside any World subscription (app/uninstalled, compliance topics)."""
        return self.enqueue(
            shop=shop,
            topic=topic,
            body=compact_json(payload),
            uri=uri,
            event_id=self._current_event_id(),
            subscription_source="toml",
        )

    def resolve_url(self, uri: str) -> str | None:
        if uri.startswith("/"):
            return f"{self.config.app_url}{uri}"
        if uri.startswith(("http://", "https://")):
            return uri
        return None  # pubsub:// and arn: endpoints are not emulated

    def enqueue(
        self,
        *,
        shop: str,
        topic: str,
        body: bytes,
        uri: str,
        event_id: str,
        subscription_id: Any = None,
        subscription_source: str | None = None,
        name: str | None = None,
    ) -> Delivery | None:
        url = self.resolve_url(uri)
        if url is None:
            logger.info("webhook %s for %s skipped: unsupported uri %r", topic, shop, uri)
            return None
        delivery = Delivery(
            webhook_id=str(uuid.uuid4()),
            event_id=event_id,
            shop=shop,
            topic=topic,
            url=url,
            body=body,
            triggered_at=triggered_at_now(),
            api_version=self.config.webhook_api_version,
            subscription_id=subscription_id,
            subscription_source=subscription_source,
            name=name,
        )
        self.recent.append(delivery)
        if not self.config.deliver_webhooks:
            delivery.status = "not_sent"
            return delivery
        faults = self.faults.for_shop(shop)
        if self.faults.roll(faults.webhook_drop_rate):
            delivery.status = "dropped"
            self.stats.add(shop, "webhooks_dropped")
            return delivery
        delay = faults.webhook_delay_ms / 1000.0
        if faults.webhook_reorder:
            delay += self.faults.uniform(0.0, faults.webhook_reorder_window_ms / 1000.0)
        self._schedule(delivery, delay)
        if self.faults.roll(faults.webhook_duplicate_rate):
            self.stats.add(shop, "webhooks_duplicated")
            duplicate = Delivery(**{**delivery.__dict__, "history": []})
            self._schedule(duplicate, delay + self.faults.uniform(0.0, 0.05))
        return delivery

    # -- scheduling ----------------------------------------------------------------------

    def _ensure_started(self) -> None:
        if self._scheduler is not None:
            return
        self._client = httpx.Client(
            transport=self.config.app_transport,
            timeout=httpx.Timeout(
                self.config.webhook_timeout, connect=self.config.webhook_connect_timeout
            ),
            follow_redirects=False,
        )
        self._pool = ThreadPoolExecutor(
            max_workers=max(1, self.config.webhook_workers), thread_name_prefix="webhook"
        )
        self._scheduler = threading.Thread(
            target=self._run_scheduler, name="webhook-scheduler", daemon=True
        )
        self._scheduler.start()

    def _schedule(self, delivery: Delivery, delay: float) -> None:
        with self._cond:
            if self._closed:
                return
            self._ensure_started()
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._seq), delivery))
            self._cond.notify_all()

    def _run_scheduler(self) -> None:
        while True:
            with self._cond:
                while not self._closed:
                    if self._heap:
                        wait = self._heap[0][0] - time.monotonic()
                        if wait <= 0:
                            break
                        self._cond.wait(wait)
                    else:
                        self._cond.wait()
                if self._closed:
                    return
                _, _, delivery = heapq.heappop(self._heap)
                self._in_flight += 1
            assert self._pool is not None
            try:
                self._pool.submit(self._attempt, delivery)
            except RuntimeError:  # pool shut down under us
                with self._cond:
                    self._in_flight -= 1
                    self._cond.notify_all()
                return

    def _backoff(self, attempts: int) -> float:
        return min(
            self.config.webhook_backoff_base * (2 ** (attempts - 1)),
            self.config.webhook_backoff_max,
        )

    def _attempt(self, delivery: Delivery) -> None:
        retry_in: float | None = None
        try:
            delivery.attempts += 1
            if delivery.attempts > 1:
                self.stats.add(delivery.shop, "webhooks_retried")
            self.stats.add(delivery.shop, "webhooks_attempts")
            status_code: int | None = None
            error: str | None = None
            assert self._client is not None
            try:
                response = self._client.post(
                    delivery.url,
                    content=delivery.body,
                    headers=delivery.headers(self.config.app_secret),
                )
                status_code = response.status_code
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            delivery.last_status_code = status_code
            delivery.last_error = error
            delivery.history.append({"at": time.time(), "status_code": status_code, "error": error})
            if status_code is not None and 200 <= status_code < 300:
                delivery.status = "delivered"
                self.stats.add(delivery.shop, "webhooks_sent")
            elif delivery.attempts >= self.config.webhook_max_attempts:
                delivery.status = "failed"
                self.stats.add(delivery.shop, "webhooks_failed")
                if self.on_subscription_exhausted is not None:
                    self.on_subscription_exhausted(delivery)
            else:
                retry_in = self._backoff(delivery.attempts)
        except Exception:  # keep the worker alive whatever happens
            logger.exception("webhook delivery %s crashed", delivery.webhook_id)
            delivery.status = "failed"
        finally:
            with self._cond:
                self._in_flight -= 1
                if retry_in is not None and not self._closed:
                    heapq.heappush(
                        self._heap, (time.monotonic() + retry_in, next(self._seq), delivery)
                    )
                self._cond.notify_all()

    # -- control -------------------------------------------------------------------------

    def pending(self) -> int:
        with self._cond:
            return len(self._heap) + self._in_flight

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until no delivery is queued, waiting for a retry, or in flight."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._heap or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.05))
            return True

    def clear(self) -> None:
        """Forget queued deliveries (reset). In-flight attempts finish on their own."""
        with self._cond:
            self._heap.clear()
            self.recent.clear()
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._heap.clear()
            self._cond.notify_all()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        if self._client is not None:
            self._client.close()
        if self._scheduler is not None:
            self._scheduler.join(timeout=5)

    def recent_deliveries(self, *, shop: str | None = None, limit: int = 100) -> list[dict]:
        items = [d for d in list(self.recent) if shop is None or d.shop == shop]
        return [d.summary() for d in items[-limit:]]
