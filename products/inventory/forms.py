"""The inventory settings forms."""

from __future__ import annotations

from typing import Any, cast

from django import forms

from products.inventory.locations import LocationChoice
from syncer.forms import PlainForm, StrictBooleanField, StrictCheckboxInput


class SourceInventoryForm(PlainForm):
    # Check boxes: the template lays out each choice's own input, which a <select> has not.
    shared_location_ids = forms.TypedMultipleChoiceField(
        coerce=int, label="Locations whose stock is shared",
        widget=forms.CheckboxSelectMultiple, error_messages={
            "required": "Choose at least one location to share."})
    decrement_location_id = forms.TypedChoiceField(
        coerce=int, label="Location that destination sales are taken from")

    def __init__(self, *args: Any, locations: list[LocationChoice], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(location["id"], location["name"]) for location in locations]
        cast(forms.ChoiceField, self.fields["shared_location_ids"]).choices = choices
        cast(forms.ChoiceField, self.fields["decrement_location_id"]).choices = choices

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("decrement_location_id") and data.get("shared_location_ids") and (
                data["decrement_location_id"] not in data["shared_location_ids"]):
            self.add_error("decrement_location_id",
                           "Sales must be taken from one of the shared locations.")
        return data


class ConnectionInventoryForm(PlainForm):
    destination_location_id = forms.TypedChoiceField(
        coerce=int, label="Receiving location",
        help_text="Where this source's stock is kept in your store: synced variants have "
                  "stock at this location only. Choosing another location moves it: the synced "
                  "variants are set to 0 at the one you leave.")
    safety_stock = forms.IntegerField(min_value=0, max_value=100000, label="Safety stock",
                                      help_text="Units of each variant the source keeps back.")
    # The stock rules after safety stock, in the order sql.TARGET applies them. Each may be
    # left empty: its default (all of it, no maximum, never drafted).
    stock_percent = forms.IntegerField(
        min_value=1, max_value=100, required=False, label="Share of the source's stock (%)",
        help_text="Show this percentage of what is left, rounded down. Empty: 100 %.")
    stock_max = forms.IntegerField(
        min_value=0, max_value=100000, required=False, label="Most to show per variant",
        help_text="Never show more than this. Empty: no maximum.")
    draft_below = forms.IntegerField(
        min_value=1, max_value=100000, required=False,
        label="Set a product to draft below",
        help_text="When a product's stock (all its variants together) falls below this, it is "
                  "set to draft, and back to active once it is at this or above. Empty: off.")
    # An on/off setting: drawn as a switch (role="switch"), its help text named by the input.
    count_pending_orders = StrictBooleanField(
        label="Also count orders whose payment is pending",
        help_text="Off: only paid orders reduce the source's stock; an unpaid order's units "
                  "stay off sale in your store until it is paid or cancelled.",
        widget=StrictCheckboxInput(attrs={"role": "switch"}))

    def __init__(self, *args: Any, locations: list[LocationChoice], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["destination_location_id"]).choices = [
            (location["id"], location["name"]) for location in locations]

    def clean_stock_percent(self) -> int:
        percent = self.cleaned_data.get("stock_percent")
        return 100 if percent is None else int(percent)
