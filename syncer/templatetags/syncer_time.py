"""`{{ moment|ago }}`: "just now" under a minute, else "3 minutes ago" (Django's timesince
said "0 minutes ago")."""

from datetime import datetime

from django import template

from syncer.health import ago

register = template.Library()


@register.filter(name="ago")
def ago_filter(moment: datetime | None) -> str:
    return ago(moment) if moment is not None else ""
