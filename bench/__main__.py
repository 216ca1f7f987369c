"""`make bench`: run every bench/bench_<name>.py (or the names given) and print one JSON object
per benchmark; each is also written to bench/results/<name>.json.

A benchmark module exposes `run() -> dict` returning at least {"name", "params", ...figures}.
Figures are measured in this run and compared as ratios, never asserted as timings in tests.
"""

import argparse
import importlib
import json
import os
import platform
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def available() -> list[str]:
    return sorted(path.stem.removeprefix("bench_") for path in HERE.glob("bench_*.py"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*",
                        help=f"benchmarks to run (default: all of {available()})")
    args = parser.parse_args(argv)
    names = args.names or available()
    unknown = sorted(set(names) - set(available()))
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; available: {available()}")
    if not names:
        print(json.dumps({"benchmarks": [], "note": "no benchmarks defined yet"}))
        return 0
    RESULTS.mkdir(exist_ok=True)
    failed = 0
    for name in names:
        started = time.perf_counter()
        load_start = [round(value, 2) for value in os.getloadavg()]
        try:
            result = importlib.import_module(f"bench.bench_{name}").run()
        except Exception:  # one broken benchmark must not hide the others' figures
            failed += 1
            result = {"name": name, "error": traceback.format_exc(limit=5)}
        result.setdefault("name", name)
        # What the machine was, and how busy (1, 5, 15-minute load averages): a figure taken
        # on a shared machine says so. A benchmark's own machine details are kept.
        result["machine"] = {**result.get("machine", {}), "cpu_count": os.cpu_count(),
                             "python": platform.python_version(),
                             "platform": platform.platform(), "load_average_start": load_start,
                             "load_average_end": [round(v, 2) for v in os.getloadavg()]}
        result["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        result["wall_seconds"] = round(time.perf_counter() - started, 3)
        line = json.dumps(result, sort_keys=True)
        print(line, flush=True)
        (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
