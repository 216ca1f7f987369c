from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from django import forms

from orders import dashboard
from orders.models import DestinationOrder, OrderSettings
from orders.sync_health import WorkKind
from stores.models import Connection, Shop
from syncer.forms import PlainForm, StrictBooleanField

MONEY = {"max_digits": 10, "decimal_places": 2, "min_value": Decimal("0")}


class OrderListForm(PlainForm):
    tab = forms.ChoiceField(choices=DestinationOrder.PushState.choices, required=False)
    q = forms.CharField(max_length=100, required=False)
    page = forms.IntegerField(min_value=1, required=False)


class ReceivedListForm(PlainForm):
    status = forms.ChoiceField(choices=DestinationOrder.FulfillmentStatus.choices,
                               required=False)
    q = forms.CharField(max_length=100, required=False)
    page = forms.IntegerField(min_value=1, required=False)


class PushForm(PlainForm):
    source = forms.IntegerField(required=False, min_value=1)  # empty: every source
    shipping_fee = forms.DecimalField(required=False, **MONEY, error_messages={
        "invalid": "Enter the shipping fee as an amount, e.g. 7.50.",
        "min_value": "The shipping fee cannot be negative.",
        "max_digits": "That shipping fee is too large.",
        "max_decimal_places": "Use at most two decimals for the shipping fee.",
    })


class WorkRetryForm(PlainForm):
    kind = forms.ChoiceField(choices=WorkKind.choices, error_messages={
        "required": "Choose the work to try again.",
        "invalid_choice": "Choose the work to try again."})


class BulkPushForm(PlainForm):
    order = forms.Field(widget=forms.MultipleHiddenInput, error_messages={
        "required": "Select the orders to push first."})

    def clean_order(self) -> list[int]:
        try:
            ids = [int(value) for value in self.cleaned_data["order"]]
        except (TypeError, ValueError):
            raise forms.ValidationError("Select the orders to push first.") from None
        if not ids or len(ids) > 100:
            raise forms.ValidationError("Select between 1 and 100 orders to push.")
        return ids


class AutoPushForm(PlainForm):
    enabled = StrictBooleanField(error_messages={
        "invalid": "Automatic push is either on or off; reload the page and try again."})


SOURCE_AUTO_PUSH = "source_auto_push_"


class OrderSettingsForm(PlainForm):
    auto_push = StrictBooleanField(label="Push paid orders automatically")
    contact_email_method = forms.ChoiceField(
        choices=OrderSettings.ContactEmail.choices, widget=forms.RadioSelect,
        label="Contact email on pushed orders")
    custom_email = forms.EmailField(
        required=False, label="Email address",
        max_length=OrderSettings._meta.get_field("custom_email").max_length,
        error_messages={"invalid": "Enter a valid email address, e.g. orders@example.com.",
                        "max_length": "Use an email address of at most %(limit_value)d "
                                      "characters (this one has %(show_value)d)."})
    shipping_rules_enabled = StrictBooleanField(label="Charge shipping by my rules")
    notify_customer = StrictBooleanField(label="Email my customer when tracking arrives")
    # Absent: kept as it is (a form from before the choice existed).
    partial_push = forms.ChoiceField(
        choices=OrderSettings.PartialPush.choices, widget=forms.RadioSelect, required=False,
        label="Orders with items from several sources",
        error_messages={"invalid_choice": "Choose whether to push each part as soon as it "
                                          "can be pushed, or all parts together."})

    def __init__(self, *args, connections: Iterable[Connection] = (), **kwargs) -> None:
        """`connections`: the shop's connected sources, one automatic push choice each
        (`source_auto_push_<connection id>`; absent: kept as it is)."""
        super().__init__(*args, **kwargs)
        self.connections = list(connections)
        for connection in self.connections:
            self.fields[f"{SOURCE_AUTO_PUSH}{connection.pk}"] = forms.ChoiceField(
                choices=Connection.AutoPush.choices, required=False,
                initial=connection.auto_push,
                label=connection.source.name or connection.source.domain,
                error_messages={"invalid_choice": "Choose As store-wide, Always or Never."})

    def clean(self) -> dict:
        data = super().clean()
        if data.get("contact_email_method") == OrderSettings.ContactEmail.CUSTOM and not data.get(
                "custom_email"):
            self.add_error("custom_email", "Enter the email address to use.")
        data["partial_push"] = data.get("partial_push") or None
        # A source that is not one of this store's connected sources (another store's, or
        # gone since the page was drawn): refused as a whole, nothing is saved.
        known = {f"{SOURCE_AUTO_PUSH}{connection.pk}" for connection in self.connections}
        if any(key.startswith(SOURCE_AUTO_PUSH) and key not in known for key in self.data):
            self.add_error(None, "A source in this list is not connected to your store. Reload "
                                 "the page and try again.")
        choices = {}
        for connection in self.connections:
            key = f"{SOURCE_AUTO_PUSH}{connection.pk}"
            value = data.pop(key, None)
            if key in self.data and value is not None:
                choices[connection.pk] = value
        data["source_auto_push"] = choices
        return data

    def source_fields(self) -> list[tuple[Connection, forms.BoundField]]:
        return [(connection, self[f"{SOURCE_AUTO_PUSH}{connection.pk}"])
                for connection in self.connections]


class ShippingRuleForm(PlainForm):
    source = forms.TypedChoiceField(coerce=int, required=False, empty_value=None,
                                    label="Source",
                                    widget=forms.Select(attrs={"id": "rule-source"}))
    min_subtotal = forms.DecimalField(label="When the subtotal is at least", **MONEY,
                                      error_messages={"required": "Enter a subtotal (0 for any)."})
    fee = forms.DecimalField(label="Shipping fee", **MONEY,
                             error_messages={"required": "Enter the fee to charge."})

    def __init__(self, *args, sources=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["source"].choices = [("", "Every source")] + [
            (source.pk, source.name or source.domain) for source in sources]


class ShippingRuleDeleteForm(PlainForm):
    delete = forms.IntegerField(min_value=1)


# --- dashboards and reports -------------------------------------------------------------------

MAX_RANGE_DAYS = 3 * 366
CUSTOM = "custom"
# Days outside these are typos (or probes): nothing was sold then, and near year 9999 the day
# after the last one does not exist.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)
OUT_OF_BOUNDS = f"Choose a day between {FIRST_DAY:%b %-d, %Y} and {LAST_DAY:%b %-d, %Y}."


class DayBoundsMixin:
    """`start` and `end` days within the range a date filter accepts."""

    cleaned_data: dict

    def _clean_day(self, name: str) -> date | None:
        day = self.cleaned_data.get(name)
        if day is not None and not FIRST_DAY <= day <= LAST_DAY:
            raise forms.ValidationError(OUT_OF_BOUNDS)
        return day

    def clean_start(self) -> date | None:
        return self._clean_day("start")

    def clean_end(self) -> date | None:
        return self._clean_day("end")


class DateRangeForm(DayBoundsMixin, PlainForm):
    """A preset (past week, last 30 days, last two months) or a custom from/to, both days
    included, in the shop's time zone. `cleaned_data["date_range"]` is the DateRange."""

    max_days = MAX_RANGE_DAYS
    presets = dashboard.PRESETS
    default_preset = dashboard.DEFAULT_PRESET
    range = forms.ChoiceField(required=False, choices=[])
    start = forms.DateField(required=False, label="From", error_messages={
        "invalid": "Enter the first day as a date, e.g. 2026-01-20."})
    end = forms.DateField(required=False, label="To", error_messages={
        "invalid": "Enter the last day as a date, e.g. 2026-01-30."})

    def __init__(self, *args, shop: Shop, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.shop = shop
        self.fields["range"].choices = [
            *((key, label) for key, (label, _) in self.presets.items()),
            (CUSTOM, "Custom range")]

    def preset_range(self, preset: str) -> dashboard.DateRange:
        return dashboard.date_range_preset(shop=self.shop, preset=preset)

    def clean(self) -> dict:
        data = super().clean()
        preset = data.get("range") or self.default_preset
        data["range"] = preset
        if preset != CUSTOM:
            data["date_range"] = self.preset_range(preset)
            return data
        start, end = data.get("start"), data.get("end")
        if start is None and end is None and not self.errors:
            # "Custom" just picked: start from the last 30 days, for the merchant to change.
            default = dashboard.date_range_preset(shop=self.shop,
                                                  preset=dashboard.DEFAULT_PRESET)
            start, end = default.first, default.last
            data["start"], data["end"] = start, end
        if start is None or end is None:
            if not self.errors:
                self.add_error("start" if start is None else "end",
                               "Choose both the first and the last day.")
            return data
        if start > end:
            self.add_error("end", "The last day is before the first day.")
        elif (end - start).days + 1 > self.max_days:
            self.add_error("end", f"Choose at most {self.max_days} days.")
        else:
            data["date_range"] = dashboard.DateRange(first=start, last=end, zone=self.shop.zone)
        return data


class SourceDashboardForm(DateRangeForm):
    """`all_time_from`: the first day "All time" covers (SourceStatsClosed.first_day)."""

    # Long ranges read month roll-ups, as fast as short ones: the cap only catches typos.
    max_days = 10 * 366
    presets = dashboard.SOURCE_PRESETS
    default_preset = dashboard.SOURCE_DEFAULT_PRESET
    # A Connection of this source (a bigint: larger numbers are no store either).
    store = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)

    def __init__(self, *args, all_time_from: date | None = None, **kwargs) -> None:
        self.all_time_from = all_time_from
        super().__init__(*args, **kwargs)

    def preset_range(self, preset: str) -> dashboard.DateRange:
        if preset == dashboard.ALL_TIME:
            return dashboard.date_range_all_time(shop=self.shop, first_day=self.all_time_from)
        return super().preset_range(preset)


class ReportForm(DateRangeForm):
    max_days = 10 * 366  # a report streams, however long; the cap only catches typos
    page = forms.IntegerField(min_value=1, required=False)
