"""`make test`'s two phases: the exit status, and which tests must wait for the serial phase."""

import re

from scripts.run_tests import phases_status
from tests.conftest import ROOT


def test_the_first_failing_phase_decides_the_status():
    assert phases_status([0, 0]) == 0
    assert phases_status([1, 0]) == 1
    assert phases_status([0, 2]) == 2
    assert phases_status([1, 2]) == 1


def test_a_phase_that_selects_no_test_is_not_a_failure_unless_neither_ran_one():
    assert phases_status([5, 0]) == 0
    assert phases_status([0, 5]) == 0
    assert phases_status([5, 1]) == 1
    assert phases_status([5, 5]) == 5


def test_every_test_module_that_starts_a_worker_stack_or_make_run_is_marked_serial():
    """Two worker stacks at once on 2 CPUs miss their sync bounds: each must run in the serial
    phase. A module that starts one and is not marked would run beside the parallel part."""
    starts_stack = re.compile(r"\bStack\(|\[\"make\", \"run\"")
    unmarked = []
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        text = path.read_text()
        if starts_stack.search(text) and "pytest.mark.serial" not in text:
            unmarked.append(str(path.relative_to(ROOT)))
    assert unmarked == []
