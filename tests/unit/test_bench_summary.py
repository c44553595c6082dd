"""Issue #17's table at the end of a bench run, from made-up figures: met, missed and not run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.bench import api, held, pipeline, summary, timers, write
from cli.bench import main as bench
from cli.bench.api import QueryLatency
from cli.bench.figures import Figure
from cli.bench.held import HeldFigure
from cli.bench.pipeline import LatencyFigure
from cli.bench.summary import NOT_RUN, ROWS, issue17_rows, issue17_table
from cli.bench.timers import BurstCpu, TimerFigure
from infra.settings import Settings


def rate(section: str, name: str, per_second: float, baseline: float, writers: int = 1) -> Figure:
    return Figure(section, name, writers, 100, 1.0, per_second, baseline_per_second=baseline)


def every_row_measured() -> list[Figure]:
    """One figure for each row of the issue, each exactly on its goal (a goal is met at its bound)."""
    return [
        rate(summary.WRITE_SECTION, summary.SERVICE, 900.0, 1000.0, writers=1),
        rate(summary.WRITE_SECTION, summary.SERVICE, 700.0, 1000.0, writers=8),
        rate(summary.API_WRITE, summary.HTTP_LODGE, 250.0, 1000.0, writers=8),
        QueryLatency(summary.API_QUERY, summary.BARE_SELECT, 1, 10, 1.0, 5000.0, p50_ms=0.15),
        QueryLatency(summary.API_QUERY, summary.HTTP_CASE, 1, 10, 1.0, 1000.0, 5000.0, p50_ms=1.0),
        LatencyFigure(summary.LATENCY, summary.SCALE_OUT_200, 1, 10, 1.0, 200.0, 200.0, p99_ms=71.0),
        LatencyFigure(summary.LATENCY, summary.ONE_PROCESS_200, 1, 10, 1.0, 200.0, 200.0, p99_ms=100.0),
        TimerFigure(summary.TIMERS, summary.ONE_SCHEDULER, 1, 10_000, 1.0, 1.0, 2.0, p99_ms=499.0),
        rate(summary.RELAY, summary.RELAY_PUBLISH, 40_000.0, 50_000.0),
        rate(summary.REBUILD, summary.REBUILD_ALL, 50_000.0, 325_000.0),
        HeldFigure(summary.HELD, summary.HELD_LOAD, 64, 100, 1.0, 500.0, baseline_per_second=7000.0),
    ]


def test_every_row_of_the_issue_is_met_when_each_figure_is_on_its_goal() -> None:
    rows = issue17_rows(every_row_measured())

    assert [r.path for r in rows] == [r.path for r in ROWS]
    assert [r.verdict for r in rows] == ["met"] * len(ROWS)


@pytest.mark.parametrize("row", range(len(ROWS)))
def test_a_row_is_missed_when_its_figure_falls_short_of_the_goal(row: int) -> None:
    figures = every_row_measured()
    # Each row's deciding figure is the last one it reads; made worse by half (latencies: doubled).
    deciding = {0: 0, 1: 1, 2: 2, 3: 4, 4: 6, 5: 7, 6: 8, 7: 9, 8: 10}[row]
    f = figures[deciding]
    if isinstance(f, (QueryLatency, LatencyFigure, TimerFigure)):
        f.p50_ms, f.p99_ms = (f.p50_ms or 0) * 2, (f.p99_ms or 0) * 2
    else:
        f.per_second /= 2

    verdicts = [r.verdict for r in issue17_rows(figures)]

    assert verdicts[row] == "missed"
    assert verdicts.count("met") == len(ROWS) - 1


def test_a_row_whose_section_did_not_run_says_not_run_and_the_others_are_still_reported() -> None:
    figures = [f for f in every_row_measured() if f.section != summary.HELD]

    rows = issue17_rows(figures)

    assert rows[-1].measured == NOT_RUN
    assert rows[-1].verdict == NOT_RUN
    assert [r.verdict for r in rows[:-1]] == ["met"] * (len(ROWS) - 1)


def test_no_figures_at_all_give_a_table_of_rows_not_run() -> None:
    table = issue17_table(issue17_rows([]))

    assert table.splitlines()[0] == "issue #17"
    assert table.count(NOT_RUN) == 2 * len(ROWS)


def test_the_table_shows_each_rows_figure_beside_its_baseline_ratio_and_goal() -> None:
    rows = issue17_rows(every_row_measured())
    table = issue17_table(rows)

    held_row = rows[-1]
    assert (held_row.measured, held_row.baseline) == ("500 commands/s", "INSERT 7,000/s")
    assert held_row.ratio == "0.07x"
    assert held_row.goal in table
    assert "0.90x" in table  # 1 writer: 900 against 1,000


def test_the_summary_reads_the_names_the_sections_give_their_figures() -> None:
    # The summary spells the names out (so that it loads no section's libraries): they must not drift.
    assert (summary.SERVICE, summary.HTTP_LODGE) == (write.SERVICE, api.HTTP_LODGE)
    assert (summary.API_WRITE, summary.API_QUERY) == (api.WRITE, api.QUERY)
    assert (summary.HTTP_CASE, summary.BARE_SELECT) == (api.HTTP_CASE, api.BARE_SELECT)
    assert (summary.RELAY, summary.RELAY_PUBLISH) == (pipeline.RELAY, pipeline.RELAY_PUBLISH)
    assert (summary.REBUILD, summary.REBUILD_ALL) == (pipeline.REBUILD, pipeline.REBUILD_ALL)
    assert summary.LATENCY == pipeline.LATENCY
    assert (summary.HELD, summary.HELD_LOAD) == (held.SECTION, held.HELD)
    assert summary.TIMERS == timers.SECTION


def test_a_run_prints_the_issue_table_and_its_elapsed_time_and_writes_both_to_the_json(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def held_only(settings: Settings, quick: bool) -> list[Figure]:
        return [f for f in every_row_measured() if f.section == summary.HELD]

    monkeypatch.setattr(bench, "SECTIONS", {"held": held_only})
    out = tmp_path / "bench.json"

    bench.run_bench(Settings(), quick=True, out=out, only=["held"])

    printed = capsys.readouterr().out
    assert "issue #17" in printed
    assert "bench --quick:" in printed
    document = json.loads(out.read_text())
    assert [row["verdict"] for row in document["issue17"]] == [NOT_RUN] * (len(ROWS) - 1) + ["met"]
    assert document["elapsed_seconds"] >= 0


def test_the_timers_row_stands_beside_the_floor_its_bursts_cpu_sets_on_the_cores() -> None:
    figures = every_row_measured()
    one_scheduler = next(f for f in figures if isinstance(f, TimerFigure))
    one_scheduler.p99_ms = 900.0
    one_scheduler.burst_cpu = BurstCpu(scheduler_s=0.75, database_s=0.45, cores=2)

    row = next(r for r in issue17_rows(figures) if r.path == summary.ROWS_BY_PATH["timers"])

    assert (row.measured, row.baseline, row.ratio, row.verdict) == (
        "p99 900 ms (10,000 due)",
        "CPU floor 600 ms",
        "1.5x",
        "missed",
    )


def test_a_timers_row_without_the_servers_cpu_has_no_floor_to_stand_beside() -> None:
    figures = every_row_measured()
    one_scheduler = next(f for f in figures if isinstance(f, TimerFigure))
    one_scheduler.burst_cpu = BurstCpu(scheduler_s=0.75, database_s=None, cores=2)

    row = next(r for r in issue17_rows(figures) if r.path == summary.ROWS_BY_PATH["timers"])

    assert (row.baseline, row.ratio, row.verdict) == ("-", "-", "met")
