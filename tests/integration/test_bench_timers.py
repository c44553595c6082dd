"""The timers section of `caseledger bench` at a tiny size: the real scheduler process breaches exactly the
due timers, once each, and touches none of the pending rows; the bare loop fires exactly as many."""

from __future__ import annotations

import os

import psycopg
import pytest

from cli.bench.timers import (
    TimerFigure,
    TimerSizes,
    _proc_stat,
    _server_pids,
    run_timers_bench,
    timers_table,
)
from infra.settings import Settings

pytestmark = [
    pytest.mark.integration,
    pytest.mark.isolated(
        "the benchmark builds and drops schemas under this test's own name and counts what is left"
    ),
]

TINY = TimerSizes(pending=3_000, due=60, idle_seconds=1.0, start_writers=2, startup_budget_s=10.0)


@pytest.fixture
def settings(database_url: str, schema: str) -> Settings:
    """The section's base schema is this test's own: the fixture drops whatever is left."""
    return Settings(database_url=database_url, db_schema=schema)


def leftover_schemas(database_url: str, schema: str) -> list[str]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s",
            (schema.replace("_", "\\_") + "\\_%",),
        ).fetchall()
    return [r[0] for r in rows]


def test_timers_section_breaches_every_due_timer_once_and_no_pending_one_beside_the_bare_loop(
    settings: Settings, database_url: str
) -> None:
    figures = run_timers_bench(settings, TINY)

    copied, started, started_again, bare, scheduler, idle, two_schedulers = figures
    assert all(isinstance(f, TimerFigure) for f in figures)
    assert isinstance(bare, TimerFigure)
    assert isinstance(scheduler, TimerFigure)
    assert isinstance(idle, TimerFigure)
    assert isinstance(two_schedulers, TimerFigure)
    assert copied.operations == TINY.pending - 2 * TINY.due
    assert started.operations == started_again.operations == TINY.due
    assert bare.checks == {"fired": TINY.due, "pending_touched": 0}
    # Each burst breached exactly once per due timer, by one process and then by two racing ones.
    for fired in (scheduler, two_schedulers):
        assert fired.checks == {"breach_events": TINY.due, "breached_timers": TINY.due, "pending_touched": 0}
        assert fired.operations == TINY.due
        assert fired.baseline_per_second == bare.per_second
        assert fired.p50_ms is not None
        assert fired.p99_ms is not None
        assert 0 <= fired.p50_ms <= fired.p99_ms
    assert (scheduler.writers, two_schedulers.writers) == (1, 2)
    # The server runs on this machine: each burst's CPU is counted on both sides of it (how much, at this
    # size, may be less than a clock tick: 10 ms).
    for fired in (scheduler, two_schedulers):
        assert fired.burst_cpu is not None
        assert fired.burst_cpu.database_s is not None
    assert bare.p50_ms is not None
    assert bare.p99_ms is not None
    assert 0 <= bare.p50_ms <= bare.p99_ms
    assert idle.rss_mib is not None
    assert idle.rss_mib > 0
    assert idle.cpu_seconds is not None
    assert idle.cpu_seconds >= 0
    table = timers_table(figures, TINY)
    assert "COPY'd rows (no aggregates) not due within the run" in table
    # Each scheduler row beside the bare loop of the same run; the one-process row against the goal.
    assert table.count("vs the bare loop:") == 2
    assert table.count("goal p99 < 500 ms:") == 1
    assert table.count("with every core busy throughout") == 3
    assert bare.burst_cpu is not None
    assert bare.burst_cpu.database_s is not None
    assert leftover_schemas(database_url, settings.db_schema) == []


def test_the_servers_processes_are_found_on_this_machine_a_live_backend_among_them(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT pg_backend_pid()").fetchone()
        assert row is not None
        server = _server_pids(database_url)
        # Read while the backend lives: it ends with this connection.
        parent = int(_proc_stat(row[0])[1])

    assert server is not None
    assert row[0] in server
    # The postmaster (the backend's parent) first, then its children, each once; none of this test's own.
    assert parent == server[0]
    assert len(server) == len(set(server)) > 1
    assert os.getpid() not in server
