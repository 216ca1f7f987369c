"""The fidelity report: the emulator against every recorded Shopify request.

The requests come from ../shared/shopify when that checkout is there, else from the copy
vendored in shopify_emulator/reference/ (CI runs from a clean clone).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from shopify_emulator import fidelity
from shopify_emulator.fidelity import (
    EXPECTED_MISSES,
    MODEL,
    REFERENCE,
    VENDORED_REQUESTS,
    build_report,
    extract_requests,
    load_requests,
    read_vendored,
    shared_reference_dir,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cost_report() -> fidelity.FidelityReport:
    return build_report(load_requests(), live=False)


def test_the_vendored_requests_are_the_shared_captures() -> None:
    reference_dir = shared_reference_dir()
    if reference_dir is None:
        pytest.skip("no ../shared/shopify checkout to compare the vendored copy with")
    vendored = [request.as_json() for request in read_vendored(VENDORED_REQUESTS)]
    shared = [request.as_json() for request in extract_requests(reference_dir)]
    # Then the copy CI reads is exactly what ../shared holds (regenerate with
    # `python -m shopify_emulator fidelity --update-vendored`)
    assert vendored == json.loads(json.dumps(shared))


def test_without_shared_the_vendored_copy_is_read(monkeypatch, tmp_path) -> None:
    # Given no ../shared checkout (as in CI)
    monkeypatch.setenv("SHOPIFY_REFERENCE_DATA", str(tmp_path))
    assert shared_reference_dir() is None
    # Then the requests come from the vendored copy, all of them
    assert load_requests() == read_vendored(VENDORED_REQUESTS)
    assert len(load_requests()) > 400


def test_requested_cost_parity_over_every_recorded_request(cost_report) -> None:
    # Every recorded request is compared (none is invalid against 2026-07)
    assert cost_report.compared
    print(f"\nrequested cost: {len(cost_report.compared) - len(cost_report.misses)}"
          f"/{len(cost_report.compared)} exact; parity {cost_report.parity:.1%}, "
          f"raw {cost_report.raw_parity:.1%}")
    for miss in cost_report.misses:
        kind, reason = EXPECTED_MISSES.get(miss.request.source, ("REGRESSION", "unexplained"))
        print(f"  {miss.request.source}: {miss.requested} vs {miss.request.requested} "
              f"[{kind}] {reason}")
    # Then every miss is one the list explains, and the list names no miss that went away
    assert [miss.request.source for miss in cost_report.regressions] == []
    assert cost_report.stale_expectations == []
    assert cost_report.parity >= 0.99


def test_expected_misses_are_few_and_each_has_a_reason() -> None:
    for source, (kind, reason) in EXPECTED_MISSES.items():
        assert kind in (REFERENCE, MODEL), source
        assert len(reason) > 40, source
    # Reference errors are only ever calibration lines: a capture's cost is its own request's.
    assert all(
        source.startswith("calibration:")
        for source, (kind, _reason) in EXPECTED_MISSES.items()
        if kind == REFERENCE
    )


def test_a_new_miss_is_a_regression_and_a_fixed_one_is_stale(cost_report) -> None:
    missing_one = dict(EXPECTED_MISSES)
    dropped = next(iter(missing_one))
    del missing_one[dropped]
    report = fidelity.FidelityReport(cost_report.comparisons, missing_one)
    assert [c.request.source for c in report.regressions] == [dropped]
    assert not report.ok

    extra = dict(EXPECTED_MISSES) | {"calibration:9999": (MODEL, "a miss that does not happen")}
    report = fidelity.FidelityReport(cost_report.comparisons, extra)
    assert report.stale_expectations == ["calibration:9999"]
    assert not report.ok


def test_the_report_fails_on_a_regression(monkeypatch) -> None:
    # Given an expected-miss list that forgot one miss
    trimmed = dict(EXPECTED_MISSES)
    trimmed.pop(next(iter(trimmed)))
    monkeypatch.setattr(fidelity, "EXPECTED_MISSES", trimmed)
    out = io.StringIO()
    # When the report runs / Then it says so and exits non-zero
    assert fidelity.main(verbose=False, live=False, out=out) == 1
    assert "REGRESSION" in out.getvalue()


def test_the_live_report_compares_shape_user_errors_and_cost() -> None:
    # When the whole report runs, each request also answered by the emulator
    out = io.StringIO()
    status = fidelity.main(verbose=True, live=True, out=out)
    text = out.getvalue()
    # Then it lists every request with both costs and the shape columns, and ends green
    assert status == 0, text[-3000:]
    lines = [line for line in text.splitlines() if line.startswith(("calibration:", "captures/"))]
    assert len(lines) == len(load_requests())
    assert "requested cost parity:" in text
    assert "emulator on an empty shop: top-level keys" in text
    assert text.rstrip().endswith("fidelity: OK")


def test_the_command_line_runs_the_report() -> None:
    # `python -m shopify_emulator fidelity` from the repository, as CI runs it (cost only: the
    # live comparison is covered above)
    result = subprocess.run(
        [sys.executable, "-m", "shopify_emulator", "fidelity", "--summary", "--cost-only"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "fidelity: OK" in result.stdout
