"""Resolver plumbing: the registry, the execution context, connections and search queries."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo
from graphql.language import FieldNode

from shopify_emulator import state as st
from shopify_emulator.ids import parse_gid

MAX_PAGE_SIZE = 250

Resolver = Callable[..., Any]
RESOLVERS: dict[str, dict[str, Resolver]] = {}


def field(type_name: str, *field_names: str) -> Callable[[Resolver], Resolver]:
    """Register a resolver for ``type_name.field_name`` (camelCase, as in the schema)."""

    def register(fn: Resolver) -> Resolver:
        for name in field_names:
            RESOLVERS.setdefault(type_name, {})[name] = fn
        return fn

    return register


@dataclass
class Context:
    world: st.World
    shop: st.Shop
    api_version: str
    bulk: bool = False  # running inside a bulk operation: connections return everything
    after_commit: list[Callable[[], None]] = dc_field(default_factory=list)


def ctx(info: GraphQLResolveInfo) -> Context:
    return info.context


def now_iso(value: datetime | None) -> str | None:
    """GraphQL DateTime: ``2026-06-25T01:33:55Z``."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def money(amount: Any, currency: str) -> dict:
    return {"__typename": "MoneyV2", "amount": st.money_str(amount), "currencyCode": currency}


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


class ShopifyError(GraphQLError):
    """A runtime error shaped like Shopify's (message + extensions.code)."""

    def __init__(self, message: str, code: str, *, nodes: Any = None, **extensions: Any) -> None:
        super().__init__(message, nodes, extensions={"code": code, **extensions})


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


# --------------------------------------------------------------------------- connections


def _cursor_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        return value.lower()
    return value


def encode_cursor(item_id: int, sort_value: Any) -> str:
    raw = json.dumps({"last_id": item_id, "last_value": str(sort_value)}, separators=(",", ":"))
    return base64.b64encode(raw.encode()).decode()


def decode_cursor(cursor: str) -> tuple[int, str]:
    try:
        data = json.loads(base64.b64decode(cursor.encode(), validate=False))
        return int(data["last_id"]), str(data["last_value"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ShopifyError("Invalid cursor for current pagination sort.", "BAD_REQUEST") from exc


def paginate(
    info: GraphQLResolveInfo,
    items: Iterable[Any],
    *,
    id_fn: Callable[[Any], int] = lambda obj: obj.id,
    sort_fn: Callable[[Any], Any] | None = None,
    first: int | None = None,
    last: int | None = None,
    after: str | None = None,
    before: str | None = None,
    reverse: bool | None = False,
    require_page_size: bool = True,
    max_page_size: int = MAX_PAGE_SIZE,
    **_ignored: Any,
) -> dict:
    """A Relay connection over ``items`` ordered by (sort value, id)."""
    context = ctx(info)
    rows = []
    for obj in items:
        sort_value = _cursor_value(sort_fn(obj)) if sort_fn is not None else id_fn(obj)
        rows.append(((sort_value, id_fn(obj)), obj))
    rows.sort(key=lambda row: row[0])
    if reverse:
        rows.reverse()
    if not context.bulk:
        if first is None and last is None and require_page_size:
            raise ShopifyError("you must provide one of first or last", "BAD_REQUEST")
        if first is not None and last is not None:
            raise ShopifyError("providing both first and last is not supported", "BAD_REQUEST")
        for name, value in (("first", first), ("last", last)):
            if value is not None and value > max_page_size:
                raise ShopifyError(
                    f"The {name} argument must be less than or equal to {max_page_size}.",
                    "BAD_REQUEST",
                )
            if value is not None and value < 0:
                raise ShopifyError(f"{name} must be greater than or equal to 0", "BAD_REQUEST")

    def position(cursor: str) -> tuple[Any, int]:
        cursor_id, cursor_value = decode_cursor(cursor)
        for key, _obj in rows:
            if key[1] == cursor_id:
                return key
        try:
            restored: Any = type(rows[0][0][0])(cursor_value) if rows else cursor_value
        except (TypeError, ValueError):
            restored = cursor_value
        return (restored, cursor_id)

    def later(key: Any, mark: Any) -> bool:
        return key < mark if reverse else key > mark

    start, end = 0, len(rows)
    if after:
        mark = position(after)
        start = next((i for i, row in enumerate(rows) if later(row[0], mark)), len(rows))
    if before:
        mark = position(before)
        end = next((i for i, row in enumerate(rows) if not later(mark, row[0])), len(rows))
        end = max(end, start)
    if context.bulk:
        first = last = None
    if first is not None:
        end_of_page = min(end, start + first)
        has_next = end_of_page < len(rows)
        end = end_of_page
    else:
        has_next = end < len(rows)
    if last is not None:
        start = max(start, end - last)
    has_previous = start > 0
    window = rows[start:end]
    edges = [
        {"__typename": "Edge", "cursor": encode_cursor(key[1], key[0]), "node": obj}
        for key, obj in window
    ]
    return {
        "__typename": "Connection",
        "edges": edges,
        "nodes": [edge["node"] for edge in edges],
        "pageInfo": {
            "__typename": "PageInfo",
            "hasNextPage": has_next,
            "hasPreviousPage": has_previous,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


# --------------------------------------------------------------------------- search syntax

_TOKEN_RE = re.compile(
    r"""\s*(?:
        (?P<paren>[()])
      | (?P<term>-?[A-Za-z_.]+:(?:>=|<=|>|<|=)?(?:'[^']*'|"[^"]*"|[^\s()]+))
      | (?P<word>'[^']*'|"[^"]*"|[^\s()]+)
    )""",
    re.VERBOSE,
)


@dataclass
class Term:
    field: str | None
    op: str
    value: str
    negated: bool = False


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def parse_search(query: str | None) -> list[list[Term]]:
    """Shopify search syntax as OR-groups of AND-ed terms (parentheses are flattened)."""
    if not query or not query.strip():
        return []
    groups: list[list[Term]] = [[]]
    negate_next = False
    for match in _TOKEN_RE.finditer(query):
        if match.group("paren"):
            continue
        token = match.group("term") or match.group("word")
        if token is None:
            continue
        if token == "OR":
            groups.append([])
            continue
        if token == "AND":
            continue
        if token == "NOT":
            negate_next = True
            continue
        negated = negate_next
        negate_next = False
        if match.group("term"):
            if token.startswith("-"):
                negated, token = True, token[1:]
            name, _, rest = token.partition(":")
            op = "="
            for candidate in (">=", "<=", ">", "<", "="):
                if rest.startswith(candidate):
                    op, rest = candidate, rest[len(candidate):]
                    break
            groups[-1].append(Term(name.lower(), op, _unquote(rest), negated))
        else:
            if token.startswith("-") and len(token) > 1:
                negated, token = True, token[1:]
            groups[-1].append(Term(None, "=", _unquote(token), negated))
    return [group for group in groups if group]


def parse_time(value: str) -> datetime | None:
    text = value.strip()
    if not text:
        return None
    if text.lower() == "now":
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _compare(actual: Any, op: str, wanted: Any) -> bool:
    if actual is None:
        return False
    if op == "=":
        return actual == wanted
    if op == ">":
        return actual > wanted
    if op == ">=":
        return actual >= wanted
    if op == "<":
        return actual < wanted
    return actual <= wanted


def match_value(kind: str, actual: Any, term: Term) -> bool:
    """Does ``actual`` (one value or a list) satisfy ``term``? ``kind`` picks the comparison."""
    if isinstance(actual, list | tuple | set):
        return any(match_value(kind, one, term) for one in actual)
    if kind == "time":
        wanted = parse_time(term.value)
        return wanted is not None and _compare(actual, term.op, wanted)
    if kind == "number":
        try:
            wanted_number = float(term.value)
        except ValueError:
            parsed = parse_gid(term.value)
            if parsed is None:
                return False
            wanted_number = float(parsed[1])
        return actual is not None and _compare(float(actual), term.op, wanted_number)
    if kind == "bool":
        return str(actual).lower() == term.value.lower()
    text = "" if actual is None else str(actual).lower()
    wanted_text = term.value.lower()
    if wanted_text.endswith("*"):
        return text.startswith(wanted_text[:-1])
    if kind == "contains":
        return wanted_text in text
    return _compare(text, term.op, wanted_text)


SearchFields = dict[str, tuple[str, Callable[[Any], Any]]]


def search_filter(
    items: Iterable[Any], query: str | None, fields: SearchFields, default_fields: list[str]
) -> list[Any]:
    """Filter ``items`` by a Shopify search ``query``; unknown fields are ignored like Shopify."""
    groups = parse_search(query)
    items = list(items)
    if not groups:
        return items

    def term_ok(obj: Any, term: Term) -> bool:
        if term.field is None:
            result = any(
                match_value("contains", fields[name][1](obj), term)
                for name in default_fields
                if name in fields
            )
        elif term.field in fields:
            kind, accessor = fields[term.field]
            result = match_value(kind, accessor(obj), term)
        else:
            return True
        return not result if term.negated else result

    return [obj for obj in items if any(all(term_ok(obj, t) for t in g) for g in groups)]


def first_field_node(info: GraphQLResolveInfo) -> FieldNode:
    return info.field_nodes[0]


# --------------------------------------------------------------------------- @idempotent

IDEMPOTENCY_REQUIRED_MESSAGE = (
    "The @idempotent directive is required for this mutation but was not provided."
)
IDEMPOTENCY_MISMATCH_MESSAGE = (
    "The same idempotency key cannot be used with different operation parameters."
)


def idempotency_key(info: GraphQLResolveInfo) -> str | None:
    """The ``key`` of the field's ``@idempotent`` directive (literal or variable), if any."""
    from graphql.language import VariableNode

    for directive in first_field_node(info).directives or ():
        if directive.name.value != "idempotent":
            continue
        for argument in directive.arguments or ():
            if argument.name.value != "key":
                continue
            value = argument.value
            if isinstance(value, VariableNode):
                values = getattr(info.variable_values, "coerced", info.variable_values)
                found = values.get(value.name.value)
                return None if found is None else str(found)
            return str(getattr(value, "value", "")) or None
    return None


def require_idempotency_key(info: GraphQLResolveInfo) -> str:
    key = idempotency_key(info)
    if key is None:
        raise ShopifyError(IDEMPOTENCY_REQUIRED_MESSAGE, "BAD_REQUEST",
                           nodes=list(info.field_nodes))
    return key


def idempotent(
    info: GraphQLResolveInfo,
    key: str,
    arguments: dict,
    run: Callable[[], dict],
    *,
    mismatch: Callable[[], dict],
) -> dict:
    """Run ``run`` once per (shop, key); replay its payload for the same arguments."""
    context = ctx(info)
    world = context.world
    now = world.clock()
    store = world.idempotency
    # Keys live 25 hours, so the store holds every write of a long run: sweep it only when its
    # oldest entry may have expired, not on every write.
    if now - world.idempotency_oldest > st.IDEMPOTENCY_TTL_SECONDS:
        for stored_key in [
            k for k, v in store.items() if now - v["at"] > st.IDEMPOTENCY_TTL_SECONDS
        ]:
            del store[stored_key]
        world.idempotency_oldest = min((v["at"] for v in store.values()), default=math.inf)
    # A digest of the canonical JSON, not the JSON itself: same answer for "same parameters?",
    # 64 bytes kept per key instead of the whole input (40 KB for 250 quantities).
    fingerprint = hashlib.sha256(
        json.dumps([info.field_name, arguments], sort_keys=True, default=str).encode()
    ).hexdigest()
    entry = store.get((context.shop.domain, key))
    if entry is not None:
        if entry["fingerprint"] != fingerprint:
            return mismatch()
        return entry["result"]
    result = run()
    store[(context.shop.domain, key)] = {"fingerprint": fingerprint, "result": result, "at": now}
    world.idempotency_oldest = min(world.idempotency_oldest, now)
    return result


def require_change_from(
    info: GraphQLResolveInfo, items: list[dict], input_type: str, argument: str = "input"
) -> None:
    """2026-04+: every quantity must carry ``changeFromQuantity`` (explicit null allowed)."""
    if all("changeFromQuantity" in item for item in items):
        return
    nodes: list[Any] = list(info.field_nodes)
    from graphql.language import VariableNode

    for arg in first_field_node(info).arguments or ():
        if arg.name.value == argument and isinstance(arg.value, VariableNode):
            operation = info.operation
            for definition in operation.variable_definitions or ():
                if definition.variable.name.value == arg.value.name.value:
                    nodes.append(definition)
        elif arg.name.value == argument:
            nodes.append(arg.value)
    raise ShopifyError(
        f"{input_type} must include the following argument: changeFromQuantity.",
        "INVALID_FIELD_ARGUMENTS",
        nodes=nodes,
    )
