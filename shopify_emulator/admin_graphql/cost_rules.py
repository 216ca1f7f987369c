"""The unit costs of Shopify's calculated query cost, each as observed in real responses
(shopify_emulator.admin_graphql.cost applies them to a document)."""

from __future__ import annotations

from collections.abc import Mapping

OBJECT_COST = 1
CONNECTION_COST = 2
MUTATION_COST = 10
# productsCount { count } alone is billed 10; the same Count nested under a record is billed 1.
ROOT_COUNT_COST = 10

# Mutations Shopify bills above the flat 10. Observed: fileCreate 21 with one nested object,
# refundCreate 20 with an empty payload, whatever the number of input lines; productCreateMedia
# 41 for one image with a media(first: 10) read of the product (20 + 3 + 2 + 4 x 4), where
# productDeleteMedia bills the same product read at 28 (10 + 2 + 4 x 4): like fileCreate, it
# creates files (captures/2025-01/products/product-create-media-parity.json).
MUTATION_COSTS: Mapping[str, int] = {"fileCreate": 20, "productCreateMedia": 20, "refundCreate": 20}

# Object types Shopify does not charge for when reached as a field of something already loaded.
# Each one is seen billed at 0 in a real response: money on orders/drafts/refunds, a customer's
# default address and marketing-consent blocks, a collection's smart rules, pagination info.
FREE_TYPES: frozenset[str] = frozenset(
    {
        "PageInfo",
        "MoneyBag",
        "MoneyV2",
        "MailingAddress",
        "CustomerEmailMarketingConsentState",
        "CustomerSmsMarketingConsentState",
        "CollectionRuleSet",
        "CollectionRule",
    }
)
