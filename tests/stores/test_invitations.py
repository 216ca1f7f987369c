"""Invitations: a source invites a store by email; the code in the email connects that store
once; resend makes a new code, revoke stops it; connecting marks the invitation accepted."""

import re

import pytest
from django.utils import timezone

from stores.connections import ConnectionRefused, connection_create
from stores.invitations import (
    RESEND_GAP,
    InvitationRefused,
    invitation_create,
    invitation_resend,
    invitation_revoke,
)
from stores.models import Connection, Invitation
from tests.stores.factories import ConnectionFactory, DestinationFactory, SourceFactory

pytestmark = pytest.mark.django_db


def code_in(message) -> str:
    found = re.search(r"syncer_invite_[A-Za-z0-9_-]+", message.body)
    assert found, message.body
    return found.group(0)


@pytest.fixture
def source():
    return SourceFactory(name="Bloom Wholesale", email="owner@bloom.example")


def test_an_invitation_emails_a_code_an_install_link_and_the_steps(
        source, mailoutbox, django_capture_on_commit_callbacks, settings):
    # when the source invites an address
    with django_capture_on_commit_callbacks(execute=True):
        invitation, created = invitation_create(source=source, email=" Shop@Retail.Example ",
                                                store_name="Retail  Co")
    # then one email goes to it, from Syncer, answered by the source's owner
    assert created is True
    (email,) = mailoutbox
    assert email.to == ["shop@retail.example"]
    assert email.reply_to == ["owner@bloom.example"]
    assert email.subject == "Bloom Wholesale invites you to sync its products with Syncer"
    assert f"{settings.APP_URL}/auth/install" in email.body
    assert 'choose "Destination"' in email.body
    assert code_in(email) in email.alternatives[0][0]
    invitation.refresh_from_db()
    assert (invitation.status, invitation.store_name, invitation.sent_count) == (
        Invitation.Status.PENDING, "Retail Co", 1)
    # and only the code's hash is kept
    assert code_in(email) not in str(Invitation.objects.values().get())


def test_the_code_connects_that_store_once_and_marks_the_invitation_accepted(
        source, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invitation, _ = invitation_create(source=source, email="shop@retail.example")
    code = code_in(mailoutbox[0])
    destination = DestinationFactory()
    # when the invited store pastes the code
    connection = connection_create(destination=destination, store_key=f" {code} ")
    # then it is connected to the source, and the invitation says so
    assert (connection.source, connection.status) == (source, Connection.Status.CONNECTED)
    invitation.refresh_from_db()
    assert (invitation.status, invitation.connection, invitation.code_hash) == (
        Invitation.Status.ACCEPTED, connection, None)
    assert invitation.accepted_at is not None
    # and the code does not work a second time
    with pytest.raises(ConnectionRefused, match="This invitation code no longer works"):
        connection_create(destination=DestinationFactory(), store_key=code)
    assert Connection.objects.count() == 1


def test_resending_makes_a_new_code_and_the_old_one_stops_working(
        source, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invitation, _ = invitation_create(source=source, email="shop@retail.example")
    first = code_in(mailoutbox[0])
    Invitation.objects.filter(pk=invitation.pk).update(
        last_sent_at=timezone.now() - RESEND_GAP)
    invitation.refresh_from_db()
    # when the source resends it
    with django_capture_on_commit_callbacks(execute=True):
        invitation_resend(invitation=invitation)
    # then a second email carries a new code, and only that one works
    second = code_in(mailoutbox[1])
    assert second != first
    with pytest.raises(ConnectionRefused, match="no longer works"):
        connection_create(destination=DestinationFactory(), store_key=first)
    assert connection_create(destination=DestinationFactory(), store_key=second).source == source
    invitation.refresh_from_db()
    assert invitation.sent_count == 2


def test_a_second_resend_within_a_minute_sends_nothing(
        source, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invitation, _ = invitation_create(source=source, email="shop@retail.example")
    with pytest.raises(InvitationRefused, match="sent less than a minute ago"):
        invitation_resend(invitation=invitation)
    assert len(mailoutbox) == 1


def test_inviting_an_address_again_resends_its_open_invitation(
        source, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first, _ = invitation_create(source=source, email="shop@retail.example")
    Invitation.objects.filter(pk=first.pk).update(last_sent_at=timezone.now() - RESEND_GAP)
    with django_capture_on_commit_callbacks(execute=True):
        again, created = invitation_create(source=source, email="SHOP@retail.example",
                                           store_name="Retail Co")
    assert (again.pk, created) == (first.pk, False)
    assert Invitation.objects.count() == 1
    assert len(mailoutbox) == 2
    assert Invitation.objects.get().store_name == "Retail Co"


def test_a_revoked_invitation_code_connects_nothing_and_is_not_sent_again(
        source, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invitation, _ = invitation_create(source=source, email="shop@retail.example")
    code = code_in(mailoutbox[0])
    # when the source withdraws it
    invitation_revoke(invitation=invitation)
    # then the code connects nothing
    with pytest.raises(ConnectionRefused, match="no longer works"):
        connection_create(destination=DestinationFactory(), store_key=code)
    assert Connection.objects.count() == 0
    assert Invitation.objects.get().status == Invitation.Status.REVOKED
    # and it cannot be resent or revoked again
    with pytest.raises(InvitationRefused, match="This invitation was revoked"):
        invitation_resend(invitation=invitation)
    with pytest.raises(InvitationRefused, match="was already revoked"):
        invitation_revoke(invitation=invitation)
    assert len(mailoutbox) == 1


def test_connecting_with_the_store_key_from_the_invited_address_accepts_it_too(
        source, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invitation, _ = invitation_create(source=source, email="shop@retail.example")
    destination = DestinationFactory(email="Shop@Retail.example")
    connection = connection_create(destination=destination, store_key=source.store_key)
    invitation.refresh_from_db()
    assert (invitation.status, invitation.connection) == (Invitation.Status.ACCEPTED, connection)


def test_an_address_already_connected_is_not_invited(source, mailoutbox):
    ConnectionFactory(source=source, destination=DestinationFactory(
        name="Retail Co", email="shop@retail.example"))
    with pytest.raises(InvitationRefused,
                       match="shop@retail.example is the owner of Retail Co, which is already"):
        invitation_create(source=source, email="shop@retail.example")
    assert Invitation.objects.count() == 0
    assert mailoutbox == []


def test_only_a_source_invites(mailoutbox):
    with pytest.raises(InvitationRefused, match="Only source stores invite"):
        invitation_create(source=DestinationFactory(), email="shop@retail.example")
    assert Invitation.objects.count() == 0


def test_a_failed_send_is_recorded_for_the_source_and_a_later_send_clears_it(
        source, mailoutbox, django_capture_on_commit_callbacks, settings):
    # given a mail server that cannot be reached (nothing listens on port 1)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2
    with django_capture_on_commit_callbacks(execute=True):
        invitation, _ = invitation_create(source=source, email="shop@retail.example")
    invitation.refresh_from_db()
    assert invitation.send_error.startswith("The email could not be sent (")
    assert invitation.sent_count == 0
    # when the server is back and the source resends
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    Invitation.objects.filter(pk=invitation.pk).update(last_sent_at=timezone.now() - RESEND_GAP)
    invitation.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        invitation_resend(invitation=invitation)
    invitation.refresh_from_db()
    assert (invitation.send_error, invitation.sent_count) == ("", 1)
    assert len(mailoutbox) == 1
