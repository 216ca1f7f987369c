"""A destination's Product settings page for one source, through the real views: the field
choices, metafield namespaces, variants switch and price rule it saves, what it refuses (field
errors, nothing saved), the preview of the rule as typed, and that no other shop reaches it."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from products.models import ProductLink, SourceProduct, SourceVariant, SyncEvent
from stores.auth import shop_csrf_token
from stores.models import Connection
from tests.htmx_events import said
from tests.orders.dashboard_world import session_headers
from tests.stores.factories import ConnectionFactory

pytestmark = pytest.mark.django_db

EURO = "€{{amount_with_comma_separator}}"
DOLLAR = "${{amount}}"
SAVED = {"price_markup_percent", "price_markup_fixed", "price_rounding", "currency_rate",
         "currency_rate_set_at", "compare_at_rule", "field_sync", "metafield_namespaces",
         "sync_variants"}


def as_destination(connection: Connection, *, htmx: bool = True) -> dict[str, str]:
    domain = connection.destination.domain
    return {**session_headers(connection.destination, htmx=htmx),
            "X-CSRFToken": shop_csrf_token(shop_domain=domain, user_id="1")}


def url(connection: Connection) -> str:
    return f"/products/sources/{connection.pk}/settings"


def product(connection: Connection, title: str, *prices: tuple[str, str | None],
            hidden: bool = False, deleted: bool = False) -> SourceProduct:
    """A source product in the mirror with one variant per (price, compare-at price)."""
    made = SourceProduct.objects.create(
        shop=connection.source, shopify_id=SourceProduct.objects.count() + 1_000, title=title,
        hidden=hidden, deleted_at=timezone.now() if deleted else None)
    for position, (price, compare_at) in enumerate(prices, start=1):
        SourceVariant.objects.create(
            product=made, shop=connection.source,
            shopify_id=SourceVariant.objects.count() + 5_000,
            inventory_item_id=SourceVariant.objects.count() + 9_000, title=f"Size {position}",
            price=Decimal(price), position=position,
            compare_at_price=Decimal(compare_at) if compare_at else None)
    return made


def form_data(**changes) -> dict[str, str]:
    """What the page posts when nothing is changed on a new connection, with `changes`."""
    data = {"field_title": "create", "field_description": "create", "field_images": "create",
            "field_tags": "create", "field_vendor": "create", "field_product_type": "create",
            "field_seo": "ignore", "field_metafields": "ignore", "field_options": "create",
            "field_weight": "ignore", "field_barcode": "create", "field_price": "create",
            "field_compare_at": "create", "field_status": "create", "metafield_namespaces": "",
            "price_markup_percent": "0", "price_markup_fixed": "0", "price_rounding": "none",
            "currency_rate": "1.08", "compare_at_rule": "copy"}
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


def saved(connection: Connection) -> dict:
    connection.refresh_from_db()
    return {name: getattr(connection, name) for name in SAVED}


def preview_rows(html: str) -> list[list[str]]:
    rows = re.findall(r"<tr data-preview-row>(.*?)</tr>", html, re.S)
    return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>",
                                                                         row, re.S)]
            for row in rows]


def error_of(html: str, field: str) -> str:
    found = re.search(rf'<p class="field-error" id="id_{field}_error" role="alert">(.*?)</p>',
                      html, re.S)
    assert found, f"no error for {field}"
    return found.group(1)


@pytest.fixture
def conn():
    """A destination in USD following a source in EUR, each with its money format."""
    return ConnectionFactory(source__currency="EUR", source__money_format=EURO,
                             destination__currency="USD", destination__money_format=DOLLAR)


def test_the_page_offers_each_fields_choices_marks_defaults_and_names_both_currencies(
        client, conn):
    # given a connection whose choices were never changed
    # when the destination opens its Product settings
    page = client.get(url(conn), headers=as_destination(conn, htmx=False))
    html = page.content.decode()
    # then every field has its choices, Ignore only where Shopify allows it, defaults marked
    assert page.status_code == 200
    assert re.findall(r'name="field_title" value="(\w+)"', html) == ["sync", "create"]
    assert re.findall(r'name="field_seo" value="(\w+)"', html) == ["sync", "create", "ignore"]
    assert re.findall(r'name="field_price" value="(\w+)"[^>]*>\s*([\w ()-]+)</label>', html) == [
        ("sync", "Sync"), ("create", "Create only (default)")]
    assert re.findall(r'name="field_metafields" value="(\w+)"[^>]*checked', html) == ["ignore"]
    assert html.count(" (default)</label>") == 14
    # and the currencies, the rate as "1 EUR = … USD", the namespaces and the variants switch
    assert "Source: <strong>EUR</strong> · Your store: <strong>USD</strong>" in html
    assert re.search(r'1 EUR = <input type="text" name="currency_rate"[^>]*> USD', html)
    assert 'name="metafield_namespaces"' in html
    assert re.search(r'<input type="checkbox" name="sync_variants" role="switch"', html)
    assert "saving changes no product now and leaves the sync history as it is" in html
    # and the breadcrumb goes back to the source's catalogue
    assert (f'<a variant="breadcrumb" href="/products/sources/{conn.pk}/">Products</a>'
            in html)


def test_saving_stores_every_choice_and_the_price_rule(client, conn):
    # given a connection with one synced product's history
    shirt = product(conn, "Linen shirt", ("10.00", None))
    SyncEvent.objects.create(connection=conn, source_product=shirt, kind=SyncEvent.Kind.IMPORTED,
                             field="product", to_value="synced")
    history = list(SyncEvent.objects.values())
    before = timezone.now()
    # when the destination saves its choices
    response = client.post(url(conn), form_data(
        field_title="sync", field_price="sync", field_metafields="sync", field_seo="create",
        metafield_namespaces=" custom, specs ,custom,", sync_variants="on",
        price_markup_percent="12.5", price_markup_fixed="-1.50", price_rounding="99",
        currency_rate="1.0825", compare_at_rule="rule"), headers=as_destination(conn))
    # then everything is saved, the rate dated now, and the toast says when it applies
    assert response.status_code == 200
    assert said(response) == {"message": "Product settings saved. They apply from the source's "
                                         "next change.", "error": False}
    stored = saved(conn)
    assert before <= stored.pop("currency_rate_set_at") <= timezone.now()
    assert stored == {
        "price_markup_percent": Decimal("12.50"), "price_markup_fixed": Decimal("-1.50"),
        "price_rounding": "99", "currency_rate": Decimal("1.08250000"),
        "compare_at_rule": "rule", "metafield_namespaces": ["custom", "specs"],
        "sync_variants": True,
        "field_sync": {
            "title": "sync", "description": "create", "images": "create", "tags": "create",
            "vendor": "create", "product_type": "create", "seo": "create",
            "metafields": "sync", "options": "create", "weight": "ignore",
            "barcode": "create", "price": "sync", "compare_at": "create",
            "status": "create"}}
    # and the sync history is as it was
    assert list(SyncEvent.objects.values()) == history
    # and the form shows what was saved
    html = response.content.decode()
    assert 'value="custom, specs"' in html
    assert 'name="price_markup_fixed" value="-1.5"' in html


def test_the_rate_date_moves_only_when_the_rate_changes(client, conn):
    # given a rate set a week ago
    week_ago = timezone.now() - timedelta(days=7)
    Connection.objects.filter(pk=conn.pk).update(currency_rate=Decimal("1.08"),
                                                 currency_rate_set_at=week_ago)
    # when the markup changes but the rate is posted as it was (written differently)
    client.post(url(conn), form_data(currency_rate="1.080", price_markup_percent="5"),
                headers=as_destination(conn))
    # then the rate keeps its date, which the page shows
    assert saved(conn)["currency_rate_set_at"] == week_ago
    local = timezone.localtime(week_ago)
    assert f"Set on {local:%b} {local.day}, {local.year}." in client.get(
        url(conn), headers=as_destination(conn, htmx=False)).content.decode()
    # when the rate changes
    before = timezone.now()
    client.post(url(conn), form_data(currency_rate="1.1"), headers=as_destination(conn))
    # then it is dated now
    stored = saved(conn)
    assert stored["currency_rate"] == Decimal("1.1")
    assert stored["currency_rate_set_at"] >= before


@pytest.mark.parametrize(("changes", "field", "error"), [
    ({"currency_rate": "0"}, "currency_rate", "Enter a rate above 0."),
    ({"currency_rate": "-1.2"}, "currency_rate", "Enter a rate above 0."),
    ({"currency_rate": ""}, "currency_rate", "Enter how many USD one EUR is."),
    ({"currency_rate": "abc"}, "currency_rate", "Enter a number."),
    ({"price_markup_percent": "-100"}, "price_markup_percent",
     "Enter a markup above -100%: at -100% every price would be zero."),
    ({"price_markup_percent": "-250"}, "price_markup_percent",
     "Enter a markup above -100%: at -100% every price would be zero."),
    ({"price_markup_percent": "100000"}, "price_markup_percent",
     "Enter an amount below 100,000."),
    ({"price_markup_fixed": "-9"}, "price_markup_fixed",
     "This rule prices Tea towel (Size 1) below zero: its price of €4,00 at the source would "
     "be -$4.68. Make the fixed markup smaller."),
    ({"price_markup_fixed": "-20", "compare_at_rule": "rule", "currency_rate": "1"},
     "price_markup_fixed",
     "This rule prices Tea towel (Size 1) below zero: its price of €4,00 at the source would "
     "be -$16.00. Make the fixed markup smaller."),
    ({"price_rounding": "97"}, "price_rounding", "Choose how to round."),
    ({"compare_at_rule": "double"}, "compare_at_rule",
     "Choose what happens to compare-at prices."),
    ({"field_metafields": "sync"}, "metafield_namespaces",
     "Enter at least one namespace, or choose Ignore for metafields."),
    ({"field_metafields": "create", "metafield_namespaces": " , "}, "metafield_namespaces",
     "Enter at least one namespace, or choose Ignore for metafields."),
    ({"metafield_namespaces": "custom, my specs"}, "metafield_namespaces",
     "“my specs” is not a namespace: use 3 to 255 letters, digits, hyphens or underscores."),
    ({"metafield_namespaces": "ab"}, "metafield_namespaces",
     "“ab” is not a namespace: use 3 to 255 letters, digits, hyphens or underscores."),
    ({"field_title": "ignore"}, "field_title", "Choose what happens to title."),
    ({"field_status": None}, "field_status", "Choose what happens to status."),
    ({"sync_variants": "maybe"}, "sync_variants", "Choose on or off."),
])
def test_refused_settings_say_why_next_to_the_field_and_save_nothing(client, conn, changes,
                                                                      field, error):
    # given the source's cheapest variant at €4.00 (and a compare-at one at €9.00)
    product(conn, "Tea towel", ("4.00", None), ("6.00", "9.00"))
    product(conn, "Apron", ("25.00", "3.00"))
    product(conn, "Gone", ("0.50", None), deleted=True)
    before = saved(conn)
    # when the destination saves a refused setting
    response = client.post(url(conn), form_data(**changes), headers=as_destination(conn))
    # then the form comes back with the error under that field, and nothing was saved
    assert response.status_code == 422
    assert error_of(response.content.decode(), field) == error
    assert saved(conn) == before


def test_the_compare_at_rule_is_checked_on_compare_at_prices_too(client, conn):
    # given a compare-at price below every price of the source
    product(conn, "Apron", ("25.00", "3.00"))
    # when the rule takes 5.00 off and prices compare-at prices too
    response = client.post(url(conn), form_data(price_markup_fixed="-5", currency_rate="1",
                                                 compare_at_rule="rule"),
                           headers=as_destination(conn))
    # then it is refused, naming the compare-at price
    assert response.status_code == 422
    assert error_of(response.content.decode(), "price_markup_fixed") == (
        "This rule prices Apron (Size 1) below zero: its compare-at price of €3,00 at the "
        "source would be -$2.00. Make the fixed markup smaller.")
    # and copying compare-at prices instead is accepted
    accepted = client.post(url(conn), form_data(price_markup_fixed="-5", currency_rate="1",
                                                compare_at_rule="copy"),
                           headers=as_destination(conn))
    assert accepted.status_code == 200
    assert saved(conn)["price_markup_fixed"] == Decimal("-5.00")


def test_the_preview_prices_three_products_by_the_rule_as_typed(client, conn):
    # given a synced product, visible ones, and a hidden and a deleted one
    ProductLink.objects.create(connection=conn, destination_product_id=77,
                               origin=ProductLink.Origin.IMPORTED,
                               source_product=product(conn, "Zebra tote", ("10.00", "20.00")))
    product(conn, "Apron", ("25.00", None), ("30.00", "40.00"))
    product(conn, "Bowl", ("8.50", None))
    product(conn, "Cup", ("5.00", None))
    product(conn, "Apple crate", ("1.00", None), hidden=True)
    product(conn, "Aardvark", ("1.00", None), deleted=True)
    # when the rule is typed in: × 1.1, +10%, +1.00, up to .99, compare-at by the same rule
    response = client.get(url(conn), {
        **form_data(currency_rate="1.1", price_markup_percent="10", price_markup_fixed="1",
                    price_rounding="99", compare_at_rule="rule"), "preview": "1"},
        headers=as_destination(conn))
    # then the preview alone comes back: the synced product first, then the first visible ones
    html = response.content.decode()
    assert response.status_code == 200
    assert "<form" not in html
    assert preview_rows(html) == [
        ["Zebra tote Synced", "Size 1", "€10,00", "$13.99", "€20,00", "$25.99"],
        ["Apron", "Size 1", "€25,00", "$31.99", "—", "—"],
        ["", "Size 2", "€30,00", "$37.99", "€40,00", "$49.99"],
        ["Bowl", "Size 1", "€8,50", "$11.99", "—", "—"],
    ]
    # and nothing was saved
    assert saved(conn)["price_markup_percent"] == Decimal("0")


def test_the_page_previews_the_saved_rule_and_copied_compare_at_prices(client, conn):
    # given a saved rule: × 0.9, -5%, no fixed markup, up to a whole amount, compare-at copied
    Connection.objects.filter(pk=conn.pk).update(
        currency_rate=Decimal("0.9"), price_markup_percent=Decimal("-5"),
        price_rounding="whole", compare_at_rule="copy")
    product(conn, "Apron", ("25.00", "40.00"))
    # when the page opens
    html = client.get(url(conn), headers=as_destination(conn, htmx=False)).content.decode()
    # then 25 × 0.9 × 0.95 = 21.375 → 22.00; the compare-at price is only converted: 36.00
    assert preview_rows(html) == [["Apron", "Size 1", "€25,00", "$22.00", "€40,00", "$36.00"]]


def test_an_invalid_rule_shows_its_error_in_the_preview_instead(client, conn):
    product(conn, "Apron", ("25.00", None))
    response = client.get(url(conn), {**form_data(price_markup_percent="-100",
                                                  currency_rate="0"), "preview": "1"},
                          headers=as_destination(conn))
    html = response.content.decode()
    assert response.status_code == 200
    assert preview_rows(html) == []
    assert re.findall(r"<li>(.*?)</li>", html) == [
        "Markup (%): Enter a markup above -100%: at -100% every price would be zero.",
        "Currency rate: Enter a rate above 0."]


def test_same_currency_needs_no_rate(client):
    # given a source and a destination both in USD, with an old rate stored
    conn = ConnectionFactory(source__currency="USD", destination__currency="USD",
                             currency_rate=Decimal("1.2"), currency_rate_set_at=timezone.now())
    page = client.get(url(conn), headers=as_destination(conn, htmx=False)).content.decode()
    assert "Source: <strong>USD</strong> · Your store: <strong>USD</strong>" in page
    assert 'name="currency_rate"' not in page
    # when saved (a rate sent anyway is not used)
    response = client.post(url(conn), form_data(currency_rate="3"), headers=as_destination(conn))
    # then no rate is kept
    assert response.status_code == 200
    stored = saved(conn)
    assert (stored["currency_rate"], stored["currency_rate_set_at"]) == (None, None)


def test_one_destination_never_reaches_another_ones_settings(client, conn):
    # given another destination of the same source
    other = ConnectionFactory(source=conn.source, destination__currency="USD")
    before = saved(conn)
    # when it asks for, previews or saves our connection's settings
    page = client.get(url(conn), headers=as_destination(other, htmx=False))
    preview = client.get(url(conn), {**form_data(), "preview": "1"},
                         headers=as_destination(other))
    save = client.post(url(conn), form_data(price_markup_percent="50"),
                       headers=as_destination(other))
    # then there is no such page, and nothing changed
    assert (page.status_code, preview.status_code, save.status_code) == (404, 404, 404)
    assert saved(conn) == before
    # and the source itself is not a destination
    source = client.get(url(conn), headers={
        "Authorization": session_headers(conn.source)["Authorization"]})
    assert source.status_code == 403


def test_a_disconnected_source_has_no_settings_page(client, conn):
    Connection.objects.filter(pk=conn.pk).update(status=Connection.Status.DISCONNECTED)
    before = saved(conn)
    page = client.get(url(conn), headers=as_destination(conn, htmx=False))
    save = client.post(url(conn), form_data(price_markup_percent="50"),
                       headers=as_destination(conn))
    assert (page.status_code, save.status_code) == (403, 403)
    assert "You disconnected from this source" in page.content.decode()
    assert saved(conn) == before


def test_the_catalogue_sums_up_what_follows_and_links_to_the_settings(client, conn):
    # given price and status synced, variants followed, and a price rule
    Connection.objects.filter(pk=conn.pk).update(
        field_sync={"price": "sync", "status": "sync"}, sync_variants=True,
        currency_rate=Decimal("1.08"), price_markup_percent=Decimal("10"),
        price_markup_fixed=Decimal("-0.5"), price_rounding="99")
    # when the destination opens the source's products
    html = client.get(f"/products/sources/{conn.pk}/",
                      headers=as_destination(conn, htmx=False)).content.decode()
    # then the summary says what follows, and links to the settings
    assert "<li>At every change, too: Price, Status (active, draft, archived).</li>" in html
    assert ("<li>Variants added or removed at the source: added or removed here too.</li>"
            in html)
    assert "<li>Prices: 1 EUR = 1.08 USD, +10%, -$0.50, rounded up to .99.</li>" in html
    assert html.count(f'href="/products/sources/{conn.pk}/settings"') == 2


def test_prices_are_sent_again_only_when_they_follow_the_source(client):
    # given a destination with two synced products, prices Create only (the test's transaction
    # never commits: what is marked to send stays marked)
    connection = ConnectionFactory()
    for title in ("Shirt", "Tote"):
        ProductLink.objects.create(connection=connection, origin="imported",
                                   source_product=product(connection, title, ("10.00", None)),
                                   destination_product_id=ProductLink.objects.count() + 70)
    page = client.get(url(connection), headers=as_destination(connection, htmx=False))
    assert "Send prices again" not in page.content.decode()
    # when the merchant asks anyway, nothing is marked to send
    refused = client.post(f"{url(connection)}/reprice", headers=as_destination(connection))
    assert refused.status_code == 409
    assert said(refused) == {"message": "Nothing to send: prices do not follow this source "
                             "(choose Sync for Price), or no synced product follows it.",
                             "error": True}
    assert not ProductLink.objects.filter(pending_since__isnull=False).exists()
    # when prices follow the source, both products' prices wait for the field flush
    connection.field_sync = {"price": "sync", "compare_at": "sync"}
    connection.save()
    page = client.get(url(connection), headers=as_destination(connection, htmx=False))
    assert "Send prices again with this rule" in page.content.decode()
    sent = client.post(f"{url(connection)}/reprice", headers=as_destination(connection))
    assert sent.status_code == 204
    assert said(sent) == {"message": "The prices of 2 synced products are being sent again "
                          "with your rule.", "error": False}
    assert sorted(ProductLink.objects.values_list("pending_fields", flat=True),
                  key=str) == [{"compare_at": "", "price": ""}] * 2
    assert SyncEvent.objects.count() == 0


def test_the_catalogue_says_when_prices_would_go_across_currencies_unconverted(client, conn):
    # given a EUR source, a USD destination, and no rate typed in yet (with a markup)
    Connection.objects.filter(pk=conn.pk).update(price_markup_percent=Decimal("10"))
    # when the destination opens the source's products
    html = client.get(f"/products/sources/{conn.pk}/",
                      headers=as_destination(conn, htmx=False)).content.decode()
    # then the summary says its prices would not be converted, and where to set the rate
    assert ("<li>Prices: not converted: the source prices in EUR and your store in USD, and no "
            "currency rate is set (set one in Product settings); +10%.</li>") in html
    # and once a rate is set, the rule is shown as usual
    Connection.objects.filter(pk=conn.pk).update(currency_rate=Decimal("1.08"))
    html = client.get(f"/products/sources/{conn.pk}/",
                      headers=as_destination(conn, htmx=False)).content.decode()
    assert "<li>Prices: 1 EUR = 1.08 USD, +10%.</li>" in html
