"""What each product field of a synced product does after import, chosen per connection by the
destination: **Sync** (follows every source change), **Create only** (set at import, then the
destination's own: never overwritten) or **Ignore** (never sent, not even at import).

The defaults are what Syncer always did: everything it copied at import is Create only, and
what it never copied (SEO, metafields, weight) is Ignored. Title, options and price cannot be
ignored: Shopify needs them to create the product. Stock and SKUs are not here: they always
follow the source (the SKU is what links the two).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from stores.models import Connection

SYNC: Final = "sync"
CREATE: Final = "create"
IGNORE: Final = "ignore"

CHOICES: Final = ((SYNC, "Sync"), (CREATE, "Create only"), (IGNORE, "Ignore"))
CHOICE_WORDS: Final = dict(CHOICES)


@dataclass(frozen=True, slots=True)
class SyncField:
    name: str
    label: str
    default: str
    # Fields Shopify needs to create a product offer no Ignore.
    can_ignore: bool = True
    # Product fields go in one product call; variant fields in one variants call.
    variant_level: bool = False

    @property
    def choices(self) -> tuple[tuple[str, str], ...]:
        return CHOICES if self.can_ignore else CHOICES[:2]


FIELDS: Final[tuple[SyncField, ...]] = (
    SyncField("title", "Title", CREATE, can_ignore=False),
    SyncField("description", "Description", CREATE),
    SyncField("images", "Images", CREATE),
    SyncField("tags", "Tags", CREATE),
    SyncField("vendor", "Vendor", CREATE),
    SyncField("product_type", "Product type", CREATE),
    SyncField("seo", "SEO title and description", IGNORE),
    SyncField("metafields", "Metafields (the namespaces you choose)", IGNORE),
    SyncField("options", "Option names and variant titles", CREATE, can_ignore=False),
    SyncField("weight", "Weight", IGNORE, variant_level=True),
    SyncField("barcode", "Barcode", CREATE, variant_level=True),
    SyncField("price", "Price", CREATE, can_ignore=False, variant_level=True),
    SyncField("compare_at", "Compare-at price", CREATE, variant_level=True),
    SyncField("status", "Status (active, draft, archived)", CREATE),
)
BY_NAME: Final = {field.name: field for field in FIELDS}


def field_choice(*, connection: Connection, name: str) -> str:
    """The connection's choice for one field (its default when never chosen, or when what is
    stored is not a choice the field offers)."""
    field = BY_NAME[name]
    chosen = (connection.field_sync or {}).get(name)
    return chosen if chosen in dict(field.choices) else field.default


def field_choices(*, connection: Connection) -> dict[str, str]:
    return {field.name: field_choice(connection=connection, name=field.name) for field in FIELDS}


def fields_syncing(*, connection: Connection) -> frozenset[str]:
    """The fields that follow every source change."""
    return frozenset(name for name, choice in field_choices(connection=connection).items()
                     if choice == SYNC)


def field_copied_at_import(*, connection: Connection, name: str) -> bool:
    return field_choice(connection=connection, name=name) != IGNORE
