"""The check before connecting, as stores sees it: a key is refused exactly as connecting would
refuse it, and checking uses nothing up (the figures: tests/products/test_precheck.py)."""

import re

import pytest

from stores.connect_check import connect_check_run
from stores.connections import ConnectionRefused, connection_create
from stores.invitations import invitation_create
from stores.models import Connection, Invitation
from tests.stores.factories import ConnectionFactory, DestinationFactory, SourceFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("case", "message"), [
    ("own key", "This is your own store's key. Enter the key of the source store you want to "
                "follow."),
    ("connected", "You are already connected to Bloom."),
    ("blocked", "Bloom has blocked your store. Ask its owner to unblock it."),
    ("not a source", "That store is not a source store you can connect to."),
    ("blank", "Enter the source store's key."),
])
def test_a_key_is_refused_as_connecting_would_refuse_it(case, message):
    destination = DestinationFactory(store_key="syncer_own")
    source = SourceFactory(name="Bloom")
    key = source.store_key
    if case == "own key":
        key = "syncer_own"
    elif case in ("connected", "blocked"):
        ConnectionFactory(source=source, destination=destination,
                          status="connected" if case == "connected" else "blocked")
    elif case == "not a source":
        key = DestinationFactory(store_key="syncer_lapsed").store_key
    elif case == "blank":
        key = "   "
    before = list(Connection.objects.values_list("pk", "status"))
    with pytest.raises(ConnectionRefused) as refused:
        connect_check_run(destination=destination, store_key=key)
    assert str(refused.value) == message
    with pytest.raises(ConnectionRefused) as refused_to_connect:
        connection_create(destination=destination, store_key=key)
    assert str(refused_to_connect.value) == message
    assert list(Connection.objects.values_list("pk", "status")) == before


def test_checking_with_an_invitation_code_uses_nothing_up(
        mailoutbox, django_capture_on_commit_callbacks):
    source = SourceFactory(name="Bloom")
    with django_capture_on_commit_callbacks(execute=True):
        invitation, _ = invitation_create(source=source, email="shop@retail.example")
    code = re.search(r"syncer_invite_[A-Za-z0-9_-]+", mailoutbox[0].body).group(0)
    destination = DestinationFactory()
    # when the invited store pastes the code, the check is for the inviting source
    checked = connect_check_run(destination=destination, store_key=f" {code} ")
    assert checked.source == source
    # and the invitation is still open: the code connects afterwards
    invitation.refresh_from_db()
    assert (invitation.status, Connection.objects.count()) == (Invitation.Status.PENDING, 0)
    connection = connection_create(destination=destination, store_key=code)
    invitation.refresh_from_db()
    assert (invitation.status, invitation.connection) == (Invitation.Status.ACCEPTED, connection)


def test_the_match_key_defaults_to_the_earlier_connections():
    source = SourceFactory()
    connection = ConnectionFactory(source=source, status="disconnected", match_by="barcode")
    checked = connect_check_run(destination=connection.destination, store_key=source.store_key)
    assert checked.check.key == "barcode"
    # and a reconnect keeps the key chosen while checking
    reconnected = connection_create(destination=connection.destination,
                                    store_key=source.store_key, match_by="sku")
    assert (reconnected.pk, reconnected.status, reconnected.match_by) == (
        connection.pk, "connected", "sku")
