"""The backstop in `serve`: a piece that a database outage ended is started again; anything else (a bug)
still ends the process; a piece that meets an outage while the process stops just ends (no error exit)."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from eventsourcing import persistence

from cli import runtime
from cli.runtime import restarting


@pytest.fixture(autouse=True)
def no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "RESTART_PAUSE_S", 0.01)


def test_a_piece_ended_by_the_database_going_away_is_started_again_until_it_returns() -> None:
    outages = [psycopg.OperationalError("server closed the connection"), persistence.OperationalError("gone")]
    runs: list[int] = []

    async def piece() -> None:
        runs.append(1)
        if outages:
            raise outages.pop(0)

    asyncio.run(restarting("piece", piece, asyncio.Event()))

    assert len(runs) == 3


def test_a_bug_still_ends_the_process() -> None:
    async def piece() -> None:
        raise ValueError("a bug")

    with pytest.raises(ValueError, match="a bug"):
        asyncio.run(restarting("piece", piece, asyncio.Event()))


def test_a_piece_that_meets_an_outage_while_the_process_stops_just_ends() -> None:
    runs: list[int] = []

    async def main() -> None:
        stop = asyncio.Event()

        async def piece() -> None:
            runs.append(1)
            stop.set()
            raise psycopg.OperationalError("server closed the connection")

        await restarting("piece", piece, stop)

    asyncio.run(main())

    assert runs == [1]
