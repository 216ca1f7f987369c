import pytest

from tests.e2e.admin import DEST, SOURCE, go_to, open_app

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_source_key_to_connected_store(page, embedded, artifacts):
    for shop, name in ((SOURCE, "Demo Source"), (DEST, "Demo Dest 1")):
        embedded.shop_create(shop, name=name)
        embedded.install(shop)

    # the source owner opens Syncer, picks Source and copies the key
    app = open_app(page, embedded, SOURCE)
    app.get_by_text("Source", exact=True).click()
    app.get_by_role("button", name="Save role").click()
    app.locator("#store-key-value").wait_for()
    app.get_by_role("button", name="Copy").click()
    key = app.locator("#store-key-value").input_value()
    assert key.startswith("syncer_")
    page.screenshot(path=str(artifacts / "1-source-key.png"))

    # the destination owner opens Syncer, picks Destination, connects with the key
    app = open_app(page, embedded, DEST)
    app.get_by_text("Destination", exact=True).click()
    app.get_by_role("button", name="Save role").click()
    app.get_by_role("link", name="Go to Sources").click()
    app.locator("#store-key-field").fill(key)
    app.get_by_role("button", name="Connect").click()
    # (the check before connecting: tests/e2e/test_connect_check.py)
    app.get_by_role("button", name="Confirm connection").click()
    app.get_by_text("Demo Source", exact=True).wait_for()
    assert app.locator("#sources .badge-success").inner_text() == "Connected"
    page.screenshot(path=str(artifacts / "2-destination-connected.png"))

    # the source sees it under Connected
    app = open_app(page, embedded, SOURCE)
    go_to(page, "Stores")
    app.get_by_text("Demo Dest 1", exact=True).wait_for()
    assert app.locator('[role=tab][aria-selected=true]').inner_text().split() == ["Connected",
                                                                                  "1"]
    page.screenshot(path=str(artifacts / "3-source-connected-list.png"))


def test_store_search_filters_as_the_owner_types(page, embedded):
    # given a source with one connected store
    from stores.connections import connection_create
    from stores.models import Shop
    from stores.services import shop_role_choose

    for shop, name in ((SOURCE, "Demo Source"), (DEST, "Demo Dest 1")):
        embedded.shop_create(shop, name=name)
        embedded.install(shop)
    source = shop_role_choose(shop=Shop.objects.get(domain=SOURCE), role="source")
    destination = shop_role_choose(shop=Shop.objects.get(domain=DEST), role="destination")
    connection_create(destination=destination, store_key=source.store_key)
    app = open_app(page, embedded, SOURCE)
    go_to(page, "Stores")
    app.get_by_text("Demo Dest 1", exact=True).wait_for()
    # when the owner types a search, without pressing Enter
    app.get_by_role("searchbox", name="Search stores").press_sequentially("zzz", delay=50)
    # then the list follows: the store that does not match goes, and comes back when cleared
    app.get_by_text("Demo Dest 1", exact=True).wait_for(state="detached", timeout=5000)
    app.get_by_role("searchbox", name="Search stores").fill("")
    app.get_by_role("searchbox", name="Search stores").press_sequentially("Dest", delay=50)
    app.get_by_text("Demo Dest 1", exact=True).wait_for(timeout=5000)
