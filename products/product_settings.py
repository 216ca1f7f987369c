"""A destination's product settings for one source: what each product field does after import
(products.field_sync), the metafield namespaces that follow, whether variants added or removed
at the source follow, and the price rule (products.pricing) with its preview on the source's
own products.

Saving changes the connection only: the new choices apply from the source's next change of a
product. No product is rewritten now and the sync history stays as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from products.field_sync import BY_NAME, FIELDS, SYNC, field_choices
from products.models import ProductLink, SourceProduct, SourceVariant
from products.pricing import PriceBelowZero, PriceRule, compare_at_apply, price_apply
from stores.models import Connection, Shop
from syncer.money import money_text

PREVIEW_PRODUCTS = 3


class ProductSettingsInvalid(ValueError):
    """Settings no form should have let through (a field or choice that does not exist)."""


# --- the service ------------------------------------------------------------------------------


def connection_product_settings_update(
        *, connection: Connection, field_sync: dict[str, str], metafield_namespaces: list[str],
        sync_variants: bool, price_markup_percent: Decimal, price_markup_fixed: Decimal,
        price_rounding: str, currency_rate: Decimal | None, compare_at_rule: str,
) -> Connection:
    """Saves the destination's product settings for this source. The rate's date moves only
    when the rate itself changes (it says when the merchant last typed one in)."""
    for name, choice in field_sync.items():
        if name not in BY_NAME or choice not in dict(BY_NAME[name].choices):
            raise ProductSettingsInvalid(f"{name}: {choice} is not a choice of this field")
    with transaction.atomic():
        locked = Connection.objects.select_for_update().get(pk=connection.pk)
        if locked.currency_rate != currency_rate:
            locked.currency_rate_set_at = timezone.now() if currency_rate is not None else None
        locked.field_sync = dict(field_sync)
        locked.metafield_namespaces = list(metafield_namespaces)
        locked.sync_variants = sync_variants
        locked.price_markup_percent = price_markup_percent
        locked.price_markup_fixed = price_markup_fixed
        locked.price_rounding = price_rounding
        locked.currency_rate = currency_rate
        locked.compare_at_rule = compare_at_rule
        locked.full_clean(exclude=["source", "destination"], validate_unique=False)
        locked.save(update_fields=[
            "field_sync", "metafield_namespaces", "sync_variants", "price_markup_percent",
            "price_markup_fixed", "price_rounding", "currency_rate", "currency_rate_set_at",
            "compare_at_rule", "updated_at"])
    return locked


# --- selectors --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PriceRefusal:
    """A rule that prices one of the source's variants below zero, and which one."""

    product_title: str
    variant_title: str
    source_price: Decimal
    result: Decimal
    compare_at: bool = False


def _live_variants(connection: Connection) -> QuerySet[SourceVariant]:
    return SourceVariant.objects.filter(shop_id=connection.source_id, deleted_at__isnull=True,
                                        product__deleted_at__isnull=True)


def price_rule_refusal(*, connection: Connection, rule: PriceRule) -> PriceRefusal | None:
    """The source variant the rule would price below zero, if any. A rule only scales and adds,
    so the lowest price (and compare-at price, when the rule prices those too) is the one to
    try: if it stays at zero or above, every other does."""
    amounts = [("price", _live_variants(connection).filter(price__isnull=False))]
    if rule.compare_at == Connection.CompareAt.RULE:
        amounts.append(("compare_at_price",
                        _live_variants(connection).filter(compare_at_price__isnull=False)))
    for field, variants in amounts:
        lowest = variants.select_related("product").order_by(field, "pk").first()
        if lowest is None:
            continue
        amount = getattr(lowest, field)
        try:
            price_apply(rule=rule, price=amount)
        except PriceBelowZero as exc:
            return PriceRefusal(product_title=lowest.product.title, variant_title=lowest.title,
                                source_price=amount, result=exc.result,
                                compare_at=field == "compare_at_price")
    return None


@dataclass(frozen=True, slots=True)
class PreviewVariant:
    title: str
    source_price: Decimal | None
    price: Decimal | None
    source_compare_at: Decimal | None
    compare_at: Decimal | None


@dataclass(frozen=True, slots=True)
class PreviewProduct:
    title: str
    synced: bool
    variants: list[PreviewVariant]


def _priced(rule: PriceRule, variant: SourceVariant) -> PreviewVariant:
    try:
        price = price_apply(rule=rule, price=variant.price) if variant.price is not None else None
        compare_at = compare_at_apply(rule=rule, compare_at_price=variant.compare_at_price)
    except PriceBelowZero:
        # The source lowered a price since the rule was checked: nothing to show for it.
        price = compare_at = None
    return PreviewVariant(title=variant.title, source_price=variant.price, price=price,
                          source_compare_at=variant.compare_at_price, compare_at=compare_at)


def price_preview(*, connection: Connection, rule: PriceRule,
                  limit: int = PREVIEW_PRODUCTS) -> list[PreviewProduct]:
    """`limit` of the source's products with what the rule makes of their prices: those this
    destination synced first (by title), then the first others it can see."""
    products = (SourceProduct.objects.filter(shop_id=connection.source_id,
                                             deleted_at__isnull=True)
                .annotate(synced=Exists(ProductLink.objects.filter(
                    connection=connection, source_product=OuterRef("pk"))))
                .filter(Q(synced=True) | Q(hidden=False))
                .prefetch_related(Prefetch(
                    "variants", to_attr="live_variants",
                    queryset=SourceVariant.objects.filter(deleted_at__isnull=True)
                    .order_by("position", "pk")))
                .order_by("-synced", "title", "pk")[:limit])
    return [PreviewProduct(title=product.title, synced=product.synced,
                           variants=[_priced(rule, variant)
                                     for variant in product.live_variants])
            for product in products]


@dataclass(frozen=True, slots=True)
class SettingsSummary:
    """What follows the source, in words, for the catalogue page."""

    syncing: list[str]
    sync_variants: bool
    price_rule: str


def _number(amount: Decimal) -> str:
    return f"{amount.normalize():f}"


def price_rule_words(*, rule: PriceRule, source: Shop, destination: Shop) -> str:
    """"1 EUR = 1.08 USD, +10%, +$1.00, rounded up to .99"; "copied as they are"."""
    if (rule.currency_rate is None and source.currency and destination.currency
            and source.currency != destination.currency):
        # Copied without a rate, a EUR 30.00 would sell for USD 30.00: say so where the
        # merchant looks before importing (the settings page requires the rate when saved).
        unconverted = (f"not converted: the source prices in {source.currency} and your store "
                       f"in {destination.currency}, and no currency rate is set (set one in "
                       "Product settings)")
        return unconverted if rule.is_identity else f"{unconverted}; " + ", ".join(
            _rule_parts(rule=rule, source=source, destination=destination))
    if rule.is_identity:
        return "copied as they are"
    return ", ".join(_rule_parts(rule=rule, source=source, destination=destination))


def _rule_parts(*, rule: PriceRule, source: Shop, destination: Shop) -> list[str]:
    parts = []
    if rule.currency_rate not in (None, Decimal(1)):
        parts.append(f"1 {source.currency or 'source unit'} = "
                     f"{_number(rule.currency_rate or Decimal(1))} {destination.currency}"
                     .rstrip())
    if rule.markup_percent:
        parts.append(f"{rule.markup_percent:+.2f}".rstrip("0").rstrip(".") + "%")
    if rule.markup_fixed:
        amount = money_text(amount=rule.markup_fixed, money_format=destination.money_format,
                            currency_code=destination.currency)
        parts.append(amount if rule.markup_fixed < 0 else f"+{amount}")
    if rule.rounding != Connection.Rounding.NONE:
        parts.append(Connection.Rounding(rule.rounding).label.replace("Up to", "rounded up to"))
    return parts


def product_settings_summary(*, connection: Connection) -> SettingsSummary:
    choices = field_choices(connection=connection)
    return SettingsSummary(
        syncing=[field.label for field in FIELDS if choices[field.name] == SYNC],
        sync_variants=connection.sync_variants,
        price_rule=price_rule_words(rule=PriceRule.of(connection), source=connection.source,
                                    destination=connection.destination))

