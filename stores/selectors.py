from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.utils import timezone

from stores.models import Connection, ConnectionEvent, EndedLink, Invitation, Shop
from stores.registry import (
    RECENT_DAYS,
    ConnectionActivity,
    OversoldItem,
    SourceFigures,
    connection_activity_read,
    source_figures_read,
)


def shop_has_connections(*, shop: Shop) -> bool:
    """Connected or blocked ones count; disconnected history does not pin the role."""
    active = [Connection.Status.CONNECTED, Connection.Status.BLOCKED]
    return (shop.connections_as_source.filter(status__in=active).exists()
            or shop.connections_as_destination.filter(status__in=active).exists())


def shop_for_domain(*, domain: str) -> Shop | None:
    return Shop.objects.filter(domain=domain).first()


def connection_counts_for_source(*, source: Shop) -> dict[str, int]:
    counts = dict.fromkeys(Connection.Status.values, 0)
    for row in (Connection.objects.filter(source=source).values("status")
                .annotate(n=Count("pk"))):
        counts[row["status"]] = row["n"]
    return counts


def connection_list_for_source(*, source: Shop, status: str, search: str = ""):
    connections = (Connection.objects.filter(source=source, status=status)
                   .select_related("destination")
                   .annotate(synced_products=Count("product_links", distinct=True))
                   .order_by("-last_activity_at", "-pk"))
    if search:
        connections = connections.filter(Q(destination__name__icontains=search)
                                         | Q(destination__domain__icontains=search))
    return connections


def connection_for_source(*, source: Shop, connection_id: int) -> Connection | None:
    return (Connection.objects.filter(source=source, pk=connection_id)
            .select_related("destination").first())


def _ended(status: str) -> Count:
    return Count("ended_links", filter=Q(ended_links__status=status), distinct=True)


def connection_list_for_destination(*, destination: Shop):
    """With each source's ended links: kept as they were (frozen), failed, still waiting."""
    return (Connection.objects.filter(destination=destination).select_related("source")
            .annotate(synced_products=Count("product_links", distinct=True),
                      links_kept=_ended(EndedLink.Status.KEPT),
                      links_end_failed=_ended(EndedLink.Status.FAILED),
                      links_end_waiting=_ended(EndedLink.Status.PENDING))
            .order_by("status", "-last_activity_at"))


def connection_for_destination(*, destination: Shop, connection_id: int) -> Connection | None:
    return (Connection.objects.filter(destination=destination, pk=connection_id)
            .select_related("source").first())


def connection_history(*, connection: Connection, limit: int = 10) -> list[ConnectionEvent]:
    """The connection's latest events, newest first, with who did them."""
    return list(connection.events.select_related("actor_shop")[:limit])


def connection_synced_product_count(*, connection: Connection) -> int:
    return connection.product_links.count()


def connection_between(*, source: Shop, destination: Shop) -> Connection | None:
    """The two stores' connection in whatever state it is, if they were ever connected."""
    return Connection.objects.filter(source=source, destination=destination).first()


@dataclass(frozen=True)
class SourceSummary:
    """One of a destination's sources on its Home: the connection (with its ended links, as
    connection_list_for_destination counts them) and what syncs through it."""

    connection: Connection
    figures: SourceFigures
    # Its synced variants whose stock is below zero at the source (oversold_read: counted on
    # Home's card, which names them; here so the source's row says so too).
    oversold: int = 0

    @property
    def needs_attention(self) -> bool:
        connection, figures = self.connection, self.figures
        ended_links_trouble = (getattr(connection, "links_end_failed", 0)
                               or getattr(connection, "links_kept", 0))
        return bool(figures.failed_syncs or figures.failed_pushes or figures.hidden_products
                    or ended_links_trouble
                    or (connection.resync_required
                        and connection.status == Connection.Status.CONNECTED))


def destination_sources_summary(*, destination: Shop,
                                oversold: Iterable[OversoldItem] = ()) -> list[SourceSummary]:
    """Home's rows; `oversold`: the destination's oversold items (oversold_read: from connected
    sources only), counted per source."""
    since = timezone.now() - timedelta(days=RECENT_DAYS)
    figures = source_figures_read(destination=destination, since=since)
    oversold_by_source = Counter(item.source_id for item in oversold)
    return [SourceSummary(connection=connection,
                          figures=figures.get(connection.pk, SourceFigures()),
                          oversold=oversold_by_source[connection.source_id])
            for connection in connection_list_for_destination(destination=destination)]


@dataclass(frozen=True)
class StoreActivity:
    """A row of the source's Stores list: the connection and its work over the past
    RECENT_DAYS; `last_at`: its latest moment of any kind, connection events included."""

    connection: Connection
    activity: ConnectionActivity

    @property
    def last_at(self) -> datetime | None:
        moments = [self.connection.last_activity_at, self.activity.last_at]
        return max((moment for moment in moments if moment is not None), default=None)


def store_activity_list(*, connections: list[Connection]) -> list[StoreActivity]:
    since = timezone.now() - timedelta(days=RECENT_DAYS)
    activity = connection_activity_read(connections=connections, since=since)
    return [StoreActivity(connection=connection,
                          activity=activity.get(connection.pk, ConnectionActivity()))
            for connection in connections]


def invitation_list_for_source(*, source: Shop, limit: int = 50) -> list[Invitation]:
    """The source's invitations, open ones first (newest first), then the latest answered."""
    pending = list(Invitation.objects.filter(source=source, status=Invitation.Status.PENDING)
                   .order_by("-created_at")[:limit])
    others = list(Invitation.objects.filter(source=source)
                  .exclude(status=Invitation.Status.PENDING)
                  .select_related("connection__destination")
                  .order_by("-created_at")[:max(limit - len(pending), 0)])
    return pending + others


def invitation_for_source(*, source: Shop, invitation_id: int) -> Invitation | None:
    return Invitation.objects.filter(source=source, pk=invitation_id).first()
