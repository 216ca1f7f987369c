from django.db import models

from stores.models import Connection, Shop


class SourceProduct(models.Model):
    """The source catalogue mirror: what destinations browse. Lists never call Shopify."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="source_products")
    shopify_id = models.BigIntegerField()
    title = models.CharField(max_length=512)
    handle = models.CharField(max_length=512, blank=True)
    description_html = models.TextField(blank=True)
    vendor = models.CharField(max_length=255, blank=True)
    product_type = models.CharField(max_length=255, blank=True)
    tags = models.JSONField(default=list)
    status = models.CharField(max_length=16, default="ACTIVE")
    options = models.JSONField(default=list)  # [{"name": "Size", "values": ["S", "M"]}]
    images = models.JSONField(default=list)  # [{"src": ..., "alt": ...}]
    seo_title = models.CharField(max_length=255, blank=True, default="", db_default="")
    seo_description = models.TextField(blank=True, default="", db_default="")
    # [{"namespace", "key", "type", "value"}]: read live (webhooks do not carry them).
    metafields = models.JSONField(default=list, blank=True, db_default=[])
    # Tagged with the source's hidden tag: invisible to destinations.
    hidden = models.BooleanField(default=False)
    shopify_updated_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "shopify_id"],
                                               name="source_product_unique")]
        indexes = [models.Index(fields=["shop", "hidden", "deleted_at"],
                                name="source_product_visible")]

    def __str__(self) -> str:
        return self.title

    @property
    def image_url(self) -> str:
        return (self.images[0] or {}).get("src") or "" if self.images else ""


class SourceVariant(models.Model):
    product = models.ForeignKey(SourceProduct, on_delete=models.CASCADE, related_name="variants")
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="source_variants")
    shopify_id = models.BigIntegerField()
    inventory_item_id = models.BigIntegerField()
    title = models.CharField(max_length=512, blank=True)
    sku = models.CharField(max_length=255, blank=True)
    barcode = models.CharField(max_length=255, blank=True)
    price = models.DecimalField(max_digits=12, decimal_places=2, null=True)
    compare_at_price = models.DecimalField(max_digits=12, decimal_places=2, null=True)
    option_values = models.JSONField(default=list)  # [{"name": "Size", "value": "S"}]
    # The inventory item's weight, in `weight_unit` (GRAMS, KILOGRAMS, OUNCES, POUNDS).
    weight = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    weight_unit = models.CharField(max_length=12, blank=True, default="", db_default="")
    position = models.PositiveIntegerField(default=1)
    tracked = models.BooleanField(default=True)
    class InventoryPolicy(models.TextChoices):
        DENY = "DENY", "Stops selling when out of stock"
        # Sold when out of stock: its stock below zero is the merchant's backorders, not an
        # oversell.
        CONTINUE = "CONTINUE", "Continues selling when out of stock"

    inventory_policy = models.CharField(max_length=8, choices=InventoryPolicy.choices,
                                        default=InventoryPolicy.DENY,
                                        db_default=InventoryPolicy.DENY)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "shopify_id"],
                                               name="source_variant_unique")]
        indexes = [models.Index(fields=["shop", "inventory_item_id"], name="source_variant_item"),
                   models.Index(fields=["shop", "sku"], name="source_variant_sku")]

    def __str__(self) -> str:
        return self.sku or self.title


class ProductLink(models.Model):
    """A source product imported into (or mapped onto) a destination product."""

    class Origin(models.TextChoices):
        IMPORTED = "imported", "Imported"
        MAPPED = "mapped", "Mapped by SKU"
        MAPPED_BARCODE = "barcode", "Mapped by barcode"
        LINKED_BY_HAND = "manual", "Linked by hand"

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE,
                                   related_name="product_links")
    source_product = models.ForeignKey(SourceProduct, on_delete=models.CASCADE,
                                       related_name="links")
    destination_product_id = models.BigIntegerField()
    origin = models.CharField(max_length=16, choices=Origin.choices)
    auto_sync = models.BooleanField(default=True)
    # Set to draft by the "below N: draft" stock rule (and only then set active again by it:
    # a product the merchant drafted stays drafted).
    drafted_by_rule = models.BooleanField(default=False, db_default=False)
    # Source edits to "Sync" fields waiting for the destination's product flush, coalesced:
    # {field name: its value before the first waiting edit, as text} (products.field_sync
    # names the fields), and when the first of them was seen (latency, and flush order).
    pending_fields = models.JSONField(default=dict, blank=True, db_default={})
    pending_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "source_product"],
                                    name="product_link_unique_source"),
            models.UniqueConstraint(fields=["connection", "destination_product_id"],
                                    name="product_link_unique_destination"),
        ]
        indexes = [models.Index(fields=["connection", "pending_since", "id"],
                                condition=models.Q(pending_since__isnull=False),
                                name="product_link_pending")]

    def __str__(self) -> str:
        return f"{self.source_product} → {self.destination_product_id}"


class VariantLink(models.Model):
    """A source variant whose stock a destination variant follows."""

    product_link = models.ForeignKey(ProductLink, on_delete=models.CASCADE,
                                     related_name="variant_links")
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE,
                                   related_name="variant_links")
    source_variant = models.ForeignKey(SourceVariant, on_delete=models.CASCADE,
                                       related_name="links")
    destination_variant_id = models.BigIntegerField()
    destination_inventory_item_id = models.BigIntegerField()
    # What we last wrote at the destination's receiving location (changeFromQuantity next time)
    last_written_quantity = models.IntegerField(null=True, blank=True)
    last_written_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "source_variant"],
                                    name="variant_link_unique_source"),
            models.UniqueConstraint(fields=["connection", "destination_variant_id"],
                                    name="variant_link_unique_destination"),
        ]
        indexes = [models.Index(fields=["connection", "destination_inventory_item_id"],
                                name="variant_link_dest_item")]

    def __str__(self) -> str:
        return f"{self.source_variant} → {self.destination_variant_id}"


class StockReason(models.TextChoices):
    """Why a quantity changed: kept on a destination's stock row while its write waits, then on
    the audit event, so the history can say it in words."""

    SOURCE_CHANGE = "source_change", "A stock change at the source"
    SETTINGS = "settings", "Your inventory settings changed (stock rules or locations)"
    LINKED = "linked", "Stock set after syncing or mapping the product"
    HAND_EDIT = "hand_edit", "A change made by hand in your store, put back to the source's stock"
    RESYNC = "resync", "A resync correction"
    SALE = "sale", "A sale"
    RESTOCK = "restock", "A restock refund"
    HELD = "held", "Held back by the zero-stock safety check"


class SyncEvent(models.Model):
    """The audit trail: every change Syncer applied (or tried), why, and how it went."""

    class Kind(models.TextChoices):
        IMPORTED = "imported", "Imported"
        MAPPED = "mapped", "Mapped by SKU"
        UNLINKED = "unlinked", "Unsynced"
        AUTO_SYNC = "auto_sync", "Auto sync turned on/off"
        PRICE = "price", "Price"
        # Title, description, images, tags, vendor, type, SEO, metafields, options, weight...
        FIELD = "field", "Product details"
        VARIANTS = "variants", "Variants"
        STATUS = "status", "Publish status"
        HIDDEN = "hidden", "Hidden at source"
        INVENTORY = "inventory", "Inventory"
        SOURCE_DECREMENT = "source_decrement", "Source stock (destination sale)"
        SOURCE_RESTOCK = "source_restock", "Source stock (destination restock)"
        DRIFT = "drift", "Drift found"
        SKU = "sku", "SKU"
        SOURCE_DELETED = "source_deleted", "Deleted at source"

    class Result(models.TextChoices):
        OK = "ok", "Applied"
        SKIPPED = "skipped", "Skipped"
        FAILED = "failed", "Failed"

    # The audit trail's references are kept by its one writer (products/sync_events.py and the
    # engine's batch statement) and by Django's on_delete (CASCADE / SET_NULL are Django's, not
    # the database's), so the database checks no foreign key: each check was a locking lookup
    # of the referenced row at commit, four per event, and a stock write records 250 events.
    # `connection` needs no index of its own: both indexes below start with it.
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, null=True, blank=True,
                                   related_name="sync_events", db_constraint=False,
                                   db_index=False)
    product_link = models.ForeignKey(ProductLink, on_delete=models.SET_NULL, null=True,
                                     blank=True, related_name="sync_events", db_constraint=False)
    source_product = models.ForeignKey(SourceProduct, on_delete=models.SET_NULL, null=True,
                                       blank=True, related_name="sync_events",
                                       db_constraint=False)
    # Destination product id survives unlinking, so history stays findable.
    destination_product_id = models.BigIntegerField(null=True, blank=True)
    kind = models.CharField(max_length=24, choices=Kind.choices)
    field = models.CharField(max_length=100, blank=True)
    from_value = models.TextField(blank=True)
    to_value = models.TextField(blank=True)
    cause = models.CharField(max_length=255, blank=True)  # webhook id, order, reconciliation...
    result = models.CharField(max_length=8, choices=Result.choices, default=Result.OK)
    error = models.TextField(blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    # Stock events: which variant, where, why in words (older rows have only `cause`).
    source_variant = models.ForeignKey(SourceVariant, on_delete=models.SET_NULL, null=True,
                                       blank=True, related_name="+", db_constraint=False)
    location_id = models.BigIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=16, choices=StockReason.choices, blank=True,
                              db_default="")
    # "#1001": the order of a sale or restock.
    order_name = models.CharField(max_length=64, blank=True, db_default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["connection", "destination_product_id", "created_at"],
                         name="sync_event_product"),
            # The activity log and the dashboards' charts: a connection's events by time.
            models.Index(fields=["connection", "created_at"], name="sync_event_connection_time"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.field}: {self.from_value} → {self.to_value} ({self.result})"


class ProductJob(models.Model):
    """A background import/map of many products for one connection, with its progress."""

    class Kind(models.TextChoices):
        IMPORT = "import", "Import"
        MAP = "map", "Map by SKU"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    source_product_ids = models.JSONField(default=list)  # SourceProduct pks still to do
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list)  # [{"product": title, "message": plain words}]
    # Imports: products not created because the destination already has variants with their
    # SKUs (to be mapped instead): how many, and the first few [{"product": title, "skus": []}].
    already_in_store = models.PositiveIntegerField(default=0)
    already_in_store_products = models.JSONField(default=list)
    # Map jobs: the SKU scan whose unique matches are being linked.
    scan = models.ForeignKey("CatalogueScan", on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="jobs")
    actor_user_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["connection", "status"], name="product_job_status")]

    def __str__(self) -> str:
        return f"{self.kind} {self.done}/{self.total} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, self.handled * 100 // self.total)

    @property
    def handled(self) -> int:
        return self.done + self.failed + self.already_in_store


class CatalogueScan(models.Model):
    """One bulk read of a shop's whole catalogue (a Shopify bulk query, JSONL result).

    A source's scan loads (or reloads) the mirror; a destination's scan reads its variants and
    SKUs for mapping, and keeps the SKU health report with the unique matches to link.
    """

    class Purpose(models.TextChoices):
        SOURCE_CATALOGUE = "source", "Source catalogue"
        DESTINATION_SKUS = "destination", "Destination SKUs"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Reading from Shopify"
        APPLYING = "applying", "Saving"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="catalogue_scans")
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, null=True, blank=True,
                                   related_name="catalogue_scans")
    purpose = models.CharField(max_length=12, choices=Purpose.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    operation_id = models.CharField(max_length=255, blank=True)  # the BulkOperation gid
    polls = models.PositiveIntegerField(default=0)
    products = models.PositiveIntegerField(default=0)
    variants = models.PositiveIntegerField(default=0)
    # Destination scans: [{"product_id", "product_title", "variant_id", "variant_title",
    # "inventory_item_id", "sku"}] and the SKU health report computed from them.
    destination_variants = models.JSONField(default=list, blank=True)
    report = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["shop", "operation_id"], name="catalogue_scan_operation"),
                   models.Index(fields=["shop", "purpose", "status"],
                                name="catalogue_scan_status")]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} of {self.shop} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)


# --- inventory engine -------------------------------------------------------------------------


class SourceLevel(models.Model):
    """Last known `available` of a source inventory item at one location, with Shopify's
    `updated_at` so late or reordered webhooks can be told apart from fresh ones."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="source_levels")
    inventory_item_id = models.BigIntegerField()
    location_id = models.BigIntegerField()
    available = models.IntegerField()
    shopify_updated_at = models.DateTimeField()
    # When Syncer learned of this level (start of the propagation latency).
    seen_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "inventory_item_id", "location_id"],
                                               name="source_level_unique")]
        # Stock sold beyond what the source has (selectors.items_oversold): nearly always none.
        indexes = [models.Index(fields=["shop"], condition=models.Q(available__lt=0),
                                name="source_level_negative")]

    def __str__(self) -> str:
        return f"{self.inventory_item_id}@{self.location_id}={self.available}"


class DestinationStock(models.Model):
    """Per variant link: the quantity the destination should show and what we last wrote.

    `dirty` marks targets that differ from what the destination holds; the per-destination
    flush picks them up (coalescing any number of source changes into one write).
    """

    variant_link = models.OneToOneField(VariantLink, on_delete=models.CASCADE,
                                        related_name="stock")
    destination = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    location_id = models.BigIntegerField()
    target = models.IntegerField(null=True, blank=True)
    # Our belief about the destination's current available (changeFromQuantity of the next
    # write); None = unknown, read it first.
    known_quantity = models.IntegerField(null=True, blank=True)
    dirty = models.BooleanField(default=False)
    # A manual edit at the destination is healed only after this (lets a destination sale's
    # source decrement arrive first instead of writing stock back up for a moment).
    due_at = models.DateTimeField(null=True, blank=True)
    # When the source change behind the current target was seen (latency), and what it was.
    changed_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=16, choices=StockReason.choices, blank=True,
                              db_default="")
    last_written_at = models.DateTimeField(null=True, blank=True)
    # When Shopify triggered the level webhook last taken as the known quantity (a hand edit):
    # a delivery triggered before it and arriving after it is an older state, not a change.
    level_triggered_at = models.DateTimeField(null=True, blank=True)

    class Hold(models.TextChoices):
        NONE = "", "Not held"
        # The zero-stock circuit breaker held this zero back; the merchant decides.
        HELD = "held", "Held back"
        # The merchant let the zero through; the breaker leaves it alone until it changes.
        RELEASED = "released", "Released"

    hold = models.CharField(max_length=8, choices=Hold.choices, blank=True, default="",
                            db_default="")

    class Meta:
        # Only dirty rows, in the order a flush takes them: forming a batch reads its 250 rows
        # instead of every dirty row of the destination, and clean rows (nearly all of them,
        # nearly always) cost this index nothing.
        indexes = [models.Index(fields=["destination", "changed_at", "id"],
                                condition=models.Q(dirty=True), name="destination_stock_due")]

    def __str__(self) -> str:
        return f"{self.variant_link_id}: {self.known_quantity} → {self.target}"


class InventoryWriteBatch(models.Model):
    """One inventorySetQuantities call for a destination; its idempotency key is fixed when
    the batch is formed so every retry of the same call is the same request to Shopify."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Written"
        STALE = "stale", "Stale (re-read and re-formed)"
        FAILED = "failed", "Failed"

    destination = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    idempotency_key = models.CharField(max_length=64, unique=True)
    items = models.JSONField()  # [{"stock": id, "item": id, "location": id, "quantity", "from"}]
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["destination", "status"], name="write_batch_pending"),
            # A level webhook that is not our latest write looks at the last seconds' writes
            # (products/inventory/drift.py).
            models.Index(fields=["destination", "completed_at"], name="write_batch_completed"),
        ]

    def __str__(self) -> str:
        return f"{self.destination} {len(self.items)} items ({self.status})"


class InventoryEffect(models.Model):
    """A destination order line (sale) or refund line (restock) that moves source stock.

    The unique (destination, kind, key) row is what makes each move happen exactly once; the
    idempotency key makes its one API call safe to retry.
    """

    class Kind(models.TextChoices):
        SALE = "sale", "Sale"
        RESTOCK = "restock", "Restock"

    class Status(models.TextChoices):
        # A restock whose sale has not been counted yet (its refund webhook overtook the
        # orders/paid one): applied when the sale is, never if the order was never paid.
        WAITING = "waiting", "Waiting for the sale"
        PENDING = "pending", "Pending"
        APPLIED = "applied", "Applied"
        FAILED = "failed", "Failed"

    destination = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    source = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    key = models.CharField(max_length=64)  # order line id / refund line id
    order_id = models.BigIntegerField()
    order_name = models.CharField(max_length=64, blank=True, db_default="")  # "#1001"
    line_item_id = models.BigIntegerField()
    inventory_item_id = models.BigIntegerField()
    location_id = models.BigIntegerField()
    delta = models.IntegerField()
    idempotency_key = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["destination", "kind", "key"],
                                               name="inventory_effect_once")]

    def __str__(self) -> str:
        return f"{self.kind} {self.delta:+d} of {self.inventory_item_id} ({self.status})"


class DestinationHold(models.Model):
    """Units a destination's unpaid order line holds there while its connection counts only
    paid orders (`Connection.count_pending_orders` off): Shopify has taken them out of the
    store's available stock, the source has not. Its store's target is the source's stock less
    its live holds, so Syncer does not put them back on sale there (where they would be sold
    twice once the order is paid). Released when the order is paid (its sale then moves the
    source) or cancelled."""

    destination = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    source = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    variant_link = models.ForeignKey(VariantLink, on_delete=models.CASCADE, related_name="+")
    inventory_item_id = models.BigIntegerField()  # the source's item (what targets are of)
    order_id = models.BigIntegerField()
    line_item_id = models.BigIntegerField()
    quantity = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["destination", "line_item_id"],
                                               name="destination_hold_once")]
        indexes = [models.Index(fields=["source", "inventory_item_id"],
                                name="destination_hold_live",
                                condition=models.Q(released_at__isnull=True))]

    def __str__(self) -> str:
        return f"{self.quantity} held by order {self.order_id} line {self.line_item_id}"


class DestinationSale(models.Model):
    """A paid destination order line of a synced variant, as its source's owner counts it:
    the units, at the source's price when it sold. Recorded with the line's sale effect, once
    per line whatever the webhooks do, whether or not the order is ever pushed; summed per day
    for the source's dashboard (orders.stats)."""

    source = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    destination = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    order_id = models.BigIntegerField()
    line_item_id = models.BigIntegerField()
    source_variant_id = models.BigIntegerField()  # the variant's Shopify id at the source
    quantity = models.PositiveIntegerField()
    price = models.DecimalField(max_digits=12, decimal_places=2)  # the source's, when sold
    # When Syncer took the payment in: a sale counts on that day, so a day once summed never
    # gains a sale (the way a push counts on the day it was made).
    sold_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["destination", "line_item_id"],
                                               name="destination_sale_once")]
        indexes = [models.Index(fields=["source", "sold_at"],
                                include=["destination", "source_variant_id", "quantity",
                                         "price"],
                                name="destination_sale_source")]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.source_variant_id} at {self.destination_id}"


class ReconciliationRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE,
                                   related_name="reconciliations")
    trigger = models.CharField(max_length=16, default="schedule")  # schedule | merchant
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    total = models.PositiveIntegerField(default=0)
    checked = models.PositiveIntegerField(default=0)
    drift_found = models.PositiveIntegerField(default=0)
    drift_fixed = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.connection}: {self.checked}/{self.total}, drift {self.drift_found}"


class LevelWatermark(models.Model):
    """Per shop: every level Shopify changed before `checked_until` (our clock when that read
    started) has been compared with ours. The incremental check reads only what changed
    since, less a margin for clock skew and Shopify's search index catching up."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, primary_key=True,
                                related_name="+")
    checked_until = models.DateTimeField()
    # The last check: levels Shopify said had changed, and how many differed from ours.
    levels_read = models.PositiveIntegerField(default=0)
    differences = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.shop_id} checked until {self.checked_until:%Y-%m-%d %H:%M:%S}"
