"""Shopify's search syntax (``query:`` arguments) over the emulator's records."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shopify_emulator.ids import parse_gid

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


def query_filter(items: list, query: str | None, fields: dict, defaults: list[str]) -> list:
    """:func:`search_filter`, with ``tag_not:x`` read as a negated tag match."""
    if query and "tag_not:" in query:
        query = query.replace("tag_not:", "-tag:")
    return search_filter(items, query, fields, defaults)
