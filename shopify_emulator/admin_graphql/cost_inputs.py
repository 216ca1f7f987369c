"""What a mutation's input adds to its cost: the per-item surcharges the schema documents.

Shopify's field descriptions say e.g. "Complexity cost: 0.2 per variant"; :func:`input_surcharge`
adds those up over an input value, and :func:`may_surcharge` tells the cost walker which
arguments it can skip without looking at their (often 250-item) values.
"""

from __future__ import annotations

import re
from fractions import Fraction
from functools import cache
from typing import Any

from graphql import (
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    ListValueNode,
    ObjectValueNode,
    ValueNode,
    VariableNode,
    get_named_type,
)
from graphql.pyutils import Undefined

_COMPLEXITY_HINT = re.compile(r"Complexity cost:\s*(\d+(?:\.\d+)?)\s+per\b")


def input_surcharge(input_type: Any, value: Any) -> Fraction:
    if value is None or value is Undefined or not may_surcharge(input_type):
        return Fraction(0)
    if isinstance(input_type, GraphQLNonNull):
        return input_surcharge(input_type.of_type, value)
    if isinstance(input_type, GraphQLList):
        items = value if isinstance(value, list) else [value]
        return sum((input_surcharge(input_type.of_type, item) for item in items), Fraction(0))
    if not isinstance(input_type, GraphQLInputObjectType) or not isinstance(value, dict):
        return Fraction(0)
    total = Fraction(0)
    for field_name, rate in _surcharge_rates(input_type).items():
        field_value = value.get(field_name)
        if field_value is None:
            continue
        count = len(field_value) if isinstance(field_value, list) else 1
        total += rate * count
    for field_name, field in input_type.fields.items():
        if field_name in value:
            total += input_surcharge(field.type, value[field_name])
    return total


def may_surcharge(input_type: Any) -> bool:
    """Can a value of ``input_type`` carry a documented surcharge anywhere inside it?"""
    named = get_named_type(input_type)
    return isinstance(named, GraphQLInputObjectType) and _reaches_surcharge(named)


@cache
def _reaches_surcharge(input_type: GraphQLInputObjectType) -> bool:
    pending = [input_type]
    seen: set[str] = set()
    while pending:  # iterative: input types can be recursive (MenuItemCreateInput)
        current = pending.pop()
        if current.name in seen:
            continue
        seen.add(current.name)
        if _surcharge_rates(current):
            return True
        for field in current.fields.values():
            child = get_named_type(field.type)
            if isinstance(child, GraphQLInputObjectType):
                pending.append(child)
    return False


def mentions_variable(node: ValueNode) -> bool:
    if isinstance(node, VariableNode):
        return True
    if isinstance(node, ListValueNode):
        return any(mentions_variable(value) for value in node.values)
    if isinstance(node, ObjectValueNode):
        return any(mentions_variable(field.value) for field in node.fields)
    return False


@cache
def _surcharge_rates(input_type: GraphQLInputObjectType) -> dict[str, Fraction]:
    rates: dict[str, Fraction] = {}
    for field_name, field in input_type.fields.items():
        match = _COMPLEXITY_HINT.search(field.description or "")
        if match:
            rates[field_name] = Fraction(match.group(1))
    return rates
