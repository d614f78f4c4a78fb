"""The benchmark's stage runner: a failing stage costs only its own rows, and the report on disk is
current after every stage (a run interrupted later keeps what was measured)."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from rich.console import Console

from scrm_dev.bench import BenchFailed, Row, StageResults, StageTiming, run_stages


def _render(rows: list[Row], failed: list[str], pending: list[str], timings: list[StageTiming]) -> str:
    return "\n".join(
        [*(f"row {what}" for what, _, _ in rows), *(f"failed {f}" for f in failed), *(f"pending {p}" for p in pending)]
        + [f"timed {name}" for name, _, _ in timings]
    )


def test_a_failing_stage_is_reported_and_the_others_still_run(tmp_path: Path) -> None:
    report = tmp_path / "bench.md"
    seen_after_first: list[str] = []

    def first() -> list[Row]:
        return [("one", "1/s", "1 ms")]

    def broken() -> list[Row]:
        seen_after_first.append(report.read_text(encoding="utf-8"))
        raise TimeoutError("0 of 5 visible")

    def last() -> list[Row]:
        return [("three", "3/s", "3 ms")]

    console = Console(quiet=True)
    with pytest.raises(BenchFailed, match="broken: TimeoutError: 0 of 5 visible"):
        run_stages(console, [("first", first), ("broken", broken), ("last", last)], report, _render)

    # Written before the second stage began: its row, and what was still to come.
    assert seen_after_first == ["row one\npending broken\npending last\ntimed first"]
    final = report.read_text(encoding="utf-8").splitlines()
    assert final[:3] == ["row one", "row three", "failed broken: TimeoutError: 0 of 5 visible"]
    assert [line for line in final if line.startswith("timed")] == ["timed first", "timed broken", "timed last"]


def test_every_stage_passing_returns_every_row_without_a_report(tmp_path: Path) -> None:
    rows = run_stages(Console(quiet=True), [("a", lambda: [("a", "", "")]), ("b", list)], None, _render)
    assert rows == [("a", "", "")]
    assert list(tmp_path.iterdir()) == []


def test_a_partial_run_keeps_the_other_stages_rows_from_the_run_that_measured_them(tmp_path: Path) -> None:
    report = tmp_path / "benchmarks.md"
    order = ["a", "b", "c"]

    def run(only: list[str], rows_by_stage: dict[str, list[Row]]) -> list[Row]:
        results = StageResults.load(report, order)
        stages = [(name, results.recording(name, functools.partial(rows_by_stage.__getitem__, name))) for name in only]
        run_stages(Console(quiet=True), stages, None, _render)
        results.save(report)
        return results.rows()

    assert run(["a", "b", "c"], {"a": [("a1", "", "")], "b": [("b1", "", "")], "c": [("c1", "", "")]}) == [
        ("a1", "", ""),
        ("b1", "", ""),
        ("c1", "", ""),
    ]
    # Only b again: its rows are replaced, a's and c's kept in the stages' order.
    assert run(["b"], {"b": [("b2", "", "")]}) == [("a1", "", ""), ("b2", "", ""), ("c1", "", "")]
    results = StageResults.load(report, order)
    assert [name for name, *_ in results.timings()] == ["a", "b", "c"]
    assert results.earlier() == ["a", "b", "c"]


def test_a_stage_that_fails_in_a_partial_run_loses_its_earlier_rows(tmp_path: Path) -> None:
    report = tmp_path / "benchmarks.md"
    first = StageResults.load(report, ["a"])
    run_stages(Console(quiet=True), [("a", first.recording("a", lambda: [("a1", "", "")]))], None, _render)
    first.save(report)

    def broken() -> list[Row]:
        raise TimeoutError("gone")

    again = StageResults.load(report, ["a"])
    with pytest.raises(BenchFailed):
        run_stages(Console(quiet=True), [("a", again.recording("a", broken))], None, _render)
    assert again.rows() == []
