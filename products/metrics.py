from prometheus_client import Histogram

propagation_seconds = Histogram(
    "syncer_propagation_seconds",
    "From Syncer learning of a source stock change to the destination write that carries it",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
)
