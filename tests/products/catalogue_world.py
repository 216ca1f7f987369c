"""A source and destinations in the emulator, installed in Syncer through the real install
flow, roles chosen, connected; merchant actions in the Shopify admin are GraphQL calls with
the shop's own admin token (not Syncer's)."""

from __future__ import annotations

from dataclasses import dataclass, field

from stores.auth import shop_csrf_token
from stores.connections import connection_create
from stores.models import Connection, Shop
from stores.services import shop_role_choose
from syncer.shopify.client import admin_client
from syncer.shopify.documents import document_from_text

SOURCE = "cat-source.myshopify.com"
DEST_1 = "cat-dest-1.myshopify.com"
DEST_2 = "cat-dest-2.myshopify.com"

PRODUCT_SET = """mutation MerchantProductSet($input: ProductSetInput!,
                                             $identifier: ProductSetIdentifiers) {
  productSet(input: $input, identifier: $identifier) {
    product { id title variants(first: 50) { nodes { id sku inventoryItem { id } } } }
    userErrors { field message code } } }"""
PRODUCT_READ = """query MerchantProduct($id: ID!) { product(id: $id) {
  id title descriptionHtml vendor productType status tags
  options { name position values }
  media(first: 10) { nodes { ... on MediaImage { image { url altText } } } }
  variants(first: 50) { nodes { id title sku barcode price compareAtPrice inventoryQuantity
    selectedOptions { name value } inventoryItem { id tracked } } } } }"""
PRODUCT_UPDATE = """mutation MerchantProductUpdate($product: ProductUpdateInput!) {
  productUpdate(product: $product) { product { id } userErrors { field message } } }"""
TAGS_ADD = """mutation MerchantTagsAdd($id: ID!, $tags: [String!]!) {
  tagsAdd(id: $id, tags: $tags) { node { id } userErrors { message } } }"""
TAGS_REMOVE = """mutation MerchantTagsRemove($id: ID!, $tags: [String!]!) {
  tagsRemove(id: $id, tags: $tags) { node { id } userErrors { message } } }"""
VARIANTS_UPDATE = """mutation MerchantVariants($p: ID!, $v: [ProductVariantsBulkInput!]!) {
  productVariantsBulkUpdate(productId: $p, variants: $v) { userErrors { field message } } }"""
VARIANTS_CREATE = """mutation MerchantVariantsCreate($p: ID!, $v: [ProductVariantsBulkInput!]!) {
  productVariantsBulkCreate(productId: $p, variants: $v) {
    productVariants { id } userErrors { field message code } } }"""
PRODUCTS = """query MerchantProducts { products(first: 100) { nodes { id title
  variants(first: 50) { nodes { id sku } } } } }"""


@dataclass
class World:
    emulator: object
    tokens: dict[str, str] = field(default_factory=dict)  # the merchants' own admin tokens

    def admin(self, shop: str, text: str, variables: dict | None = None) -> dict:
        """A merchant action in the Shopify admin of `shop`."""
        name = text.split("(", 1)[0].split()[-1]
        return admin_client().execute(shop_domain=shop, access_token=self.tokens[shop],
                                      document=document_from_text(name, text),
                                      variables=variables or {})

    def product(self, shop: str, product_id: int) -> dict:
        return self.admin(shop, PRODUCT_READ,
                          {"id": f"gid://shopify/Product/{product_id}"})["product"]

    def products(self, shop: str) -> list[dict]:
        return self.admin(shop, PRODUCTS)["products"]["nodes"]

    def product_set(self, shop: str, data: dict, product_id: int | None = None) -> dict:
        identifier = {"id": f"gid://shopify/Product/{product_id}"} if product_id else None
        result = self.admin(shop, PRODUCT_SET, {"input": data, "identifier": identifier})
        assert result["productSet"]["userErrors"] == [], result
        return result["productSet"]["product"]

    def stock(self, shop: str, sku: str, available: int) -> None:
        self.emulator._json("POST", f"/_emulator/shops/{shop}/inventory",
                            json={"sku": sku, "available": available})

    def level(self, shop: str, inventory_item_id: int) -> int | None:
        snapshot = self.emulator.shop(shop)
        for level in snapshot["inventory_levels"]:
            if (level["inventory_item_id"] == inventory_item_id
                    and level["location_id"] == snapshot["primary_location_id"]):
                return level["available"]
        return None

    def settle(self) -> None:
        self.emulator.flush_webhooks()


def headers(emulator, domain: str) -> dict[str, str]:
    """An HTMX request from inside the shop's admin: session token + shop-bound CSRF token."""
    return {"Authorization": f"Bearer {emulator.session_token(domain)}", "HX-Request": "true",
            "X-CSRFToken": shop_csrf_token(shop_domain=domain, user_id="1")}


def build(emulator, *, destinations: tuple[str, ...] = (DEST_1,), connect: bool = True,
          source_role: bool = True) -> World:
    world = World(emulator=emulator)
    for domain in (SOURCE, *destinations):
        world.tokens[domain] = emulator.shop_create(domain)["access_token"]
        emulator.install(domain)
    source = source_choose(world) if source_role else None
    for domain in destinations:
        shop = shop_role_choose(shop=Shop.objects.get(domain=domain), role="destination")
        if connect and source is not None:
            # (the key in full: the source was just given it)
            connection_create(destination=shop, store_key=source.store_key)
    return world


def source_choose(world: World) -> Shop:
    return shop_role_choose(shop=Shop.objects.get(domain=SOURCE), role="source")


def connection(destination: str = DEST_1) -> Connection:
    return Connection.objects.select_related("source", "destination").get(
        destination__domain=destination)


def shirt(world: World, *, title: str = "Linen shirt", skus=("SHIRT-S", "SHIRT-M"),
          stock=(10, 4), price: str = "30.00", tags=("summer",), shop: str = SOURCE) -> dict:
    """A two-size product with a description, product type and an image, made in the admin."""
    data = {
        "title": title, "vendor": "Acme", "productType": "Shirts", "tags": list(tags),
        "descriptionHtml": "<p>Cool linen.</p>", "status": "ACTIVE",
        "productOptions": [{"name": "Size", "values": [{"name": "S"}, {"name": "M"}]}],
        "files": [{"originalSource": f"https://cdn.example/{skus[0].lower()}.png",
                   "alt": title, "contentType": "IMAGE"}],
        "variants": [
            {"optionValues": [{"optionName": "Size", "name": size}], "price": price,
             "compareAtPrice": "40.00", "barcode": f"BAR-{sku}",
             "inventoryItem": {"sku": sku, "tracked": True}}
            for size, sku in zip(("S", "M"), skus, strict=True)
        ],
    }
    product = world.product_set(shop, data)
    for sku, available in zip(skus, stock, strict=True):
        world.stock(shop, sku, available)
    return product
