"""The thin task that sends an alert digest (stores.alert_email does the work).

A digest is due up to a window (an hour) after it is raised, longer than a task may wait in a
worker (settings.CELERY_LONGEST_COUNTDOWN_SECONDS: the broker would hand a longer one to another
worker too). So the task waits in hops of at most that long until the digest is due.
"""

from __future__ import annotations

import smtplib
from typing import Any

from celery import Task, shared_task
from django.conf import settings

from stores.alert_email import alert_digest_send

MAX_RETRIES = 8


def alert_digest_send_later(*, digest_id: int, countdown: float) -> None:
    alert_digest_send_task.apply_async(
        args=(digest_id,), countdown=min(countdown, settings.CELERY_LONGEST_COUNTDOWN_SECONDS))


@shared_task(name="stores.alert_tasks.alert_digest_send_task", bind=True, ignore_result=True,
             max_retries=MAX_RETRIES)
def alert_digest_send_task(self: Task[Any, Any], digest_id: int) -> None:
    """Safe to run twice or early: it sends only a digest that is due. A mail server that
    refuses or cannot be reached is tried again with backoff; the digest waits meanwhile."""
    try:
        wait = alert_digest_send(digest_id=digest_id)
    except (smtplib.SMTPException, OSError) as exc:
        countdown = min(30 * 2 ** self.request.retries, settings.CELERY_LONGEST_COUNTDOWN_SECONDS)
        raise self.retry(exc=exc, countdown=countdown) from exc
    # Inline Celery (service tests) cannot wait: the digest waits for its next alert instead.
    if wait > 0 and not self.request.is_eager:
        alert_digest_send_later(digest_id=digest_id, countdown=wait)
