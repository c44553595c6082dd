"""The held-load section of `caseledger bench` at a tiny size: real api, relay and consumer processes."""

from __future__ import annotations

import psycopg
import pytest

from cli.bench.held import HELD, HeldFigure, HeldSizes, HeldStep, bench_held, held_rate, held_table, is_held
from cli.bench.write import BARE
from infra.settings import Settings

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(300),
    pytest.mark.isolated("the benchmark builds and drops a schema of its own and counts what is left"),
]

TINY = HeldSizes(rates=(5, 10), step_seconds=2.0, clients=4, drain_seconds=30.0, baseline_seconds=1.0)


def leftover_schemas(database_url: str) -> list[str]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'bench\\_held\\_%'"
        ).fetchall()
    return [r[0] for r in rows]


def test_held_section_offers_each_rate_open_loop_and_reports_the_highest_one_held_beside_the_bare_insert(
    database_url: str, kafka_bootstrap: str
) -> None:
    before = leftover_schemas(database_url)

    figures = bench_held(Settings(database_url=database_url), TINY, bootstrap_servers=kafka_bootstrap)

    bare, *steps, figure = figures
    assert bare.name == BARE
    assert bare.per_second > 0
    assert isinstance(figure, HeldFigure)
    assert figure.name == HELD
    assert all(isinstance(s, HeldStep) for s in steps)
    held_steps = [s for s in steps if isinstance(s, HeldStep)]
    # The ladder climbs in order and stops at the first step not held.
    assert [s.offered_per_second for s in held_steps] == list(TINY.rates[: len(held_steps)])
    assert all(s.held for s in held_steps[:-1])
    first = held_steps[0]
    # Open-loop: every request of a step is sent, whatever the earlier ones got.
    assert first.sent == round(first.offered_per_second * TINY.step_seconds)
    assert first.operations > 0
    # Every accepted command of the first step reached the read model through the relay and the consumer.
    assert first.unapplied == 0
    for s in held_steps:
        assert s.held == is_held(s)
        assert s.baseline_per_second == bare.per_second
        assert 0 < s.p50_ms <= s.p99_ms <= s.max_ms
        # A bare commit was timed beside the requests, to tell the disk's stalls from caseledger's.
        assert 0 < s.commit_p99_ms <= s.commit_max_ms
    assert figure.per_second == held_rate(held_steps)
    assert figure.baseline_per_second == bare.per_second
    assert figure.operations == sum(s.sent for s in held_steps)
    assert "goal ≥ 500/s" in held_table(figures)
    assert "a bare commit beside it: p99" in held_table(figures)
    # Only this run's schema counts: another run on the same server may create or drop its own meanwhile.
    assert set(leftover_schemas(database_url)) - set(before) == set()
