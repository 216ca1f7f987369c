"""Driving the app as a merchant does, inside the emulator's admin page: open it, use the admin's
left column (the app's menu) and title bar, follow a link, and the usual world of one source and
one connected destination.

Embedded, the app's menu, page title, breadcrumb and actions are drawn by the admin (App Bridge,
here the emulator's stand-in) outside the app's frame: `page` locators find them, `app`
(the frame) locators find the page itself."""

import re

from stores.connections import connection_create
from stores.models import Connection, Shop
from stores.services import shop_role_choose

SOURCE = "demo-source.myshopify.com"
DEST = "demo-dest-1.myshopify.com"

# A merchant's click on an app link: a boosted navigation, its address pushed.
FOLLOW = """(url) => {
  const a = document.createElement("a");
  a.href = url;
  a.hidden = true;
  document.querySelector("main").appendChild(a);
  htmx.process(a);
  a.click();
}"""


def open_app(page, embedded, shop: str, path: str = ""):
    """The shop's admin with Syncer open (at `path`, an app page); the app's frame, once the
    admin's title bar shows the page's title."""
    page.goto(f"{embedded.url}/admin/{shop}/apps/syncer{path}")
    frame = page.frame_locator("iframe")
    frame.locator("h1.page-title").wait_for(state="attached")
    page.locator("#app-title").wait_for()
    page.wait_for_function("() => window.shopifyEmulator.state().app.titleBar !== null")
    return frame


def confirm_in_admin(page, choice: str) -> tuple[str, str]:
    """The question an action asks before it goes ahead, in the admin's modal (outside the
    app's frame): its title and text, once the merchant clicked `choice` and it closed."""
    modal = page.locator("#app-modal")
    modal.wait_for()
    asked = (modal.locator("h2").inner_text(), modal.locator("p").inner_text())
    modal.get_by_role("button", name=choice, exact=True).click()
    modal.wait_for(state="hidden")
    return asked


def menu(page):
    """The app's menu in the admin's left column."""
    return page.locator("nav.sidebar")


def menu_items(page) -> list[str]:
    """The app's menu items under its name (its home is the name itself, as in Shopify)."""
    return page.locator("#app-nav a").all_inner_texts()


def go_to(page, label: str) -> None:
    """Clicks the app's menu item `label` ("Home": the app's name) in the admin's left column,
    and waits for its page."""
    if label == "Home":
        page.locator("#app-home").click()
        page.locator("#app-home[aria-current=page]").wait_for()
        return
    menu(page).get_by_role("link", name=label, exact=True).click()
    page.locator("#app-nav a[aria-current=page]", has_text=label).wait_for()


def title_bar(page):
    """The admin's title bar over the app (its title is `#app-title`)."""
    return page.locator("#titlebar")


def wait_for_title(page, title: str) -> None:
    """Waits until the admin's title bar shows the app page titled `title`."""
    page.locator("#app-title", has_text=re.compile(f"^{re.escape(title)}$")).wait_for()


def admin_address(page) -> str:
    """The admin's address bar after the host: /admin/<shop>/apps/syncer/<app path>."""
    return re.sub(r"^https?://[^/]+", "", page.url)


def follow(page, url: str) -> None:
    """Follows `url` in the app's frame (the admin page's one frame) as a click would."""
    page.frames[1].evaluate(FOLLOW, url)


def source_and_destination_connected(embedded) -> Connection:
    """Demo Source and Demo Dest 1 installed, their roles chosen, the destination connected."""
    for shop, name in ((SOURCE, "Demo Source"), (DEST, "Demo Dest 1")):
        embedded.shop_create(shop, name=name)
        embedded.install(shop)
    source = shop_role_choose(shop=Shop.objects.get(domain=SOURCE), role="source")
    destination = shop_role_choose(shop=Shop.objects.get(domain=DEST), role="destination")
    return connection_create(destination=destination, store_key=source.store_key or "")
