"""Control route serving a bulk operation's JSONL result (the URL GraphQL hands out)."""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from shopify_emulator.control_support import (
    ControlError,
    Emulator,
    Route,
)
from shopify_emulator.domains.bulk.operations import bulk_result_jsonl


def do_bulk(*, emulator: Emulator, request: Request, bulk_id: str) -> Response:
    content = bulk_result_jsonl(world=emulator.world, bulk_id=bulk_id)
    if content is None:
        raise ControlError(f"Unknown bulk operation result {bulk_id}", status=404)
    return Response(content, mimetype="application/jsonl")


ROUTES = [
    Route(path="/_emulator/bulk/<bulk_id>.jsonl", name="bulk", methods=("GET",), handler=do_bulk),
]
