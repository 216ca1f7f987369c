"""Claims: one worker at a time on a push or a fulfilment while it talks to Shopify."""

from datetime import timedelta

from django.db.models import Model, Q
from django.utils import timezone

# How long one worker may hold a push or fulfilment while it talks to Shopify.
CLAIM_FOR = timedelta(minutes=5)


def row_claim(model: type[Model], pk: int) -> bool:
    now = timezone.now()
    return bool(model._default_manager.filter(pk=pk).filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    ).update(claimed_until=now + CLAIM_FOR))


def row_release(model: type[Model], pk: int) -> None:
    model._default_manager.filter(pk=pk).update(claimed_until=None)
