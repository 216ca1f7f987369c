"""Connections between stores: connect (with a source's key or an invitation code), block,
unblock, disconnect, reconnect.

Every transition is validated, applied in one short transaction with the row locked, and
recorded as a ConnectionEvent with who did it.
"""

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from stores.alerts import alert_raise_on_commit
from stores.invitations import invitation_is_code, invitation_source_for_code, invitations_accept
from stores.models import (
    AlertKind,
    Connection,
    ConnectionEvent,
    EndedLink,
    Invitation,
    Shop,
    store_key_digest,
)
from stores.registry import links_end_hooks_run

Status = Connection.Status
Action = ConnectionEvent.Action
Reason = EndedLink.Reason


class ConnectionRefused(Exception):
    """A refused connection action; the message is shown to the merchant as it is."""


def _record(*, connection: Connection, action: str, actor: Shop, actor_user_id: str,
            links_removed: int = 0) -> None:
    ConnectionEvent.objects.create(connection=connection, action=action, actor_shop=actor,
                                   actor_user_id=actor_user_id, links_removed=links_removed,
                                   at=timezone.now())


def _links_remove(connection: Connection, *, reason: str) -> int:
    """Removes the connection's product links (their variant links and stock rows go with
    them); returns how many product links, the figure the store's history shows (delete()'s
    own total counts every cascaded row too). The links-end hooks run first: they keep what
    the destination's choice (on_link_end) needs and queue it for after the commit."""
    links_end_hooks_run(connection=connection, reason=reason)
    links = connection.product_links.all()
    removed = links.count()
    links.delete()
    return removed


CODE_GONE = ("This invitation code no longer works: it was replaced by a newer invitation, "
             "withdrawn, or already used. Ask the source store's owner to invite you again.")


def _key_checked(*, destination: Shop, store_key: str) -> str:
    store_key = (store_key or "").strip()
    if destination.role != Shop.Role.DESTINATION:
        raise ConnectionRefused("Only destination stores can connect to a source. "
                              "Switch this store's role to destination first.")
    if not store_key:
        raise ConnectionRefused("Enter the source store's key.")
    return store_key


def _source_of_key(store_key: str) -> Shop:
    # Only the key's hash is stored (stores/services.py: store keys).
    source = Shop.objects.filter(store_key_hash=store_key_digest(store_key)).first()
    if source is None:
        raise ConnectionRefused("No store has this key. Check it with the source store's owner "
                              "(keys change when they are rotated).")
    return source


def _source_checked(*, destination: Shop, source: Shop) -> None:
    if source.pk == destination.pk:
        raise ConnectionRefused("This is your own store's key. Enter the key of the source "
                              "store you want to follow.")
    if source.role != Shop.Role.SOURCE or not source.is_installed:
        raise ConnectionRefused("That store is not a source store you can connect to.")


def _status_checked(*, connection: Connection, source: Shop) -> None:
    if connection.status == Status.CONNECTED:
        raise ConnectionRefused(f"You are already connected to {source.name or source.domain}.")
    if connection.status == Status.BLOCKED:
        raise ConnectionRefused(f"{source.name or source.domain} has blocked your store. "
                              "Ask its owner to unblock it.")


def connection_source_for_key(*, destination: Shop, store_key: str) -> Shop:
    """The source a key or invitation code would connect the destination to, refused exactly as
    `connection_create` would refuse it. Writes nothing and uses nothing up (an invitation code
    still works afterwards): the check before connecting reads it."""
    store_key = _key_checked(destination=destination, store_key=store_key)
    if invitation_is_code(store_key):
        with transaction.atomic():
            invitation = invitation_source_for_code(store_key)
        if invitation is None:
            raise ConnectionRefused(CODE_GONE)
        source = invitation.source
    else:
        source = _source_of_key(store_key)
    _source_checked(destination=destination, source=source)
    existing = Connection.objects.filter(source=source, destination=destination).first()
    if existing is not None:
        _status_checked(connection=existing, source=source)
    return source


def connection_create(*, destination: Shop, store_key: str, actor_user_id: str = "",
                      match_by: str | None = None) -> Connection:
    """A destination connects to a source with the source's key (or reconnects). `match_by`:
    the key its products are mapped by (SKU or barcode), when the merchant chose it while
    checking before connecting."""
    store_key = _key_checked(destination=destination, store_key=store_key)
    if match_by is not None and match_by not in Connection.MatchBy.values:
        raise ConnectionRefused("Choose whether products match by SKU or by barcode.")
    if invitation_is_code(store_key):
        with transaction.atomic():
            invitation = invitation_source_for_code(store_key)
            if invitation is None:
                raise ConnectionRefused(CODE_GONE)
            return _connection_make(destination=destination, source=invitation.source,
                                    actor_user_id=actor_user_id, invitation=invitation,
                                    match_by=match_by)
    return _connection_make(destination=destination, source=_source_of_key(store_key),
                            actor_user_id=actor_user_id, match_by=match_by)


def _connection_make(*, destination: Shop, source: Shop, actor_user_id: str,
                     invitation: Invitation | None = None,
                     match_by: str | None = None) -> Connection:
    _source_checked(destination=destination, source=source)
    now = timezone.now()
    chosen = {"match_by": match_by} if match_by else {}
    with transaction.atomic():
        connection, created = Connection.objects.select_for_update().get_or_create(
            source=source, destination=destination,
            defaults={"status": Status.CONNECTED, "connected_at": now, "last_activity_at": now,
                      **chosen},
        )
        if created:
            _record(connection=connection, action=Action.CONNECTED, actor=destination,
                    actor_user_id=actor_user_id)
            invitations_accept(connection=connection, invitation=invitation)
            return connection
        _status_checked(connection=connection, source=source)
        if match_by:
            connection.match_by = match_by
        connection.status = Status.CONNECTED
        connection.reconnected_at = now
        connection.last_activity_at = now
        connection.resync_required = True
        connection.save()
        _record(connection=connection, action=Action.RECONNECTED, actor=destination,
                actor_user_id=actor_user_id)
        invitations_accept(connection=connection, invitation=invitation)
    return connection


def _name(shop: Shop) -> str:
    return shop.name or shop.domain


def _locked(connection: Connection) -> Connection:
    return Connection.objects.select_for_update().get(pk=connection.pk)


def connection_block(*, connection: Connection, actor: Shop, actor_user_id: str = "") -> Connection:
    """By the source only: the destination loses the catalogue and every link."""
    with transaction.atomic():
        connection = _locked(connection)
        if actor.pk != connection.source_id:
            raise ConnectionRefused("Only the source store can block a store.")
        if connection.status == Status.BLOCKED:
            raise ConnectionRefused("This store is already blocked.")
        removed = _links_remove(connection, reason=Reason.BLOCKED)
        now = timezone.now()
        connection.status = Status.BLOCKED
        connection.blocked_at = now
        connection.last_activity_at = now
        connection.save()
        _record(connection=connection, action=Action.BLOCKED, actor=actor,
                actor_user_id=actor_user_id, links_removed=removed)
        alert_raise_on_commit(shop_ids=[connection.destination_id], kind=AlertKind.CONNECTION_ENDED,
                              detail=f"{_name(actor)} blocked your store: its products and "
                                     "stock no longer sync to you.")
    return connection


def connection_unblock(*, connection: Connection, actor: Shop,
                       actor_user_id: str = "") -> Connection:
    """By the source only; products must be synced again before stock flows."""
    with transaction.atomic():
        connection = _locked(connection)
        if actor.pk != connection.source_id:
            raise ConnectionRefused("Only the source store can unblock a store.")
        if connection.status != Status.BLOCKED:
            raise ConnectionRefused("Only a blocked store can be unblocked.")
        now = timezone.now()
        connection.status = Status.CONNECTED
        connection.unblocked_at = now
        connection.last_activity_at = now
        connection.resync_required = True
        connection.save()
        _record(connection=connection, action=Action.UNBLOCKED, actor=actor,
                actor_user_id=actor_user_id)
    return connection


def connection_disconnect(*, connection: Connection, actor: Shop,
                          actor_user_id: str = "") -> Connection:
    """By the destination only: links go, orders and history stay for reports."""
    with transaction.atomic():
        connection = _locked(connection)
        if actor.pk != connection.destination_id:
            raise ConnectionRefused("Only the destination store can disconnect. "
                                  "A source can block a store instead.")
        if connection.status != Status.CONNECTED:
            raise ConnectionRefused("Only a connected store can be disconnected.")
        removed = _links_remove(connection, reason=Reason.DISCONNECTED)
        now = timezone.now()
        connection.status = Status.DISCONNECTED
        connection.disconnected_at = now
        connection.last_activity_at = now
        connection.save()
        _record(connection=connection, action=Action.DISCONNECTED, actor=actor,
                actor_user_id=actor_user_id, links_removed=removed)
        alert_raise_on_commit(shop_ids=[connection.source_id], kind=AlertKind.CONNECTION_ENDED,
                              detail=f"{_name(actor)} disconnected from your store: your "
                                     "stock no longer syncs to it.")
    return connection


def connection_on_link_end_set(*, connection: Connection, actor: Shop,
                               choice: str) -> Connection:
    """By the destination only: what its copies of this source's products become when their
    links end."""
    if choice not in Connection.LinkEnd.values:
        raise ConnectionRefused("Choose what happens to your products when a link ends.")
    with transaction.atomic():
        connection = _locked(connection)
        if actor.pk != connection.destination_id:
            raise ConnectionRefused("Only the destination store chooses this.")
        connection.on_link_end = choice
        connection.save(update_fields=["on_link_end", "updated_at"])
    return connection


def connections_end_for_uninstall(*, shop: Shop) -> int:
    """app/uninstalled: every link of the shop's connections ends (in either role), with the
    destination's choice applied where the destination can still be reached (the links-end
    hooks decide). The connections keep their status, so a reinstall within Shopify's 48 h
    finds them again (their products must then be synced again). One transaction with the
    shop locked, so a shop/redact handled at the same moment waits for it or comes first.
    Idempotent: a connection whose links are gone is left as it is. Returns how many
    connections had links."""
    reason = (Reason.SOURCE_UNINSTALLED if shop.role == Shop.Role.SOURCE
              else Reason.DESTINATION_UNINSTALLED)
    ended = 0
    with transaction.atomic():
        if not Shop.objects.select_for_update().filter(pk=shop.pk).exists():
            return 0  # erased meanwhile (shop/redact)
        connections = list(Connection.objects.select_for_update().filter(
            Q(source=shop) | Q(destination=shop)).order_by("pk"))
        for connection in connections:
            removed = _links_remove(connection, reason=reason)
            if not removed:
                continue
            connection.resync_required = True
            connection.last_activity_at = timezone.now()
            connection.save(update_fields=["resync_required", "last_activity_at",
                                           "updated_at"])
            _record(connection=connection, action=Action.UNINSTALLED, actor=shop,
                    actor_user_id="", links_removed=removed)
            alert_raise_on_commit(
                shop_ids=[connection.destination_id if connection.source_id == shop.pk
                          else connection.source_id], kind=AlertKind.CONNECTION_ENDED,
                detail=f"{_name(shop)} uninstalled Syncer: stock no longer syncs between you.")
            ended += 1
    return ended
