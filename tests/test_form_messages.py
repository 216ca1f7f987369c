"""Form errors say what to type, never Django's "Ensure this value..."."""

from decimal import Decimal

from orders.forms import PushForm, ShippingRuleForm
from products.inventory.forms import ConnectionInventoryForm
from stores.forms import ConnectForm, ShopDomainForm

LOCATIONS = [{"id": 1, "name": "Warehouse"}]


def test_a_negative_safety_stock_says_which_numbers_it_takes():
    form = ConnectionInventoryForm({"destination_location_id": "1", "safety_stock": "-1"},
                                   locations=LOCATIONS)
    assert form.errors == {"safety_stock": ["Enter a whole number from 0 to 100,000."]}


def test_a_too_long_store_key_says_to_paste_it_as_sent():
    form = ConnectForm({"store_key": "k" * 300})
    assert form.errors == {"store_key": [
        "A store key is at most 64 characters (this has 300): paste the key exactly as the "
        "source's owner sent it."]}


def test_a_too_long_store_address_says_how_long_it_may_be():
    form = ShopDomainForm({"shop": "a" * 300})
    assert form.errors == {"shop": [
        "Shorten store address to 255 characters or fewer (this has 300)."]}


def test_amounts_say_their_limits_and_a_fields_own_message_wins():
    rule = ShippingRuleForm({"min_subtotal": "-1", "fee": "1.555"})
    assert rule.errors == {"min_subtotal": ["Enter an amount of 0 or more."],
                           "fee": ["Use at most 2 decimals."]}
    too_big = ShippingRuleForm({"min_subtotal": "123456789", "fee": "1"})
    assert too_big.errors == {"min_subtotal": ["Enter an amount below 100,000,000."]}
    assert PushForm({"shipping_fee": "-1"}).errors == {
        "shipping_fee": ["The shipping fee cannot be negative."]}
    fine = PushForm({"shipping_fee": "7.5"})
    assert fine.is_valid()
    assert fine.cleaned_data["shipping_fee"] == Decimal("7.50")
