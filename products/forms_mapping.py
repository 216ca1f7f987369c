"""The map page's forms: the key to match by, linking a check's matches (and the choice for
products of which only some variants match), and the hand mapper's search, link and unlink."""

from django import forms

from stores.models import Connection
from syncer.forms import PlainForm


class MatchByForm(PlainForm):
    match_by = forms.ChoiceField(choices=Connection.MatchBy.choices, error_messages={
        "required": "Choose SKU or barcode.", "invalid_choice": "Choose SKU or barcode."})


class MapLinkForm(PlainForm):
    scan = forms.IntegerField(min_value=1, error_messages={
        "required": "Check your products first, then link the matches.",
        "invalid": "Check your products first, then link the matches.",
        "min_value": "Check your products first, then link the matches."})


class ProductChoiceForm(MapLinkForm):
    product = forms.IntegerField(min_value=1, error_messages={
        "required": "Choose a product.", "invalid": "Choose a product.",
        "min_value": "Choose a product."})
    choice = forms.ChoiceField(choices=(("link", "Link the matches"), ("skip", "Skip")),
                               error_messages={"required": "Choose link or skip.",
                                               "invalid_choice": "Choose link or skip."})


class ManualSearchForm(PlainForm):
    q_source = forms.CharField(max_length=100, required=False)
    q_destination = forms.CharField(max_length=100, required=False)


class ManualLinkForm(ManualSearchForm):
    source_variant = forms.IntegerField(min_value=1, error_messages={
        "required": "Choose one of the source's variants.",
        "invalid": "Choose one of the source's variants.",
        "min_value": "Choose one of the source's variants."})
    destination_variant = forms.IntegerField(min_value=1, error_messages={
        "required": "Choose one of your variants.", "invalid": "Choose one of your variants.",
        "min_value": "Choose one of your variants."})


class ManualUnlinkForm(ManualSearchForm):
    variant_link = forms.IntegerField(min_value=1, error_messages={
        "required": "Choose a link to remove.", "invalid": "Choose a link to remove.",
        "min_value": "Choose a link to remove."})
