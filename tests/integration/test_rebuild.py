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
from projections import store
from projections.catalogue import ALL_PROJECTIONS
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
        return rows_on(conn, system, table)


def rows_on(conn: psycopg.Connection[Any], system: System, table: str) -> list[tuple[Any, ...]]:
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


def test_the_live_tables_answer_reads_while_the_shadow_tables_are_filled(
    loaded: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = {table: rows(loaded, table) for table in ("policies", "claims", "complaints", "worklist")}
    seen: list[dict[str, list[tuple[Any, ...]]]] = []
    fill_indexes = store.create_indexes

    def read_live_after_each_fill(*args: Any) -> None:
        fill_indexes(*args)
        # Another session, as the API's: a live table locked by the rebuild would fail it at once.
        with psycopg.connect(loaded.database_url) as conn:
            conn.execute("SET lock_timeout = '200ms'")
            seen.append({table: rows_on(conn, loaded, table) for table in live})

    monkeypatch.setattr(store, "create_indexes", read_live_after_each_fill)

    rebuild_projections(loaded, out=None)

    assert len(seen) == len(ALL_PROJECTIONS)  # once after each projection's shadow tables were filled
    assert all(reads == live for reads in seen)
    assert {table: rows(loaded, table) for table in live} == live
