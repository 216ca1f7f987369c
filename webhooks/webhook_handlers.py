"""The inbox's own part of customers/redact. Registered in WebhooksConfig.ready(), which runs
after every other app's (webhooks is last in INSTALLED_APPS), so it is the topic's last
handler: the redact request loses the customer's email only once everything that needs it
has succeeded (a failure before retries the delivery with its body whole)."""

from webhooks.registry import webhook_handler_register, webhook_payload_int
from webhooks.services import webhook_deliveries_redact_customer_requests


@webhook_handler_register("customers/redact")
def customer_redact_requests(*, shop_domain: str, payload: dict, delivery_id: int) -> None:
    found = payload.get("customer")
    customer = found if isinstance(found, dict) else {}
    webhook_deliveries_redact_customer_requests(
        shop_domain=shop_domain, customer_id=webhook_payload_int(customer.get("id")),
        email=str(customer.get("email") or ""))
