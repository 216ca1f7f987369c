from django.db.models import Count, Q

from stores.models import Connection, Shop


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


def connection_list_for_destination(*, destination: Shop):
    return (Connection.objects.filter(destination=destination).select_related("source")
            .annotate(synced_products=Count("product_links", distinct=True))
            .order_by("status", "-last_activity_at"))


def connection_for_destination(*, destination: Shop, connection_id: int) -> Connection | None:
    return (Connection.objects.filter(destination=destination, pk=connection_id)
            .select_related("source").first())


def connection_detail_figures(*, connection: Connection) -> dict:
    """Figures for a connected store's page: its products and its orders by fulfilment."""
    from products.selectors import source_product_counts

    products = source_product_counts(source=connection.source)
    figures = {
        "synced_products": connection.product_links.count(),
        "available_products": products["visible"],
        "events": list(connection.events.select_related("actor_shop")[:10]),
    }
    from orders.selectors import order_counts_for_connection

    figures["orders"] = order_counts_for_connection(connection=connection)
    return figures
