"""Driving the app as a merchant does, inside the emulator's admin page: open it, follow a link,
and the usual world of one source and one connected destination."""

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


def open_app(page, embedded, shop: str):
    """The shop's admin with Syncer open; the app's frame, once its page has a title."""
    page.goto(f"{embedded.url}/admin/{shop}")
    frame = page.frame_locator("iframe")
    frame.locator("h1.page-title").wait_for()
    return frame


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
