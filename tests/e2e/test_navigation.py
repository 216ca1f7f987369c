"""The page's address is the truth: tabs, pages and searches are addresses, Back asks the server
for the page as it is now, and a reload comes back to the same place."""

import re

import pytest

from tests.e2e.admin import SOURCE, go_to, menu_items, open_app, source_and_destination_connected

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

def app_address(page) -> str:
    """The app frame's path and query (the emulator's admin page holds one frame: the app)."""
    url = page.frames[1].url
    return re.sub(r"^https?://[^/]+", "", url)


def test_choosing_a_role_updates_the_menu_and_header_at_once(page, embedded):
    # given a newly installed store with no role: its menu has no Stores or Products
    embedded.shop_create(SOURCE, name="Demo Source")
    embedded.install(SOURCE)
    app = open_app(page, embedded, SOURCE)
    assert menu_items(page) == ["System status", "Help"]

    # when the owner chooses Source (no reload)
    app.get_by_text("Source", exact=True).click()
    app.get_by_role("button", name="Save role").click()
    app.locator("#store-key-value").wait_for()

    # then the menu and the header say what the store now is
    page.locator("#app-nav a", has_text="Activity").wait_for()
    assert menu_items(page) == [
        "Dashboard", "Stores", "Products", "Inventory", "Activity", "Help"]
    assert app.locator(".page-header .page-subtitle").inner_text() == (
        f"{SOURCE} · Source store")
    assert page.locator("#app-home[aria-current=page]").count() == 1


def test_tabs_and_search_are_addresses_and_back_shows_the_page_as_it_is_now(page, embedded):
    # given a source with one connected store, on its Stores list
    from stores.connections import connection_block

    connection = source_and_destination_connected(embedded)
    source = connection.source
    app = open_app(page, embedded, SOURCE)
    go_to(page, "Stores")
    app.get_by_text("Demo Dest 1", exact=True).wait_for()
    assert app_address(page) == "/stores/"

    # when the owner opens the Blocked tab and searches
    app.get_by_role("tab", name=re.compile("^Blocked")).click()
    app.get_by_text("No blocked stores").wait_for()
    app.get_by_role("searchbox", name="Search stores").press_sequentially("Dest", delay=30)
    page.frames[1].wait_for_function("() => location.search.includes('q=Dest')")

    # then the address says so (the search replaced the tab's address, not added one)
    assert app_address(page) == "/stores/?tab=blocked&q=Dest"

    # when the owner goes elsewhere, the store is blocked meanwhile, and the owner goes Back
    go_to(page, "Products")
    app.locator("h1.page-title", has_text="Products").wait_for()
    connection_block(connection=connection, actor=source)
    page.frames[1].evaluate("history.back()")  # the browser's Back (joint session history)

    # then the Blocked tab with the search is back, as it is now: the store is listed
    app.get_by_text("Demo Dest 1", exact=True).wait_for()
    assert app_address(page) == "/stores/?tab=blocked&q=Dest"
    assert app.locator("[role=tab][aria-selected=true]").inner_text().split() == ["Blocked", "1"]
    assert app.get_by_role("searchbox", name="Search stores").input_value() == "Dest"
    assert page.locator("#app-nav a[aria-current=page]").inner_text() == "Stores"

    # when Back again: the tab before the search
    page.frames[1].evaluate("history.back()")
    app.locator("[role=tab][aria-selected=true]", has_text="Connected").wait_for()
    assert app_address(page) == "/stores/"

    # and a reload of the app comes back to the same address, signed in again
    page.frames[1].evaluate("history.forward()")
    app.get_by_text("Demo Dest 1", exact=True).wait_for()
    page.frames[1].evaluate("location.reload()")
    app.locator("[role=tab][aria-selected=true]", has_text="Blocked").wait_for()
    assert app_address(page).startswith("/stores/?tab=blocked&q=Dest")
    assert app.locator("h1.page-title").inner_text() == "Stores"
