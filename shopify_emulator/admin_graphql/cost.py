"""Shopify's calculated query cost for the Admin GraphQL API, computed without Shopify.

Two numbers, as Shopify reports them in ``extensions.cost``:

* :func:`requested_query_cost` is a static function of the document, its variables and the
  schema. It is what the throttle reserves before anything runs.
* :func:`actual_query_cost` walks the same selections over the response ``data``, sizing
  connections by what was returned, so the difference can be refunded.

The endpoint uses :class:`CostPlan`, the same two numbers for a document prepared once and
variables it has already coerced.

Shopify keeps the exact formulas closed ("running a query is the best way to find out its true
cost"). The rules below reproduce its published numbers in ``cost-calibration.jsonl`` and in
the recorded captures; each rule carries the observation that pins it down.

* Scalars and enums cost 0; an object, interface or union costs 1 plus its selections.
  Interfaces and unions cost the maximum over their possible types (shopify.dev, "Cost
  calculation").
* A connection costs ``2 + floor(2 * ln(max(2, size))) * per_item`` where ``size`` is the
  larger of ``first``/``last`` (0 when neither is given). Shopify says it scales connections
  logarithmically; this curve gives the observed 1/3/4/7/11 multipliers for 1/5/10/50/250.
  Only the items (``nodes``, ``edges``) are multiplied; ``pageInfo`` and edge wrappers are
  free, and each item counts 1 even when its type is otherwise free.
* A few "value object" types that hang off an already loaded record are free
  (:data:`FREE_TYPES`), e.g. ``MoneyBag``/``MoneyV2`` under an order.
* Top-level ``*Count`` fields (return type ``Count``) cost 10; a nested one costs 1.
* A mutation field costs 10 (:data:`MUTATION_COSTS` lists the exceptions), plus any per-input
  "Complexity cost: X per ..." the schema documents, rounded to the nearest point, plus its
  selections, where the payload's own fields are free (the mutation already loaded those
  records). productCreateMedia, like fileCreate, costs 20.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from enum import Enum
from fractions import Fraction
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLBoolean,
    GraphQLField,
    GraphQLInputType,
    GraphQLInt,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValueNode,
    get_named_type,
    is_abstract_type,
    is_leaf_type,
    value_from_ast,
    value_from_ast_untyped,
)
from graphql.execution.values import get_variable_values
from graphql.pyutils import Undefined
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef

from shopify_emulator.admin_graphql.cost_inputs import (
    input_surcharge,
    may_surcharge,
    mentions_variable,
)
from shopify_emulator.admin_graphql.cost_rules import (
    CONNECTION_COST,
    FREE_TYPES,
    MUTATION_COST,
    MUTATION_COSTS,
    OBJECT_COST,
    ROOT_COUNT_COST,
)

__all__ = [
    "CONNECTION_COST",
    "FREE_TYPES",
    "MUTATION_COST",
    "MUTATION_COSTS",
    "OBJECT_COST",
    "ROOT_COUNT_COST",
    "CostPlan",
    "actual_query_cost",
    "connection_multiplier",
    "effective_variables",
    "requested_query_cost",
]

_META_FIELDS: Mapping[str, GraphQLField] = {
    "__schema": SchemaMetaFieldDef,
    "__type": TypeMetaFieldDef,
}


def requested_query_cost(
    *,
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: dict | None,
    operation_name: str | None,
) -> int:
    """The cost Shopify reserves before running ``document`` (its ``requestedQueryCost``).

    ``variables`` may be raw JSON values or already coerced ones. Raises ``ValueError`` when
    ``operation_name`` does not pick exactly one operation.
    """
    return _walker_for(schema, document, variables, operation_name).operation_cost(data=_STATIC)


def actual_query_cost(
    *,
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: dict | None,
    operation_name: str | None,
    data: dict | None,
) -> int:
    """The cost of what ``data`` actually holds (Shopify's ``actualQueryCost``).

    Connections are sized by the items returned, null records stop their subtree, empty lists
    cost nothing. Never more than :func:`requested_query_cost`; equal to it when every
    connection came back full and nothing was null or empty. ``data=None`` (a request-level
    error) is billed like an all-null response. Shopify keeps its refund formula closed and
    tunes it over time; this reproduces 273 of 324 recorded responses exactly.
    """
    walker = _walker_for(schema, document, variables, operation_name)
    return walker.operation_cost(data=data if isinstance(data, dict) else {})


class CostPlan:
    """The costing of one operation, prepared once per document and shared between requests.

    The endpoint coerces a request's variables once and hands the result (defaults applied,
    exactly what :func:`effective_variables` returns) to :meth:`requested` and :meth:`actual`,
    so nothing is coerced again here. A requested cost that read no variable is a property
    of the document alone: it is remembered and every later request gets it without a walk.
    Safe to share between threads: the only state is that one remembered number.
    """

    __slots__ = ("_fragments", "_operation", "_schema", "_static_requested")

    def __init__(
        self, schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode
    ) -> None:
        self._schema = schema
        self._operation = operation
        self._fragments = _fragments_of(document)
        self._static_requested: int | None = None

    def requested(self, variables: dict[str, Any]) -> int:
        """``requestedQueryCost`` for already coerced ``variables``."""
        static = self._static_requested
        if static is not None:
            return static
        walker = _Walker(self._schema, self._operation, self._fragments, variables)
        cost = walker.operation_cost(data=_STATIC)
        if not walker.reads_variables:
            self._static_requested = cost
        return cost

    def actual(self, variables: dict[str, Any], data: dict | None) -> int:
        """``actualQueryCost`` of ``data`` for already coerced ``variables``."""
        walker = _Walker(self._schema, self._operation, self._fragments, variables)
        return walker.operation_cost(data=data if isinstance(data, dict) else {})


def connection_multiplier(size: int | None) -> int:
    """How many times a connection bills its per-item cost when asked for ``size`` items."""
    if not size or size <= 0:
        return 0
    return math.floor(2 * math.log(max(2, size)))


class _Role(Enum):
    """Where a field sits: the operation root, directly in a mutation payload, or deeper."""

    ROOT = "root"
    PAYLOAD = "payload"
    NESTED = "nested"


class _Static:
    """Stands in for response data when costing a request before it runs."""

    def __repr__(self) -> str:
        return "<static>"


_STATIC: Any = _Static()


def _walker_for(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: dict | None,
    operation_name: str | None,
) -> _Walker:
    operation = _select_operation(document, operation_name)
    return _Walker(
        schema,
        operation,
        _fragments_of(document),
        effective_variables(schema, operation, variables or {}),
    )


def _fragments_of(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }


class _Walker:
    def __init__(
        self,
        schema: GraphQLSchema,
        operation: OperationDefinitionNode,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: dict[str, Any],
    ) -> None:
        self.schema = schema
        self.operation = operation
        self.fragments = fragments
        self.variables = variables
        # Set as soon as a value that mentions a variable is evaluated: a walk that never sets
        # it costed the document alone, so CostPlan can keep its result for every request.
        self.reads_variables = False

    def _value(self, value_node: ValueNode, type_: GraphQLInputType) -> Any:
        """``value_node`` under ``type_`` with this request's variables plugged in."""
        if not self.reads_variables and mentions_variable(value_node):
            self.reads_variables = True
        return value_from_ast(value_node, type_, self.variables)

    def operation_cost(self, *, data: Any) -> int:
        if self.operation.operation == OperationType.MUTATION:
            root = self.schema.mutation_type
        elif self.operation.operation == OperationType.SUBSCRIPTION:
            root = self.schema.subscription_type
        else:
            root = self.schema.query_type
        if root is None:
            raise ValueError(f"schema has no {self.operation.operation.value} root type")
        return self._selections_cost([self.operation.selection_set], root, data, role=_Role.ROOT)

    # -- selections -----------------------------------------------------------------------

    def _selections_cost(
        self,
        selection_sets: Sequence[SelectionSetNode],
        parent_type: GraphQLNamedType,
        data: Any,
        *,
        role: _Role,
    ) -> int:
        best = 0
        for object_type in self._concrete_types(parent_type, data):
            fields = self._collect_fields(selection_sets, object_type)
            total = sum(
                self._field_cost(object_type, nodes, _value_at(data, key), role=role)
                for key, nodes in fields.items()
            )
            best = max(best, total)
        return best

    def _concrete_types(self, parent_type: GraphQLNamedType, data: Any) -> Iterable[Any]:
        if not is_abstract_type(parent_type):
            return (parent_type,)
        possible = self.schema.get_possible_types(parent_type)  # type: ignore[arg-type]
        if isinstance(data, dict):
            typename = data.get("__typename")
            narrowed = [t for t in possible if t.name == typename]
            if narrowed:
                return narrowed
        return possible

    def _collect_fields(
        self, selection_sets: Sequence[SelectionSetNode], object_type: GraphQLObjectType
    ) -> dict[str, list[FieldNode]]:
        """Fields that apply to ``object_type``, merged by response key (as execution does)."""
        fields: dict[str, list[FieldNode]] = {}
        pending = list(selection_sets)
        visited_fragments: set[str] = set()
        while pending:
            selection_set = pending.pop(0)
            for selection in selection_set.selections:
                if not self._included(selection):
                    continue
                if isinstance(selection, FieldNode):
                    key = selection.alias.value if selection.alias else selection.name.value
                    fields.setdefault(key, []).append(selection)
                elif isinstance(selection, InlineFragmentNode):
                    condition = selection.type_condition
                    if condition is None or self._applies(condition.name.value, object_type):
                        pending.append(selection.selection_set)
                elif isinstance(selection, FragmentSpreadNode):
                    name = selection.name.value
                    fragment = self.fragments.get(name)
                    if fragment is None or name in visited_fragments:
                        continue
                    visited_fragments.add(name)
                    if self._applies(fragment.type_condition.name.value, object_type):
                        pending.append(fragment.selection_set)
        return fields

    def _applies(self, condition: str, object_type: GraphQLObjectType) -> bool:
        if condition == object_type.name:
            return True
        condition_type = self.schema.get_type(condition)
        return is_abstract_type(condition_type) and self.schema.is_sub_type(
            condition_type,  # type: ignore[arg-type]
            object_type,
        )

    def _included(self, node: Any) -> bool:
        """``@skip``/``@include``; an ``if:`` that does not resolve keeps the field."""
        for directive in node.directives or ():
            name = directive.name.value
            if name not in ("skip", "include"):
                continue
            condition = next(
                (arg.value for arg in directive.arguments or () if arg.name.value == "if"), None
            )
            value = self._value(condition, GraphQLBoolean) if condition is not None else Undefined
            if (name == "skip" and value is True) or (name == "include" and value is False):
                return False
        return True

    # -- fields ---------------------------------------------------------------------------

    def _field_cost(
        self, parent_type: GraphQLObjectType, nodes: list[FieldNode], value: Any, *, role: _Role
    ) -> int:
        name = nodes[0].name.value
        if name == "__typename":
            return 0
        field_def = _META_FIELDS.get(name) if role is _Role.ROOT else None
        if field_def is None:
            field_def = parent_type.fields.get(name)
        if field_def is None:  # not in this schema version; validation reports it elsewhere
            return 0
        field_type = get_named_type(field_def.type)
        if is_leaf_type(field_type):
            return 0
        selection_sets = [node.selection_set for node in nodes if node.selection_set]
        if _is_connection(field_def, field_type):
            return self._connection_cost(field_def, nodes, field_type, selection_sets, value)

        own = self._own_cost(parent_type, name, field_def, field_type, nodes, role=role)
        child_role = _Role.PAYLOAD if role is _Role.ROOT and self._is_mutation else _Role.NESTED
        if value is _STATIC:
            return own + self._selections_cost(selection_sets, field_type, _STATIC, role=child_role)
        if value is None:
            # The lookup happened (Shopify bills a missing record), nothing under it did.
            return own
        if isinstance(value, list):
            elements = list(_flatten(value))
            if not elements and role is not _Role.ROOT:
                return 0
            # A plain list is billed like one element, never per element.
            children = max(
                (
                    self._selections_cost(selection_sets, field_type, element, role=child_role)
                    for element in elements
                    if element is not None
                ),
                default=0,
            )
            return own + children
        return own + self._selections_cost(selection_sets, field_type, value, role=child_role)

    @property
    def _is_mutation(self) -> bool:
        return self.operation.operation == OperationType.MUTATION

    def _own_cost(
        self,
        parent_type: GraphQLObjectType,
        name: str,
        field_def: GraphQLField,
        field_type: GraphQLNamedType,
        nodes: list[FieldNode],
        *,
        role: _Role,
    ) -> int:
        if role is _Role.ROOT and self._is_mutation:
            return MUTATION_COSTS.get(name, MUTATION_COST) + self._input_complexity(
                field_def, nodes[0]
            )
        if role is _Role.PAYLOAD:
            return 0
        if role is _Role.ROOT and field_type.name == "Count":
            return ROOT_COUNT_COST
        if _is_connection_item(parent_type, name):
            return OBJECT_COST
        if field_type.name in FREE_TYPES or _is_edge_type(field_type):
            return 0
        return OBJECT_COST

    def _connection_cost(
        self,
        field_def: GraphQLField,
        nodes: list[FieldNode],
        connection_type: GraphQLNamedType,
        selection_sets: list[SelectionSetNode],
        value: Any,
    ) -> int:
        assert isinstance(connection_type, GraphQLObjectType)
        fields = self._collect_fields(selection_sets, connection_type)
        item_keys = [key for key, fn in fields.items() if fn[0].name.value in ("nodes", "edges")]
        meta_keys = [key for key in fields if key not in item_keys]
        page_size = self._page_size(field_def, nodes[0])

        if value is _STATIC:
            per_item = sum(
                self._field_cost(connection_type, fields[key], _STATIC, role=_Role.NESTED)
                for key in item_keys
            )
            metadata = sum(
                self._field_cost(connection_type, fields[key], _STATIC, role=_Role.NESTED)
                for key in meta_keys
            )
            return CONNECTION_COST + connection_multiplier(page_size) * per_item + metadata

        if not isinstance(value, dict):
            return CONNECTION_COST
        returned = max(
            (len(value[key]) for key in item_keys if isinstance(value.get(key), list)), default=0
        )
        if page_size:
            returned = min(returned, page_size)
        per_item = 0
        for index in range(returned):
            # Bill one item at a time: its node and its edge, as one "row" of the page.
            item_cost = sum(
                self._field_cost(
                    connection_type,
                    fields[key],
                    _nth_as_list(value.get(key), index),
                    role=_Role.NESTED,
                )
                for key in item_keys
            )
            per_item = max(per_item, item_cost)
        metadata = sum(
            self._field_cost(connection_type, fields[key], value.get(key), role=_Role.NESTED)
            for key in meta_keys
        )
        return CONNECTION_COST + connection_multiplier(returned) * per_item + metadata

    # -- arguments ------------------------------------------------------------------------

    def _page_size(self, field_def: GraphQLField, node: FieldNode) -> int | None:
        sizes = [self._int_argument(field_def, node, name) for name in ("first", "last")]
        given = [size for size in sizes if size is not None]
        return max(given) if given else None

    def _int_argument(self, field_def: GraphQLField, node: FieldNode, name: str) -> int | None:
        argument = field_def.args.get(name)
        if argument is None:
            return None
        for argument_node in node.arguments or ():
            if argument_node.name.value == name:
                value = self._value(argument_node.value, GraphQLInt)
                return value if isinstance(value, int) else None
        default = argument.default_value
        return default if isinstance(default, int) else None

    def _input_complexity(self, field_def: GraphQLField, node: FieldNode) -> int:
        """Per-input surcharges the schema documents ("Complexity cost: 0.2 per variant")."""
        total = Fraction(0)
        for argument_node in node.arguments or ():
            argument = field_def.args.get(argument_node.name.value)
            if argument is None or not may_surcharge(argument.type):
                # Its surcharge is 0 whatever the value: do not even look at it (for a 250-item
                # input that is most of the cost of costing, and it keeps the cost static).
                continue
            value = self._value(argument_node.value, argument.type)
            if value is Undefined:
                value = _raw_value(argument_node.value, self.variables)
            total += input_surcharge(argument.type, value)
        # Rounded to the nearest point, not down: productSet with 2 variants and 1 metafield
        # (0.4 + 0.4 = 0.8) is billed 1 over its selections (captures/2025-01/products/
        # product-set-parity.json, 91), while 12 variants (2.4) add 2 and 2.4 + 1.9 adds 4.
        return math.floor(total + Fraction(1, 2))


# -- helpers -------------------------------------------------------------------------------


def _select_operation(
    document: DocumentNode, operation_name: str | None
) -> OperationDefinitionNode:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None:
        if len(operations) == 1:
            return operations[0]
        raise ValueError("operation_name is required when the document has several operations")
    for operation in operations:
        if operation.name is not None and operation.name.value == operation_name:
            return operation
    raise ValueError(f"no operation named {operation_name!r} in the document")


def effective_variables(
    schema: GraphQLSchema, operation: OperationDefinitionNode, variables: dict
) -> dict[str, Any]:
    """Variables with declared defaults applied; raw values when they do not coerce.

    Cost must be computable for any document the endpoint sees, so bad variables never raise
    here; the endpoint reports them as Shopify does.
    """
    result = get_variable_values(schema, operation.variable_definitions or (), variables)
    # graphql-core 3.2 returns the dict itself, 3.3 a VariableValues(sources, coerced) tuple.
    coerced = result if isinstance(result, dict) else getattr(result, "coerced", None)
    if isinstance(coerced, dict):
        return coerced
    merged = dict(variables)
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        if name not in merged and definition.default_value is not None:
            merged[name] = _raw_value(definition.default_value, {})
    return merged


def _raw_value(value_node: Any, variables: Mapping[str, Any]) -> Any:
    return value_from_ast_untyped(value_node, variables)


def _is_connection(field_def: GraphQLField, field_type: GraphQLNamedType) -> bool:
    return (
        isinstance(field_type, GraphQLObjectType)
        and field_type.name.endswith("Connection")
        and ("first" in field_def.args or "last" in field_def.args)
    )


def _is_edge_type(named_type: GraphQLNamedType) -> bool:
    return (
        isinstance(named_type, GraphQLObjectType)
        and named_type.name.endswith("Edge")
        and "node" in named_type.fields
        and "cursor" in named_type.fields
    )


def _is_connection_item(parent_type: GraphQLObjectType, name: str) -> bool:
    if name == "nodes":
        return parent_type.name.endswith("Connection")
    return name == "node" and _is_edge_type(parent_type)


def _value_at(data: Any, key: str) -> Any:
    if data is _STATIC:
        return _STATIC
    if isinstance(data, dict):
        return data.get(key)
    return None


def _nth_as_list(items: Any, index: int) -> list[Any]:
    if isinstance(items, list) and index < len(items):
        return [items[index]]
    return []


def _flatten(value: list[Any]) -> Iterable[Any]:
    for element in value:
        if isinstance(element, list):
            yield from _flatten(element)
        else:
            yield element
