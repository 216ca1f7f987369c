from prometheus_client import Counter, Histogram

webhooks_received = Counter(
    "syncer_webhooks_received_total", "Webhook deliveries accepted into the inbox", ["topic"]
)
webhook_echoes = Counter(
    "syncer_webhook_echoes_total",
    "Deliveries answered at the door as echoes of Syncer's own writes (not stored)", ["topic"]
)
webhooks_processed = Counter(
    "syncer_webhooks_processed_total",
    "Webhook deliveries processed, by outcome (ok | ignored | failed)",
    ["topic", "outcome"],
)
webhook_inbox_lag = Histogram(
    "syncer_webhook_inbox_lag_seconds",
    "From receipt in the inbox to the end of processing",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800),
)
