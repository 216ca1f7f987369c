"""The Admin GraphQL endpoint: parse, validate, cost, throttle, execute — shaped like Shopify.

``execute(world, shop_domain=..., body=..., api_version=...)`` never raises: every failure is a
Shopify-shaped JSON body. Static validation errors use graphql-ruby's codes and messages
(``undefinedField``, ``argumentNotAccepted``, ...), variable errors ``INVALID_VARIABLE``, and
every request that got as far as costing carries ``extensions.cost``.

Everything that depends only on the query text (and the schema) is worked out once and kept in
a bounded LRU (:data:`QUERY_CACHE`): the parsed document, the validation result, the operations
with their variable signatures, and a :class:`~shopify_emulator.cost.CostPlan`. A request then
coerces its variables once; the same coerced values feed the cost, the input-size limits and
graphql-core's executor. The world lock is held only while the resolvers run.
"""

from __future__ import annotations

import copy
import json
import logging
import re
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLInputType,
    GraphQLScalarType,
    GraphQLSchema,
    OperationDefinitionNode,
    get_named_type,
    parse,
    print_ast,
    validate,
)
from graphql import (
    execute as graphql_execute,
)
from graphql.execution import default_field_resolver
from graphql.execution.collect_fields import FragmentDetails
from graphql.execution.get_variable_signature import (
    GraphQLVariableSignature,
    get_variable_signature,
)
from graphql.execution.incremental import IncrementalExecutor
from graphql.execution.values import (
    VariableValues,
    VariableValueSource,
    input_is_nested_too_deeply,
    maybe_use_default_value,
)
from graphql.language import (
    ArgumentNode,
    DirectiveNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    Node,
    ObjectFieldNode,
    ObjectValueNode,
    SelectionSetNode,
    VariableDefinitionNode,
)
from graphql.language.parser import MAX_NESTING_DEPTH
from graphql.pyutils import Undefined
from graphql.type import GraphQLEnumType, GraphQLInputObjectType, GraphQLList, GraphQLNonNull
from graphql.utilities import TypeInfo, coerce_input_value, type_from_ast, validate_input_value
from graphql.utilities.type_info import TypeInfoVisitor
from graphql.validation import specified_rules

from shopify_emulator import cost as cost_module
from shopify_emulator import throttle
from shopify_emulator.coercion import Coercer, compile_coercer
from shopify_emulator.ids import is_gid
from shopify_emulator.resolvers import RESOLVERS, resolve_field, resolve_type
from shopify_emulator.resolvers.core import Context
from shopify_emulator.schema import get_schema
from shopify_emulator.state import World

log = logging.getLogger(__name__)

MAX_QUERY_COST = 1000
ROOT_TYPES = ("QueryRoot", "Mutation")


def execute(world: World, *, shop_domain: str, body: dict, api_version: str) -> tuple[int, dict]:
    """Run one Admin GraphQL request for ``shop_domain``. Returns (HTTP status, JSON body)."""
    try:
        return _execute(world, shop_domain=shop_domain, body=body, api_version=api_version)
    except Exception as exc:  # noqa: BLE001 - the endpoint must never raise
        log.exception("emulator GraphQL internal error")
        return 200, {"errors": [_internal_error(exc)]}


def _internal_error(exc: BaseException) -> dict:
    request_id = str(uuid.uuid4())
    return {
        "message": "Internal error. Looks like something went wrong on our end.\n"
        f"Request ID: {request_id} (include this in support requests).",
        "extensions": {
            "code": "INTERNAL_SERVER_ERROR",
            "requestId": request_id,
            "emulatorDetail": f"{type(exc).__name__}: {exc}",
        },
    }


def _execute(world: World, *, shop_domain: str, body: dict, api_version: str) -> tuple[int, dict]:
    if not isinstance(body, dict):
        return 400, {"errors": {"query": "Required parameter missing or invalid"}}
    query = body.get("query")
    if not isinstance(query, str) or not query.strip():
        return 400, {"errors": {"query": "Required parameter missing or invalid"}}
    variables = body.get("variables") or {}
    if isinstance(variables, str):
        try:
            variables = json.loads(variables) or {}
        except ValueError:
            variables = None
    if not isinstance(variables, dict):
        return 400, {"errors": {"variables": "Required parameter missing or invalid"}}
    operation_name = body.get("operationName") or None

    schema = get_schema()
    prepared = QUERY_CACHE.get(schema, query)
    if prepared.errors:
        # A copy: the cached errors must not be changed by whatever is done with the reply.
        return 200, {"errors": copy.deepcopy(prepared.errors)}
    operation, error = prepared.select(operation_name)
    if operation is None:
        return 200, {"errors": [error]}
    variable_errors, coerced = operation.coerce(schema, variables)
    if variable_errors:
        return 200, {"errors": variable_errors}

    # Up to the resolvers nothing reads the world but the shop's existence and its bucket
    # (which has its own lock): costing and the input checks run without the world lock.
    shop = world.shop_get(shop_domain)
    if shop is None:
        return 404, {"errors": "Not Found"}
    bucket = _bucket(world, shop)
    requested = operation.cost.requested(coerced.for_cost)
    if requested > MAX_QUERY_COST:
        return 200, throttle.max_cost_exceeded_response(requested=requested, bucket=bucket)
    if not bucket.try_take(cost=requested):
        return 200, throttle.throttled_response(requested=requested, bucket=bucket)
    size_errors = input_size_errors(schema, operation.node, coerced.provided)
    if size_errors:
        extension = throttle.cost_extension(requested=requested, actual=None, bucket=bucket)
        return 200, {"errors": size_errors, "extensions": {"cost": extension}}

    with world.transaction():
        shop = world.shop_get(shop_domain)
        if shop is None:  # the world was reset since the check above
            return 404, {"errors": "Not Found"}
        context = Context(world=world, shop=shop, api_version=api_version)
        result = _run_operation(
            schema, prepared, operation, context, variables, coerced, operation_name
        )
        for callback in context.after_commit:
            callback()

    # The result is plain response data, detached from the world: no lock from here on.
    payload: dict[str, Any] = {}
    if result.errors:
        payload["errors"] = [format_error(e) for e in result.errors]
    payload["data"] = result.data
    try:
        actual = operation.cost.actual(coerced.for_cost, result.data)
    except Exception:  # noqa: BLE001 - cost is advisory; never fail the request on it
        log.exception("actual cost failed")
        actual = requested
    actual = min(actual, requested)
    if requested > actual:
        bucket.refund(amount=requested - actual)
    payload["extensions"] = {
        "cost": throttle.cost_extension(requested=requested, actual=actual, bucket=bucket)
    }
    return 200, payload


def _bucket(world: World, shop: Any) -> throttle.LeakyBucket:
    with world.lock:  # the registry is created lazily, once per world (and again after reset)
        if world.buckets is None:
            world.buckets = throttle.BucketRegistry()
        registry = world.buckets
    return registry.bucket(shop_domain=shop.domain, plan=shop.plan)


def _run_operation(
    schema: GraphQLSchema,
    prepared: PreparedQuery,
    operation: PreparedOperation,
    context: Context,
    raw_variables: dict,
    coerced: CoercedVariables,
    operation_name: str | None,
) -> ExecutionResult:
    """Execute with the variables :meth:`PreparedOperation.coerce` already coerced.

    graphql-core's ``execute`` would coerce the raw variables all over again (another walk
    over every input item), so the executor is built here from the cached document parts.
    """
    if coerced.values is None:
        return run_document(schema, prepared.document, context, raw_variables, operation_name)
    executor = IncrementalExecutor(
        schema=schema,
        fragment_definitions=prepared.fragment_definitions,
        fragments=prepared.fragments,
        root_value={},
        context_value=context,
        operation=operation.node,
        variable_values=coerced.values,
        field_resolver=resolve_field,
        type_resolver=resolve_type,
        subscribe_field_resolver=default_field_resolver,
    )
    result = executor.execute_operation()
    if not isinstance(result, ExecutionResult):  # only with @defer/@stream or async resolvers
        raise TypeError(f"unexpected execution result {type(result).__name__}")
    return result


def run_document(
    schema: GraphQLSchema,
    document: DocumentNode | None,
    context: Context,
    variables: dict,
    operation_name: str | None,
) -> Any:
    """graphql-core's own ``execute``, which coerces ``variables`` itself (bulk queries)."""
    if document is None:
        raise ValueError("no document to run")
    return graphql_execute(
        schema,
        document,
        root_value={},
        context_value=context,
        variable_values=variables,
        operation_name=operation_name,
        field_resolver=resolve_field,
        type_resolver=resolve_type,
    )


def format_error(error: GraphQLError) -> dict:
    original = error.original_error
    if original is not None and not isinstance(original, GraphQLError):
        log.error("resolver crashed", exc_info=original)
        formatted = _internal_error(original)
        if error.path:
            formatted["path"] = list(error.path)
        return formatted
    formatted = error.formatted
    result: dict[str, Any] = {"message": formatted["message"]}
    if formatted.get("locations") is not None:
        result["locations"] = formatted["locations"]
    if error.extensions:
        result["extensions"] = dict(error.extensions)
    if formatted.get("path") is not None:
        result["path"] = formatted["path"]
    return result


def _parse_error(error: GraphQLError) -> dict:
    location = error.locations[0] if error.locations else None
    detail = error.message.removeprefix("Syntax Error: ")
    message = f"syntax error, {detail[0].lower() + detail[1:]}" if detail else "syntax error"
    result: dict[str, Any] = {"message": message}
    if location is not None:
        result["message"] += f" at [{location.line}, {location.column}]"
        result["locations"] = [{"line": location.line, "column": location.column}]
    result["extensions"] = {"code": "parseError"}
    return result


def _select_operation(
    document: DocumentNode, operation_name: str | None
) -> tuple[OperationDefinitionNode | None, dict]:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name:
        for operation in operations:
            if operation.name and operation.name.value == operation_name:
                return operation, {}
        return None, {"message": f'No operation named "{operation_name}"'}
    if len(operations) == 1:
        return operations[0], {}
    if not operations:
        return None, {"message": "No operations in query document"}
    return None, {
        "message": "An operation name is required",
        "extensions": {"code": "OPERATION_NAME_REQUIRED"},
    }


# --------------------------------------------------------------------------- static validation


def _ancestry(document: DocumentNode) -> dict[int, list[Node]]:
    """id(node) -> [root ... node] for every AST node."""
    chains: dict[int, list[Node]] = {}

    def walk(node: Node, chain: list[Node]) -> None:
        here = [*chain, node]
        chains[id(node)] = here
        for key in node.keys:
            value = getattr(node, key, None)
            if isinstance(value, Node):
                walk(value, here)
            elif isinstance(value, tuple | list):
                for child in value:
                    if isinstance(child, Node):
                        walk(child, here)

    walk(document, [])
    return chains


def _segment(node: Node) -> str | None:
    if isinstance(node, OperationDefinitionNode):
        op = node.operation.value
        return f"{op} {node.name.value}" if node.name else op
    if isinstance(node, FragmentDefinitionNode):
        return f"fragment {node.name.value}"
    if isinstance(node, InlineFragmentNode):
        return f"... on {node.type_condition.name.value}" if node.type_condition else "..."
    if isinstance(node, FragmentSpreadNode):
        return f"... {node.name.value}"
    if isinstance(node, FieldNode):
        return node.alias.value if node.alias else node.name.value
    if isinstance(node, ArgumentNode | ObjectFieldNode):
        return node.name.value
    return None


def _path(chains: dict[int, list[Node]], node: Node) -> list[str]:
    return [seg for seg in (_segment(n) for n in chains.get(id(node), [])) if seg is not None]


def _locations(nodes: list[Node]) -> list[dict]:
    result = []
    for node in nodes:
        if node.loc is not None:
            location = node.loc.source.get_location(node.loc.start)
            result.append({"line": location.line, "column": location.column})
    return result


def _type_map(schema: GraphQLSchema, document: DocumentNode) -> dict[int, dict]:
    """For arguments and input fields: their input type and their owner (field/input object)."""
    info = TypeInfo(schema)
    found: dict[int, dict] = {}

    from graphql.language import Visitor, visit

    class _Recorder(Visitor):
        def enter(self, node: Node, *_: Any) -> None:
            if isinstance(node, ArgumentNode | ObjectFieldNode):
                found[id(node)] = {
                    "input_type": info.get_input_type(),
                    "parent_input_type": info.get_parent_input_type(),
                }

    visit(document, TypeInfoVisitor(info, _Recorder()))
    return found


def static_errors(schema: GraphQLSchema, document: DocumentNode) -> list[dict]:
    """Validate against the schema; convert graphql-core errors to Shopify's shapes."""
    # One pass with every rule settles the usual case (valid) at a 30th of the cost of the
    # rule-by-rule passes, which are only needed to tell which rule reported what.
    if not validate(schema, document, specified_rules):
        return []
    raw: list[tuple[str, GraphQLError]] = []
    for rule in specified_rules:
        for error in validate(schema, document, [rule]):
            raw.append((rule.__name__, error))
    if not raw:
        return []
    raw.sort(key=lambda pair: _first_offset(pair[1]))
    chains = _ancestry(document)
    types: dict[int, dict] | None = None
    result: list[dict] = []
    grouped_required: dict[int, dict] = {}
    for rule, error in raw:
        nodes = list(error.nodes or [])
        node = nodes[0] if nodes else None
        converted: dict[str, Any] | None = None
        message = error.message
        if rule == "FieldsOnCorrectTypeRule" and isinstance(node, FieldNode):
            match = re.search(r"on type '([^']+)'", message)
            type_name = match.group(1) if match else "?"
            name = node.name.value
            converted = {
                "message": f"Field '{name}' doesn't exist on type '{type_name}'",
                "code": "undefinedField",
                "ext": {"typeName": type_name, "fieldName": name},
            }
        elif rule == "KnownArgumentNamesRule" and isinstance(node, ArgumentNode):
            arg = node.name.value
            owner = chains[id(node)][-2]
            if isinstance(owner, DirectiveNode):
                converted = {
                    "message": f"Directive '{owner.name.value}' doesn't accept argument '{arg}'",
                    "code": "argumentNotAccepted",
                    "ext": {"name": owner.name.value, "typeName": "Directive",
                            "argumentName": arg},
                }
            else:
                field_name = owner.name.value if isinstance(owner, FieldNode) else "?"
                converted = {
                    "message": f"Field '{field_name}' doesn't accept argument '{arg}'",
                    "code": "argumentNotAccepted",
                    "ext": {"name": field_name, "typeName": "Field", "argumentName": arg},
                }
        elif rule == "ProvidedRequiredArgumentsRule" and isinstance(
            node, FieldNode | DirectiveNode
        ):
            match = re.search(r"\((\w+):\)", message)
            arg = match.group(1) if match else "?"
            existing = grouped_required.get(id(node))
            if existing is not None:
                existing["args"].append(arg)
                continue
            class_name = "Field" if isinstance(node, FieldNode) else "Directive"
            entry = {"node": node, "args": [arg], "class": class_name, "index": len(result)}
            grouped_required[id(node)] = entry
            result.append(entry)  # placeholder, rendered below
            continue
        elif rule == "NoUnusedVariablesRule" and isinstance(node, VariableDefinitionNode):
            operation = chains[id(node)][-2]
            op_name = _operation_label(operation)
            name = node.variable.name.value
            converted = {
                "message": f"Variable ${name} is declared by {op_name} but not used",
                "code": "variableNotUsed",
                "ext": {"variableName": name},
            }
        elif rule == "NoUndefinedVariablesRule" and node is not None:
            match = re.search(r"Variable '\$(\w+)'", message)
            name = match.group(1) if match else "?"
            operation = next((n for n in chains.get(id(node), [])
                              if isinstance(n, OperationDefinitionNode)), None)
            op_name = _operation_label(operation) if operation else "anonymous query"
            converted = {
                "message": f"Variable ${name} is used by {op_name} but not declared",
                "code": "variableNotDefined",
                "ext": {"variableName": name},
            }
            nodes = nodes[:1]
        elif rule == "KnownDirectivesRule" and isinstance(node, DirectiveNode):
            name = node.name.value
            if "Unknown directive" in message:
                converted = {
                    "message": f"Directive @{name} is not defined",
                    "code": "undefinedDirective",
                    "ext": {"directiveName": name},
                }
            else:
                converted = {
                    "message": f"'@{name}' can't be applied to this location",
                    "code": "directiveCannotBeApplied",
                    "ext": {"targetName": name, "name": name},
                }
        elif rule == "KnownTypeNamesRule" and node is not None:
            match = re.search(r"Unknown type '(\w+)'", message)
            type_name = match.group(1) if match else "?"
            chain = chains.get(id(node), [])
            var_def = next((n for n in chain if isinstance(n, VariableDefinitionNode)), None)
            if var_def is not None:
                converted = {
                    "message": f"{type_name} isn't a defined input type "
                    f"(on ${var_def.variable.name.value})",
                    "code": "variableRequiresValidType",
                    "ext": {"typeName": type_name, "variableName": var_def.variable.name.value},
                }
            else:
                converted = {
                    "message": f"No such type {type_name}, so it can't be a fragment condition",
                    "code": "undefinedType",
                    "ext": {"typeName": type_name},
                }
        elif rule == "ScalarLeafsRule" and node is not None:
            if isinstance(node, SelectionSetNode):
                field_node = chains[id(node)][-2]
                match = re.search(r"since type '([^']+)'", message)
                type_name = (match.group(1) if match else "?").rstrip("!")
                names = [
                    s.name.value for s in node.selections if isinstance(s, FieldNode)
                ]
                field_name = field_node.name.value if isinstance(field_node, FieldNode) else "?"
                converted = {
                    "message": f"Selections can't be made on scalars (field '{field_name}' "
                    f"returns {type_name} but has selections [{', '.join(names)}])",
                    "code": "selectionMismatch",
                    "ext": {"nodeName": f"field '{field_name}'", "typeName": type_name},
                }
                nodes = [field_node]
                node = field_node
            elif isinstance(node, FieldNode):
                match = re.search(r"of type '([^']+)'", message)
                type_name = get_named_type_name(match.group(1) if match else "?")
                name = node.name.value
                converted = {
                    "message": f"Field must have selections (field '{name}' returns {type_name} "
                    f"but has no selections. Did you mean '{name} {{ ... }}'?)",
                    "code": "selectionMismatch",
                    "ext": {"nodeName": f"field '{name}'", "typeName": type_name},
                }
        elif rule == "ValuesOfCorrectTypeRule" and node is not None:
            if types is None:
                types = _type_map(schema, document)
            converted, node = _value_error(message, node, chains, types)
            nodes = [node]
        if converted is None:
            converted = {"message": message, "code": "validationError", "ext": {}}
        entry = {
            "message": converted["message"],
            "locations": _locations(nodes[:1] if nodes else []),
            "path": _path(chains, node) if node is not None else [],
            "extensions": {"code": converted["code"], **converted["ext"]},
        }
        result.append(entry)
    rendered: list[dict] = []
    for entry in result:
        if "args" in entry and "node" in entry:
            node = entry["node"]
            name = node.name.value
            rendered.append(
                {
                    "message": f"{entry['class']} '{name}' is missing required arguments: "
                    + ", ".join(entry["args"]),
                    "locations": _locations([node]),
                    "path": _path(chains, node),
                    "extensions": {
                        "code": "missingRequiredArguments",
                        "className": entry["class"],
                        "name": name,
                        "arguments": ", ".join(entry["args"]),
                    },
                }
            )
        else:
            rendered.append(entry)
    return rendered


def _first_offset(error: GraphQLError) -> int:
    for node in error.nodes or []:
        if node.loc is not None:
            return node.loc.start
    return 0


def get_named_type_name(type_string: str) -> str:
    return type_string.replace("!", "").replace("[", "").replace("]", "")


def _operation_label(operation: Node | None) -> str:
    if isinstance(operation, OperationDefinitionNode):
        if operation.name:
            return operation.name.value
        return f"anonymous {operation.operation.value}"
    return "anonymous query"


def _value_error(
    message: str, node: Node, chains: dict[int, list[Node]], types: dict[int, dict]
) -> tuple[dict, Node]:
    chain = chains.get(id(node), [])
    if isinstance(node, ObjectFieldNode) and "unknown field" in message:
        owner = types.get(id(node), {}).get("parent_input_type")
        owner_name = get_named_type(owner).name if owner is not None else "?"
        return (
            {
                "message": f"InputObject '{owner_name}' doesn't accept argument "
                f"'{node.name.value}'",
                "code": "argumentNotAccepted",
                "ext": {"name": owner_name, "typeName": "InputObject",
                        "argumentName": node.name.value},
            },
            node,
        )
    if isinstance(node, ObjectValueNode) and "required field" in message:
        match = re.search(r"required field '(\w+)'", message)
        field_name = match.group(1) if match else "?"
        owner_match = re.search(r"value of type '([^']+)'", message)
        owner_name = get_named_type_name(owner_match.group(1)) if owner_match else "?"
        parent = chain[-2] if len(chain) >= 2 else node
        owner_type = types.get(id(parent), {}).get("input_type")
        expected = "?"
        named = get_named_type(owner_type) if owner_type is not None else None
        if isinstance(named, GraphQLInputObjectType) and field_name in named.fields:
            expected = str(named.fields[field_name].type)
        return (
            {
                "message": f"Argument '{field_name}' on InputObject '{owner_name}' is required. "
                f"Expected type {expected}",
                "code": "missingRequiredInputObjectAttribute",
                "ext": {"argumentName": field_name, "argumentType": expected,
                        "inputObjectType": owner_name},
            },
            parent,
        )
    # An invalid literal: report it on the nearest argument / input field.
    holder = next(
        (n for n in reversed(chain) if isinstance(n, ArgumentNode | ObjectFieldNode)), None
    )
    if holder is None:
        return {"message": message, "code": "argumentLiteralsIncompatible", "ext": {}}, node
    record = types.get(id(holder), {})
    expected = str(record.get("input_type") or "?")
    value = print_ast(holder.value)
    if isinstance(holder, ObjectFieldNode):
        owner = record.get("parent_input_type")
        owner_name = get_named_type(owner).name if owner is not None else "?"
        kind, owner_label = "InputObject", owner_name
    else:
        owner_node = chain[chain.index(holder) - 1] if holder in chain else None
        if isinstance(owner_node, DirectiveNode):
            kind, owner_label = "Directive", owner_node.name.value
        else:
            kind = "Field"
            owner_label = owner_node.name.value if isinstance(owner_node, FieldNode) else "?"
    return (
        {
            "message": f"Argument '{holder.name.value}' on {kind} '{owner_label}' has an invalid "
            f"value ({value}). Expected type '{expected}'.",
            "code": "argumentLiteralsIncompatible",
            "ext": {"typeName": kind, "argumentName": holder.name.value},
        },
        holder,
    )


# --------------------------------------------------------------------------- input arrays

DEFAULT_INPUT_LIMIT = 250
INPUT_LIMITS = {
    ("productSet", "input", "variants"): 2048,
    ("productVariantsBulkUpdate", "variants"): 2048,
    ("productVariantsBulkCreate", "variants"): 2048,
    ("productSet", "input", "variants", "inventoryQuantities"): 250,
}


def input_size_errors(
    schema: GraphQLSchema, operation: OperationDefinitionNode, variables: dict
) -> list[dict]:
    """Shopify's input array limit (250 unless a field says otherwise), checked up front."""
    root = schema.mutation_type if operation.operation.value == "mutation" else schema.query_type
    if root is None:
        return []
    errors: list[dict] = []
    for selection in operation.selection_set.selections:
        if not isinstance(selection, FieldNode) or selection.name.value not in root.fields:
            continue
        arguments = {
            arg.name.value: _literal(arg.value, variables) for arg in selection.arguments or ()
        }
        found = _oversized(arguments, [selection.name.value])
        if found is not None:
            path, size, limit = found
            errors.append(
                {
                    "message": f"The input array size of {size} is greater than the maximum "
                    f"allowed of {limit}.",
                    "locations": _locations([selection]),
                    "path": path,
                    "extensions": {"code": "MAX_INPUT_SIZE_EXCEEDED"},
                }
            )
    return errors


def _literal(node: Node, variables: dict) -> Any:
    """An argument's value with variables substituted (no coercion: sizes only)."""
    from graphql.language import ListValueNode, VariableNode

    if isinstance(node, VariableNode):
        return variables.get(node.name.value)
    if isinstance(node, ListValueNode):
        return [_literal(v, variables) for v in node.values]
    if isinstance(node, ObjectValueNode):
        return {f.name.value: _literal(f.value, variables) for f in node.fields}
    return None


def _oversized(value: Any, path: list[str]) -> tuple[list[str], int, int] | None:
    # Only dicts and lists can hold an array: scalars are skipped before a path is built for
    # them (a 250-item input has a thousand of them).
    if isinstance(value, dict):
        for key, child in value.items():
            if isinstance(child, dict | list):
                found = _oversized(child, [*path, key])
                if found is not None:
                    return found
    elif isinstance(value, list):
        limit = INPUT_LIMITS.get(tuple(path), DEFAULT_INPUT_LIMIT)
        if len(value) > limit:
            return path, len(value), limit
        for child in value:
            if isinstance(child, dict | list):
                found = _oversized(child, path)
                if found is not None:
                    return found
    return None


# --------------------------------------------------------------------------- variables


def _type_at(type_: Any, path: list) -> Any:
    current = type_
    for key in path:
        while isinstance(current, GraphQLNonNull):
            current = current.of_type
        if isinstance(current, GraphQLList) and isinstance(key, int):
            current = current.of_type
        elif isinstance(current, GraphQLInputObjectType) and key in current.fields:
            current = current.fields[key].type
        else:
            return None
    return current


def _problem(message: str, path: list, var_type: Any) -> dict:
    explanation = message
    problem_path = list(path)
    match = re.search(r"to include required field '(\w+)'", message)
    if match:
        problem_path.append(match.group(1))
        explanation = "Expected value to not be null"
    elif (match := re.search(r"not to include unknown field '(\w+)'", message)) is not None:
        owner = get_named_type(_type_at(var_type, path))
        problem_path.append(match.group(1))
        explanation = f"Field is not defined on {owner.name if owner else '?'}"
    elif "not to be None" in message:
        explanation = "Expected value to not be null"
    elif (match := re.search(r"Value '(.+)' does not exist in '(\w+)' enum", message)):
        enum_type = get_named_type(_type_at(var_type, path))
        values = ", ".join(enum_type.values) if isinstance(enum_type, GraphQLEnumType) else ""
        explanation = f'Expected "{match.group(1)}" to be one of: {values}'
    elif (match := re.search(r"Enum '(\w+)' cannot represent", message)):
        enum_type = get_named_type(_type_at(var_type, path))
        values = ", ".join(enum_type.values) if isinstance(enum_type, GraphQLEnumType) else ""
        explanation = f"Expected value to be one of: {values}"
    elif (match := re.search(r"^(\w+) cannot represent [\w-]+ value: (.*)$", message)):
        explanation = f"Could not coerce value {match.group(2)} to {match.group(1)}"
    return {"path": problem_path, "explanation": explanation}


@dataclass(frozen=True, slots=True)
class PreparedVariable:
    """One declared variable, with what its checks need worked out once."""

    name: str
    definition: VariableDefinitionNode
    type: GraphQLInputType
    type_label: str  # as written in the document, for the error message
    signature: GraphQLVariableSignature | None  # None: graphql-core rejects the declaration
    coerce: Coercer | None  # compile_coercer(type), for the types graphql-core accepts
    has_default: bool
    check_ids: bool  # an ID (or list of IDs): every value must be a global id
    check_depth: bool  # values can nest deeper than graphql-core's executor accepts


@dataclass(frozen=True, slots=True)
class CoercedVariables:
    """A request's variables after :meth:`PreparedOperation.coerce`."""

    provided: dict[str, Any]  # what the client sent, coerced (the input-size limits read this)
    for_cost: dict[str, Any]  # ``provided`` plus declared defaults: what the cost reads
    # What the executor runs with; None when graphql-core must coerce the raw input itself
    # (input nested too deeply, or a declaration it refuses) so that it answers as it always did.
    values: VariableValues | None


@dataclass(frozen=True, slots=True, eq=False)
class PreparedOperation:
    """One operation of a prepared document: its variables and its cost plan."""

    node: OperationDefinitionNode
    variables: tuple[PreparedVariable, ...]
    cost: cost_module.CostPlan
    executable: bool  # False: run through graphql-core's own execute (see CoercedVariables)

    def coerce(self, schema: GraphQLSchema, inputs: dict) -> tuple[list[dict], CoercedVariables]:
        """Validate and coerce ``inputs`` once; errors are Shopify's INVALID_VARIABLE shape.

        One ``coerce_input_value`` walk per variable; the slower diagnostic walk only runs when
        that fails. The result carries graphql-core's ``VariableValues`` (sources + coerced,
        defaults applied) so execution does not coerce again.
        """
        errors: list[dict] = []
        provided: dict[str, Any] = {}
        coerced: dict[str, Any] = {}
        sources: dict[str, VariableValueSource] = {}
        hand_over = not self.executable  # let graphql-core coerce the raw input itself

        def default_failed(_error: GraphQLError, _path: list[str | int]) -> None:
            nonlocal hand_over
            hand_over = True

        for variable in self.variables:
            name = variable.name
            given = name in inputs
            value = inputs.get(name)
            if not given:
                if variable.has_default:
                    if variable.signature is not None:
                        # graphql-core memoizes the coerced default on the signature: a fresh
                        # one gives each request its own default value, as before.
                        fresh = get_variable_signature(schema, variable.definition)
                        if isinstance(fresh, GraphQLVariableSignature):
                            sources[name] = VariableValueSource(fresh)
                            maybe_use_default_value(coerced, name, fresh, default_failed)
                    continue
                if variable.signature is not None:
                    sources[name] = VariableValueSource(variable.signature)
                if not isinstance(variable.type, GraphQLNonNull):
                    continue
            elif variable.signature is not None:
                sources[name] = VariableValueSource(variable.signature, value)
            if variable.coerce is not None:
                result = variable.coerce(value)
            else:
                result = coerce_input_value(value, variable.type)
            problems: list[dict] = []
            if result is Undefined:  # only now is it worth finding out what is wrong

                def collect(
                    err: GraphQLError,
                    path: list,
                    _type: Any = variable.type,
                    _found: list[dict] = problems,
                ) -> None:
                    _found.append(_problem(err.message, path, _type))

                validate_input_value(value, variable.type, collect, True)
            if not problems and variable.check_ids:
                problems.extend(_gid_problems(value, variable.type))
            if problems:
                errors.append(_variable_error(variable, value, problems))
                continue
            if result is not Undefined:
                provided[name] = result
                coerced[name] = result
            if variable.check_depth and input_is_nested_too_deeply(value, variable.type):
                hand_over = True
        if errors:
            return errors, CoercedVariables(provided, {}, None)
        if hand_over:
            # graphql-core coerces (and refuses) on its own; the cost reads what it always did.
            for_cost = cost_module.effective_variables(schema, self.node, provided)
            return [], CoercedVariables(provided, for_cost, None)
        return [], CoercedVariables(provided, coerced, VariableValues(sources, coerced))


def _variable_error(variable: PreparedVariable, value: Any, problems: list[dict]) -> dict:
    details = [
        f"{'.'.join(str(p) for p in problem['path'])} ({problem['explanation']})"
        for problem in problems
        if problem["path"]
    ]
    message = f"Variable ${variable.name} of type {variable.type_label} was provided invalid value"
    if details:
        message += " for " + ", ".join(details)
    return {
        "message": message,
        "locations": _locations([variable.definition]),
        "extensions": {"code": "INVALID_VARIABLE", "value": value, "problems": problems},
    }


@dataclass(frozen=True, slots=True, eq=False)
class PreparedQuery:
    """Everything about one query text that depends neither on the variables nor on the world.

    Shared by every request with that text, from any thread: nothing in it changes after
    :func:`prepare_query` built it (a CostPlan only remembers a number it computed).
    """

    document: DocumentNode | None  # None: it did not parse
    errors: list[dict]  # parse or validation errors: then this is the whole reply
    operations: dict[int, PreparedOperation]  # by id() of the operation's node in ``document``
    fragment_definitions: dict[str, FragmentDefinitionNode]
    fragments: dict[str, FragmentDetails]

    def select(self, operation_name: Any) -> tuple[PreparedOperation | None, dict]:
        """The operation to run (only for a valid document), else the error to answer."""
        if self.document is None or self.errors:
            raise ValueError("select() on a document that did not validate")
        node, error = _select_operation(self.document, operation_name)
        if node is None:
            return None, error
        return self.operations[id(node)], {}


def prepare_query(schema: GraphQLSchema, query: str) -> PreparedQuery:
    """Parse, validate and plan ``query`` (uncached; see :data:`QUERY_CACHE`)."""
    try:
        document = parse(query)
    except GraphQLError as error:
        return PreparedQuery(None, [_parse_error(error)], {}, {}, {})
    errors = static_errors(schema, document)
    if errors:  # the document is kept for faults.throttled_body, which costs it anyway
        return PreparedQuery(document, errors, {}, {}, {})
    fragment_definitions = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    fragments = {name: FragmentDetails(d) for name, d in fragment_definitions.items()}
    # What graphql-core's own execute would do differently from ours: refuse a schema with
    # @defer/@stream, run fragment-variable signatures. Such documents keep using it.
    executable = not (
        schema.get_directive("defer")
        or schema.get_directive("stream")
        or any(d.variable_definitions for d in fragment_definitions.values())
    )
    operations: dict[int, PreparedOperation] = {}
    for node in document.definitions:
        if not isinstance(node, OperationDefinitionNode):
            continue
        variables, all_signed = _prepare_variables(schema, node)
        operations[id(node)] = PreparedOperation(
            node=node,
            variables=variables,
            cost=cost_module.CostPlan(schema, document, node),
            executable=executable and all_signed,
        )
    return PreparedQuery(document, [], operations, fragment_definitions, fragments)


def _prepare_variables(
    schema: GraphQLSchema, operation: OperationDefinitionNode
) -> tuple[tuple[PreparedVariable, ...], bool]:
    prepared: list[PreparedVariable] = []
    all_signed = True
    for definition in operation.variable_definitions or ():
        var_type = type_from_ast(schema, definition.type)
        signed = get_variable_signature(schema, definition)
        signature = signed if isinstance(signed, GraphQLVariableSignature) else None
        all_signed = all_signed and signature is not None
        if var_type is None:  # unknown type: validation reports it, coercion skips it
            continue
        named = get_named_type(var_type)
        prepared.append(
            PreparedVariable(
                name=definition.variable.name.value,
                definition=definition,
                # An input type once validation passed (VariablesAreInputTypesRule).
                type=cast("GraphQLInputType", var_type),
                type_label=print_ast(definition.type),
                signature=signature,
                coerce=compile_coercer(signature.type) if signature is not None else None,
                has_default=definition.default_value is not None,
                check_ids=isinstance(named, GraphQLScalarType) and named.name == "ID",
                check_depth=_may_nest_too_deeply(var_type),
            )
        )
    return tuple(prepared), all_signed


def _may_nest_too_deeply(type_: Any) -> bool:
    """Can a value of ``type_`` trip graphql-core's ``input_is_nested_too_deeply``?

    Only through a recursive input type (MenuItemCreateInput) or absurdly deep lists; for the
    rest the check is a whole extra walk over the input that can never say yes.
    """
    depth = _nesting_depth(type_)
    return depth is None or depth > MAX_NESTING_DEPTH


def _nesting_depth(type_: Any) -> int | None:
    """The deepest nesting level a value of ``type_`` can reach; None when unbounded."""
    if isinstance(type_, GraphQLNonNull):
        return _nesting_depth(type_.of_type)
    if isinstance(type_, GraphQLList):
        inner = _nesting_depth(type_.of_type)
        return None if inner is None else inner + 1
    if isinstance(type_, GraphQLInputObjectType):
        return _input_object_depth(type_)
    return 0


@cache
def _input_object_depth(type_: GraphQLInputObjectType) -> int | None:
    return _object_depth(type_, frozenset())


def _object_depth(type_: GraphQLInputObjectType, visiting: frozenset[str]) -> int | None:
    if type_.name in visiting:
        return None  # recursive: unbounded
    inside = visiting | {type_.name}
    deepest = 0
    for field in type_.fields.values():
        field_type: Any = field.type
        levels = 1
        while isinstance(field_type, GraphQLNonNull | GraphQLList):
            if isinstance(field_type, GraphQLList):
                levels += 1
            field_type = field_type.of_type
        inner = (
            _object_depth(field_type, inside)
            if isinstance(field_type, GraphQLInputObjectType)
            else 0
        )
        if inner is None:
            return None
        deepest = max(deepest, levels + inner)
    return deepest


class QueryCache:
    """A bounded, thread-safe LRU of :class:`PreparedQuery`, keyed by (schema, query text).

    Bounded by entries and by the total length of the cached texts: a prepared document takes
    ~60 bytes per character of its text (graphql-core keeps every token for locations), and
    clients that inline their values send a new text every time. The defaults hold a few
    hundred ordinary documents in at most ~60 MB. A text is prepared outside the lock, so a
    slow first request never holds up the others; two threads preparing the same new text at
    once both do the work, and the first one stored wins.
    """

    def __init__(self, *, max_entries: int = 512, max_chars: int = 1_000_000) -> None:
        self.max_entries = max_entries
        self.max_chars = max_chars
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[GraphQLSchema, str], PreparedQuery] = OrderedDict()
        self._chars = 0
        self.hits = 0
        self.misses = 0

    def get(self, schema: GraphQLSchema, query: str) -> PreparedQuery:
        key = (schema, query)
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return found
            self.misses += 1
        prepared = prepare_query(schema, query)
        if len(query) > self.max_chars:
            return prepared
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                return found
            self._entries[key] = prepared
            self._chars += len(query)
            while len(self._entries) > self.max_entries or self._chars > self.max_chars:
                (_schema, text), _evicted = self._entries.popitem(last=False)
                self._chars -= len(text)
        return prepared

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._chars = 0
            self.hits = self.misses = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


QUERY_CACHE = QueryCache()


def _gid_problems(value: Any, var_type: Any) -> list[dict]:
    if get_named_type(var_type).name != "ID":
        return []
    values = value if isinstance(value, list) else [value]
    problems = []
    for index, one in enumerate(values):
        if one is None or is_gid(one):
            continue
        text = f"Invalid global id '{one}'"
        path = [index] if isinstance(value, list) else []
        problems.append({"path": path, "explanation": text, "message": text})
    return problems


def root_field_supported(type_name: str, field_name: str) -> bool:
    return field_name in RESOLVERS.get(type_name, {})
