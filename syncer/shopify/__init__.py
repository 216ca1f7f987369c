"""The one boundary to Shopify: Admin GraphQL client, auth helpers, webhook HMAC, documents.

Nothing outside this package imports httpx, builds a GraphQL string or variables, or reads a
response dict. Apps call the typed operations in `syncer/shopify/operations/` with a session:

    from stores.services import shop_admin_session
    from syncer.shopify.operations.inventory import QuantitySet, inventory_quantities_set

    inventory_quantities_set(
        session=shop_admin_session(shop_domain=shop.domain), reason="correction",
        reference_document_uri=uri, idempotency_key=key,
        quantities=[QuantitySet(inventory_item_id=1, location_id=2, quantity=5,
                                change_from_quantity=4)],
    )
"""

from syncer.shopify.client import ShopifyAdminClient, admin_client, paginate
from syncer.shopify.documents import Document, document
from syncer.shopify.errors import (
    ShopifyAuthError,
    ShopifyClientError,
    ShopifyConcurrentRequest,
    ShopifyError,
    ShopifyGraphQLError,
    ShopifyOutcomeUnknown,
    ShopifyRetryable,
    ShopifyServerError,
    ShopifyThrottled,
    ShopifyTimeout,
    ShopifyUserErrors,
    raise_for_user_errors,
)

__all__ = [
    "Document",
    "ShopifyAdminClient",
    "ShopifyAuthError",
    "ShopifyClientError",
    "ShopifyConcurrentRequest",
    "ShopifyError",
    "ShopifyGraphQLError",
    "ShopifyOutcomeUnknown",
    "ShopifyRetryable",
    "ShopifyServerError",
    "ShopifyThrottled",
    "ShopifyTimeout",
    "ShopifyUserErrors",
    "admin_client",
    "document",
    "paginate",
    "raise_for_user_errors",
]
