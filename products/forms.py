import re
from decimal import Decimal
from typing import Any

from django import forms

from products.field_sync import CREATE, FIELDS, SYNC, SyncField, field_choices
from products.pricing import PriceRule
from products.product_settings import PriceRefusal, price_rule_refusal
from products.selectors import DESTINATION_TABS, SOURCE_TABS
from stores.models import Connection
from syncer.forms import PlainForm, StrictBooleanField, StrictCheckboxInput
from syncer.money import money_text


class IntegerListField(forms.Field):
    """Several values of one name (`product=1&product=2`), each a positive integer."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {"invalid": "The selection is not valid. Reload the page and try "
                                         "again."}

    def to_python(self, value) -> list[int]:
        if not value:
            return []
        try:
            numbers = [int(item) for item in value]
        except (TypeError, ValueError):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None
        if any(number <= 0 for number in numbers):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return list(dict.fromkeys(numbers))


class SourceProductListForm(PlainForm):
    tab = forms.ChoiceField(choices=SOURCE_TABS, required=False)
    q = forms.CharField(max_length=100, required=False)
    page = forms.IntegerField(min_value=1, required=False)


class CatalogueListForm(PlainForm):
    tab = forms.ChoiceField(choices=DESTINATION_TABS, required=False)
    q = forms.CharField(max_length=100, required=False)
    page = forms.IntegerField(min_value=1, required=False)


class ProductSelectionForm(PlainForm):
    """The products a bulk action is for: the ticked ones (`product` ids), or with
    `all_matching` every product of the tab and search, on any page (the server finds them)."""

    product = IntegerListField(required=False)
    all_matching = StrictBooleanField()
    tab = forms.ChoiceField(choices=DESTINATION_TABS, required=False)
    q = forms.CharField(max_length=100, required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = self.cleaned_data
        if not self.errors and not cleaned.get("all_matching") and not cleaned.get("product"):
            self.add_error("product", "Select at least one product first.")
        return cleaned


class AutoSyncSwitchForm(PlainForm):
    enabled = forms.TypedChoiceField(
        choices=(("on", "On"), ("off", "Off")), coerce=lambda value: value == "on",
        error_messages={"required": "Choose auto sync on or off.",
                        "invalid_choice": "Choose auto sync on or off."})


class AutoSyncForm(ProductSelectionForm, AutoSyncSwitchForm):
    pass


# Each rule is an on/off setting, drawn as a switch.
SWITCH = {"role": "switch"}


# Shopify's rule for a metafield namespace (MetafieldInput.namespace in the Admin API).
NAMESPACE = re.compile(r"[A-Za-z0-9_-]{3,255}")
DECIMAL_INPUT = {"inputmode": "decimal", "autocomplete": "off", "size": 10}
# The fields the price rule and its preview are made of.
PRICE_FIELDS = ("price_markup_percent", "price_markup_fixed", "price_rounding", "currency_rate",
                "compare_at_rule")


def _plain_decimal(amount: Decimal | None) -> str:
    """"1.08" for the stored 1.08000000, "0" for 0.00: what a merchant would type."""
    if amount is None:
        return ""
    text = f"{Decimal(amount):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


class ProductSettingsForm(PlainForm):
    """A destination's product settings for one source (`connection`): a choice per product
    field (`field_<name>`), the metafield namespaces, variants added or removed, and the price
    rule, which is refused when it would price any of the source's variants below zero."""

    metafield_namespaces = forms.CharField(
        required=False, max_length=5000, label="Metafield namespaces",
        help_text="Separated by commas, e.g. custom, specs. Needed when metafields sync or are "
                  "created.")
    sync_variants = StrictBooleanField(label="Variants added or removed at the source",
                                       widget=StrictCheckboxInput(attrs=SWITCH))
    price_markup_percent = forms.DecimalField(
        required=False, max_digits=7, decimal_places=2, label="Markup (%)",
        widget=forms.TextInput(attrs=DECIMAL_INPUT))
    price_markup_fixed = forms.DecimalField(
        required=False, max_digits=12, decimal_places=2, label="Fixed markup",
        widget=forms.TextInput(attrs=DECIMAL_INPUT))
    price_rounding = forms.ChoiceField(choices=Connection.Rounding.choices, label="Rounding",
                                       error_messages={"required": "Choose how to round.",
                                                       "invalid_choice": "Choose how to round."})
    currency_rate = forms.DecimalField(required=False, max_digits=18, decimal_places=8,
                                       label="Currency rate",
                                       widget=forms.TextInput(attrs=DECIMAL_INPUT))
    compare_at_rule = forms.ChoiceField(
        choices=Connection.CompareAt.choices, widget=forms.RadioSelect,
        label="Compare-at price", error_messages={
            "required": "Choose what happens to compare-at prices.",
            "invalid_choice": "Choose what happens to compare-at prices."})

    def __init__(self, *args: Any, connection: Connection, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connection = connection
        self.source_currency = connection.source.currency
        self.currency = connection.destination.currency
        for sync_field in FIELDS:
            words = f"Choose what happens to {sync_field.label.split(' (')[0].lower()}."
            self.fields[f"field_{sync_field.name}"] = forms.ChoiceField(
                label=sync_field.label, widget=forms.RadioSelect,
                choices=[(value, f"{word} (default)" if value == sync_field.default else word)
                         for value, word in sync_field.choices],
                error_messages={"required": words, "invalid_choice": words})

    @classmethod
    def initial_for(cls, connection: Connection) -> dict[str, Any]:
        return {**{f"field_{name}": choice
                   for name, choice in field_choices(connection=connection).items()},
                "metafield_namespaces": ", ".join(connection.metafield_namespaces or []),
                "sync_variants": connection.sync_variants,
                "price_markup_percent": _plain_decimal(connection.price_markup_percent),
                "price_markup_fixed": _plain_decimal(connection.price_markup_fixed),
                "price_rounding": connection.price_rounding,
                "currency_rate": _plain_decimal(connection.currency_rate),
                "compare_at_rule": connection.compare_at_rule}

    @property
    def currencies_differ(self) -> bool:
        return bool(self.source_currency and self.currency
                    and self.source_currency != self.currency)

    @property
    def rate_shown(self) -> bool:
        """Same currency: no rate. Either shop's currency unknown: an optional one."""
        return self.currencies_differ or not (self.source_currency and self.currency)

    @property
    def field_rows(self) -> list[tuple[SyncField, forms.BoundField]]:
        return [(sync_field, self[f"field_{sync_field.name}"]) for sync_field in FIELDS]

    @property
    def price_errors(self) -> list[str]:
        """The price rule's errors, as the preview shows them instead of prices."""
        return [f"{self.fields[name].label}: {error}" for name in PRICE_FIELDS
                for error in self.errors.get(name, [])]

    def clean_metafield_namespaces(self) -> list[str]:
        names = [name.strip() for name in self.cleaned_data["metafield_namespaces"].split(",")]
        names = list(dict.fromkeys(name for name in names if name))
        for name in names:
            if not NAMESPACE.fullmatch(name):
                raise forms.ValidationError(
                    f"“{name[:40]}” is not a namespace: use 3 to 255 letters, digits, hyphens "
                    "or underscores.")
        return names

    def clean_price_markup_percent(self) -> Decimal:
        percent = self.cleaned_data["price_markup_percent"]
        if percent is not None and percent <= -100:
            raise forms.ValidationError("Enter a markup above -100%: at -100% every price "
                                        "would be zero.")
        return percent or Decimal(0)

    def clean_price_markup_fixed(self) -> Decimal:
        return self.cleaned_data["price_markup_fixed"] or Decimal(0)

    def clean_currency_rate(self) -> Decimal | None:
        rate = self.cleaned_data["currency_rate"]
        if not self.rate_shown:
            return None
        if rate is None and self.currencies_differ:
            raise forms.ValidationError(f"Enter how many {self.currency} one "
                                        f"{self.source_currency} is.")
        if rate is not None and rate <= 0:
            raise forms.ValidationError("Enter a rate above 0.")
        return rate

    def clean(self) -> dict[str, Any]:
        cleaned = self.cleaned_data
        if (cleaned.get("field_metafields") in (SYNC, CREATE)
                and "metafield_namespaces" not in self.errors
                and not cleaned.get("metafield_namespaces")):
            self.add_error("metafield_namespaces", "Enter at least one namespace, or choose "
                                                   "Ignore for metafields.")
        if not any(name in self.errors for name in PRICE_FIELDS):
            refusal = price_rule_refusal(connection=self.connection, rule=self.price_rule())
            if refusal is not None:
                self.add_error("price_markup_fixed", self._refusal_words(refusal))
        return cleaned

    def _refusal_words(self, refusal: PriceRefusal) -> str:
        product = refusal.product_title + (f" ({refusal.variant_title})"
                                           if refusal.variant_title else "")
        source_price = money_text(amount=refusal.source_price,
                                  money_format=self.connection.source.money_format,
                                  currency_code=self.source_currency)
        result = money_text(amount=refusal.result,
                            money_format=self.connection.destination.money_format,
                            currency_code=self.currency)
        price = "compare-at price" if refusal.compare_at else "price"
        return (f"This rule prices {product} below zero: its {price} of {source_price} at the "
                f"source would be {result}. Make the fixed markup smaller.")

    def price_rule(self) -> PriceRule:
        """The rule as typed (call once the price fields are valid)."""
        data = self.cleaned_data
        return PriceRule(markup_percent=data["price_markup_percent"],
                         markup_fixed=data["price_markup_fixed"],
                         rounding=data["price_rounding"], currency_rate=data["currency_rate"],
                         compare_at=data["compare_at_rule"])

    def field_sync(self) -> dict[str, str]:
        return {sync_field.name: self.cleaned_data[f"field_{sync_field.name}"]
                for sync_field in FIELDS}


class HiddenTagForm(PlainForm):
    hidden_tag = forms.CharField(max_length=255, label="Hidden tag", error_messages={
        "required": "Enter the tag that hides a product from destinations."})

    def clean_hidden_tag(self) -> str:
        tag = self.cleaned_data["hidden_tag"].strip()
        if "," in tag:
            raise forms.ValidationError("A tag cannot contain a comma.")
        return tag

