"""Sending an invitation: a new code, committed, then the email that carries it (stores.
invitations decides what to send; stores.invitation_tasks calls `invitation_send`)."""

from __future__ import annotations

import hashlib
import logging
import secrets

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from stores.models import Invitation, Shop

logger = logging.getLogger(__name__)

Status = Invitation.Status
CODE_PREFIX = "syncer_invite_"


def invitation_code_digest(code: str) -> str:
    return hashlib.sha256(code.strip().encode()).hexdigest()


def source_name(shop: Shop) -> str:
    # One line: the name is the merchant's own text and goes into a mail header.
    return " ".join((shop.name or shop.domain).split())


def invitation_install_url() -> str:
    return settings.SYNCER_INSTALL_URL or f"{settings.APP_URL}{reverse('stores:oauth_install')}"


def invitation_send(*, invitation_id: int) -> bool:
    """Makes a new code and emails it; False if the invitation is no longer open. A send that
    fails records why (shown to the source) and raises, for the task to try again."""
    code = f"{CODE_PREFIX}{secrets.token_urlsafe(16)}"
    with transaction.atomic():
        invitation = (Invitation.objects.select_for_update(of=("self",))
                      .select_related("source").filter(pk=invitation_id).first())
        if invitation is None or invitation.status != Status.PENDING:
            return False
        Invitation.objects.filter(pk=invitation.pk).update(
            code_hash=invitation_code_digest(code), last_sent_at=timezone.now())
    # The code is committed before the email goes: an email never carries a code that was
    # not saved. A send that fails leaves an unused code behind, which no one holds.
    try:
        invitation_email(invitation=invitation, code=code).send()
    except Exception as exc:
        Invitation.objects.filter(pk=invitation.pk).update(
            send_error=f"The email could not be sent ({type(exc).__name__}: {exc}). "
                       "Syncer tries again; check the address.")
        raise
    Invitation.objects.filter(pk=invitation.pk).update(sent_count=F("sent_count") + 1,
                                                       send_error="")
    logger.info("invitation sent source=%s invitation=%s", invitation.source.domain,
                invitation.pk)
    return True


def invitation_email(*, invitation: Invitation, code: str) -> EmailMultiAlternatives:
    source = invitation.source
    context = {"source_name": source_name(source), "source_domain": source.domain,
               "store_name": invitation.store_name, "code": code,
               "install_url": invitation_install_url(),
               "support_email": settings.SYNCER_SUPPORT_EMAIL}
    message = EmailMultiAlternatives(
        subject=f"{source_name(source)} invites you to sync its products with Syncer",
        body=render_to_string("stores/email/invitation.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL, to=[invitation.email],
        reply_to=[source.email] if source.email else None)
    message.attach_alternative(render_to_string("stores/email/invitation.html", context),
                               "text/html")
    return message
