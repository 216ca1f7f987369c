from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import models
from django.db.models import Q

from syncer.fields import EncryptedTextField


class Shop(models.Model):
    """A Shopify store that installed Syncer."""

    class Role(models.TextChoices):
        SOURCE = "source", "Source"
        DESTINATION = "destination", "Destination"

    domain = models.CharField(max_length=255, unique=True)  # the myshopify domain
    shopify_id = models.BigIntegerField(null=True, blank=True)
    name = models.CharField(max_length=255, blank=True)
    email = models.EmailField(blank=True)
    currency = models.CharField(max_length=3, blank=True)
    plan_name = models.CharField(max_length=64, blank=True)
    # Shopify's `ianaTimezone`: where the merchant's days start and end (dashboards, reports).
    iana_timezone = models.CharField(max_length=64, blank=True, default="", db_default="")
    # Empty until the merchant chooses on the first-run screen.
    role = models.CharField(max_length=16, choices=Role.choices, blank=True)
    # A source's unique store key; destinations connect with it. Unguessable and rotatable:
    # connections reference shops, so rotating it never breaks them.
    store_key = models.CharField(max_length=64, unique=True, null=True, blank=True)

    access_token = EncryptedTextField(blank=True)
    access_token_expires_at = models.DateTimeField(null=True, blank=True)
    refresh_token = EncryptedTextField(blank=True)
    refresh_token_expires_at = models.DateTimeField(null=True, blank=True)
    scopes = models.TextField(blank=True)

    # Per-shop preferences. Sources: "hidden_tag" (default syncer-hidden), "shared_location_ids"
    # (locations summed into shared stock; empty = all), "decrement_location_id" (where
    # destination sales are taken from; None = the first shared location).
    settings = models.JSONField(default=dict, blank=True)
    installed_at = models.DateTimeField(null=True, blank=True)
    uninstalled_at = models.DateTimeField(null=True, blank=True)
    # Set by shop/redact: the shop's data is gone, only this tombstone row remains.
    redacted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(role__in=["", "source", "destination"]), name="shop_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.domain

    DEFAULT_HIDDEN_TAG = "syncer-hidden"

    @property
    def hidden_tag(self) -> str:
        return (self.settings or {}).get("hidden_tag") or self.DEFAULT_HIDDEN_TAG

    @property
    def is_installed(self) -> bool:
        return self.installed_at is not None and self.uninstalled_at is None

    @property
    def zone(self) -> ZoneInfo:
        """The shop's time zone; UTC until Shopify told us (or if it named an unknown one)."""
        try:
            return ZoneInfo(self.iana_timezone or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("UTC")


class ShopScopeChange(models.Model):
    """What app/scopes_update told us, kept for support."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="scope_changes")
    previous = models.TextField(blank=True)
    current = models.TextField(blank=True)
    changed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.shop} scopes changed at {self.changed_at:%Y-%m-%d %H:%M}"


class CustomerDataRequest(models.Model):
    """customers/data_request: what we hold about a customer, assembled for the store owner."""

    shop_domain = models.CharField(max_length=255)
    shopify_customer_id = models.BigIntegerField(null=True, blank=True)
    email = models.CharField(max_length=255, blank=True)
    data_request_id = models.BigIntegerField(null=True, blank=True)
    orders_requested = models.JSONField(default=list)
    data = models.JSONField(default=list)
    requested_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop_domain", "data_request_id"],
                                    name="customer_data_request_unique"),
        ]

    def __str__(self) -> str:
        return f"Data request {self.data_request_id} from {self.shop_domain}"


class Connection(models.Model):
    """A destination store following a source store."""

    class Status(models.TextChoices):
        CONNECTED = "connected", "Connected"
        BLOCKED = "blocked", "Blocked"
        DISCONNECTED = "disconnected", "Disconnected"

    source = models.ForeignKey(Shop, on_delete=models.CASCADE,
                               related_name="connections_as_source")
    destination = models.ForeignKey(Shop, on_delete=models.CASCADE,
                                    related_name="connections_as_destination")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CONNECTED)
    # After an unblock every product must be synced again before stock flows.
    resync_required = models.BooleanField(default=False)
    # Auto-sync rules, chosen by the destination: what a source products/update may change on
    # linked destination products. Stock always follows; nothing else unless turned on.
    sync_price = models.BooleanField(default=False)
    sync_variants = models.BooleanField(default=False)
    sync_publish_status = models.BooleanField(default=False)
    # Units held back from the destination: target = max(source available - safety stock, 0).
    safety_stock = models.PositiveIntegerField(default=0)
    # The destination's location that receives the source's stock (None: its primary).
    destination_location_id = models.BigIntegerField(null=True, blank=True)
    # Destination sales on orders/create (payment pending) too, not only orders/paid.
    count_pending_orders = models.BooleanField(default=False)
    connected_at = models.DateTimeField()
    blocked_at = models.DateTimeField(null=True, blank=True)
    unblocked_at = models.DateTimeField(null=True, blank=True)
    disconnected_at = models.DateTimeField(null=True, blank=True)
    reconnected_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "destination"],
                                    name="connection_unique_pair"),
            models.CheckConstraint(condition=~Q(source=models.F("destination")),
                                   name="connection_not_self"),
        ]
        indexes = [models.Index(fields=["source", "status"], name="connection_source_status"),
                   models.Index(fields=["destination", "status"], name="connection_dest_status")]

    def __str__(self) -> str:
        return f"{self.destination} → {self.source} ({self.status})"


class ConnectionEvent(models.Model):
    """Who did what to a connection, and when."""

    class Action(models.TextChoices):
        CONNECTED = "connected", "Connected"
        RECONNECTED = "reconnected", "Reconnected"
        BLOCKED = "blocked", "Blocked"
        UNBLOCKED = "unblocked", "Unblocked"
        DISCONNECTED = "disconnected", "Disconnected"

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=16, choices=Action.choices)
    actor_shop = models.ForeignKey(Shop, on_delete=models.SET_NULL, null=True,
                                   related_name="+")
    actor_user_id = models.CharField(max_length=64, blank=True)
    links_removed = models.PositiveIntegerField(default=0)
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_shop} at {self.at:%Y-%m-%d %H:%M}"
