from typing import Any

from django import forms

from products.selectors import DESTINATION_TABS, SOURCE_TABS
from syncer.forms import PlainForm, StrictBooleanField, StrictCheckboxInput


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


class SyncRulesForm(PlainForm):
    sync_price = StrictBooleanField(label="Price", widget=StrictCheckboxInput(attrs=SWITCH))
    sync_variants = StrictBooleanField(label="Variants added or removed",
                                       widget=StrictCheckboxInput(attrs=SWITCH))
    sync_publish_status = StrictBooleanField(label="Publish status",
                                             widget=StrictCheckboxInput(attrs=SWITCH))


class HiddenTagForm(PlainForm):
    hidden_tag = forms.CharField(max_length=255, label="Hidden tag", error_messages={
        "required": "Enter the tag that hides a product from destinations."})

    def clean_hidden_tag(self) -> str:
        tag = self.cleaned_data["hidden_tag"].strip()
        if "," in tag:
            raise forms.ValidationError("A tag cannot contain a comma.")
        return tag


class MapLinkForm(PlainForm):
    scan = forms.IntegerField(min_value=1, error_messages={
        "required": "Check your SKUs first, then link the matches."})
