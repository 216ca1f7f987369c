"""An operation's variables: their declarations worked out once per document, and each
request's values checked and coerced once (errors in Shopify's INVALID_VARIABLE shape)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from graphql import (
    GraphQLError,
    GraphQLInputType,
    GraphQLScalarType,
    GraphQLSchema,
    OperationDefinitionNode,
    get_named_type,
    print_ast,
)
from graphql.execution.get_variable_signature import (
    GraphQLVariableSignature,
    get_variable_signature,
)
from graphql.execution.values import (
    VariableValues,
    VariableValueSource,
    input_is_nested_too_deeply,
    maybe_use_default_value,
)
from graphql.language import VariableDefinitionNode
from graphql.language.parser import MAX_NESTING_DEPTH
from graphql.pyutils import Undefined
from graphql.type import GraphQLEnumType, GraphQLInputObjectType, GraphQLList, GraphQLNonNull
from graphql.utilities import coerce_input_value, type_from_ast, validate_input_value

from shopify_emulator.admin_graphql import cost as cost_module
from shopify_emulator.admin_graphql.coercion import Coercer, compile_coercer
from shopify_emulator.admin_graphql.validation import node_locations
from shopify_emulator.ids import is_gid


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
        "locations": node_locations([variable.definition]),
        "extensions": {"code": "INVALID_VARIABLE", "value": value, "problems": problems},
    }


def prepare_variables(
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
