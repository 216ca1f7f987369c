"""The webhook endpoint, from a WSGI environ to its answer: read the body, verify the HMAC,
validate the headers, record the delivery (committed before the answer) and queue its
processing.

Two doors lead here, with the same checks and the same answers: `webhooks.views.shopify_webhook`
(through Django's handler and middleware) and `webhook_ingest_app`, which syncer/wsgi.py puts in
front of Django so that `POST /webhooks/shopify` — the one URL every shop's every event hits —
skips the middleware, URL resolution and per-request connection health check that cost most of
its CPU (issue 22). Everything else goes on to Django untouched.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.db import DatabaseError, InterfaceError, OperationalError, connection, models
from django.http import HttpRequest

from syncer.shopify.domains import shop_domain_is_valid
from syncer.shopify.webhook_hmac import webhook_hmac_is_valid
from webhooks.metrics import webhook_echoes
from webhooks.models import WebhookDelivery
from webhooks.registry import webhook_is_echo, webhook_time_plausible
from webhooks.services import webhook_delivery_receive

logger = logging.getLogger(__name__)
# Django's handler logs every 4xx/5xx answer here; the door in front of it does the same.
request_logger = logging.getLogger("django.request")

WEBHOOK_PATH = "/webhooks/shopify"


def _column_length(name: str) -> int:
    field = WebhookDelivery._meta.get_field(name)
    return (field.max_length or 0) if isinstance(field, models.CharField) else 0


# Each header we store must fit its column: a value that does not is not Shopify's, and
# inserting it would fail with a 500 (which Shopify retries) instead of a 400.
_MAX = {name: _column_length(name) for name in ("topic", "webhook_id", "event_id", "api_version")}
TOPIC_RE = re.compile(r"^[a-z_]{1,50}/[a-z_]{1,50}$")
# Ids are UUIDs or numbers: visible ASCII, never a control character (PostgreSQL text cannot
# hold NUL, and the id is what a repeated delivery is known by, so it is never cut short).
ID_RE = re.compile(r"^[\x21-\x7e]*$")
API_VERSION_RE = re.compile(r"^[a-z0-9-]*$")


@dataclass(frozen=True)
class IngestAnswer:
    status: int
    payload: dict[str, str]


def _error(message: str, status: int) -> IngestAnswer:
    return IngestAnswer(status=status, payload={"error": message})


def _parse_triggered_at(value: str) -> datetime | None:
    """When Shopify triggered the event; None when absent or not a plausible timestamp (it is
    only recorded, so an odd one is dropped rather than the delivery refused)."""
    try:
        return webhook_time_plausible(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


def _body(environ: Mapping[str, Any], *, limit: int) -> bytes | IngestAnswer:
    """The raw body, up to `limit` + 1 bytes (so an oversized one is known without reading it
    all), whatever its framing. With a Content-Length, never more than it says (a server may
    block waiting for bytes the client never sends). A chunked body has none: when the server
    says it ends the input itself (gunicorn does, for chunked bodies too), it is read to its
    end; otherwise the sender is asked for a length."""
    length = environ.get("CONTENT_LENGTH") or ""
    remaining: int | None = None
    if length:
        try:
            remaining = int(length)
        except ValueError:
            return _error("Invalid Content-Length", 400)
        if remaining < 0:
            return _error("Invalid Content-Length", 400)
        if remaining > limit:
            return _error(f"Body larger than {limit} bytes", 413)
    elif not environ.get("wsgi.input_terminated"):
        if environ.get("HTTP_TRANSFER_ENCODING"):
            return _error(
                "Chunked bodies are not supported by this server; send Content-Length", 411)
        return b""
    stream = environ["wsgi.input"]
    chunks: list[bytes] = []
    size = 0
    try:
        while size <= limit and remaining != 0:
            want = limit + 1 - size
            chunk = stream.read(want if remaining is None else min(want, remaining))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if remaining is not None:
                remaining -= len(chunk)
    # The server's own framing errors (a malformed chunk, a client gone) share no base class
    # (gunicorn's are plain Exceptions); any of them means the body cannot be read: the
    # sender's fault, not ours.
    except Exception as exc:
        logger.info("webhook body unreadable: %r", exc)
        return _error("Body could not be read", 400)
    body = b"".join(chunks)
    if len(body) > limit:
        return _error(f"Body larger than {limit} bytes", 413)
    return body


def _id_is_valid(value: str, *, field: str, required: bool) -> bool:
    return (bool(value) or not required) and len(value) <= _MAX[field] and bool(
        ID_RE.match(value))


def webhook_ingest(*, environ: Mapping[str, Any], enqueue_soon: bool = False) -> IngestAnswer:
    """Verify, record, answer: no Shopify call and no domain work happens here. The row is
    committed before this returns an accepted answer; its processing is queued before, or with
    `enqueue_soon` just after, by the process's publishing thread."""
    # Read the raw stream ourselves: the HMAC covers the exact bytes Shopify sent.
    body = _body(environ, limit=settings.WEBHOOK_MAX_BODY_BYTES)
    if isinstance(body, IngestAnswer):
        return body
    if not webhook_hmac_is_valid(body, environ.get("HTTP_X_SHOPIFY_HMAC_SHA256")):
        return _error("HMAC verification failed", 401)
    if not body.strip():
        # Shopify always sends a JSON object; an empty body signed with our secret is not
        # a delivery (and, stored, could only fail).
        return _error("Empty body", 400)

    topic = environ.get("HTTP_X_SHOPIFY_TOPIC", "")
    shop_domain = environ.get("HTTP_X_SHOPIFY_SHOP_DOMAIN", "").lower()
    webhook_id = environ.get("HTTP_X_SHOPIFY_WEBHOOK_ID", "")
    event_id = environ.get("HTTP_X_SHOPIFY_EVENT_ID", "")
    api_version = environ.get("HTTP_X_SHOPIFY_API_VERSION", "")
    if not TOPIC_RE.match(topic) or len(topic) > _MAX["topic"]:
        return _error("Missing or invalid X-Shopify-Topic", 400)
    if not shop_domain_is_valid(shop_domain):
        return _error("Missing or invalid X-Shopify-Shop-Domain", 400)
    if not _id_is_valid(webhook_id, field="webhook_id", required=True):
        return _error("Missing or invalid X-Shopify-Webhook-Id", 400)
    if not _id_is_valid(event_id, field="event_id", required=False):
        return _error("Invalid X-Shopify-Event-Id", 400)
    if len(api_version) > _MAX["api_version"] or not API_VERSION_RE.match(api_version):
        api_version = ""  # only recorded: an odd one is dropped, the delivery kept
    try:
        raw_body = body.decode("utf-8")
    except UnicodeDecodeError:
        return _error("Body is not UTF-8", 400)
    if "\x00" in raw_body:  # PostgreSQL text cannot hold NUL; no JSON from Shopify has one
        return _error("Body contains NUL characters", 400)
    if webhook_is_echo(shop_domain=shop_domain, topic=topic, raw_body=raw_body):
        # Our own write coming back: what it says is already what Syncer holds, so there is
        # nothing to keep (webhooks.registry, _echo_checks). Most deliveries of a busy network.
        webhook_echoes.labels(topic=topic).inc()
        return IngestAnswer(status=200, payload={"status": "echo"})

    def receive() -> tuple[int | None, bool]:
        return webhook_delivery_receive(
            shop_domain=shop_domain, topic=topic, webhook_id=webhook_id, event_id=event_id,
            triggered_at=_parse_triggered_at(environ.get("HTTP_X_SHOPIFY_TRIGGERED_AT", "")),
            api_version=api_version, raw_body=raw_body, enqueue_soon=enqueue_soon,
        )

    try:
        _, created = _on_live_connection(receive)
    except DatabaseError:
        # Not recorded, so not accepted: Shopify retries anything but a 2xx.
        logger.exception("webhook %s (%s) of %s could not be recorded", webhook_id, topic,
                         shop_domain)
        return _error("The inbox is unavailable; try again later", 503)
    return IngestAnswer(status=200, payload={"status": "accepted" if created else "duplicate"})


def _on_live_connection(record: Callable[[], tuple[int | None, bool]]) -> tuple[int | None, bool]:
    """`record()`, once more on a new connection if the kept one turned out dead (the
    database restarted, a proxy dropped it while idle). This replaces the per-request health
    check's extra round trip. Repeating is safe: the insert does nothing for a delivery id
    already stored, so a first attempt that did commit makes the second a duplicate, which
    the sweeper queues after its grace period."""
    kept = connection.connection is not None and not connection.in_atomic_block
    try:
        return record()
    except (OperationalError, InterfaceError):
        if not kept:
            raise
        logger.info("database connection lost; recording the webhook on a new one")
        connection.close()
        return record()


# --- the door in front of Django --------------------------------------------------------------

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _lean_headers() -> list[tuple[str, str]] | None:
    """The headers Django's middleware adds to this endpoint's JSON answer (SecurityMiddleware's,
    as configured), or None when the settings make the middleware answer depend on the request
    (an https redirect, HSTS, www, refused user agents): then every request goes to Django."""
    if (settings.SECURE_SSL_REDIRECT or settings.SECURE_HSTS_SECONDS or settings.PREPEND_WWW
            or settings.DISALLOWED_USER_AGENTS):
        return None
    headers = []
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append(("X-Content-Type-Options", "nosniff"))
    if settings.SECURE_REFERRER_POLICY:
        policy = settings.SECURE_REFERRER_POLICY
        values = policy.split(",") if isinstance(policy, str) else policy
        headers.append(("Referrer-Policy", ",".join(value.strip() for value in values)))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append(("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY))
    return headers


def _host_is_allowed(environ: dict[str, Any]) -> bool:
    request = HttpRequest()
    request.META = environ
    try:
        request.get_host()  # ALLOWED_HOSTS, as CommonMiddleware checks it
    except DisallowedHost:
        return False
    return True


def _connection_release() -> None:
    """What Django's request_finished does with the thread's connection (CONN_MAX_AGE; drop it
    after an error), without arming the health check for the next request."""
    if connection.connection is None or connection.in_atomic_block:
        return
    obsolete = connection.close_at is not None and time.monotonic() >= connection.close_at
    if obsolete or connection.errors_occurred or not connection.get_autocommit():
        connection.close()


def webhook_ingest_app(django_app: WsgiApp) -> WsgiApp:
    """A WSGI app that serves `POST /webhooks/shopify` itself and hands every other request
    (and this one, when the host is not allowed or the settings call for middleware that
    depends on the request) to `django_app`."""
    lean: list[list[tuple[str, str]] | None] = []

    def application(environ: dict[str, Any], start_response: Callable[..., Any]):
        if environ.get("PATH_INFO") != WEBHOOK_PATH or environ.get("REQUEST_METHOD") != "POST":
            return django_app(environ, start_response)
        if not lean:
            lean.append(_lean_headers())
        headers = lean[0]
        if headers is None or not _host_is_allowed(environ):
            return django_app(environ, start_response)
        try:
            answer = webhook_ingest(environ=environ, enqueue_soon=True)
        finally:
            _connection_release()
        content = json.dumps(answer.payload).encode()
        phrase = HTTPStatus(answer.status).phrase
        if answer.status >= 400:
            log = request_logger.error if answer.status >= 500 else request_logger.warning
            log("%s: %s", phrase, WEBHOOK_PATH, extra={"status_code": answer.status})
        start_response(f"{answer.status} {phrase}", [
            ("Content-Type", "application/json"), *headers,
            ("Content-Length", str(len(content))),
        ])
        return [content]

    return application
