"""`make test`: the whole suite, in one process or, with TEST_WORKERS=N, in two phases.

Phase one runs every test not marked `serial` in N processes (pytest-xdist, whole files per
process, each with its own test database and Redis database). Phase two runs the `serial` tests
— those that start a production-shaped stack of worker processes, or `make run` itself — in one
process once the others are done: on 2 CPUs two such stacks at once (or one beside a busy test
process) starve each other past their sync bounds, while the rest of the suite shares the
CPUs without trouble. Both phases see the same pytest options (PYTEST_ARGS); the exit status is
the first failing phase's, and a phase that selects no test (pytest's 5) is not a failure
unless neither phase ran any.
"""

from __future__ import annotations

import os
import subprocess
import sys

NO_TESTS_COLLECTED = 5


def _pytest(args: list[str]) -> int:
    command = [sys.executable, "-m", "pytest", *args]
    print("+", " ".join(command), flush=True)
    return subprocess.call(command)


def main(argv: list[str]) -> int:
    workers = int(os.environ.get("SYNCER_TEST_WORKERS", "0") or 0)
    if workers <= 1:
        return _pytest(argv)
    parallel = _pytest(["-n", str(workers), "--dist", "loadfile", "-m", "not serial", *argv])
    serial = _pytest(["-m", "serial", *argv])
    return phases_status([parallel, serial])


def phases_status(codes: list[int]) -> int:
    """One exit status for the phases: the first failure's, else 0 (5 if no phase ran a test)."""
    if all(code == NO_TESTS_COLLECTED for code in codes):
        return NO_TESTS_COLLECTED
    return next((code for code in codes if code not in (0, NO_TESTS_COLLECTED)), 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
