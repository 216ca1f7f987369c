"""Prometheus metrics. Counters live in the process that increments them; with several
gunicorn or Celery processes set PROMETHEUS_MULTIPROC_DIR so /metrics aggregates them."""

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Info,
    generate_latest,
    multiprocess,
)
from prometheus_client import REGISTRY as DEFAULT_REGISTRY

build_info = Info("syncer_build", "Syncer build information")
build_info.info({"version": "0.1.0"})


def metrics_render() -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = DEFAULT_REGISTRY
    return generate_latest(registry), CONTENT_TYPE_LATEST
