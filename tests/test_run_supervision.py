"""`make run` supervises its processes as production does: a worker or beat that exits (Celery
can, when Redis drops under it) is started again; anything else exiting ends the run."""

import sys
import time

import pytest

from scripts.run_demo import Output, Run, RunFailed

EXITS = [sys.executable, "-c", "import sys; sys.exit(3)"]
STAYS = [sys.executable, "-c", "import time; time.sleep(30)"]


@pytest.fixture
def run(tmp_path):
    run = Run(Output(tmp_path / "run.log"))
    yield run
    run.stop_all()


def _exited(process) -> None:
    deadline = time.monotonic() + 10
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)


def test_a_worker_that_exits_is_started_again_and_says_so(run, tmp_path):
    # given a worker that exits
    first = run.start("worker", EXITS, {})
    _exited(first)
    # when the run checks on its processes
    run.keep_alive(restartable={"worker", "beat"})
    # then a new worker process runs the same command, and the log says why
    assert run.processes["worker"] is not first
    assert run.commands["worker"] == (EXITS, {})
    assert ("The worker process exited with status 3; starting it again"
            in (tmp_path / "run.log").read_text())


def test_the_web_process_exiting_ends_the_run(run):
    web = run.start("web", EXITS, {})
    _exited(web)
    with pytest.raises(RunFailed, match="The web process exited with status 3"):
        run.keep_alive(restartable={"worker", "beat"})


def test_a_worker_crashing_in_a_loop_ends_the_run(run):
    # given a worker that exits every time it starts
    for _ in range(5):
        _exited(run.start("worker", EXITS, {}))
        run.keep_alive(restartable={"worker"})
    _exited(run.processes["worker"])
    # when it exits a sixth time within the minute, the run stops and says which
    with pytest.raises(RunFailed, match="The worker process exited with status 3"):
        run.keep_alive(restartable={"worker"})


def test_a_running_worker_is_left_alone(run):
    worker = run.start("worker", STAYS, {})
    run.keep_alive(restartable={"worker"})
    assert run.processes["worker"] is worker
