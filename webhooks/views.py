import re
from datetime import datetime

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from syncer.shopify.webhook_hmac import webhook_hmac_is_valid
from webhooks.services import webhook_delivery_receive

SHOP_DOMAIN_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9-]*\.myshopify\.com$")
TOPIC_RE = re.compile(r"^[a-z_]{1,50}/[a-z_]{1,50}$")
MAX_HEADER_LENGTH = 255


def _error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _parse_triggered_at(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


@csrf_exempt
@require_POST
def shopify_webhook(request: HttpRequest) -> JsonResponse:
    """Verify, record, answer: no Shopify call and no domain work happens here."""
    limit = settings.WEBHOOK_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _error("Invalid Content-Length", 400)
    if declared > limit:
        return _error(f"Body larger than {limit} bytes", 413)
    # Read the raw stream ourselves: the HMAC covers the exact bytes Shopify sent.
    body = request.read(limit + 1)
    if len(body) > limit:
        return _error(f"Body larger than {limit} bytes", 413)

    if not webhook_hmac_is_valid(body, request.headers.get("X-Shopify-Hmac-Sha256")):
        return _error("HMAC verification failed", 401)

    topic = request.headers.get("X-Shopify-Topic", "")
    shop_domain = request.headers.get("X-Shopify-Shop-Domain", "")
    webhook_id = request.headers.get("X-Shopify-Webhook-Id", "")
    event_id = request.headers.get("X-Shopify-Event-Id", "")
    if not TOPIC_RE.match(topic):
        return _error("Missing or invalid X-Shopify-Topic", 400)
    if not SHOP_DOMAIN_RE.match(shop_domain):
        return _error("Missing or invalid X-Shopify-Shop-Domain", 400)
    if not webhook_id or len(webhook_id) > MAX_HEADER_LENGTH or len(event_id) > MAX_HEADER_LENGTH:
        return _error("Missing or invalid X-Shopify-Webhook-Id", 400)
    try:
        raw_body = body.decode("utf-8")
    except UnicodeDecodeError:
        return _error("Body is not UTF-8", 400)
    if "\x00" in raw_body:  # PostgreSQL text cannot hold NUL; no JSON from Shopify has one
        return _error("Body contains NUL characters", 400)

    _, created = webhook_delivery_receive(
        shop_domain=shop_domain.lower(), topic=topic, webhook_id=webhook_id, event_id=event_id,
        triggered_at=_parse_triggered_at(request.headers.get("X-Shopify-Triggered-At", "")),
        api_version=request.headers.get("X-Shopify-API-Version", "")[:20], raw_body=raw_body,
    )
    return JsonResponse({"status": "accepted" if created else "duplicate"})
