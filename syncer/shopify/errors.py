"""Our own exceptions for everything that can go wrong talking to Shopify.

Every exception keeps Shopify's own message (`str(exc)`, `.shopify_message`) for logs and support,
and has a `merchant_message` in plain words for the UI. Retryable failures share `ShopifyRetryable`
so Celery tasks can say `autoretry_for=(ShopifyRetryable,)`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict


class ErrorWhere(TypedDict):
    """Where a failure happened: the keyword arguments every `ShopifyError` takes."""

    shop_domain: str | None
    document: str | None


class ShopifyError(Exception):
    """Base class: a Shopify call failed."""

    default_merchant_message = "Shopify could not complete the request. Please try again."

    def __init__(
        self,
        message: str,
        *,
        shop_domain: str | None = None,
        document: str | None = None,
        merchant_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.shopify_message = message
        self.shop_domain = shop_domain
        self.document = document
        self._merchant_message = merchant_message

    @property
    def merchant_message(self) -> str:
        return self._merchant_message or self.default_merchant_message


class ShopifyRetryable(ShopifyError):
    """A failure that may well succeed if the same request is sent again later.

    `retry_after` is Shopify's `Retry-After` in seconds when it sent one.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ShopifyThrottled(ShopifyRetryable):
    """Shopify's rate limit: a `THROTTLED` GraphQL error or HTTP 429."""

    default_merchant_message = (
        "Shopify asked us to slow down. The change is queued and will be retried shortly."
    )


class ShopifyServerError(ShopifyRetryable):
    """HTTP 5xx from Shopify."""

    default_merchant_message = (
        "Shopify had a temporary problem. The change is queued and will be retried shortly."
    )

    def __init__(self, message: str, *, status_code: int, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.status_code = status_code


class ShopifyTimeout(ShopifyRetryable):
    """No (complete) answer in time, or the connection failed."""

    default_merchant_message = (
        "Shopify did not answer in time. The change is queued and will be retried shortly."
    )


class ShopifyConcurrentRequest(ShopifyRetryable):
    """`IDEMPOTENCY_CONCURRENT_REQUEST`: the same idempotency key is still being processed."""

    default_merchant_message = "The same change is already in progress at Shopify."


class ShopifyOutcomeUnknown(ShopifyError):
    """A mutation that is not safe to send twice (orderCreate, fulfillmentCreate, ...) got no
    answer (timeout, 5xx): Shopify may or may not have applied it.

    Deliberately *not* retryable: the caller must look first (e.g. find the order by its
    source identifier or tag) and only then decide to send it again. `cause` is the failure.
    """

    default_merchant_message = (
        "We could not confirm the change with Shopify. We will check and finish it shortly."
    )

    def __init__(self, message: str, *, cause: ShopifyError, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.cause = cause


class ShopifyAuthError(ShopifyError):
    """401/403, or a refused token request: the app is not (or no longer) allowed in."""

    default_merchant_message = (
        "Syncer is not authorised for this store any more. Open the app from the Shopify admin "
        "to reconnect it, or reinstall it."
    )

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        error_code: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.status_code = status_code
        self.error_code = error_code


class ShopifyClientError(ShopifyError):
    """Any other 4xx: the request itself is wrong and sending it again will not help."""

    default_merchant_message = "Shopify refused the request. Our team has been notified."

    def __init__(self, message: str, *, status_code: int, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.status_code = status_code


class ShopifyGraphQLError(ShopifyError):
    """Top-level `errors` in a GraphQL response (invalid document, missing @idempotent, ...)."""

    default_merchant_message = "Shopify refused the request. Our team has been notified."

    def __init__(
        self,
        message: str,
        *,
        errors: Sequence[Mapping[str, Any]] = (),
        data: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.errors = [dict(error) for error in errors]
        self.data = data

    @property
    def codes(self) -> list[str]:
        codes = []
        for error in self.errors:
            code = (error.get("extensions") or {}).get("code")
            if code:
                codes.append(str(code))
        return codes


@dataclass(frozen=True)
class UserError:
    field: list[str] | None
    message: str
    code: str | None


# Plain words for the userError codes a merchant is likely to meet.
_USER_ERROR_MERCHANT_MESSAGES = {
    "CHANGE_FROM_QUANTITY_STALE": (
        "The stock level changed in Shopify while we were updating it. We will re-read it and "
        "try again."
    ),
    "ITEM_NOT_STOCKED_AT_LOCATION": (
        "This product is not stocked at the chosen location. Activate it there in Shopify, or "
        "pick another location."
    ),
    "NON_MUTABLE_INVENTORY_ITEM": "The stock of bundles cannot be changed directly.",
    "INVALID_QUANTITY_TOO_HIGH": "The quantity is higher than Shopify allows.",
    "INVALID_QUANTITY_TOO_LOW": "The quantity is lower than Shopify allows.",
    "IDEMPOTENCY_KEY_PARAMETER_MISMATCH": (
        "The same change was sent twice with different contents. Our team has been notified."
    ),
    "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED": "A previous attempt failed; the change will be retried.",
}


class ShopifyUserErrors(ShopifyError):
    """A mutation answered with `userErrors`: Shopify understood and refused the change."""

    default_merchant_message = "Shopify refused the change."

    def __init__(self, user_errors: Iterable[Mapping[str, Any]], **kwargs: Any) -> None:
        self.user_errors = [
            UserError(
                field=list(error["field"]) if error.get("field") is not None else None,
                message=str(error.get("message") or ""),
                code=str(error["code"]) if error.get("code") else None,
            )
            for error in user_errors
        ]
        message = "; ".join(
            f"{'.'.join(error.field) + ': ' if error.field else ''}{error.message}"
            + (f" ({error.code})" if error.code else "")
            for error in self.user_errors
        )
        super().__init__(message or "userErrors", **kwargs)

    @property
    def codes(self) -> list[str]:
        return [error.code for error in self.user_errors if error.code]

    @property
    def target_missing(self) -> bool:
        """Every error says the object acted on does not exist (Shopify gives no code for it):
        e.g. a product already deleted, which a retry after a lost answer finds."""
        return bool(self.user_errors) and all(
            "does not exist" in error.message.lower() for error in self.user_errors)

    @property
    def merchant_message(self) -> str:
        if self._merchant_message:
            return self._merchant_message
        for code in self.codes:
            if code in _USER_ERROR_MERCHANT_MESSAGES:
                return _USER_ERROR_MERCHANT_MESSAGES[code]
        messages = [error.message for error in self.user_errors if error.message]
        if messages:
            return "Shopify refused the change: " + " ".join(messages)
        return self.default_merchant_message


def raise_for_user_errors(
    payload: Mapping[str, Any] | None,
    *,
    shop_domain: str | None = None,
    document: str | None = None,
) -> Mapping[str, Any]:
    """Raise `ShopifyUserErrors` if a mutation payload carries userErrors; else return it.

    `payload` is the mutation's own object, e.g. `data["inventorySetQuantities"]`.
    """
    if payload is None:
        raise ShopifyGraphQLError(
            "The mutation returned no payload.", shop_domain=shop_domain, document=document
        )
    user_errors = payload.get("userErrors") or []
    if user_errors:
        raise ShopifyUserErrors(user_errors, shop_domain=shop_domain, document=document)
    return payload
