"""Input coercion compiled per type: graphql-core's ``coerce_input_value``, minus its dispatch.

``coerce_input_value(value, type_)`` finds out at every level of every value whether the type
is non-null, a list, an input object or a leaf, and looks up the fields' requiredness, output
names and types each time. For a 250-item ``inventorySetQuantities`` that is ~1,100 generic
calls per request. :func:`compile_coercer` makes those decisions once per type and returns a
function that only does the per-value work, in the same order and with the same results:
the coerced value, or ``Undefined`` when the value is invalid (graphql-core's
``validate_input_value`` then says why). The tests compare the two over every input type of
the Admin schema.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    assert_leaf_type,
    is_required_input_field,
)
from graphql.pyutils import Undefined, is_iterable
from graphql.type import scalars
from graphql.utilities.coerce_input_value import coerce_default_value

__all__ = ["Coercer", "compile_coercer"]

Coercer = Callable[[Any], Any]

# Input object coercers, shared by every type that nests them. Compiled under the lock:
# a recursive type (MenuItemCreateInput) is registered before its fields are filled in, so no
# other thread may see it until it is complete.
_lock = threading.RLock()
_objects: dict[GraphQLInputObjectType, Coercer] = {}


def compile_coercer(type_: GraphQLInputType) -> Coercer:
    """A function equivalent to ``lambda value: coerce_input_value(value, type_)``."""
    with _lock:
        return _compile(type_)


def _compile(type_: Any) -> Coercer:
    if isinstance(type_, GraphQLNonNull):
        return _non_null(_compile(type_.of_type))
    if isinstance(type_, GraphQLList):
        return _list(_compile(type_.of_type))
    if isinstance(type_, GraphQLInputObjectType):
        found = _objects.get(type_)
        return found if found is not None else _input_object(type_)
    parse = assert_leaf_type(type_).coerce_input_value
    if parse is scalars.coerce_string or parse is scalars.coerce_id:
        return _str_passthrough(parse)
    if parse is scalars.coerce_int:
        return _int_passthrough(parse)
    return _leaf(parse)


def _non_null(inner: Coercer) -> Coercer:
    def coerce_non_null(value: Any) -> Any:
        if value is None or value is Undefined:
            return Undefined
        return inner(value)

    return coerce_non_null


def _list(item: Coercer) -> Coercer:
    def coerce_list(value: Any) -> Any:
        if value is None or value is Undefined:
            return None
        if type(value) is not list and not is_iterable(value):
            # Lists accept a non-list value as a list of one.
            coerced = item(value)
            return Undefined if coerced is Undefined else [coerced]
        result: list[Any] = []
        append = result.append
        for element in value:
            coerced = item(element)
            if coerced is Undefined:
                return Undefined
            append(coerced)
        return result

    return coerce_list


def _leaf(parse: Callable[[Any], Any]) -> Coercer:
    def coerce_leaf(value: Any) -> Any:
        if value is None or value is Undefined:
            return None
        try:
            return parse(value)
        except Exception:  # noqa: BLE001 - graphql-core: any failure means "invalid"
            return Undefined

    return coerce_leaf


# The built-in scalars hand the commonest inputs back unchanged (a str to String and ID, an int
# in 32-bit range to Int): answer those without the call, leave everything else to them.


def _str_passthrough(parse: Callable[[Any], Any]) -> Coercer:
    fallback = _leaf(parse)

    def coerce_str(value: Any) -> Any:
        if type(value) is str:
            return value
        return fallback(value)

    return coerce_str


def _int_passthrough(parse: Callable[[Any], Any]) -> Coercer:
    fallback = _leaf(parse)
    low, high = scalars.GRAPHQL_MIN_INT, scalars.GRAPHQL_MAX_INT

    def coerce_int(value: Any) -> Any:
        if type(value) is int and low <= value <= high:
            return value
        return fallback(value)

    return coerce_int


def _input_object(type_: GraphQLInputObjectType) -> Coercer:
    fields = type_.fields
    # (name, key in the result, field, required, coercer): filled in below, after this
    # coercer is registered, so a type can contain itself.
    plan: list[tuple[str, str, Any, bool, Coercer]] = []
    out_type = type_.out_type
    one_of = type_.is_one_of

    def coerce_object(value: Any) -> Any:
        if value is None or value is Undefined:
            return None
        if not isinstance(value, dict):
            return Undefined
        defined = 0
        for name, field_value in value.items():
            if field_value is Undefined:
                continue
            defined += 1
            if name not in fields:
                return Undefined
        result: dict[str, Any] = {}
        for name, key, field, required, coerce_field in plan:
            field_value = value.get(name, Undefined)
            if field_value is Undefined:
                if required:
                    return Undefined
                default = coerce_default_value(field)
                if default is not Undefined:
                    result[key] = default
            else:
                coerced = coerce_field(field_value)
                if coerced is Undefined:
                    return Undefined
                result[key] = coerced
        if one_of:
            keys = list(result)
            if defined != 1 or len(keys) != 1 or result[keys[0]] is None:
                return Undefined
        return out_type(result)

    _objects[type_] = coerce_object
    plan.extend(
        (name, field.out_name or name, field, is_required_input_field(field), _compile(field.type))
        for name, field in fields.items()
    )
    return coerce_object
