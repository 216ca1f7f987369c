from django import forms

from stores.models import Connection, Shop
from syncer.forms import PlainForm
from syncer.shopify.oauth import shop_domain_normalize


class RoleForm(PlainForm):
    role = forms.ChoiceField(choices=Shop.Role.choices, error_messages={
        "required": "Choose whether this store is a source or a destination.",
        "invalid_choice": "Choose whether this store is a source or a destination.",
    })


class ShopDomainForm(PlainForm):
    shop = forms.CharField(max_length=255, label="Store address",
                           help_text="e.g. my-store.myshopify.com")

    def clean_shop(self) -> str:
        domain = shop_domain_normalize(self.cleaned_data["shop"])
        if not domain:
            raise forms.ValidationError("Enter your store's myshopify.com address.")
        return domain


class ConnectForm(PlainForm):
    store_key = forms.CharField(max_length=64, label="Source store key or invitation code",
                                error_messages={
        "required": "Paste the key or invitation code the source store's owner gave you.",
        "max_length": "A store key is at most %(limit_value)d characters (this has "
                      "%(show_value)d): paste the key exactly as the source's owner sent it.",
    })
    # The check before connecting: what variants are compared by (blank: the default), and
    # whether to read the store's products again rather than use a recent read.
    match_by = forms.ChoiceField(choices=Connection.MatchBy.choices, required=False,
                                 error_messages={
        "invalid_choice": "Choose whether products match by SKU or by barcode.",
    })
    read_again = forms.BooleanField(required=False)


class StoreListForm(PlainForm):
    tab = forms.ChoiceField(choices=Connection.Status.choices, required=False)
    q = forms.CharField(max_length=100, required=False)
    page = forms.IntegerField(min_value=1, required=False)


class InvitationForm(PlainForm):
    email = forms.EmailField(max_length=254, label="Email", error_messages={
        "required": "Enter the email address of the store's owner.",
        "invalid": "Enter a whole email address, like owner@store.com.",
    })
    store_name = forms.CharField(max_length=255, required=False, label="Store name (optional)")
