"""The durable SLA scheduler (``caseledger timers``): warnings and breaches recorded on time, exactly once.

Due timers live in ``sla_due``. A scheduler takes the rows whose next instant has come with
``FOR UPDATE SKIP LOCKED``, so several scheduler processes share the work and never take the same row at
once. For a batch of rows it records, through the ``Timers`` service, the warnings reached and the
breaches (one read of the timers' events, one write of what they record), then rewrites the rows from the
timers, and commits; the row locks are held throughout.

Exactly once: if a scheduler dies after recording and before committing the row, the row is still due and
unlocked; the next scheduler takes it, loads the timer, finds the breach already recorded and records
nothing (the timer refuses a second breach, and two writers of one version meet at the store's unique
constraint). Between due instants it sleeps until the next one or until a NOTIFY on the due channel (a
consumer moved a deadline, or a controlled clock was moved): it never polls the table while nothing is due.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID, uuid4

import psycopg
from psycopg import Connection, sql

from infra.clock import Clock
from infra.settings import Settings
from infra.timers import DueRow, Timers, create_due_table, due_channel, due_table, upsert_due_rows

log = logging.getLogger(__name__)

AfterRecord = Callable[[UUID], None]
"""Called after a timer's events are recorded and before its row is committed (tests simulate a crash)."""


class SchedulerSystem(Protocol):
    """What a scheduler needs of the composition root."""

    @property
    def database_url(self) -> str: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def timers(self) -> Timers: ...


@dataclass(frozen=True)
class Tick:
    """What one pass over the due rows did: the timers taken, and the time it read from the clock."""

    now: datetime
    taken: tuple[UUID, ...]


class Scheduler:
    """Takes due timers from ``sla_due`` and records their warnings and breaches through ``Timers``."""

    def __init__(
        self,
        timers: Timers,
        database_url: str,
        base_schema: str,
        clock: Clock,
        *,
        batch_size: int = 200,
        max_wait: float = 1.0,
        after_record: AfterRecord | None = None,
    ) -> None:
        self.timers = timers
        self.database_url = database_url
        self.base_schema = base_schema
        self.clock = clock
        self.batch_size = batch_size
        self.max_wait = max_wait
        self.after_record = after_record
        self._conn: Connection[Any] | None = None

    def connection(self) -> Connection[Any]:
        """The scheduler's own connection (autocommit: every tick is one explicit transaction)."""
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.database_url, autocommit=True)
            create_due_table(self._conn, self.base_schema)
        return self._conn

    def close(self) -> None:
        """Close the scheduler's connection."""
        if self._conn is not None:
            self._conn.close()

    def tick(self) -> Tick:
        """Fire every timer due at the clock's now (in batches), each once; returns what it took."""
        now = self.clock.now()
        taken: list[UUID] = []
        while True:
            batch = self._fire_batch(now)
            taken.extend(batch)
            if len(batch) < self.batch_size:
                return Tick(now, tuple(taken))

    def _fire_batch(self, now: datetime) -> list[UUID]:
        conn = self.connection()
        caller = self.timers.caller(uuid4(), None)
        with conn.transaction():
            rows = conn.execute(
                sql.SQL(
                    """SELECT timer_id FROM {t} WHERE next_fire_at <= %s
                       ORDER BY next_fire_at LIMIT %s FOR UPDATE SKIP LOCKED"""
                ).format(t=due_table(self.base_schema)),
                (now, self.batch_size),
            ).fetchall()
            taken = [row[0] for row in rows]
            timers = self.timers.fire_many(taken, caller, now) if taken else []
            for timer in timers:
                if self.after_record is not None:
                    self.after_record(timer.id)
            # Rewrite even at an equal version: the row must stop naming an instant already handled.
            upsert_due_rows(conn, self.base_schema, [DueRow.of(t) for t in timers], same_version=True)
        return taken

    def next_due(self) -> datetime | None:
        """The earliest instant any timer needs the scheduler at."""
        conn = self.connection()
        row = conn.execute(
            sql.SQL("SELECT min(next_fire_at) FROM {t}").format(t=due_table(self.base_schema))
        ).fetchone()
        return None if row is None else row[0]

    def run(self, stop: threading.Event) -> None:
        """Fire due timers until ``stop`` is set; sleep until the next due instant or a notification."""
        with psycopg.connect(self.database_url, autocommit=True) as listener:
            listener.execute(sql.SQL("LISTEN {}").format(sql.Identifier(due_channel(self.base_schema))))
            next_due: datetime | None = None
            changed = True
            while not stop.is_set():
                if changed or (next_due is not None and self.clock.now() >= next_due):
                    tick = self.tick()
                    if tick.taken:
                        log.info("fired %d timer(s) at %s", len(tick.taken), tick.now.isoformat())
                    next_due = self.next_due()
                    changed = False
                wait = self.max_wait
                if next_due is not None:
                    # The clock may be a controlled one: re-read it at least every max_wait seconds.
                    wait = min(wait, max(0.0, (next_due - self.clock.now()).total_seconds()))
                if wait > 0:
                    for _ in listener.notifies(timeout=wait, stop_after=1):
                        changed = True
        self.close()


def nudge(conn: Connection[Any], base_schema: str) -> None:
    """Wake the sleeping schedulers (a controlled or scaled clock moved; a deadline changed)."""
    conn.execute("SELECT pg_notify(%s, %s)", (due_channel(base_schema), "clock"))


def run_scheduler(
    system: SchedulerSystem,
    clock: Clock,
    stop: threading.Event,
    *,
    after_record: AfterRecord | None = None,
) -> None:
    """Run one scheduler process's loop against the system's database until ``stop`` is set."""
    scheduler = Scheduler(
        system.timers,
        system.database_url,
        system.settings.db_schema,
        clock,
        after_record=after_record,
    )
    try:
        scheduler.run(stop)
    finally:
        scheduler.close()
