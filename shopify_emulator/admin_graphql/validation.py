"""Static checks of a query document, with graphql-ruby's codes and messages.

``static_errors`` turns graphql-core's validation errors into Shopify's shapes
(``undefinedField``, ``argumentNotAccepted``, ...); ``parse_error`` does the same for a
document that does not parse, and ``select_operation`` picks the operation to run.
"""

from __future__ import annotations

import re
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    get_named_type,
    print_ast,
    validate,
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
from graphql.type import GraphQLInputObjectType
from graphql.utilities import TypeInfo
from graphql.utilities.type_info import TypeInfoVisitor
from graphql.validation import specified_rules


def parse_error(error: GraphQLError) -> dict:
    location = error.locations[0] if error.locations else None
    detail = error.message.removeprefix("Syntax Error: ")
    message = f"syntax error, {detail[0].lower() + detail[1:]}" if detail else "syntax error"
    result: dict[str, Any] = {"message": message}
    if location is not None:
        result["message"] += f" at [{location.line}, {location.column}]"
        result["locations"] = [{"line": location.line, "column": location.column}]
    result["extensions"] = {"code": "parseError"}
    return result


def select_operation(
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


def node_locations(nodes: list[Node]) -> list[dict]:
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
            "locations": node_locations(nodes[:1] if nodes else []),
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
                    "locations": node_locations([node]),
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
