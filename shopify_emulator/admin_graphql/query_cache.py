"""What depends only on the query text, worked out once per text and kept in a bounded LRU
(:data:`QUERY_CACHE`): the parsed document, its validation result, the operations with
their variable signatures and a :class:`~shopify_emulator.admin_graphql.cost.CostPlan`."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSchema, OperationDefinitionNode, parse
from graphql.execution.collect_fields import FragmentDetails
from graphql.language import FragmentDefinitionNode

from shopify_emulator.admin_graphql import cost as cost_module
from shopify_emulator.admin_graphql.validation import parse_error, select_operation, static_errors
from shopify_emulator.admin_graphql.variables import PreparedOperation, prepare_variables


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
        node, error = select_operation(self.document, operation_name)
        if node is None:
            return None, error
        return self.operations[id(node)], {}


def prepare_query(schema: GraphQLSchema, query: str) -> PreparedQuery:
    """Parse, validate and plan ``query`` (uncached; see :data:`QUERY_CACHE`)."""
    try:
        document = parse(query)
    except GraphQLError as error:
        return PreparedQuery(None, [parse_error(error)], {}, {}, {})
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
        variables, all_signed = prepare_variables(schema, node)
        operations[id(node)] = PreparedOperation(
            node=node,
            variables=variables,
            cost=cost_module.CostPlan(schema, document, node),
            executable=executable and all_signed,
        )
    return PreparedQuery(document, [], operations, fragment_definitions, fragments)


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
