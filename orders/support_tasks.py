"""Messages to Syncer support from the Help page: the shop's hourly allowance, the message kept
in Redis under an id until it is sent, and the thin task that sends it by email.

The task takes the message's id, not its text; once the email is out the id is forgotten, so a
task run again finds nothing to send. The message waits in Redis for as long as the task may
retry, like the task itself waits in Redis (the broker).
"""

import json
import uuid
from dataclasses import asdict, dataclass

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string

from stores.models import Shop
from syncer.redis import redis_client

MESSAGES_PER_HOUR = 5
RATE_WINDOW_SECONDS = 3600
# Longer than the task's retries take (8 retries, at most 15 minutes apart).
MESSAGE_KEPT_SECONDS = 2 * 86400
ATTACHMENT_NAME = "diagnostics.txt"


def _rate_key(shop: Shop) -> str:
    return f"syncer:support:sent:{shop.pk}"


def _message_key(message_id: str) -> str:
    return f"syncer:support:message:{message_id}"


@dataclass(frozen=True, slots=True)
class SupportMessage:
    shop_domain: str
    shop_name: str
    name: str
    email: str
    subject: str
    message: str
    diagnostics: str  # "": not attached


class TooManyMessages(Exception):
    """The shop sent its MESSAGES_PER_HOUR already; `wait_seconds` until the window ends."""

    def __init__(self, *, wait_seconds: int) -> None:
        super().__init__(f"Too many messages; try again in {wait_seconds} s")
        self.wait_seconds = wait_seconds


def support_message_submit(*, shop: Shop, name: str, email: str, subject: str, message: str,
                           diagnostics: str) -> str:
    """Counts the message against the shop's hour, keeps it, and queues its sending once the
    current transaction commits. Returns its id. Raises TooManyMessages past the allowance,
    and redis.RedisError when Redis cannot be reached (nothing is queued then)."""
    client = redis_client()
    key = _rate_key(shop)
    # The window starts with the first message of the hour (SET NX) and never moves after.
    with client.pipeline() as pipe:
        pipe.set(key, 0, ex=RATE_WINDOW_SECONDS, nx=True)
        pipe.incr(key)
        pipe.ttl(key)
        _, count, ttl = pipe.execute()
    if count > MESSAGES_PER_HOUR:
        raise TooManyMessages(wait_seconds=max(int(ttl), 60))
    message_id = uuid.uuid4().hex
    payload = SupportMessage(shop_domain=shop.domain, shop_name=shop.name, name=name, email=email,
                             subject=subject, message=message, diagnostics=diagnostics)
    client.set(_message_key(message_id), json.dumps(asdict(payload)), ex=MESSAGE_KEPT_SECONDS)
    transaction.on_commit(lambda: support_message_send_task.delay(message_id), robust=True)
    return message_id


def support_message_email(*, message: SupportMessage) -> EmailMessage:
    """The email support receives: from Syncer, answered to the merchant."""
    context = {"message": message, "attachment_name": ATTACHMENT_NAME}
    email = EmailMessage(
        subject=render_to_string("orders/email/support_subject.txt", context).strip(),
        body=render_to_string("orders/email/support_body.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL, to=[settings.SYNCER_SUPPORT_EMAIL],
        reply_to=[message.email])
    if message.diagnostics:
        email.attach(ATTACHMENT_NAME, message.diagnostics, "text/plain")
    return email


def support_message_send(*, message_id: str) -> bool:
    """Sends the kept message; False when there is none (sent already, or expired)."""
    client = redis_client()
    raw = client.get(_message_key(message_id))
    if raw is None:
        return False
    support_message_email(message=SupportMessage(**json.loads(raw))).send(fail_silently=False)
    client.delete(_message_key(message_id))
    return True


# SMTP errors (smtplib.SMTPException), refused connections and timeouts are all OSError: the
# mail server may take the message on a later try. A bad reply-to cannot get here (the form
# validated it).
@shared_task(ignore_result=True, autoretry_for=(OSError,), retry_backoff=30,
             retry_backoff_max=900, retry_jitter=True, max_retries=8)
def support_message_send_task(message_id: str) -> None:
    support_message_send(message_id=message_id)
