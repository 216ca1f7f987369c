"""GraphQL values the resolvers build over and over: DateTime, MoneyV2/MoneyBag, Count,
user errors, mailing addresses, and the numeric id inside a gid."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from shopify_emulator.formats import money_str
from shopify_emulator.ids import gid, parse_gid


def now_iso(value: datetime | None) -> str | None:
    """GraphQL DateTime: ``2026-06-25T01:33:55Z``."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def money(amount: Any, currency: str) -> dict:
    return {"__typename": "MoneyV2", "amount": money_str(amount), "currencyCode": currency}


def money_bag(amount: Any, currency: str) -> dict:
    value = money(amount, currency)
    return {"__typename": "MoneyBag", "shopMoney": value, "presentmentMoney": dict(value)}


def count(value: int) -> dict:
    return {"__typename": "Count", "count": value, "precision": "EXACT"}


def user_error(
    field_path: list[str] | None, message: str, code: str | None = None, typename: str = "UserError"
) -> dict:
    error: dict[str, Any] = {"__typename": typename, "field": field_path, "message": message}
    if code is not None:
        error["code"] = code
    return error


def id_of(value: Any, type_name: str) -> int | None:
    if not isinstance(value, str):
        return None
    return _id_of_gid(value, type_name)


@lru_cache(maxsize=65536)
def _id_of_gid(value: str, type_name: str) -> int | None:
    # A pure function of two strings, called for every item of every bulk input (twice per
    # inventory quantity): the regex in parse_gid was a tenth of a 250-item write.
    parsed = parse_gid(value)
    if parsed is None or parsed[0] != type_name:
        return None
    return parsed[1]


def address_dict(
    data: dict | None, typename: str = "MailingAddress", obj_id: int = 0
) -> dict | None:
    if not data:
        return None
    parts = [data.get("address1"), data.get("address2"), data.get("city"),
             " ".join(p for p in (data.get("province_code"), data.get("zip")) if p),
             data.get("country")]
    return {
        "__typename": typename,
        "id": gid("MailingAddress", obj_id) + "?model_name=Address" if obj_id else None,
        "firstName": data.get("first_name"),
        "lastName": data.get("last_name"),
        "name": data.get("name"),
        "company": data.get("company"),
        "address1": data.get("address1"),
        "address2": data.get("address2"),
        "city": data.get("city"),
        "province": data.get("province"),
        "provinceCode": data.get("province_code"),
        "country": data.get("country"),
        "countryCode": data.get("country_code"),
        "countryCodeV2": data.get("country_code"),
        "zip": data.get("zip"),
        "phone": data.get("phone"),
        "latitude": data.get("latitude"),
        "longitude": data.get("longitude"),
        "coordinatesValidated": False,
        "formatted": [p for p in parts if p],
        "formattedArea": ", ".join(p for p in (data.get("city"), data.get("province"),
                                               data.get("country")) if p) or None,
    }
