"""App billing: recurring app subscriptions (``appSubscriptionCreate``), the merchant's
confirmation page, and ``app_subscriptions/update`` webhooks."""
