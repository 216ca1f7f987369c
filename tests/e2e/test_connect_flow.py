import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SOURCE = "demo-source.myshopify.com"
DEST = "demo-dest-1.myshopify.com"


def open_app(page, embedded, shop: str):
    page.goto(f"{embedded.url}/admin/{shop}")
    frame = page.frame_locator("iframe")
    frame.locator("h1.page-title").wait_for()
    return frame


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
    app.get_by_text("Demo Source", exact=True).wait_for()
    assert app.locator("#sources .badge-success").inner_text() == "Connected"
    page.screenshot(path=str(artifacts / "2-destination-connected.png"))

    # the source sees it under Connected
    app = open_app(page, embedded, SOURCE)
    app.get_by_role("link", name="Stores").click()
    app.get_by_text("Demo Dest 1", exact=True).wait_for()
    assert app.locator('[role=tab][aria-selected=true]').inner_text().split() == ["Connected",
                                                                                  "1"]
    page.screenshot(path=str(artifacts / "3-source-connected-list.png"))
