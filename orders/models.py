from dataclasses import dataclass
from decimal import Decimal

from django.db import models
from django.db.models import Q

from orders.payloads import http_url
from stores.models import Shop
from syncer.shopify.ids import gid


@dataclass(frozen=True)
class Badge:
    label: str
    tone: str  # a badge-<tone> class: success, attention, warning, critical or neutral


# Shopify's REST `financial_status` as Shopify's admin shows it.
PAYMENT_BADGES = {
    "paid": Badge("Paid", "success"),
    "partially_refunded": Badge("Partially refunded", "neutral"),
    "refunded": Badge("Refunded", "neutral"),
    "pending": Badge("Payment pending", "warning"),
    "authorized": Badge("Authorized", "attention"),
    "partially_paid": Badge("Partially paid", "warning"),
    "voided": Badge("Voided", "neutral"),
    "expired": Badge("Expired", "neutral"),
}
FULFILLMENT_TONES = {"unfulfilled": "attention", "partial": "warning", "fulfilled": "success"}


class DestinationOrder(models.Model):
    """A destination store's order with at least one line linked to a source."""

    class FulfillmentStatus(models.TextChoices):
        UNFULFILLED = "unfulfilled", "Unfulfilled"
        PARTIAL = "partial", "Partially fulfilled"
        FULFILLED = "fulfilled", "Fulfilled"

    class PushState(models.TextChoices):
        """The order's tab, derived from its pushes (kept in step by the services)."""

        NOT_PUSHED = "not_pushed", "Not pushed"
        PUSHED = "pushed", "Pushed"
        PARTIAL = "partial", "Partially pushed"
        CANCELLED = "cancelled", "Cancelled"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="destination_orders")
    shopify_id = models.BigIntegerField()
    name = models.CharField(max_length=64)  # "#1001"
    order_number = models.BigIntegerField(null=True, blank=True)
    processed_at = models.DateTimeField()
    customer_id = models.BigIntegerField(null=True, blank=True)  # Shopify customer, for redact
    customer_name = models.CharField(max_length=255, blank=True)
    email = models.CharField(max_length=255, blank=True)
    phone = models.CharField(max_length=64, blank=True)
    financial_status = models.CharField(max_length=32, blank=True)
    # What the merchant sees: Shopify's own status (below), or further along if the sources
    # shipped more than the destination has caught up with (orders.push).
    fulfillment_status = models.CharField(max_length=16, choices=FulfillmentStatus.choices,
                                          default=FulfillmentStatus.UNFULFILLED)
    # The order's `fulfillment_status` as the destination's last webhook said.
    shopify_fulfillment_status = models.CharField(
        max_length=16, choices=FulfillmentStatus.choices, default=FulfillmentStatus.UNFULFILLED,
        db_default=FulfillmentStatus.UNFULFILLED)
    tags = models.JSONField(default=list)
    shipping_method = models.CharField(max_length=255, blank=True)
    shipping_address = models.JSONField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    subtotal_price = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    total_price = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    # Money given back: the successful refund transactions of the order's refunds.
    total_refunded = models.DecimalField(max_digits=14, decimal_places=2, default=0,
                                         db_default=0)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    push_state = models.CharField(max_length=16, choices=PushState.choices,
                                  default=PushState.NOT_PUSHED)
    # Set by customers/redact: name, email, phone and address are gone.
    redacted_at = models.DateTimeField(null=True, blank=True)
    # Paid while automatic push applied, and a part it owes is still unpushed (not ready, or
    # held for the other parts): orders.services.order_push_automatic looks again on the
    # order's updates, an unblock and "Push waiting parts". None: it owes the order nothing.
    auto_push_waiting_since = models.DateTimeField(null=True, blank=True)
    shopify_updated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "shopify_id"],
                                               name="destination_order_unique")]
        indexes = [models.Index(fields=["shop", "processed_at"], name="destination_order_date"),
                   models.Index(fields=["shop", "push_state", "-processed_at"],
                                name="destination_order_tab"),
                   models.Index(fields=["shop"], name="destination_order_auto_waiting",
                                condition=Q(auto_push_waiting_since__isnull=False))]

    def __str__(self) -> str:
        return f"{self.shop} {self.name}"

    @property
    def admin_graphql_api_id(self) -> str:
        return gid("Order", self.shopify_id)

    @property
    def net_paid(self) -> Decimal:
        """What the customer paid, less what was refunded."""
        return self.total_price - self.total_refunded

    @property
    def payment_badge(self) -> Badge:
        status = self.financial_status
        return PAYMENT_BADGES.get(status) or Badge(
            status.replace("_", " ").capitalize() or "Unknown", "neutral")

    @property
    def fulfillment_badge(self) -> Badge:
        return Badge(self.get_fulfillment_status_display(),
                     FULFILLMENT_TONES.get(self.fulfillment_status, "neutral"))


class OrderLine(models.Model):
    order = models.ForeignKey(DestinationOrder, on_delete=models.CASCADE, related_name="lines")
    shopify_id = models.BigIntegerField()
    source = models.ForeignKey(Shop, on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="+")  # null: not a synced line
    source_variant_id = models.BigIntegerField(null=True, blank=True)
    destination_variant_id = models.BigIntegerField(null=True, blank=True)
    sku = models.CharField(max_length=255, blank=True)
    title = models.CharField(max_length=512)
    variant_title = models.CharField(max_length=255, blank=True)
    quantity = models.PositiveIntegerField()
    # What is left after refunds and removals: what a push sends.
    current_quantity = models.PositiveIntegerField(default=0)
    price = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    # Line item properties (engraving text, ...): forwarded, except private "_" ones.
    properties = models.JSONField(default=list)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["order", "shopify_id"],
                                               name="order_line_unique")]
        indexes = [models.Index(fields=["order", "source"], name="order_line_source")]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.title}"


class OrderPush(models.Model):
    """One destination order pushed (or to be pushed) to one of its sources.

    The row exists before `orderCreate` is sent; `attempts` > 0 means a call may have reached
    Shopify, so a retry first looks the order up by its tag instead of creating it again.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pushing"
        PUSHED = "pushed", "Pushed"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        MANUAL = "manual", "Manual"
        AUTOMATIC = "automatic", "Automatic"

    order = models.ForeignKey(DestinationOrder, on_delete=models.CASCADE, related_name="pushes")
    source = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="received_pushes")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.MANUAL)
    source_order_id = models.BigIntegerField(null=True, blank=True)
    source_order_name = models.CharField(max_length=64, blank=True)
    source_fulfillment_status = models.CharField(
        max_length=16, choices=DestinationOrder.FulfillmentStatus.choices,
        default=DestinationOrder.FulfillmentStatus.UNFULFILLED)
    shipping_fee = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    contact_email = models.CharField(max_length=255, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    subtotal_price = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    total_price = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # A worker holds the push while it talks to Shopify; a claim that outlives this is stale.
    claimed_until = models.DateTimeField(null=True, blank=True)
    pushed_at = models.DateTimeField(null=True, blank=True)
    # The destination cancelled after the push: the source order got a note and a tag.
    cancel_flagged_at = models.DateTimeField(null=True, blank=True)
    source_cancelled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["order", "source"],
                                               name="order_push_unique")]
        indexes = [models.Index(fields=["source", "status", "pushed_at"],
                                name="order_push_source"),
                   models.Index(fields=["source", "source_order_id"],
                                name="order_push_source_order")]

    def __str__(self) -> str:
        return f"{self.order} → {self.source} ({self.status})"

    @property
    def source_order_gid(self) -> str:
        return gid("Order", self.source_order_id)


class OrderPushLine(models.Model):
    """A destination line as it was sent to the source; maps source line ↔ destination line."""

    push = models.ForeignKey(OrderPush, on_delete=models.CASCADE, related_name="lines")
    line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="push_lines")
    source_line_item_id = models.BigIntegerField(null=True, blank=True)
    quantity = models.PositiveIntegerField()
    price = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    fulfilled_quantity = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["push", "line"],
                                               name="order_push_line_unique")]
        # The dashboards sum today's pushed lines from the pushes; covering the sums keeps
        # that a walk over this index instead of a scan of every line ever pushed.
        indexes = [models.Index(fields=["push"], include=["line", "quantity", "price"],
                                name="order_push_line_sums")]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.line.title}"


class OrderFulfillment(models.Model):
    """A source fulfilment of a pushed order, and what we made of it on the destination."""

    class Status(models.TextChoices):
        PENDING = "pending", "Syncing"
        SYNCED = "synced", "Synced"
        SKIPPED = "skipped", "Nothing to fulfil"
        FAILED = "failed", "Failed"

    push = models.ForeignKey(OrderPush, on_delete=models.CASCADE, related_name="fulfillments")
    source_fulfillment_id = models.BigIntegerField()
    source_status = models.CharField(max_length=16, blank=True)  # success | cancelled | ...
    lines = models.JSONField(default=list)  # [{"source_line_item_id": int, "quantity": int}]
    tracking_company = models.CharField(max_length=255, blank=True)
    tracking_number = models.CharField(max_length=255, blank=True)
    tracking_url = models.CharField(max_length=2048, blank=True)
    # Why the source's tracking URL was left out (only http(s) links are kept), or "".
    tracking_url_refused = models.CharField(max_length=255, blank=True, default="",
                                            db_default="")
    # What the destination shows now; differs from tracking_* until the sync catches up.
    synced_tracking = models.JSONField(null=True, blank=True)
    destination_fulfillment_ids = models.JSONField(default=list)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    claimed_until = models.DateTimeField(null=True, blank=True)
    source_updated_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["push", "source_fulfillment_id"],
                                               name="order_fulfillment_unique")]

    def __str__(self) -> str:
        return f"Fulfilment {self.source_fulfillment_id} of {self.push}"

    @property
    def tracking(self) -> dict[str, str]:
        return {"company": self.tracking_company, "number": self.tracking_number,
                "url": self.tracking_url}

    @property
    def tracking_link(self) -> str:
        """The tracking URL to render as a link: http(s) only, whatever a row holds."""
        return http_url(self.tracking_url)


class OrderSettings(models.Model):
    """A destination store's order push settings."""

    class ContactEmail(models.TextChoices):
        CUSTOMER = "customer", "The customer's email"
        STORE = "store", "My store's email"
        CUSTOM = "custom", "Another email address"

    class PartialPush(models.TextChoices):
        """An order with items from several sources, when automatic push is on for them."""

        EACH = "each", "Push each source's part as soon as it can be pushed"
        ALL = "all", "Wait until every source's part can be pushed, then push them together"

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="order_settings")
    # Store-wide; a source's own choice (Connection.auto_push) wins over it.
    auto_push = models.BooleanField(default=False)
    partial_push = models.CharField(max_length=8, choices=PartialPush.choices,
                                    default=PartialPush.EACH, db_default=PartialPush.EACH)
    contact_email_method = models.CharField(max_length=16, choices=ContactEmail.choices,
                                            default=ContactEmail.STORE)
    custom_email = models.EmailField(blank=True)
    # Off: every push costs $0 shipping, or the fee typed in when pushing by hand.
    shipping_rules_enabled = models.BooleanField(default=False)
    notify_customer = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(
            condition=~Q(contact_email_method="custom") | ~Q(custom_email=""),
            name="order_settings_custom_email_present")]

    def __str__(self) -> str:
        return f"Order settings of {self.shop}"


class ShippingRateRule(models.Model):
    """A flat shipping fee for pushed orders whose subtotal reaches `min_subtotal`.

    The rule with the highest threshold reached wins; rules for a source beat rules for all.
    """

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="shipping_rules")
    source = models.ForeignKey(Shop, on_delete=models.CASCADE, null=True, blank=True,
                               related_name="+")  # null: every source
    min_subtotal = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    fee = models.DecimalField(max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["source_id", "min_subtotal"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "source", "min_subtotal"],
                                    name="shipping_rule_unique", nulls_distinct=False),
            models.CheckConstraint(condition=Q(fee__gte=0) & Q(min_subtotal__gte=0),
                                   name="shipping_rule_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.fee} from {self.min_subtotal}"


# --- dashboard roll-ups -----------------------------------------------------------------------
# Built by orders.stats for days that are over, so a dashboard over months reads a few thousand
# small rows instead of every push and line; the current day is always read live. A day is in
# the source's time zone (`zone`, its IANA name), so a changed zone simply builds new rows.


class StatSpan(models.TextChoices):
    """What a roll-up row covers: one day, one whole week (Monday to Sunday, `day` = its
    Monday) or one whole month (`day` = its 1st)."""

    DAY = "day", "Day"
    WEEK = "week", "Week"
    MONTH = "month", "Month"


class SourceDayStat(models.Model):
    """Orders a source received on one day and their revenue, and the units its variants sold
    that day (every paid destination sale, pushed or not) at its prices: from one
    destination, or (destination NULL) all. The units and sales are the day's
    SourceProductDayStat rows summed over the variants. Per destination there are also rows
    for whole weeks and months (`span`, `day` as for SourceProductDayStat), so the stores'
    figures over a year read ~12 months and a few weeks and days per store, not 365 days."""

    source = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    destination = models.ForeignKey(Shop, on_delete=models.CASCADE, null=True, blank=True,
                                    related_name="+")
    zone = models.CharField(max_length=64)
    span = models.CharField(max_length=5, choices=StatSpan.choices, db_default=StatSpan.DAY)
    day = models.DateField()
    orders = models.PositiveIntegerField()
    revenue = models.DecimalField(max_digits=16, decimal_places=2)
    # (0 in the database too: a day with pushes and no sale, or the reverse, has 0 of the other)
    units = models.PositiveIntegerField(db_default=0)
    sales = models.DecimalField(max_digits=16, decimal_places=2, db_default=0)

    class Meta:
        # Not unique: a provisional day gets a row per refresh; reads sum them.
        indexes = [models.Index(fields=["source", "zone", "destination", "span", "day"],
                                include=["orders", "revenue", "units", "sales"],
                                name="source_day_stat_read"),
                   # Every store's rows of a span and days at once (Sales by store).
                   models.Index(fields=["source", "zone", "span", "day"],
                                include=["destination", "orders", "revenue", "units", "sales"],
                                condition=models.Q(destination__isnull=False),
                                name="source_day_stat_stores")]

    def __str__(self) -> str:
        return f"{self.source_id}/{self.destination_id or 'all'} {self.day}: {self.orders}"


class SourceProductDayStat(models.Model):
    """Units sold of one source variant and their revenue at the source's prices (every paid
    destination sale, products.DestinationSale, pushed or not) on one day — or one whole week
    (Monday to Sunday, `day` = its Monday) or month (`day` = its 1st), so long ranges read a row
    per week or month — per destination or (NULL) all of them."""

    Span = StatSpan

    source = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    destination = models.ForeignKey(Shop, on_delete=models.CASCADE, null=True, blank=True,
                                    related_name="+")
    zone = models.CharField(max_length=64)
    span = models.CharField(max_length=5, choices=Span.choices, default=Span.DAY)
    day = models.DateField()
    source_variant_id = models.BigIntegerField(null=True, blank=True)
    units = models.PositiveIntegerField()
    revenue = models.DecimalField(max_digits=16, decimal_places=2)

    class Meta:
        indexes = [models.Index(fields=["source", "zone", "destination", "span", "day"],
                                include=["source_variant_id", "units", "revenue"],
                                name="source_product_day_stat_read")]

    def __str__(self) -> str:
        return f"{self.source_variant_id} {self.day}: {self.units}"


class SourceStatsClosed(models.Model):
    """How far a source's roll-ups go: every day up to `closed_through` (inclusive) is final;
    the days after it are summed up to `provisional_until` and summed afresh every few
    minutes (orders.stats)."""

    source = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    zone = models.CharField(max_length=64)
    closed_through = models.DateField(null=True, blank=True)
    provisional_until = models.DateTimeField(null=True, blank=True)
    # The first day with anything rolled up (a push or a sale): where "All time" starts.
    first_day = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "zone"],
                                               name="source_stats_closed_unique")]

    def __str__(self) -> str:
        return f"{self.source_id} {self.zone} through {self.closed_through}"
