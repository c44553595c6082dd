"""The scheduler outlives a `kill -9` of its PostgreSQL: it reconnects and LISTENs again by itself, and the
timers that fell due while the server was away fire once, as soon as it is back.

The clock is a controlled one (a real complaint deadline is 15 days away): it is moved past the deadlines
while the server is dead. The server is a throwaway embedded one in a temporary directory.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from consumers.scheduler import Scheduler
from domain.timer import SlaTimer, TimerBreached
from infra.bootstrap import System, bootstrap
from infra.clock import ControlledClock
from infra.settings import Settings
from infra.store.database import DATABASE_UNAVAILABLE
from infra.store.embedded import EmbeddedPostgres
from tests.conftest import START
from tests.faults.harness import kill_postmaster, report, restarted, wait_for
from tests.integration.test_timers import CMP, Consumer, a_complaint, history_types, the_timer

pytestmark = [pytest.mark.integration, pytest.mark.faults, pytest.mark.timeout(180)]

TIMERS = 5
RECOVERY_BOUND_S = 15.0


@pytest.fixture
def server(fault_dir: Path) -> Iterator[EmbeddedPostgres]:
    embedded = EmbeddedPostgres(fault_dir / "postgres")
    embedded.start()
    try:
        yield embedded
    finally:
        embedded.stop()


@pytest.fixture
def system(server: EmbeddedPostgres) -> Iterator[System]:
    url = server.start()  # already started: its URL
    settings = Settings(database_url=url, db_schema="faults", db_pool_size=2, db_max_overflow=4)
    built = bootstrap(settings, ControlledClock(START))
    try:
        yield built
    finally:
        built.close()


def test_timers_due_while_postgres_was_dead_fire_once_when_it_is_back(
    server: EmbeddedPostgres, system: System
) -> None:
    clock = system.clock
    assert isinstance(clock, ControlledClock)
    consumer = Consumer(system, system.timers)
    complaints = [a_complaint(system, clock) for _ in range(TIMERS)]
    consumer.consume()
    consumer.close()
    timers = [the_timer(system, system.timers, CMP, complaint) for complaint in complaints]
    latest_due = max(timer.due_at for timer in timers if timer.due_at is not None)

    scheduler = Scheduler(system.timers, system.database, system.settings.db_schema, clock)
    stop = threading.Event()
    runner = threading.Thread(target=scheduler.run, args=(stop,), name="scheduler")
    runner.start()
    try:
        wait_for(lambda: scheduler.sessions == 1, 30, "the scheduler LISTENs")
        kill_postmaster(server.data_dir / "pg")
        killed_at = time.monotonic()
        # Every deadline passes while the server is dead.
        clock.set(latest_due + timedelta(minutes=1))
        time.sleep(2.0)
        assert runner.is_alive(), "the scheduler lives through the outage"
        wait_for(restarted(server), 60, "the throwaway PostgreSQL starts again")
        back_at = time.monotonic()
        wait_for(lambda: _all_breached(system, timers), 60, "every timer that fell due is breached")
        fired_at = time.monotonic()
        time.sleep(1.5)  # a few more passes of the scheduler: nothing fires twice
        assert runner.is_alive()
    finally:
        stop.set()
        runner.join(timeout=30)

    breaches = [history_types(system.timers, timer.id).count(TimerBreached) for timer in timers]
    report(
        "timers: kill -9 of PostgreSQL while deadlines pass",
        kills=1,
        outage_s=round(back_at - killed_at, 2),
        all_fired_after_return_s=round(fired_at - back_at, 2),
        timers=len(timers),
        breaches_per_timer=sorted(set(breaches)),
        scheduler_sessions=scheduler.sessions,
    )
    assert fired_at - back_at <= RECOVERY_BOUND_S
    assert breaches == [1] * TIMERS, breaches
    assert scheduler.sessions >= 2, "it reconnected and LISTENed again"


def _all_breached(system: System, timers: list[SlaTimer]) -> bool:
    try:
        return all(TimerBreached in history_types(system.timers, timer.id) for timer in timers)
    except DATABASE_UNAVAILABLE:
        return False
