from django import forms

from stores.models import Connection
from syncer.forms import PlainForm


class LinkEndForm(PlainForm):
    """What the destination's products of one source become when their links end."""

    on_link_end = forms.ChoiceField(choices=Connection.LinkEnd.choices, error_messages={
        "required": "Choose what happens to your products when a link ends.",
        "invalid_choice": "Choose what happens to your products when a link ends.",
    })
