import hashlib
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import models
from django.db.models import Q

from syncer.fields import EncryptedTextField

# "syncer_" and four characters of the key's 22 random ones: enough to tell keys apart.
STORE_KEY_PREFIX_LENGTH = 11


def store_key_digest(key: str) -> str:
    """What is stored of a store key, and looked up when a destination types one in. A plain
    SHA-256 is enough: the key carries 128 random bits, so there is nothing to brute-force."""
    return hashlib.sha256(key.encode()).hexdigest()


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
    # Shopify's `currencyFormats.moneyFormat` ("${{amount}}"): how the shop writes amounts.
    money_format = models.CharField(max_length=255, blank=True, default="", db_default="")
    plan_name = models.CharField(max_length=64, blank=True)
    # Shopify's `ianaTimezone`: where the merchant's days start and end (dashboards, reports).
    iana_timezone = models.CharField(max_length=64, blank=True, default="", db_default="")
    # Empty until the merchant chooses on the first-run screen.
    role = models.CharField(max_length=16, choices=Role.choices, blank=True)
    # A source's unique store key, which destinations connect with: only its SHA-256 (hex) and
    # its first characters, for the owner to recognise it, are kept; the full key is shown
    # once, when it is made. Unguessable and rotatable: connections reference shops, so
    # rotating it never breaks them.
    store_key_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    store_key_prefix = models.CharField(max_length=16, blank=True, default="")

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
    def store_key(self) -> str | None:
        """The full store key, known only to the instance that was just given it (a new or
        rotated key, to show once); None on any shop read back from the database."""
        return self.__dict__.get("_store_key")

    @store_key.setter
    def store_key(self, key: str | None) -> None:
        self.__dict__["_store_key"] = key
        self.store_key_hash = store_key_digest(key) if key else None
        self.store_key_prefix = key[:STORE_KEY_PREFIX_LENGTH] if key else ""

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
    # Catalogue control, chosen by the destination per source (products.field_sync says what
    # each field does after import; products.pricing turns a source price into this store's).
    # Variants added or removed at the source are added or removed here too.
    sync_variants = models.BooleanField(default=False)
    # {"title": "sync" | "create" | "ignore", ...}: fields missing take their default.
    field_sync = models.JSONField(default=dict, blank=True, db_default={})
    # The product metafield namespaces that follow the source when metafields are synced.
    metafield_namespaces = models.JSONField(default=list, blank=True, db_default=[])

    class Rounding(models.TextChoices):
        NONE = "none", "No rounding"
        END_99 = "99", "Up to .99"
        END_95 = "95", "Up to .95"
        WHOLE = "whole", "Up to a whole amount"

    class CompareAt(models.TextChoices):
        COPY = "copy", "Copy the source's (converted to your currency)"
        RULE = "rule", "Apply the same price rule"
        CLEAR = "clear", "Leave it empty"

    # The price rule: source price × currency rate, + markup %, + fixed markup, then rounded.
    price_markup_percent = models.DecimalField(max_digits=7, decimal_places=2, default=0,
                                               db_default=0)
    price_markup_fixed = models.DecimalField(max_digits=12, decimal_places=2, default=0,
                                             db_default=0)
    price_rounding = models.CharField(max_length=8, choices=Rounding.choices,
                                      default=Rounding.NONE, db_default=Rounding.NONE)
    # This store's currency per one unit of the source's (None: the same currency, or no
    # conversion), typed in by the merchant on `currency_rate_set_at`.
    currency_rate = models.DecimalField(max_digits=18, decimal_places=8, null=True, blank=True)
    currency_rate_set_at = models.DateTimeField(null=True, blank=True)
    compare_at_rule = models.CharField(max_length=8, choices=CompareAt.choices,
                                       default=CompareAt.COPY, db_default=CompareAt.COPY)

    class MatchBy(models.TextChoices):
        SKU = "sku", "SKU"
        BARCODE = "barcode", "Barcode"

    # What mapping matches a source variant to one of this store's by.
    match_by = models.CharField(max_length=8, choices=MatchBy.choices, default=MatchBy.SKU,
                                db_default=MatchBy.SKU)
    # Units held back from the destination: target = max(source available - safety stock, 0).
    safety_stock = models.PositiveIntegerField(default=0)
    # Stock rules after safety stock (sql.TARGET): show this % of it (rounded down), at most
    # `stock_max` (None: no cap); a product whose stock falls below `draft_below` is set to
    # draft, and back to active once above.
    stock_percent = models.PositiveSmallIntegerField(default=100, db_default=100)
    stock_max = models.PositiveIntegerField(null=True, blank=True)
    draft_below = models.PositiveIntegerField(null=True, blank=True)

    class AutoPush(models.TextChoices):
        STORE = "", "As the store-wide setting"
        ON = "on", "Always push automatically"
        OFF = "off", "Never push automatically"

    # This source's automatic order push, over the destination's store-wide choice.
    auto_push = models.CharField(max_length=4, choices=AutoPush.choices, blank=True,
                                 default=AutoPush.STORE, db_default=AutoPush.STORE)
    # The destination's location that receives the source's stock (None: its primary).
    destination_location_id = models.BigIntegerField(null=True, blank=True)
    # Synced stock still to be set to 0 at locations other than the receiving one
    # (products/inventory/relocation.py): {"<location id>": "all" (a receiving location left)
    # or [destination inventory item ids] (stock found there)}, and when its task was queued
    # (None: not yet). Kept until done, so the inventory sweeper queues a lost task again.
    stock_to_clear = models.JSONField(default=dict, blank=True, db_default={})
    stock_to_clear_since = models.DateTimeField(null=True, blank=True)
    # Destination sales on orders/create (payment pending) too, not only orders/paid.
    count_pending_orders = models.BooleanField(default=False)

    class LinkEnd(models.TextChoices):
        """What the destination's copies of the source's products become when their links end
        (the source deletes a product, blocks the store or uninstalls; the destination
        disconnects or uninstalls): without a link they would keep selling stock the
        destination can no longer get."""

        KEEP = "keep", "Keep them as they are"
        ZERO = "zero", "Set their stock to zero"
        DRAFT = "draft", "Set them to draft"
        DELETE = "delete", "Delete them"

    # Chosen by the destination, per source.
    on_link_end = models.CharField(max_length=8, choices=LinkEnd.choices, default=LinkEnd.ZERO,
                                   db_default=LinkEnd.ZERO)
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
            models.CheckConstraint(condition=Q(stock_percent__gte=1, stock_percent__lte=100),
                                   name="connection_stock_percent_valid"),
            models.CheckConstraint(condition=Q(currency_rate__isnull=True)
                                   | Q(currency_rate__gt=0),
                                   name="connection_currency_rate_positive"),
            models.CheckConstraint(condition=Q(price_markup_percent__gt=-100),
                                   name="connection_markup_above_minus_100"),
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
        # The actor shop uninstalled Syncer: the connection's links ended.
        UNINSTALLED = "uninstalled", "Uninstalled Syncer"

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


class EndedLink(models.Model):
    """A destination product whose link to its source ended, and what the destination's choice
    (Connection.on_link_end) did to it. Made before the link is removed, so it keeps what the
    link knew (the destination product, its variants and inventory items, the receiving
    location); `products.link_end` then applies the choice at the destination and records each
    outcome in the product's history."""

    class Reason(models.TextChoices):
        PRODUCT_DELETED = "product_deleted", "The source deleted the product"
        DISCONNECTED = "disconnected", "You disconnected from the source"
        BLOCKED = "blocked", "The source blocked your store"
        SOURCE_UNINSTALLED = "source_uninstalled", "The source uninstalled Syncer"
        DESTINATION_UNINSTALLED = "dest_uninstalled", "Your store uninstalled Syncer"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        DONE = "done", "Applied"
        KEPT = "kept", "Kept as it was"
        NOT_APPLIED = "not_applied", "Not applied: Syncer was uninstalled"
        FAILED = "failed", "Failed"

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE,
                                   related_name="ended_links")
    reason = models.CharField(max_length=24, choices=Reason.choices)
    choice = models.CharField(max_length=8, choices=Connection.LinkEnd.choices)
    destination_product_id = models.BigIntegerField()
    # The source product's mirror row (products.SourceProduct), for the history.
    source_product_id = models.BigIntegerField(null=True, blank=True)
    title = models.CharField(max_length=512, blank=True)
    variants = models.JSONField(default=list)  # [{"variant": id, "item": id, "label": sku}]
    location_id = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    # A stock write in flight: its key and the quantities it compares, kept so that a retry
    # sends the very same request (Shopify replays it instead of applying it twice).
    idempotency_key = models.CharField(max_length=64, blank=True)
    planned = models.JSONField(default=list, blank=True)  # [{"item": id, "from": quantity}]
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["connection", "status"], name="ended_link_status")]

    def __str__(self) -> str:
        return f"{self.title or self.destination_product_id}: {self.choice} ({self.status})"


class Subscription(models.Model):
    """A Billing API subscription Syncer asked Shopify for. Shopify's word sets its status: the
    read after the merchant comes back from approving, and the app_subscriptions/update webhook
    (the truth). A destination's plan is its one ACTIVE subscription, else the free plan."""

    class Status(models.TextChoices):
        PENDING = "PENDING", "Waiting for approval"
        ACTIVE = "ACTIVE", "Active"
        DECLINED = "DECLINED", "Declined"
        EXPIRED = "EXPIRED", "Expired (not approved in time)"
        FROZEN = "FROZEN", "Frozen (payment due)"
        CANCELLED = "CANCELLED", "Cancelled"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="subscriptions")
    shopify_id = models.BigIntegerField(unique=True)
    name = models.CharField(max_length=255)
    plan = models.CharField(max_length=32)  # a handle of settings.SYNCER_PLANS
    orders_addon = models.BooleanField(default=False)
    price = models.DecimalField(max_digits=10, decimal_places=2)  # plan + add-on, per 30 days
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    test = models.BooleanField(default=True)
    trial_days = models.PositiveIntegerField(default=0)
    current_period_end = models.DateTimeField(null=True, blank=True)
    confirmation_url = models.TextField(blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["shop", "status"], name="subscription_shop_status")]

    def __str__(self) -> str:
        return f"{self.name} ({self.status}) for {self.shop}"


class AlertKind(models.TextChoices):
    STOCK_WRITE_FAILED = "stock_write_failed", "A stock update failed"
    SOURCE_DECREMENT_FAILED = "source_decrement_failed", "A sale could not be taken off the source"
    PUSH_FAILED = "push_failed", "An order push failed"
    BREAKER_HELD = "breaker_held", "Stock held by the zero-stock safety check"
    CONNECTION_ENDED = "connection_ended", "A store disconnected or was blocked"
    ALLOWANCE_REACHED = "allowance_reached", "Plan allowance reached"
    OVERSOLD = "oversold", "Stores sold more than the source has"


class AlertSettings(models.Model):
    """Who hears about what: the store owner's email (Shopify's) plus the extra addresses, for
    every kind not switched off."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, primary_key=True,
                                related_name="alert_settings")
    extra_emails = models.JSONField(default=list, blank=True)
    disabled_kinds = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Alert settings of {self.shop}"


class AlertDigest(models.Model):
    """One row per store and kind: what happened since the last email (count, latest detail),
    and when that email went. Digest, not flood: one email per window, with the count."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="alert_digests")
    kind = models.CharField(max_length=32, choices=AlertKind.choices)
    pending_count = models.PositiveIntegerField(default=0)
    pending_since = models.DateTimeField(null=True, blank=True)
    pending_detail = models.TextField(blank=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    sent_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "kind"],
                                               name="alert_digest_shop_kind")]

    def __str__(self) -> str:
        return f"{self.kind} for {self.shop}: {self.pending_count} waiting"


class Invitation(models.Model):
    """A source's invitation to a destination store: an email with an invitation code that
    connects its holder to this source, once. Only the code's hash is kept (like store keys);
    each send makes a new code, so the latest email is the one that works."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REVOKED = "revoked", "Revoked"

    source = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    store_name = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    code_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    sent_count = models.PositiveIntegerField(default=0)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    # The last send's failure in plain words (cleared by a send that works).
    send_error = models.TextField(blank=True)
    connection = models.ForeignKey(Connection, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="invitations")
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # One open invitation per address: inviting again resends it.
            models.UniqueConstraint(fields=["source", "email"],
                                    condition=models.Q(status="pending"),
                                    name="invitation_one_pending_per_email"),
        ]
        indexes = [models.Index(fields=["source", "status", "-created_at"],
                                name="invitation_source_status")]

    def __str__(self) -> str:
        return f"Invitation from {self.source} to {self.email} ({self.status})"
