"""Product metafields and variant weights as Shopify keeps them: the rules a metafield's
namespace, key, type and value must meet, the upsert every writer shares, and weight units
(GraphQL's ``WeightUnit``, REST's ``weight_unit``, grams)."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from shopify_emulator.world import World

# Where a metafield goes when metafieldsSet names no namespace (Shopify: "the app-reserved
# namespace", app--<the app's id>).
APP_NAMESPACE = "app--1"

METAFIELD_LIMIT = 25  # metafieldsSet: "Maximum of 25"

_BASE_TYPES = {
    "boolean", "collection_reference", "color", "company_reference", "customer_reference",
    "date", "date_time", "dimension", "file_reference", "id", "json", "language", "link",
    "metaobject_reference", "mixed_reference", "money", "multi_line_text_field",
    "number_decimal", "number_integer", "order_reference", "page_reference",
    "product_reference", "product_taxonomy_value_reference", "rating", "rich_text_field",
    "single_line_text_field", "url", "variant_reference", "volume", "weight",
}
_LISTABLE = _BASE_TYPES - {"boolean", "json", "money", "multi_line_text_field",
                           "rich_text_field", "language"}
METAFIELD_TYPES = frozenset(_BASE_TYPES | {f"list.{name}" for name in _LISTABLE})
_JSON_TYPES = {"json", "dimension", "volume", "weight", "rating", "money", "link",
               "rich_text_field"}
_HANDLE_RE = re.compile(r"^[A-Za-z0-9_-]+$")

# WeightUnit -> (REST weight_unit, grams per unit)
WEIGHT_UNITS: dict[str, tuple[str, Decimal]] = {
    "KILOGRAMS": ("kg", Decimal("1000")),
    "GRAMS": ("g", Decimal("1")),
    "POUNDS": ("lb", Decimal("453.59237")),
    "OUNCES": ("oz", Decimal("28.349523125")),
}
_REST_UNITS = {rest: name for name, (rest, _grams) in WEIGHT_UNITS.items()}


def weight_unit_of(text: Any) -> str | None:
    """The WeightUnit for ``kg``/``g``/``lb``/``oz`` or a WeightUnit name; None if neither."""
    if not isinstance(text, str):
        return None
    if text.upper() in WEIGHT_UNITS:
        return text.upper()
    return _REST_UNITS.get(text.lower())


def weight_rest_unit(unit: str) -> str:
    return WEIGHT_UNITS.get(unit, WEIGHT_UNITS["KILOGRAMS"])[0]


def weight_grams(value: float, unit: str) -> int:
    """REST's ``grams``: the weight in whole grams (Shopify rounds)."""
    grams = Decimal(str(value)) * WEIGHT_UNITS.get(unit, WEIGHT_UNITS["KILOGRAMS"])[1]
    return int(grams.to_integral_value())


def metafield_value_error(type_name: str, value: str) -> str | None:
    """Why ``value`` is not a value of ``type_name`` (Shopify's INVALID_VALUE), or None."""
    if type_name == "number_integer":
        if not re.fullmatch(r"-?\d+", value.strip()):
            return "Value must be an integer."
    elif type_name == "number_decimal":
        try:
            Decimal(value)
        except InvalidOperation:
            return "Value must be a decimal."
    elif type_name == "boolean":
        if value not in ("true", "false"):
            return "Value must be true or false."
    elif type_name == "date":
        try:
            date.fromisoformat(value)
        except ValueError:
            return "Value must be in YYYY-MM-DD format."
    elif type_name in _JSON_TYPES or type_name.startswith("list."):
        try:
            parsed = json.loads(value)
        except ValueError:
            return "Value is invalid JSON."
        if type_name.startswith("list.") and not isinstance(parsed, list):
            return "Value must be an array."
    return None


def metafield_problems(*, namespace: Any, key: Any, type_name: Any,
                       value: Any) -> list[tuple[str, str, str]]:
    """What is wrong with one metafield as (input field, message, MetafieldsSetUserErrorCode),
    in the order Shopify checks."""
    problems: list[tuple[str, str, str]] = []
    if not isinstance(namespace, str) or len(namespace) < 3:
        problems.append(("namespace", "Namespace is too short (minimum is 3 characters)",
                         "TOO_SHORT"))
    elif len(namespace) > 255:
        problems.append(("namespace", "Namespace is too long (maximum is 255 characters)",
                         "TOO_LONG"))
    elif not _HANDLE_RE.match(namespace.removeprefix("$app:")):
        problems.append(("namespace", "Namespace contains one or more invalid characters.",
                         "INVALID"))
    if not isinstance(key, str) or len(key) < 2:
        problems.append(("key", "Key is too short (minimum is 2 characters)", "TOO_SHORT"))
    elif len(key) > 64:
        problems.append(("key", "Key is too long (maximum is 64 characters)", "TOO_LONG"))
    elif not _HANDLE_RE.match(key):
        problems.append(("key", "Key contains one or more invalid characters.", "INVALID"))
    if not type_name:
        problems.append(("type", "Type can't be blank", "BLANK"))
    elif type_name not in METAFIELD_TYPES:
        problems.append(("type", f"Type '{type_name}' is not a valid type.", "INVALID_TYPE"))
    if not isinstance(value, str):
        problems.append(("value", "Value can't be blank", "BLANK"))
    elif type_name in METAFIELD_TYPES:
        message = metafield_value_error(str(type_name), value)
        if message is not None:
            problems.append(("value", message, "INVALID_VALUE"))
    return problems


def metafield_find(metafields: list[dict], namespace: str, key: str) -> dict | None:
    return next((m for m in metafields if m["namespace"] == namespace and m["key"] == key),
                None)


def metafield_digest(metafield: dict) -> str:
    """``compareDigest``: changes whenever the stored value or type does."""
    text = f"{metafield['type']}\x00{metafield['value']}\x00{metafield['updated_at'].isoformat()}"
    return hashlib.sha256(text.encode()).hexdigest()


def metafield_upsert(*, world: World, metafields: list[dict], namespace: str, key: str,
                     type_name: str, value: str) -> tuple[dict, bool]:
    """Create or update ``namespace.key`` in ``metafields``; (the metafield, whether it
    changed). Others are left alone."""
    now = world.now()
    found = metafield_find(metafields, namespace, key)
    if found is None:
        found = {"id": world.next_id(), "namespace": namespace, "key": key, "type": type_name,
                 "value": value, "created_at": now, "updated_at": now}
        metafields.append(found)
        return found, True
    if (found["type"], found["value"]) == (type_name, value):
        return found, False
    found.update(type=type_name, value=value, updated_at=now)
    return found, True


def metafield_json_value(metafield: dict) -> Any:
    """``jsonValue``: the value as JSON of its type."""
    type_name, value = metafield["type"], metafield["value"]
    try:
        if type_name == "number_integer":
            return int(value)
        if type_name == "number_decimal":
            return value
        if type_name == "boolean":
            return value == "true"
        if type_name in _JSON_TYPES or type_name.startswith("list."):
            return json.loads(value)
    except ValueError:
        return value
    return value
