"""Syncer inside Shopify admin, as App Bridge shows it: the app's menu in the admin's left
column, the page's title, breadcrumb and actions in the admin's title bar, settings saved from
the admin's save bar, the admin's address following the app's page, and failures that stay.

The emulator's admin page plays Shopify admin; the app's stand-in App Bridge reads the same
<ui-nav-menu>, <ui-title-bar> and <form data-save-bar> that Shopify's App Bridge reads."""

import re

import pytest

from orders.models import OrderSettings
from stores.connections import connection_block
from stores.models import Connection
from tests.e2e.admin import (
    DEST,
    SOURCE,
    admin_address,
    confirm_in_admin,
    go_to,
    menu_items,
    open_app,
    source_and_destination_connected,
    title_bar,
    wait_for_title,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def app_path(page) -> str:
    """The app frame's path and query."""
    return re.sub(r"^https?://[^/]+", "", page.frames[1].url)


def test_the_admins_left_column_reaches_every_page_of_both_roles(page, embedded):
    # given a source and a connected destination, each open in its admin
    source_and_destination_connected(embedded)
    pages = {
        SOURCE: [("Dashboard", "Dashboard", "/dashboard/"), ("Stores", "Stores", "/stores/"),
                 ("Products", "Products", "/products/"), ("Inventory", "Inventory", "/inventory/"),
                 ("Activity", "Activity", "/activity/"), ("Help", "Help", "/help/")],
        DEST: [("Dashboard", "Dashboard", "/dashboard/"), ("Sources", "Sources", "/sources/"),
               ("Products", "Products", "/products/"), ("Orders", "Orders", "/orders/"),
               ("Inventory", "Inventory", "/inventory/"), ("Activity", "Activity", "/activity/"),
               ("Plan & billing", "Plan & billing", "/billing/"), ("Help", "Help", "/help/")],
    }
    for shop, items in pages.items():
        app = open_app(page, embedded, shop)
        # then the app's menu is the admin's, and the app draws none of its own
        assert menu_items(page) == [label for label, _, _ in items]
        assert app.locator("nav.shell-nav").count() == 0
        assert page.locator("#app-home[aria-current=page]").count() == 1

        for label, title, path in items:
            # when the owner picks the item in the admin's left column
            go_to(page, label)
            wait_for_title(page, title)
            # then the app is on that page, and the admin's address says so
            assert app_path(page).startswith(path), (shop, label, app_path(page))
            assert admin_address(page) == (
                f"/admin/{shop}/apps/syncer{app_path(page)}"), (shop, label)
            assert page.locator("#app-nav a[aria-current=page]").all_inner_texts() == [label]

        # and the app's name goes back Home
        go_to(page, "Home")
        assert app_path(page) == "/"
        assert admin_address(page) == f"/admin/{shop}/apps/syncer"


def test_a_sub_page_keeps_its_menu_item_and_its_breadcrumb_leads_back(page, embedded):
    # given a destination on its Order settings, opened from the admin's address
    source_and_destination_connected(embedded)
    open_app(page, embedded, DEST, "/orders/settings")
    wait_for_title(page, "Order settings")

    # then the title bar has the way back and the page's action; Orders stays the menu's item
    assert title_bar(page).locator("a.crumb").inner_text() == "‹ Orders"
    assert title_bar(page).get_by_role("button").all_inner_texts() == ["What is sent"]
    assert page.locator("#app-nav a[aria-current=page]").inner_text() == "Orders"

    # when the owner clicks the title bar's action, then its page opens
    title_bar(page).get_by_role("button", name="What is sent").click()
    wait_for_title(page, "What is sent with a pushed order")

    # when the owner follows the breadcrumb
    title_bar(page).locator("a.crumb").click()
    wait_for_title(page, "Orders")
    assert app_path(page) == "/orders/"


def test_reload_and_back_land_on_the_same_page(page, embedded):
    # given a source on the Blocked tab of its Stores, after Home
    connection = source_and_destination_connected(embedded)
    app = open_app(page, embedded, SOURCE)
    go_to(page, "Stores")
    app.get_by_role("tab", name=re.compile("^Blocked")).click()
    page.wait_for_function("() => location.search === '?tab=blocked'")
    assert admin_address(page) == f"/admin/{SOURCE}/apps/syncer/stores/?tab=blocked"

    # when the store is blocked meanwhile and the owner reloads the admin
    connection_block(connection=connection, actor=connection.source)
    page.reload()
    wait_for_title(page, "Stores")

    # then the same page is back, as it is now
    app.get_by_text("Demo Dest 1", exact=True).wait_for()
    assert app_path(page).startswith("/stores/?tab=blocked&")
    assert page.locator("#app-nav a[aria-current=page]").inner_text() == "Stores"

    # when the owner goes to Products, then Back
    go_to(page, "Products")
    wait_for_title(page, "Products")
    page.go_back()

    # then Stores' Blocked tab again, the address too
    app.locator("[role=tab][aria-selected=true]", has_text="Blocked").wait_for()
    wait_for_title(page, "Stores")
    page.wait_for_function("() => location.pathname.endsWith('/apps/syncer/stores/')")
    assert admin_address(page).startswith(f"/admin/{SOURCE}/apps/syncer/stores/?tab=blocked")


def test_settings_save_from_the_save_bar_and_leaving_is_guarded(page, embedded):
    # given a destination on its Order settings (automatic push off)
    source_and_destination_connected(embedded)
    app = open_app(page, embedded, DEST, "/orders/settings")
    save_bar = page.locator("#savebar")
    auto_push = app.get_by_role("switch", name="Push paid orders automatically")
    assert save_bar.is_visible() is False
    # the form's own Save button is the save bar's now
    assert app.get_by_role("button", name="Save", exact=True).is_visible() is False

    # when the owner turns automatic push on: the save bar appears
    auto_push.check()
    save_bar.wait_for()

    # and when they discard (and confirm): the form is as it was, the bar gone, nothing saved
    save_bar.get_by_role("button", name="Discard").click()
    page.get_by_role("button", name="Discard changes").click()
    save_bar.wait_for(state="hidden")
    assert auto_push.is_checked() is False
    assert OrderSettings.objects.filter(shop__domain=DEST, auto_push=True).exists() is False

    # when they change it again and try to leave by the admin's menu: they stay, bar shaking
    auto_push.check()
    save_bar.wait_for()
    page.locator("#app-nav a", has_text="Products").click()
    page.wait_for_timeout(300)
    assert save_bar.get_attribute("class") == "savebar visible shake"
    assert app_path(page).startswith("/orders/settings")
    assert auto_push.is_checked() is True

    # when they save from the bar: it is saved and the bar goes
    with page.expect_response(
        lambda r: r.url.endswith("/orders/settings") and r.request.method == "POST"
    ) as saved:
        save_bar.get_by_role("button", name="Save").click()
    assert saved.value.status == 200
    save_bar.wait_for(state="hidden")
    assert OrderSettings.objects.get(shop__domain=DEST).auto_push is True


def test_an_in_page_link_asks_before_unsaved_changes_are_lost(page, embedded):
    # given a source editing its Inventory settings: a shared location unticked, not saved
    source_and_destination_connected(embedded)
    app = open_app(page, embedded, SOURCE, "/inventory/")
    app.locator("form[data-save-bar]").get_by_role("checkbox").first.uncheck()
    page.locator("#savebar").wait_for()

    # when a link inside the page is followed
    page.frames[1].evaluate("""() => {
      const a = document.createElement("a");
      a.href = "/stores/"; a.textContent = "away"; a.id = "away";
      document.querySelector("main").appendChild(a); htmx.process(a); a.click();
    }""")

    # then the admin asks; staying keeps the page
    dialog = page.locator("#leave-dialog")
    dialog.wait_for()
    dialog.get_by_role("button", name="Stay").click()
    page.wait_for_timeout(300)
    assert app_path(page).startswith("/inventory/")
    assert page.locator("#savebar").is_visible() is True

    # and leaving goes, dropping the change and the bar
    app.locator("#away").evaluate("a => a.click()")
    dialog.wait_for()
    dialog.get_by_role("button", name="Leave page").click()
    wait_for_title(page, "Stores")
    assert page.locator("#savebar").is_visible() is False


def test_a_failed_action_shows_a_critical_banner_that_stays(page, embedded):
    # given a source on a connected store's page, the store blocked meanwhile elsewhere
    connection = source_and_destination_connected(embedded)
    app = open_app(page, embedded, SOURCE, f"/stores/{connection.pk}/")
    connection_block(connection=connection, actor=connection.source)

    # when the owner blocks it here
    app.get_by_role("button", name="Block store").click()
    confirm_in_admin(page, "Block store")

    # then a critical banner says why, in the card that failed, and stays there
    banner = app.locator("#store-status [role=alert].banner-critical")
    banner.wait_for()
    assert banner.inner_text().splitlines()[0] == "This store is already blocked."
    page.wait_for_timeout(6000)  # longer than any toast lasts
    assert banner.is_visible() is True
    assert page.locator("#toast").is_visible() is False

    # until dismissed
    banner.get_by_role("button", name="Dismiss").click()
    assert banner.count() == 0


def test_an_action_asks_in_the_admins_modal_not_the_browsers(page, embedded, artifacts):
    # given a source on a connected store's page
    connection = source_and_destination_connected(embedded)
    app = open_app(page, embedded, SOURCE, f"/stores/{connection.pk}/")
    native: list[str] = []
    page.on("dialog", lambda dialog: (native.append(dialog.message), dialog.dismiss()))

    # when the owner clicks Block store, then changes their mind
    app.get_by_role("button", name="Block store").click()
    modal = page.locator("#app-modal")
    modal.wait_for()
    # then the admin asks, over the whole admin: the question, what it means, and the action
    # in red beside Cancel
    assert modal.locator("h2").inner_text() == "Block this store?"
    assert modal.locator("p").inner_text() == (
        "It immediately loses access to your catalogue and all its synced products stop "
        "syncing.")
    buttons = modal.locator(".actions button")
    assert buttons.all_inner_texts() == ["Cancel", "Block store"]
    assert buttons.nth(1).get_attribute("class") == "critical"
    page.screenshot(path=str(artifacts / "block-store-asked.png"))
    modal.get_by_role("button", name="Cancel").click()
    modal.wait_for(state="hidden")
    page.wait_for_timeout(300)
    # and nothing happened
    connection.refresh_from_db()
    assert connection.status == Connection.Status.CONNECTED

    # when they ask again and close it with Escape
    app.get_by_role("button", name="Block store").click()
    modal.wait_for()
    page.keyboard.press("Escape")
    modal.wait_for(state="hidden")
    page.wait_for_timeout(300)
    connection.refresh_from_db()
    assert connection.status == Connection.Status.CONNECTED

    # when they ask once more and block it
    app.get_by_role("button", name="Block store").click()
    assert confirm_in_admin(page, "Block store")[0] == "Block this store?"
    # then the store is blocked, and the browser never asked anything
    app.get_by_role("button", name="Unblock store").wait_for()
    connection.refresh_from_db()
    assert connection.status == Connection.Status.BLOCKED
    assert native == []
