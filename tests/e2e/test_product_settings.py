"""Browser: a destination owner in USD, inside the emulated Shopify admin, opens a EUR source's
Product settings from its products, types a markup and a currency rate, watches the preview
follow the rule as typed (and say what is missing meanwhile), saves from the admin's save bar,
then discards a change."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from products.models import SourceProduct, SourceVariant
from stores.connections import connection_create
from stores.models import Connection, Shop
from stores.services import shop_role_choose
from tests.e2e.admin import open_app, title_bar, wait_for_title

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SOURCE = "demo-source.myshopify.com"
DEST = "demo-dest-1.myshopify.com"


def test_the_preview_follows_the_rule_as_typed_and_the_save_bar_saves_it(page, embedded,
                                                                         artifacts):
    page.set_default_timeout(60_000)  # the shared CI box can be slow; every wait is an event
    # given a source selling in EUR and a destination in USD, connected
    for shop, name, currency in ((SOURCE, "Demo Source", "EUR"), (DEST, "Demo Dest 1", "USD")):
        embedded._json("POST", "/_emulator/shops",
                       json={"domain": shop, "name": name, "currency": currency})
        embedded.install(shop)
    source = shop_role_choose(shop=Shop.objects.get(domain=SOURCE), role="source")
    destination = shop_role_choose(shop=Shop.objects.get(domain=DEST), role="destination")
    connection = connection_create(destination=destination, store_key=source.store_key or "")
    # and a shirt at €10.00, once €20.00 (straight in the catalogue mirror)
    shirt = SourceProduct.objects.create(shop=source, shopify_id=9_001, title="Linen shirt")
    SourceVariant.objects.create(product=shirt, shop=source, shopify_id=9_101,
                                 inventory_item_id=9_201, title="S", price=Decimal("10.00"),
                                 compare_at_price=Decimal("20.00"))

    # the owner opens the source's products, then Product settings from the title bar
    open_app(page, embedded, DEST, f"/products/sources/{connection.pk}/")
    wait_for_title(page, "Products")
    title_bar(page).get_by_role("button", name="Product settings").click()
    wait_for_title(page, "Product settings")
    app = page.frame_locator("iframe")
    preview = app.locator("#price-preview")
    price, compare_at = preview.locator("[data-preview-price]"), preview.locator(
        "[data-preview-compare-at]")
    # no rule yet: the shirt's prices are copied as they are
    expect(app.get_by_text("Source: EUR · Your store: USD")).to_be_visible()
    expect(price).to_have_text("$10.00")
    save_bar = page.locator("#savebar")
    assert save_bar.is_visible() is False

    # when they type a 10% markup: the preview asks for the rate the currencies need first
    app.get_by_label("Markup (%)").fill("10")
    expect(preview.get_by_text("Currency rate: Enter how many USD one EUR is.")).to_be_visible()
    save_bar.wait_for()
    page.screenshot(path=str(artifacts / "1-rate-missing.png"))

    # when they type the rate: €10.00 × 1.1 + 10% = $12.10; the compare-at price is converted
    app.get_by_label("Currency rate").fill("1.1")
    expect(price).to_have_text("$12.10")
    expect(compare_at).to_have_text("$22.00")
    preview.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "2-preview.png"))
    assert Connection.objects.get(pk=connection.pk).price_markup_percent == Decimal("0")

    # when they save from the admin's save bar: saved, the bar gone, the rate dated
    with page.expect_response(
        lambda r: r.url.endswith(f"/products/sources/{connection.pk}/settings")
        and r.request.method == "POST"
    ) as saved:
        save_bar.get_by_role("button", name="Save").click()
    assert saved.value.status == 200
    save_bar.wait_for(state="hidden")
    connection.refresh_from_db()
    assert (connection.price_markup_percent, connection.currency_rate) == (
        Decimal("10.00"), Decimal("1.10000000"))
    assert connection.currency_rate_set_at is not None
    expect(app.get_by_text("Set on ")).to_be_visible()
    expect(price).to_have_text("$12.10")
    page.screenshot(path=str(artifacts / "3-saved.png"))

    # when they try a 20% markup and discard it: the preview is back to the saved rule
    app.get_by_label("Markup (%)").fill("20")
    expect(price).to_have_text("$13.20")
    save_bar.get_by_role("button", name="Discard").click()
    page.get_by_role("button", name="Discard changes").click()
    save_bar.wait_for(state="hidden")
    expect(price).to_have_text("$12.10")
    expect(app.get_by_label("Markup (%)")).to_have_value("10")
    connection.refresh_from_db()
    assert connection.price_markup_percent == Decimal("10.00")
