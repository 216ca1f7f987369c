"""What a response tells the merchant through HTMX's `HX-Trigger` header."""

import json

from django.http import HttpResponse


def said(response: HttpResponse) -> dict:
    """{"message", "error"}: a toast (error False), or a failure banner (error True; see
    syncer/htmx.py `failure`). When a response carries both, the failure."""
    events = json.loads(response["HX-Trigger"])
    if "failed" in events:
        return {"message": events["failed"]["message"], "error": True}
    return {"message": events["toast"]["message"], "error": False}
