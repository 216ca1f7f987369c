import logging
import re
from datetime import datetime

from django.conf import settings
from django.db import models
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from syncer.shopify.domains import shop_domain_is_valid
from syncer.shopify.webhook_hmac import webhook_hmac_is_valid
from webhooks.models import WebhookDelivery
from webhooks.registry import webhook_time_plausible
from webhooks.services import webhook_delivery_receive

logger = logging.getLogger(__name__)


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


def _error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _parse_triggered_at(value: str) -> datetime | None:
    """When Shopify triggered the event; None when absent or not a plausible timestamp (it is
    only recorded, so an odd one is dropped rather than the delivery refused)."""
    try:
        return webhook_time_plausible(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


def _body(request: HttpRequest, *, limit: int) -> bytes | JsonResponse:
    """The raw body, up to `limit` + 1 bytes (so an oversized one is known without reading it
    all), whatever its framing. Django reads a request without Content-Length as empty, but a
    chunked one has none: when the server says it ends the input itself (gunicorn does, for
    chunked bodies too), the body is read from the server's stream."""
    length = request.META.get("CONTENT_LENGTH") or ""
    if length:
        try:
            declared = int(length)
        except ValueError:
            return _error("Invalid Content-Length", 400)
        if declared < 0:
            return _error("Invalid Content-Length", 400)
        if declared > limit:
            return _error(f"Body larger than {limit} bytes", 413)
        stream = request
    elif request.META.get("wsgi.input_terminated"):
        stream = request.META["wsgi.input"]
    elif request.headers.get("Transfer-Encoding"):
        return _error("Chunked bodies are not supported by this server; send Content-Length", 411)
    else:
        return b""
    chunks: list[bytes] = []
    size = 0
    try:
        while size <= limit:
            chunk = stream.read(limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
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


@csrf_exempt
@require_POST
def shopify_webhook(request: HttpRequest) -> JsonResponse:
    """Verify, record, answer: no Shopify call and no domain work happens here."""
    # Read the raw stream ourselves: the HMAC covers the exact bytes Shopify sent.
    body = _body(request, limit=settings.WEBHOOK_MAX_BODY_BYTES)
    if isinstance(body, JsonResponse):
        return body

    if not webhook_hmac_is_valid(body, request.headers.get("X-Shopify-Hmac-Sha256")):
        return _error("HMAC verification failed", 401)
    if not body.strip():
        # Shopify always sends a JSON object; an empty body signed with our secret is not
        # a delivery (and, stored, could only fail).
        return _error("Empty body", 400)

    topic = request.headers.get("X-Shopify-Topic", "")
    shop_domain = request.headers.get("X-Shopify-Shop-Domain", "").lower()
    webhook_id = request.headers.get("X-Shopify-Webhook-Id", "")
    event_id = request.headers.get("X-Shopify-Event-Id", "")
    api_version = request.headers.get("X-Shopify-API-Version", "")
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

    _, created = webhook_delivery_receive(
        shop_domain=shop_domain, topic=topic, webhook_id=webhook_id, event_id=event_id,
        triggered_at=_parse_triggered_at(request.headers.get("X-Shopify-Triggered-At", "")),
        api_version=api_version, raw_body=raw_body,
    )
    return JsonResponse({"status": "accepted" if created else "duplicate"})
