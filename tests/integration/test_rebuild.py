"""Rebuild and verify: read models replayed from the store equal what the live consumer applied."""

from __future__ import annotations

import io
from typing import Any

import psycopg
import pytest
from psycopg import sql

from cli.load import run_load
from consumers.rebuild import rebuild_projections, verify_projections
from infra.bootstrap import System
from projections.schema import read_schema
from tests.feed import project

pytestmark = [pytest.mark.integration, pytest.mark.isolated("rebuilds and swaps the whole read schema")]


@pytest.fixture
def loaded(system: System) -> System:
    run_load(system, cases=60, rate=0, seed=4)
    project(system)
    return system


def rows(system: System, table: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(system.database_url) as conn:
        query = sql.SQL("SELECT * FROM {} ORDER BY 1").format(
            sql.Identifier(read_schema(system.settings.db_schema), table)
        )
        return conn.execute(query).fetchall()


def test_verify_finds_no_difference_when_the_live_projections_are_what_the_consumer_applied(
    loaded: System,
) -> None:
    report = verify_projections(loaded, out=None)

    assert report.events > 500
    assert report.rows > 0
    assert report.consistent, report.differences


def test_verify_names_the_table_that_differs_when_a_live_row_was_edited(loaded: System) -> None:
    with psycopg.connect(loaded.database_url) as conn:
        conn.execute(
            sql.SQL("UPDATE {} SET status = 'tampered' WHERE ctid = (SELECT min(ctid) FROM {})").format(
                sql.Identifier(read_schema(loaded.settings.db_schema), "claims"),
                sql.Identifier(read_schema(loaded.settings.db_schema), "claims"),
            )
        )

    report = verify_projections(loaded, ["claims"], out=None)

    assert not report.consistent
    assert report.differences["claims"]["claims"] == (1, 1)


def test_rebuild_swaps_in_rows_equal_to_the_live_ones_and_repairs_an_edited_row(loaded: System) -> None:
    before = rows(loaded, "policies")
    with psycopg.connect(loaded.database_url) as conn:
        conn.execute(
            sql.SQL("DELETE FROM {} WHERE ctid = (SELECT min(ctid) FROM {})").format(
                sql.Identifier(read_schema(loaded.settings.db_schema), "policies"),
                sql.Identifier(read_schema(loaded.settings.db_schema), "policies"),
            )
        )
    progress = io.StringIO()

    report = rebuild_projections(loaded, out=progress)

    assert rows(loaded, "policies") == before
    assert verify_projections(loaded, out=None).consistent
    assert "events/s" in progress.getvalue()
    assert report.events_per_second > 0


def test_rebuild_leaves_out_events_the_consumer_has_not_applied_yet(system: System) -> None:
    run_load(system, cases=20, rate=0, seed=9)
    project(system)
    run_load(system, cases=10, rate=0, seed=10)  # stored, not yet consumed

    report = verify_projections(system, out=None)

    # The copy matches what was applied, so a swap cannot make the consumer apply an event twice.
    assert report.consistent, report.differences
