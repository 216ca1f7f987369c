"""Invitations: a source invites a store by email; the email carries an invitation code that
connects its holder to this source once, an install link and the steps.

Only the code's hash is stored. The code is made when the email is sent (never earlier, never
in the broker): each send makes a new one, so the latest email is the one that works, and a
revoked invitation's code stops working at once. A store that connects with the code — or with
the source's own key, from the invited address — marks the invitation accepted.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from stores.invitation_email import CODE_PREFIX, invitation_code_digest
from stores.invitation_tasks import invitation_send_task
from stores.models import Connection, Invitation, Shop

Status = Invitation.Status
# A resend within this long of the last one is refused: a double click, not a lost email.
RESEND_GAP = timedelta(seconds=60)
# Open invitations a source may have at once: enough for any real network, not a mailer.
PENDING_LIMIT = 200


class InvitationRefused(Exception):
    """The message is shown to the merchant as it is."""


def invitation_is_code(value: str) -> bool:
    return value.strip().startswith(CODE_PREFIX)


def invitation_create(*, source: Shop, email: str, store_name: str = "") -> tuple[Invitation, bool]:
    """Invites `email` (queues the email once committed). Returns (invitation, created): inviting
    an address that already has an open invitation sends that one again instead."""
    email = email.strip().lower()
    store_name = " ".join(store_name.split())
    if source.role != Shop.Role.SOURCE:
        raise InvitationRefused("Only source stores invite other stores.")
    connected = Connection.objects.filter(source=source, destination__email__iexact=email,
                                          status=Connection.Status.CONNECTED).first()
    if connected is not None:
        name = connected.destination.name or connected.destination.domain
        raise InvitationRefused(f"{email} is the owner of {name}, which is already connected.")
    existing = Invitation.objects.filter(source=source, email=email,
                                         status=Status.PENDING).first()
    if existing is not None:
        if store_name and store_name != existing.store_name:
            Invitation.objects.filter(pk=existing.pk).update(store_name=store_name)
            existing.store_name = store_name
        return invitation_resend(invitation=existing), False
    if Invitation.objects.filter(source=source, status=Status.PENDING).count() >= PENDING_LIMIT:
        raise InvitationRefused(f"You have {PENDING_LIMIT} open invitations. Revoke some that "
                                "were never accepted before inviting more stores.")
    try:
        with transaction.atomic():
            invitation = Invitation.objects.create(source=source, email=email,
                                                   store_name=store_name)
            _send_on_commit(invitation.pk)
    except IntegrityError:  # the same address invited twice at once: the first one stands
        invitation = Invitation.objects.get(source=source, email=email, status=Status.PENDING)
        return invitation, False
    return invitation, True


def _send_on_commit(invitation_id: int) -> None:
    transaction.on_commit(lambda: invitation_send_task.delay(invitation_id))


def invitation_resend(*, invitation: Invitation) -> Invitation:
    """Sends the invitation again (a new code; the earlier email's stops working)."""
    if invitation.status != Status.PENDING:
        raise InvitationRefused(f"This invitation was {invitation.get_status_display().lower()}; "
                                "invite the address again to send a new one.")
    now = timezone.now()
    with transaction.atomic():
        # The gap is checked and the send time taken in one statement: two quick clicks
        # queue one email.
        taken = Invitation.objects.filter(
            pk=invitation.pk, status=Status.PENDING,
        ).exclude(last_sent_at__gt=now - RESEND_GAP).update(last_sent_at=now)
        if not taken:
            raise InvitationRefused(f"The invitation to {invitation.email} was sent less than a "
                                    "minute ago. Give it a moment to arrive.")
        _send_on_commit(invitation.pk)
    invitation.last_sent_at = now
    return invitation


def invitation_revoke(*, invitation: Invitation) -> Invitation:
    """The invitation's code stops working at once; an accepted one is left as it is."""
    revoked = Invitation.objects.filter(pk=invitation.pk, status=Status.PENDING).update(
        status=Status.REVOKED, code_hash=None, revoked_at=timezone.now())
    if not revoked:
        raise InvitationRefused(f"The invitation to {invitation.email} was already "
                                f"{Invitation.objects.get(pk=invitation.pk).status}.")
    invitation.refresh_from_db()
    return invitation


def invitation_source_for_code(code: str) -> Invitation | None:
    """The open invitation an invitation code belongs to (locked: the caller accepts it in
    the same transaction), else None."""
    return (Invitation.objects.select_for_update().select_related("source")
            .filter(code_hash=invitation_code_digest(code), status=Status.PENDING).first())


def invitations_accept(*, connection: Connection, invitation: Invitation | None = None) -> int:
    """Marks accepted the invitation used to connect, and any other open invitation of this
    source to the connecting store's owner address. Returns how many."""
    now = timezone.now()
    accepted = 0
    if invitation is not None:
        accepted += Invitation.objects.filter(pk=invitation.pk, status=Status.PENDING).update(
            status=Status.ACCEPTED, accepted_at=now, connection=connection, code_hash=None)
    email = (connection.destination.email or "").strip()
    if email:
        accepted += Invitation.objects.filter(
            source_id=connection.source_id, email__iexact=email, status=Status.PENDING,
        ).update(status=Status.ACCEPTED, accepted_at=now, connection=connection,
                 code_hash=None)
    return accepted
