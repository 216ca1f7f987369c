"""The Admin GraphQL schema (2026-07), built once per process."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from graphql import GraphQLSchema, build_schema

_DEFAULT_PATH = Path(__file__).resolve().parent / "schema" / "admin-2026-07.graphql"
_lock = threading.Lock()
_cache: dict[str, GraphQLSchema] = {}


def schema_path() -> Path:
    """Where the SDL lives; ``SHOPIFY_SCHEMA_PATH`` overrides the bundled copy."""
    override = os.environ.get("SHOPIFY_SCHEMA_PATH")
    return Path(override) if override else _DEFAULT_PATH


def get_schema() -> GraphQLSchema:
    """The parsed schema for :func:`schema_path`, cached for the life of the process."""
    path = str(schema_path())
    cached = _cache.get(path)
    if cached is not None:
        return cached
    with _lock:
        cached = _cache.get(path)
        if cached is None:
            sdl = Path(path).read_text(encoding="utf-8")
            cached = build_schema(sdl, assume_valid=True, assume_valid_sdl=True)
            _cache[path] = cached
        return cached
