"""The one boundary to Shopify: Admin GraphQL client, auth helpers, webhook HMAC, documents.

Nothing outside this package imports httpx or builds a GraphQL string. Typical use:

    from syncer.shopify import admin_client, raise_for_user_errors

    data = admin_client().execute(
        shop_domain=shop.domain, access_token=token, document="inventory_set_quantities",
        variables={"input": ..., "idempotencyKey": key},
    )
    raise_for_user_errors(data["inventorySetQuantities"])
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
