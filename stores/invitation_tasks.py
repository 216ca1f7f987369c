"""The thin task that sends an invitation email (stores.invitations does the work)."""

from __future__ import annotations

import smtplib
from typing import Any

from celery import Task, shared_task
from django.conf import settings

from stores.invitation_email import invitation_send

MAX_RETRIES = 6


@shared_task(name="stores.invitation_tasks.invitation_send_task", bind=True, ignore_result=True,
             max_retries=MAX_RETRIES)
def invitation_send_task(self: Task[Any, Any], invitation_id: int) -> None:
    """Sends a new code for an open invitation; nothing for a revoked or accepted one. A mail
    server that refuses or cannot be reached is tried again with backoff."""
    try:
        invitation_send(invitation_id=invitation_id)
    except (smtplib.SMTPException, OSError) as exc:
        if self.request.is_eager:
            return  # inline Celery (service tests): the failure is recorded on the invitation
        countdown = min(30 * 2 ** self.request.retries, settings.CELERY_LONGEST_COUNTDOWN_SECONDS)
        raise self.retry(exc=exc, countdown=countdown) from exc
