"""The API sections of `caseledger bench` at a tiny size: a real `caseledger api` process, then cleaned up."""

from __future__ import annotations

import psycopg
import pytest

from cli.bench.api import (
    BARE_SELECT,
    HTTP_CASE,
    HTTP_LIST,
    HTTP_LODGE,
    ApiSizes,
    QueryLatency,
    api_table,
    bench_api,
)
from cli.bench.write import BARE
from infra.settings import Settings

pytestmark = [
    pytest.mark.integration,
    pytest.mark.isolated(
        "the benchmark builds and drops schemas under this test's own name and counts what is left"
    ),
]

TINY = ApiSizes(seconds=1.0, rounds=1, cases=300, samples=40)


def leftover_schemas(database_url: str, schema: str) -> list[str]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", (schema.replace("_", "\\_") + "%",)
        ).fetchall()
    return [r[0] for r in rows]


def test_api_sections_measure_commands_over_http_and_query_latency_beside_bare_baselines(
    database_url: str,
) -> None:
    settings = Settings(database_url=database_url)
    before = leftover_schemas(database_url, "bench_api_")

    figures = bench_api(settings, TINY, out=None)

    assert [f.name for f in figures] == [BARE, HTTP_LODGE, BARE_SELECT, HTTP_CASE, HTTP_LIST]
    bare, lodged, select, single, listed = figures
    assert bare.operations > 0
    assert lodged.operations > 0
    assert lodged.baseline_per_second == bare.per_second
    assert all(isinstance(f, QueryLatency) for f in (select, single, listed))
    for query in (select, single, listed):
        assert isinstance(query, QueryLatency)
        assert query.operations == TINY.samples
        assert query.cases == TINY.cases
        assert 0 < query.p50_ms <= query.p95_ms <= query.p99_ms <= query.max_ms
    assert single.baseline_per_second == select.per_second
    assert "p99" in api_table(figures)
    # Only this run's schemas count: another run on the same server may create or drop its own meanwhile.
    assert set(leftover_schemas(database_url, "bench_api_")) - set(before) == set()
