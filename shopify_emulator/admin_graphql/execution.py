"""Running a prepared operation through graphql-core's executor with the emulator's
resolvers, and formatting what went wrong the way Shopify does."""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Any

from graphql import DocumentNode, ExecutionResult, GraphQLError, GraphQLSchema
from graphql import execute as graphql_execute
from graphql.execution import default_field_resolver
from graphql.execution.incremental import IncrementalExecutor

from shopify_emulator.admin_graphql.registry import Context, resolve_field, resolve_type

if TYPE_CHECKING:
    from shopify_emulator.admin_graphql.query_cache import PreparedQuery
    from shopify_emulator.admin_graphql.variables import CoercedVariables, PreparedOperation

log = logging.getLogger(__name__)


def internal_error(exc: BaseException) -> dict:
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


def run_operation(
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
        formatted = internal_error(original)
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
