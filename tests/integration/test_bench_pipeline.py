"""The pipeline sections of `caseledger bench` at tiny sizes: each measures, counts exactly and cleans up."""

from __future__ import annotations

import psycopg
import pytest

from cli.bench.figures import Figure
from cli.bench.pipeline import (
    LatencyFigure,
    bench_latency,
    bench_projection,
    bench_rebuild,
    bench_relay,
    pipeline_table,
)
from infra.settings import Settings

pytestmark = [
    pytest.mark.integration,
    pytest.mark.isolated(
        "the benchmark builds and drops schemas under this test's own name and counts what is left"
    ),
]

EVENTS = 300


@pytest.fixture
def settings(database_url: str, schema: str) -> Settings:
    """The section's base schema (and topic prefix) is this test's own: the fixture drops whatever is left."""
    return Settings(database_url=database_url, db_schema=schema, topic_prefix=schema)


def leftover_schemas(database_url: str, schema: str) -> list[str]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname = %s OR nspname LIKE %s",
            (schema, schema.replace("_", "\\_") + "\\_%"),
        ).fetchall()
    return [r[0] for r in rows]


def assert_paired(figures: list[Figure], section: str, operations: int) -> None:
    baseline, measured = figures
    assert (baseline.section, measured.section) == (section, section)
    assert (baseline.operations, measured.operations) == (operations, operations)
    assert baseline.per_second > 0
    assert measured.per_second > 0
    assert measured.baseline_per_second == baseline.per_second
    assert measured.ratio is not None


def test_relay_section_publishes_exactly_the_stored_events_beside_a_raw_produce_of_as_many(
    settings: Settings, database_url: str
) -> None:
    figures = bench_relay(settings, EVENTS, rounds=1)  # with an embedded broker of its own

    assert_paired(figures, "relay", EVENTS)
    assert leftover_schemas(database_url, settings.db_schema) == []


def test_projection_section_applies_every_event_once_one_at_a_time_and_in_batches_beside_raw_upserts(
    settings: Settings, database_url: str
) -> None:
    baseline, one_at_a_time, batched = bench_projection(settings, EVENTS, rounds=1)

    assert_paired([baseline, one_at_a_time], "projection", EVENTS)
    assert_paired([baseline, batched], "projection", EVENTS)
    assert "process_together" in batched.name
    assert leftover_schemas(database_url, settings.db_schema) == []


def test_latency_section_sees_every_command_reach_the_read_model_and_reports_percentiles_and_relay_share(
    settings: Settings, database_url: str, kafka_bootstrap: str
) -> None:
    figures = bench_latency(
        settings, rates=(20,), seconds=2.0, baseline_seconds=1.0, bootstrap_servers=kafka_bootstrap
    )

    baseline, measured = figures
    assert not isinstance(baseline, LatencyFigure)
    assert isinstance(measured, LatencyFigure)
    assert baseline.operations > 0
    assert baseline.per_second > 0
    assert measured.operations > 0
    assert measured.per_second > 0
    assert measured.unresolved == 0
    assert 0 < measured.p50_ms <= measured.p95_ms <= measured.p99_ms <= measured.max_ms
    # Every event reaches the topics before its read model: the relay's share is part of the whole (the
    # record's timestamp is in whole milliseconds, so a share may read up to 1 ms short).
    assert measured.relay_p50_ms is not None
    assert measured.relay_p99_ms is not None
    assert -1.0 <= measured.relay_p50_ms <= measured.relay_p99_ms <= measured.p99_ms
    assert measured.baseline_per_second == baseline.per_second
    assert "p99" in pipeline_table(figures)
    assert leftover_schemas(database_url, settings.db_schema) == []


def test_rebuild_section_replays_exactly_the_stored_events_beside_a_bare_read_of_them(
    settings: Settings, database_url: str
) -> None:
    figures = bench_rebuild(settings, EVENTS, rounds=1)

    assert_paired(figures, "rebuild", EVENTS)
    assert leftover_schemas(database_url, settings.db_schema) == []
