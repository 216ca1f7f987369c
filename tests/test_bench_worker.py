"""The benchmarks' instrumented worker must keep up with the engine it times: a renamed step
would otherwise only show up as a worker that never starts, in the middle of a bench run."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_bench_worker_finds_every_engine_step_it_times():
    # when the bench worker instruments the engine, as it does before starting Celery
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); "
         "from bench.inventory_worker import instrument; instrument(); print('instrumented')"],
        cwd=ROOT, env={**os.environ, "DJANGO_SETTINGS_MODULE": "syncer.settings.test"},
        capture_output=True, text=True, timeout=120)
    # then every step it wraps exists
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "instrumented"
