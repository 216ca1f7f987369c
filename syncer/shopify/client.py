"""The Admin GraphQL client: the one place Syncer talks HTTP to Shopify.

* One `httpx.Client` per process (`admin_client()`), explicit timeouts, shop and token passed
  on every call — no global "active session".
* Every call reserves its expected cost in the shop's shared Redis budget first (`budget.py`)
  and settles it with Shopify's `extensions.cost` afterwards.
* THROTTLED, 429 (Retry-After honoured), 5xx and timeouts are retried with exponential backoff
  and jitter; other 4xx and GraphQL errors are raised at once as our own exceptions
  (`errors.py`). A mutation that is not safe to replay (no @idempotent key, creates something)
  is never re-sent when we cannot know whether Shopify applied it.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from django.conf import settings

from syncer.shopify.budget import Reservation, ShopBudget, ThrottleStatus
from syncer.shopify.documents import MAX_PAGE_SIZE, Document, document
from syncer.shopify.domains import shop_domain_is_valid
from syncer.shopify.errors import (
    ErrorWhere,
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
)

logger = logging.getLogger("syncer.shopify")

USER_AGENT = "Syncer/1.0 (+inventory sync)"
DEFAULT_MAX_ATTEMPTS = 5


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def _error_codes(errors: Sequence[Mapping[str, Any]]) -> list[str]:
    return [
        str((error.get("extensions") or {}).get("code"))
        for error in errors
        if isinstance(error, Mapping) and (error.get("extensions") or {}).get("code")
    ]


def _error_message(errors: Any) -> str:
    if isinstance(errors, str):
        return errors
    if isinstance(errors, Mapping):
        return "; ".join(f"{key}: {value}" for key, value in errors.items())
    if isinstance(errors, Sequence):
        messages = [
            str(error.get("message")) if isinstance(error, Mapping) else str(error)
            for error in errors
        ]
        return "; ".join(messages)
    return str(errors)


@dataclass(frozen=True)
class GraphQLResponse:
    data: dict[str, Any]
    extensions: dict[str, Any]
    attempts: int

    @property
    def requested_cost(self) -> float | None:
        return (self.extensions.get("cost") or {}).get("requestedQueryCost")

    @property
    def actual_cost(self) -> float | None:
        return (self.extensions.get("cost") or {}).get("actualQueryCost")

    @property
    def throttle_status(self) -> ThrottleStatus | None:
        return ThrottleStatus.from_extensions(self.extensions)


class ShopifyAdminClient:
    """Sends GraphQL documents to one shop's Admin API at a time; thread-safe."""

    def __init__(
        self,
        *,
        base_url_template: str,
        api_version: str,
        timeout: float,
        transport: httpx.BaseTransport | None = None,
        budget: ShopBudget | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if "{shop}" not in base_url_template:
            raise ValueError("base_url_template must contain {shop}")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.base_url_template = base_url_template.rstrip("/")
        self.api_version = api_version
        self.timeout = timeout
        self.budget = budget
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.sleep = sleep
        self.http = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            follow_redirects=False,
        )
        # What this client last learned of each cost signature (requested cost, ratio to our
        # estimate), also in the budget's Redis hash: a call of the same shape reserves it
        # without reading the hash, and learns it again without writing an unchanged figure —
        # two Redis round trips fewer on every call after the first (a flush of many
        # destinations makes one call each).
        self._costs_learned: dict[str, tuple[float, float | None]] = {}

    # -- plumbing -----------------------------------------------------------------------------

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ShopifyAdminClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def shop_url(self, shop_domain: str) -> str:
        """The shop's base URL (`https://<shop>` for real Shopify)."""
        if not shop_domain_is_valid(shop_domain):
            raise ValueError(f"Not a Shopify shop domain: {shop_domain!r}")
        return self.base_url_template.format(shop=shop_domain)

    def graphql_url(self, shop_domain: str) -> str:
        return f"{self.shop_url(shop_domain)}/admin/api/{self.api_version}/graphql.json"

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter: a random pause in [d/2, d], d = base × 2^(n-1)."""
        ceiling = min(self.backoff_max, self.backoff_base * (2 ** (attempt - 1)))
        return random.uniform(ceiling / 2, ceiling)

    # -- the call -----------------------------------------------------------------------------

    def execute(
        self,
        *,
        shop_domain: str,
        access_token: str,
        document: Document | str,
        variables: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Send one document and return its `data`, or raise a `ShopifyError`.

        `document` is a `Document` or the name of one in `documents/`.
        """
        return self.request(
            shop_domain=shop_domain,
            access_token=access_token,
            document=document,
            variables=variables,
        ).data

    def request(
        self,
        *,
        shop_domain: str,
        access_token: str,
        document: Document | str,
        variables: Mapping[str, Any] | None = None,
    ) -> GraphQLResponse:
        """Like `execute`, but also returns Shopify's `extensions` and how many attempts it took."""
        doc = _resolve(document)
        variables = dict(variables or {})
        if doc.idempotency_key_variable and not variables.get(doc.idempotency_key_variable):
            raise ValueError(
                f"{doc.name} needs an idempotency key in ${doc.idempotency_key_variable}; make it "
                "when the work is planned (not per attempt) so retries replay instead of repeat"
            )
        url = self.graphql_url(shop_domain)
        body = {"query": doc.text, "variables": variables, "operationName": doc.operation_name}
        headers = {"X-Shopify-Access-Token": access_token, "Content-Type": "application/json"}
        context = {"shop_domain": shop_domain, "document": doc.name}

        # The budget's figures for this call, worked out once for all its attempts.
        estimate = doc.estimate_cost(variables) if self.budget is not None else 0.0
        signature = ShopBudget.cost_signature(doc.name, variables)
        attempt = 0
        while True:
            attempt += 1
            reservation = self._reserve(shop_domain=shop_domain, doc=doc, variables=variables,
                                        signature=signature, estimate=estimate)
            started = time.monotonic()
            try:
                response = self.http.post(url, json=body, headers=headers)
            except httpx.TransportError as exc:
                error = self._transport_error(exc, context)
                sent = not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                self._settle(reservation, spent=None if sent else 0.0, status=None)
                self._log(context, attempt, started, reservation, outcome=type(exc).__name__)
                self._pause_or_raise(error, attempt=attempt, doc=doc, maybe_applied=sent)
                continue

            try:
                data, extensions = self._handle(
                    response,
                    doc=doc,
                    variables=variables,
                    signature=signature,
                    estimate=estimate,
                    reservation=reservation,
                    context=context,
                    attempt=attempt,
                    started=started,
                )
            except ShopifyRetryable as error:
                maybe_applied = isinstance(error, ShopifyServerError)
                self._pause_or_raise(error, attempt=attempt, doc=doc, maybe_applied=maybe_applied)
                continue
            return GraphQLResponse(data=data, extensions=extensions, attempts=attempt)

    def _reserve(
        self,
        *,
        shop_domain: str,
        doc: Document,
        variables: Mapping[str, Any],
        signature: str,
        estimate: float,
    ) -> Reservation | None:
        if self.budget is None:
            return None
        learned = self._costs_learned.get(signature)
        if learned is not None:
            cost = learned[0]
        else:
            cost = self.budget.expected_cost(
                document_name=doc.name, variables=variables, default=estimate
            )
        return self.budget.reserve(shop_domain=shop_domain, cost=cost)

    def _learn_cost(
        self, *, doc: Document, variables: Mapping[str, Any], signature: str, requested: float,
        estimate: float,
    ) -> None:
        if self.budget is None:
            return
        learned = (requested, requested / estimate if estimate else None)
        if self._costs_learned.get(signature) == learned:
            return
        self.budget.learn_cost(
            document_name=doc.name, variables=variables, requested=requested, estimate=estimate
        )
        self._costs_learned[signature] = learned

    def _settle(
        self,
        reservation: Reservation | None,
        *,
        spent: float | None,
        status: ThrottleStatus | None,
    ) -> None:
        if self.budget is not None and reservation is not None:
            self.budget.reconcile(reservation, spent=spent, status=status)

    def _transport_error(self, exc: httpx.TransportError, context: dict[str, str]) -> ShopifyError:
        kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
        return ShopifyTimeout(
            f"Request to Shopify {kind}: {type(exc).__name__}: {exc}",
            shop_domain=context["shop_domain"],
            document=context["document"],
        )

    def _pause_or_raise(
        self, error: ShopifyError, *, attempt: int, doc: Document, maybe_applied: bool
    ) -> None:
        """Sleep before the next attempt, or raise `error` if there should be none."""
        if not isinstance(error, ShopifyRetryable):
            raise error
        if maybe_applied and not doc.replay_safe:
            # Shopify may have applied it; sending it again could e.g. create a second order.
            raise ShopifyOutcomeUnknown(
                f"{doc.name} may or may not have been applied: {error}",
                cause=error,
                shop_domain=error.shop_domain,
                document=error.document,
            ) from error
        if attempt >= self.max_attempts:
            raise error
        if isinstance(error, ShopifyRetryable) and error.retry_after is not None:
            pause = max(error.retry_after, self._backoff(attempt)) + random.uniform(0, 0.25)
        elif isinstance(error, ShopifyThrottled):
            # The budget already waits for the bucket to refill; just spread the herd.
            pause = random.uniform(0, 0.1)
        else:
            pause = self._backoff(attempt)
        logger.info(
            "shopify retry shop=%s document=%s attempt=%d error=%s pause=%.2fs",
            error.shop_domain,
            error.document,
            attempt,
            type(error).__name__,
            pause,
        )
        self.sleep(pause)

    def _handle(
        self,
        response: httpx.Response,
        *,
        doc: Document,
        variables: Mapping[str, Any],
        signature: str,
        estimate: float,
        reservation: Reservation | None,
        context: dict[str, str],
        attempt: int,
        started: float,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        status_code = response.status_code
        try:
            payload = response.json()
        except ValueError:
            payload = None
        extensions = payload.get("extensions") if isinstance(payload, dict) else None
        cost = (extensions or {}).get("cost") or {}
        throttle = ThrottleStatus.from_extensions(extensions)
        requested = cost.get("requestedQueryCost")
        actual = cost.get("actualQueryCost")
        errors = payload.get("errors") if isinstance(payload, dict) else None
        codes = _error_codes(errors) if isinstance(errors, list) else []
        throttled = status_code == 429 or "THROTTLED" in codes

        # What Shopify took from the bucket; None = unknown, keep the reservation as spent.
        spent: float | None
        if throttled:
            spent = 0.0
        elif actual is not None:
            spent = float(actual)
        elif requested is not None:
            spent = float(requested)
        elif 400 <= status_code < 500:
            spent = 0.0
        else:
            spent = None
        self._settle(reservation, spent=spent, status=throttle)
        if requested is not None:
            self._learn_cost(doc=doc, variables=variables, signature=signature,
                             requested=float(requested), estimate=estimate)
        self._log(
            context,
            attempt,
            started,
            reservation,
            outcome=str(status_code) + (" THROTTLED" if throttled else ""),
            requested=requested,
            actual=actual,
            throttle=throttle,
        )

        where: ErrorWhere = {
            "shop_domain": context["shop_domain"],
            "document": context["document"],
        }
        message = _error_message(errors) if errors else response.text[:500]
        if status_code == 429 or (status_code == 200 and "THROTTLED" in codes):
            raise ShopifyThrottled(
                message or "Throttled",
                retry_after=_retry_after_seconds(response.headers.get("Retry-After")),
                **where,
            )
        if status_code >= 500:
            raise ShopifyServerError(
                f"HTTP {status_code}: {message}",
                status_code=status_code,
                retry_after=_retry_after_seconds(response.headers.get("Retry-After")),
                **where,
            )
        if status_code in (401, 403):
            raise ShopifyAuthError(
                f"HTTP {status_code}: {message}", status_code=status_code, **where
            )
        if status_code >= 400 or status_code < 200:
            raise ShopifyClientError(
                f"HTTP {status_code}: {message}", status_code=status_code, **where
            )
        if not isinstance(payload, dict):
            raise ShopifyServerError(
                f"HTTP {status_code} without a JSON body: {response.text[:200]}",
                status_code=status_code,
                **where,
            )
        if errors:
            if "IDEMPOTENCY_CONCURRENT_REQUEST" in codes:
                raise ShopifyConcurrentRequest(message, **where)
            raise ShopifyGraphQLError(
                message,
                errors=errors if isinstance(errors, list) else [{"message": message}],
                data=payload.get("data"),
                **where,
            )
        data = payload.get("data")
        if not isinstance(data, dict):
            raise ShopifyGraphQLError("The response has no data.", **where)
        return data, dict(extensions or {})

    def _log(
        self,
        context: dict[str, str],
        attempt: int,
        started: float,
        reservation: Reservation | None,
        *,
        outcome: str,
        requested: Any = None,
        actual: Any = None,
        throttle: ThrottleStatus | None = None,
    ) -> None:
        if not logger.isEnabledFor(logging.INFO):
            return
        elapsed_ms = int((time.monotonic() - started) * 1000)
        fields = {
            "shop_domain": context["shop_domain"],
            "document": context["document"],
            "attempt": attempt,
            "outcome": outcome,
            "requested_cost": requested,
            "actual_cost": actual,
            "reserved_cost": reservation.cost if reservation else None,
            "budget_wait_ms": int(reservation.waited_seconds * 1000) if reservation else 0,
            "available": throttle.currently_available if throttle else None,
            "elapsed_ms": elapsed_ms,
        }
        logger.info(
            "shopify graphql shop=%s document=%s attempt=%d outcome=%s cost=%s/%s "
            "available=%s budget_wait_ms=%d elapsed_ms=%d",
            fields["shop_domain"],
            fields["document"],
            attempt,
            outcome,
            actual,
            requested,
            fields["available"],
            fields["budget_wait_ms"],
            elapsed_ms,
            extra={"shopify": fields},
        )


def _resolve(value: Document | str) -> Document:
    return value if isinstance(value, Document) else document(value)


def _dig(data: Mapping[str, Any], path: str | Sequence[str]) -> Any:
    keys = path.split(".") if isinstance(path, str) else list(path)
    node: Any = data
    for key in keys:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def paginate(
    *,
    client: ShopifyAdminClient,
    shop_domain: str,
    access_token: str,
    document: Document | str,
    variables: Mapping[str, Any] | None,
    connection_path: str | Sequence[str],
) -> Iterator[dict[str, Any]]:
    """Yield every node of a connection, page by page (cursor pagination, `first` ≤ 250).

    The document must take `$first` and `$after` and select `nodes` (or `edges { node }`) and
    `pageInfo { hasNextPage endCursor }` on the connection at `connection_path`
    (e.g. "products", or "inventoryItem.inventoryLevels").
    """
    page_variables = dict(variables or {})
    first = page_variables.setdefault("first", 50)
    if not isinstance(first, int) or not 1 <= first <= MAX_PAGE_SIZE:
        raise ValueError(f"first must be between 1 and {MAX_PAGE_SIZE}, got {first!r}")
    while True:
        data = client.execute(
            shop_domain=shop_domain,
            access_token=access_token,
            document=document,
            variables=page_variables,
        )
        connection = _dig(data, connection_path)
        if connection is None:
            return
        if "nodes" in connection:
            yield from connection["nodes"] or ()
        else:
            for edge in connection.get("edges") or ():
                yield edge["node"]
        page_info = connection.get("pageInfo") or {}
        if not page_info.get("hasNextPage"):
            return
        cursor = page_info.get("endCursor")
        if not cursor or cursor == page_variables.get("after"):
            raise ShopifyGraphQLError(
                f"{connection_path}: hasNextPage without a new endCursor",
                shop_domain=shop_domain,
                document=_resolve(document).name,
            )
        page_variables["after"] = cursor


_clients: dict[int, ShopifyAdminClient] = {}
_clients_lock = threading.Lock()


def admin_client() -> ShopifyAdminClient:
    """This process's client, built from settings on first use.

    Cached per process id: a client made before a fork (Celery prefork) is never shared with
    the children, whose sockets would otherwise be crossed.
    """
    pid = os.getpid()
    client = _clients.get(pid)
    if client is not None:
        return client
    with _clients_lock:
        client = _clients.get(pid)
        if client is None:
            from syncer.redis import redis_client

            client = ShopifyAdminClient(
                base_url_template=settings.SHOPIFY_ADMIN_BASE_URL,
                api_version=settings.SHOPIFY_API_VERSION,
                timeout=settings.SHOPIFY_HTTP_TIMEOUT,
                budget=ShopBudget(redis_client()),
            )
            _clients.clear()
            _clients[pid] = client
        return client
