from django.db.models import Count, Q

from stores.models import Connection, ConnectionEvent, EndedLink, Shop


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
