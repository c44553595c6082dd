"""The audit section of `caseledger bench` at a tiny size: it measures, counts exactly and cleans up."""

from __future__ import annotations

import psycopg
import pytest

from cli.bench.audit import audit_table, bench_audit
from infra.settings import Settings

pytestmark = [
    pytest.mark.integration,
    pytest.mark.isolated(
        "the benchmark builds and drops schemas under this test's own name and counts what is left"
    ),
]

EVENTS = 400


def leftover_schemas(database_url: str, schema: str) -> list[str]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s",
            (schema.replace("_", "\\_") + "\\_bench\\_audit%",),
        ).fetchall()
    return [r[0] for r in rows]


def test_the_audit_section_reports_export_and_verify_beside_a_bare_select_of_as_many_events(
    database_url: str, schema: str
) -> None:
    settings = Settings(database_url=database_url, db_schema=schema)

    figures = bench_audit(settings, EVENTS, command_seconds=0.2)

    by_name = {f.name: f for f in figures}
    bare = by_name["bare SELECT of the same rows (streamed)"]
    # The template case (4 events) is stored too, beside the 100 copies of it.
    assert bare.operations == EVENTS + 4
    for name in (
        "audit export --all (signed JSONL)",
        "audit verify (recompute every chain)",
        "audit verify-export (offline, the file)",
    ):
        assert by_name[name].operations == bare.operations
        assert by_name[name].baseline_per_second == bare.per_second
        assert by_name[name].ratio is not None
    chained = by_name["bulk INSERT…SELECT through the chain trigger"]
    assert chained.operations == EVENTS
    assert chained.ratio is not None
    assert by_name["Complaints: lodge, 1 event/tx, hash-chained"].ratio is not None
    assert "verify-export" in audit_table(figures)
    assert leftover_schemas(database_url, schema) == []
