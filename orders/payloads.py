"""Reading Shopify's REST-shaped webhook payloads defensively: a field of the wrong type is
treated as missing, never as a crash."""

from datetime import datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from django.utils.dateparse import parse_datetime

from webhooks.registry import webhook_payload_int, webhook_time_plausible

PAID_STATUSES = frozenset({"paid", "partially_refunded"})

# The payload helpers' name for the webhooks' one definition.
as_int = webhook_payload_int



def as_str(value, *, limit: int = 255) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    return str(value).strip()[:limit]


def as_decimal(value) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal("0.00")
    if not amount.is_finite():
        return Decimal("0.00")
    return amount.quantize(Decimal("0.01"))


def as_datetime(value) -> datetime | None:
    """An aware time Shopify could have sent, else None: a year PostgreSQL would store but
    Python cannot read back (0001-01-01T00:00:00+14:00) must never reach a row."""
    if not isinstance(value, str):
        return None
    try:
        return webhook_time_plausible(parse_datetime(value))
    except ValueError:
        return None


def as_dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def as_list(value) -> list:
    return value if isinstance(value, list) else []


def tags_parse(value) -> list[str]:
    if isinstance(value, list):
        raw = value
    elif isinstance(value, str):
        raw = value.split(",")
    else:
        return []
    return [tag for tag in (as_str(t) for t in raw) if tag]


ADDRESS_FIELDS = ("first_name", "last_name", "company", "address1", "address2", "city",
                  "province", "province_code", "country", "country_code", "zip", "phone")


def address_parse(value) -> dict | None:
    address = as_dict(value)
    cleaned = {key: as_str(address.get(key)) for key in ADDRESS_FIELDS}
    cleaned = {key: text for key, text in cleaned.items() if text}
    return cleaned or None


def address_is_complete(address: dict | None) -> bool:
    address = address or {}
    return bool(address.get("address1") and address.get("city")
                and (address.get("country_code") or address.get("country")))


def customer_name(payload: dict) -> str:
    customer = as_dict(payload.get("customer"))
    shipping = as_dict(payload.get("shipping_address"))
    for source in (customer, shipping):
        name = " ".join(part for part in (as_str(source.get("first_name")),
                                          as_str(source.get("last_name"))) if part)
        if name:
            return name
    return ""


def refunded_total(payload: dict) -> Decimal:
    """The money an order's refunds gave back: their successful refund transactions."""
    return sum((as_decimal(transaction.get("amount"))
                for refund in map(as_dict, as_list(payload.get("refunds")))
                for transaction in map(as_dict, as_list(refund.get("transactions")))
                if transaction.get("kind") == "refund" and transaction.get("status") == "success"),
               Decimal("0.00"))


def fulfillment_status(value) -> str:
    return {"fulfilled": "fulfilled", "partial": "partial"}.get(as_str(value), "unfulfilled")


def http_url(value) -> str:
    """`value` if it is an absolute http(s) URL, else "": what Shopify data may put in a link
    we render or copy (a `javascript:` or `data:` "tracking URL" must never become one)."""
    text = as_str(value, limit=2048)
    if not text or any(ord(char) <= 0x20 or ord(char) == 0x7F for char in text):
        return ""
    try:
        parts = urlsplit(text)
    except ValueError:
        return ""
    return text if parts.scheme.lower() in ("http", "https") and parts.hostname else ""
