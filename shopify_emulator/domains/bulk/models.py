"""Bulk query operations and their JSONL results."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass
class BulkOperation:
    id: int
    query: str
    created_at: datetime
    type: str = "QUERY"
    status: str = "CREATED"
    error_code: str | None = None
    completed_at: datetime | None = None
    object_count: int = 0
    root_object_count: int = 0
    file_size: int | None = None
    result: bytes | None = None
