"""The inventory engine: the source's stock, followed exactly by every destination.

Rooms, each importing only from the ones before it (DESIGN.md section 4 has the flows):

- `sql` — the set-based statements, table names from the models;
- `locations` — which locations count (shared, sale-taking, receiving);
- `levels` — live reads from Shopify (the one read path) and the source's recorded levels;
- `targets` — the target rule; flow 2: a source level changed → targets recomputed;
- `drift` — flows 5/6: a destination level changed (echo, history, or drift);
- `flush` — the one write path: per-destination batches of ≤ 250 with changeFromQuantity;
- `links` — newly linked variants: their stock row, dirty, flushed now;
- `effects` — flows 3/4: destination sales and restocks move the source;
- `reconciliation` — flow 10: compare both sides, heal drift;
- `tasks` — thin Celery tasks, and queueing work once a transaction commits;
- `handlers`, `settings`, `health`, `selectors`, `forms`, `views`, `urls` — the edges.

Services never queue tasks: they return the work to do (the destinations to flush, the effects
to apply) and the caller queues it through `tasks`.
"""
