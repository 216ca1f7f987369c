"""What order push relies on in the emulator, through Syncer's own documents: an order made by
orderCreate is found again by its tag or source identifier, and its fulfilments list their
lines and tracking (how a lost fulfillmentCreate answer is recovered)."""

from shopify_emulator.ids import gid
from syncer.shopify.documents import document
from tests.shopify_emulator.graphql_support import call, ids_for, make_world


def create_order(world, *, tag: str) -> dict:
    variant = ids_for(world, "SKU-1")["variant"]
    data = call(world, document("order_create").text, {
        "order": {"lineItems": [{"variantId": variant, "quantity": 2}], "tags": ["Dest", tag],
                  "sourceIdentifier": tag, "note": "Pushed by Syncer",
                  "financialStatus": "PENDING"},
        "options": {"inventoryBehaviour": "BYPASS"}})
    assert data["data"]["orderCreate"]["userErrors"] == []
    return data["data"]["orderCreate"]["order"]


def test_orders_find_by_tag_and_source_identifier():
    world, _ = make_world()
    create_order(world, tag="syncer-111")
    created = create_order(world, tag="syncer-222")
    for query in ('tag:"syncer-222"', "source_identifier:syncer-222"):
        nodes = call(world, document("orders_find").text, {"query": query})["data"]["orders"][
            "nodes"]
        assert [(n["id"], n["sourceIdentifier"], n["note"]) for n in nodes] == [
            (created["id"], "syncer-222", "Pushed by Syncer")]
        assert [li["quantity"] for li in nodes[0]["lineItems"]["nodes"]] == [2]
    assert call(world, document("orders_find").text, {"query": 'tag:"syncer-333"'})[
        "data"]["orders"]["nodes"] == []


def test_order_fulfillments_lists_lines_and_tracking():
    world, _ = make_world()
    order = create_order(world, tag="syncer-1")
    fos = call(world, document("order_fulfillment_orders").text, {"id": order["id"]})[
        "data"]["order"]["fulfillmentOrders"]["nodes"]
    item = fos[0]["lineItems"]["nodes"][0]
    made = call(world, document("fulfillment_create").text, {"fulfillment": {
        "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fos[0]["id"],
                                         "fulfillmentOrderLineItems": [{"id": item["id"],
                                                                        "quantity": 1}]}],
        "trackingInfo": {"company": "UPS", "number": "1Z1"}}})
    assert made["data"]["fulfillmentCreate"]["userErrors"] == []
    (fulfillment,) = call(world, document("order_fulfillments").text, {"id": order["id"]})[
        "data"]["order"]["fulfillments"]
    assert fulfillment["status"] == "SUCCESS"
    assert fulfillment["trackingInfo"] == [{"company": "UPS", "number": "1Z1", "url": None}]
    assert fulfillment["fulfillmentLineItems"]["nodes"] == [
        {"quantity": 1, "lineItem": {"id": item["lineItem"]["id"]}}]
    assert fulfillment["id"].startswith(gid("Fulfillment", 0)[:-1])
