"""In the browser: a destination's Home shows its source; the source's page about a store lists
that store's products, searched as the owner types and paged."""

import pytest

from tests.e2e.admin import DEST, SOURCE, go_to, open_app, source_and_destination_connected

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

def cells(rows) -> list[list[str]]:
    return [[cell.strip() for cell in row.split("\t")] for row in rows.all_inner_texts()]


def test_a_connected_destinations_home_shows_its_source(page, embedded, artifacts):
    source_and_destination_connected(embedded)
    app = open_app(page, embedded, DEST)
    source_row = app.locator(f'#home-sources tr[data-source="{SOURCE}"]')
    source_row.wait_for()
    assert source_row.locator("td").nth(1).inner_text() == "Connected"
    assert app.get_by_text("Follow a source store").count() == 0
    page.screenshot(path=str(artifacts / "home-sources.png"))


def test_the_store_page_searches_and_pages_the_stores_products(page, embedded, artifacts):
    from tests.orders.store_world import link, product

    connection = source_and_destination_connected(embedded)
    for number in range(30):  # Item 00, 09, 18 and 27 synced; 26 available
        made = product(connection.source, f"Item {number:02d}", [f"ITEM-{number:02d}"], stock=[5])
        if number % 9 == 0:
            link(connection, made, targets=[4])
    app = open_app(page, embedded, SOURCE)
    go_to(page, "Stores")
    app.get_by_role("link", name="View").click()
    rows = app.locator("#store-products tbody tr")
    rows.first.wait_for()
    assert cells(rows) == [
        [f"Item {n}\nAcme", f"ITEM-{n}", "1", "5", "4", "Stock follows yours"]
        for n in ("00", "09", "18", "27")]
    # the Available tab is paged
    app.get_by_role("tab", name="Available").click()
    pagination = app.locator("#store-products nav.pagination")
    pagination.get_by_text("Page 1 of 2").wait_for()
    assert rows.count() == 25
    pagination.get_by_role("link", name="Next").click()
    pagination.get_by_text("Page 2 of 2").wait_for()
    assert cells(rows) == [
        ["Item 29\nAcme", "ITEM-29", "1", "5"]]
    # typing narrows the list without pressing Enter
    app.get_by_role("searchbox", name="Search this store's products").press_sequentially(
        "item-2", delay=50)
    pagination.wait_for(state="detached", timeout=5000)
    assert [row[1] for row in cells(rows)] == [
        f"ITEM-{n}" for n in (20, 21, 22, 23, 24, 25, 26, 28, 29)]
    page.screenshot(path=str(artifacts / "store-products.png"))
