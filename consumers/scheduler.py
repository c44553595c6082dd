"""The durable SLA scheduler (``caseledger timers``): warnings and breaches recorded on time, exactly once.

Due timers live in ``sla_due``. A scheduler takes the rows whose next instant has come with
``FOR UPDATE SKIP LOCKED``, so several scheduler processes share the work and never take the same row at
once. For a batch of rows it records, through the ``Timers`` service, the warnings reached and the
breaches (one read of the timers' events, one write of what they record), then rewrites the rows from the
timers, and commits; the row locks are held throughout.

Staging: in the seconds before a due instant (``lookahead``) the scheduler loads the timers that fall due
then (at most ``stage_limit`` of them), so that at the instant only the decision and the writes remain. A
staged timer is a cache, never a decision: what it records is decided at the instant from the clock read
then, and a timer that changed in between (satisfied, paused, extended) is stale, so its write meets the
store's unique (id, version): the batch's transaction rolls back whole, and its rows are taken again and
fired from what is stored, the library's way (timer by timer where a timer meets another writer).

Exactly once: a batch's events are written in the transaction that holds its rows (``Timers.fire_many``
with the connection), so a scheduler that dies before the commit leaves the rows due and nothing recorded.
Where the events went the library's way (a batch fired again after a conflict, a snapshot due)
and the scheduler dies before committing the row, the row is still due and unlocked; the next scheduler
takes it, loads the timer, finds the breach already recorded and records nothing (the timer refuses a
second breach, and two writers of one version meet at the store's unique constraint).

Between due instants it sleeps until the next one or until a NOTIFY on the due channel (a consumer moved a
deadline, or a controlled clock was moved): it never polls the table while nothing is due.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from uuid import UUID, uuid4

from psycopg import Connection, sql

from domain.timer import SlaTimer, TimerAction, TimerState
from infra import metrics
from infra.clock import Clock
from infra.services.timers import Timers
from infra.settings import Settings
from infra.store.database import DATABASE_UNAVAILABLE, Database, ProcessKind
from infra.store.eventstore import ConcurrencyConflictError
from infra.tracing import work_span
from projections.due import DueRow, due_channel, due_table, rewrite_fired_rows, upsert_due_rows

log = logging.getLogger(__name__)

RECONNECT_DELAYS_S = (0.5, 1.0, 2.0, 4.0)
"""Pauses between attempts to reach a lost database (the last one repeats): back within seconds of it."""

DEFAULT_LOOKAHEAD_S = 5.0
"""How far ahead of a due instant the scheduler loads the timers due then (seconds)."""

STAGE_GUARD = timedelta(seconds=0.1)
"""The least time before a due instant that staging may start at, or start loading a chunk of timers at;
more when the last read of the window took longer (twice that), or the last chunk (that), by the clock.
Where instants follow one another closer than that, staging waits for a gap between them (what it has not
staged by an instant is read then)."""

HELD_BATCHES = 100
"""How many committed batches a pass holds for counting at its end (20,000 timers at 200 a batch, the
staging limit): a larger backlog is counted every so many batches."""

AfterRecord = Callable[[UUID], None]
"""Called after a timer's events are recorded and before its row is committed (tests simulate a crash)."""


class SchedulerSystem(Protocol):
    """What a scheduler needs of the composition root."""

    @property
    def database(self) -> Database: ...

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
    """Takes due timers from ``sla_due`` and records their warnings and breaches through ``Timers``.

    Each batch borrows a connection of the process's pool for its transaction (the timers' writes take
    another); only the LISTEN of ``run`` has a connection of its own.
    """

    def __init__(
        self,
        timers: Timers,
        database: Database,
        base_schema: str,
        clock: Clock,
        *,
        batch_size: int = 200,
        max_wait: float = 1.0,
        workers: int = 2,
        lookahead: float = DEFAULT_LOOKAHEAD_S,
        stage_limit: int = 20_000,
        after_record: AfterRecord | None = None,
    ) -> None:
        self.timers = timers
        self.database = database
        self.base_schema = base_schema
        self.clock = clock
        self.batch_size = batch_size
        self.max_wait = max_wait
        self.after_record = after_record
        self.lookahead = timedelta(seconds=lookahead)
        self.stage_limit = stage_limit
        self.workers = workers
        self._staged: dict[UUID, SlaTimer] = {}
        self._heads: dict[UUID, bytes] = {}
        """The staged timers' chain hashes at the staged version: their breaches are stored hashed."""
        self._staged_until: datetime | None = None
        self._stage_read = timedelta(0)
        """How long the last ``stage`` took to read its window, by the scheduler's clock."""
        self._chunk_load = timedelta(0)
        """How long loading the last staged chunk took, by the scheduler's clock (at most half the lookahead:
        one stalled load must not keep staging off for good)."""
        self._fired: list[tuple[datetime, list[Any], list[SlaTimer]]] = []
        """The pass's committed batches (instant, rows taken, timers fired), counted at its end."""
        self._fired_lock = threading.Lock()
        self._take = (
            sql.SQL(
                """SELECT timer_id, timer_version, next_fire_at, next_action FROM {t}
                   WHERE next_fire_at <= %s ORDER BY next_fire_at LIMIT %s FOR UPDATE SKIP LOCKED"""
            )
            .format(t=due_table(base_schema))
            .as_bytes(None)
        )
        """The statement that takes a batch of due rows, composed once."""
        self.sessions = 0
        """How many sessions (LISTEN connections) have started: more than one means it reconnected."""

    def _connection(self) -> AbstractContextManager[Connection[Any]]:
        """A pooled connection (autocommit: every batch is one explicit transaction)."""
        return self.database.connection()

    def close(self) -> None:
        """Nothing to release: the scheduler holds no connection between ticks (``run`` closes its LISTEN)."""

    def tick(self) -> Tick:
        """Fire every timer due at the clock's now (in batches), each once; returns what it took."""
        try:
            return self._pass(self.clock.now())
        finally:
            try:
                self._count_fired()
            except Exception:
                # Metrics must not hide why the pass ended (``run`` reconnects on a lost database).
                log.exception("counting the timers a pass fired failed")

    def _pass(self, now: datetime) -> Tick:
        with self._connection() as conn:
            taken = self._fire_batch(conn, now)
        if len(taken) < self.batch_size:
            return Tick(now, tuple(taken))
        if self.workers < 2:
            return Tick(now, tuple(taken + self._drain(0)))
        # A burst: several transactions at once, so that one batch's Python work overlaps another's
        # round trips and database work. SKIP LOCKED gives each worker rows of its own.
        with ThreadPoolExecutor(self.workers, thread_name_prefix="scheduler") as pool:
            drained = list(pool.map(self._drain, range(self.workers)))
        for batch in drained:
            taken.extend(batch)
        return Tick(now, tuple(taken))

    def _count_fired(self) -> None:
        """Count what the pass's committed batches recorded (``_recorded``), and let their timers go."""
        with self._fired_lock:
            fired, self._fired = self._fired, []
        for now, rows, timers in fired:
            # ``fire_many`` answers in the order of the rows taken.
            recorded = (_recorded(row[2], row[3], timer) for row, timer in zip(rows, timers, strict=True))
            metrics.timers_fired((what for what in recorded if what is not None), now)

    def _drain(self, worker: int) -> list[UUID]:
        """Fire batches, each in its own transaction on a pooled connection, until one comes back short."""
        taken: list[UUID] = []
        while True:
            # Each batch records the instant it is written at, not the one the burst began at.
            with self._connection() as conn:
                batch = self._fire_batch(conn, self.clock.now())
            taken.extend(batch)
            if len(batch) < self.batch_size:
                return taken

    def _fire_batch(self, conn: Connection[Any], now: datetime) -> list[UUID]:
        try:
            return self._fire_taken(conn, now, in_transaction=True)
        except ConcurrencyConflictError as conflict:
            # A timer was written after it was loaded (a stale staged copy, another writer): the batch's
            # transaction rolled back whole, nothing of it recorded, its rows due again. They are taken
            # again (another worker may have some by now) and fired the library's way, which decides each
            # timer from what is stored.
            log.info("a due timer changed while firing (%s); taking the batch again", conflict)
            return self._fire_taken(conn, now, in_transaction=False)

    def _fire_taken(self, conn: Connection[Any], now: datetime, *, in_transaction: bool) -> list[UUID]:
        """Take a batch of due rows and fire their timers in one transaction.

        ``in_transaction``: the events are written in the rows' transaction, from the staged copies where
        there are some; otherwise the timers are loaded and stored the library's way (a transaction of its
        own for the batch, then timer by timer where one meets a writer) and only the rows are rewritten in
        this one.
        """
        caller = self.timers.caller(uuid4(), None)
        with conn.transaction():
            rows = conn.execute(
                self._take,
                (now, self.batch_size),
                # Binary: a burst's rows are parsed faster (uuid, timestamptz) than from their text.
                binary=True,
            ).fetchall()
            taken = [row[0] for row in rows]
            loaded: dict[UUID, SlaTimer] = {}
            heads: dict[tuple[UUID, int], bytes] = {}
            # The staged copies (by identity) at the version their row stands at: such a row needs only
            # what firing moves rewritten (``rewrite_fired_rows``). Identity, not id: a timer fired again
            # from what is stored after a conflict is another object. (And ints hash in C, UUIDs in Python:
            # a burst of breaches spent a tenth of its time hashing ids.)
            row_at_copy: set[int] = set()
            staged_copies, staged_heads = self._staged, self._heads
            for timer_id, version, _, _ in rows:
                # Taken once, whatever happens next: a staged copy is never used twice.
                staged = staged_copies.pop(timer_id, None)
                head = staged_heads.pop(timer_id, None)
                if staged is None or not in_transaction:
                    continue
                if staged.version >= version:
                    loaded[timer_id] = staged
                    if head is not None:
                        heads[(timer_id, staged.version)] = head
                    if staged.version == version:
                        row_at_copy.add(id(staged))
            # A batch of timers falling due starts a trace of its own (no request caused it): the events
            # it records carry it on to the relay and the consumers.
            with work_span("fire due timers") if taken else nullcontext():
                # The events are written in this transaction: they commit with the rows, or neither does.
                timers = (
                    self.timers.fire_many(
                        taken,
                        caller,
                        now,
                        loaded=loaded,
                        chain_heads=heads,
                        conn=conn if in_transaction else None,
                    )
                    if taken
                    else []
                )
                if self.after_record is not None:
                    for timer in timers:
                        self.after_record(timer.id)
                # A timer fired from its staged copy (the same object comes back; one fired again from
                # what is stored after a conflict does not) whose row stood at that copy's version.
                fired_from_row = [t for t in timers if id(t) in row_at_copy]
                rest = (
                    [t for t in timers if id(t) not in row_at_copy]
                    if len(fired_from_row) < len(timers)
                    else []
                )
                rewrite_fired_rows(conn, self.base_schema, fired_from_row)
                # Rewrite even at an equal version: the row must stop naming an instant already handled.
                upsert_due_rows(conn, self.base_schema, [DueRow.of(t) for t in rest], same_version=True)
        # Counted when the pass ends (``_count_fired``), not here: in a burst this batch's counting, and
        # freeing its timers, would hold the GIL while the batches after it wait to be written.
        with self._fired_lock:
            self._fired.append((now, rows, timers))
            held = len(self._fired)
        if held >= HELD_BATCHES:
            # A backlog far larger than a burst (the first pass after an outage): counted as it goes, so
            # that what waits to be counted stays bounded.
            self._count_fired()
        return taken

    @property
    def staged(self) -> int:
        """How many timers are loaded ahead of their instant."""
        return len(self._staged)

    def stage(self) -> int:
        """Load the timers due within ``lookahead`` of now that are not loaded yet; returns how many are.

        Only reads: no row is locked and nothing is recorded. It stops loading before the window's first due
        instant could come while a chunk of timers is still loading (the instant's writes matter more than
        the cache), and what it does not stage is read at the instant as before.
        """
        now = self.clock.now()
        until = now + self.lookahead
        with self._connection() as conn:
            rows = conn.execute(
                sql.SQL(
                    """SELECT timer_id, timer_version, next_fire_at FROM {t}
                       WHERE next_fire_at > %s AND next_fire_at <= %s ORDER BY next_fire_at LIMIT %s"""
                ).format(t=due_table(self.base_schema)),
                (now, until, self.stage_limit),
            ).fetchall()
        # Keep what is still due soon at a version no newer than the copy; drop the rest (moved, fired).
        kept = {
            timer_id: self._staged[timer_id]
            for timer_id, version, _ in rows
            if timer_id in self._staged and self._staged[timer_id].version >= version
        }
        self._staged = kept
        self._heads = {timer_id: self._heads[timer_id] for timer_id in kept if timer_id in self._heads}
        wanted = [(timer_id, version, at) for timer_id, version, at in rows if timer_id not in kept]
        self._stage_read = self.clock.now() - now
        # The window's first instant, staged or not: a load still running then would delay its pass.
        first = rows[0][2] if rows else None
        for start in range(0, len(wanted), self.batch_size):
            chunk = wanted[start : start + self.batch_size]
            if first is not None and self.clock.now() + max(STAGE_GUARD, self._chunk_load) >= first:
                break
            loading = self.clock.now()
            found, heads = self.timers.load_with_heads([timer_id for timer_id, _, _ in chunk])
            self._chunk_load = min(self.clock.now() - loading, self.lookahead / 2)
            for timer_id, version, _ in chunk:
                timer = found.get(timer_id)
                if timer is not None and timer.version >= version:
                    self._staged[timer_id] = timer
                    head = heads.get((timer_id, timer.version))
                    if head is not None:
                        self._heads[timer_id] = head
        self._staged_until = until
        return len(self._staged)

    def next_due(self) -> datetime | None:
        """The earliest instant any timer needs the scheduler at."""
        with self._connection() as conn:
            row = conn.execute(
                sql.SQL("SELECT min(next_fire_at) FROM {t}").format(t=due_table(self.base_schema))
            ).fetchone()
        return None if row is None else row[0]

    def run(self, stop: threading.Event) -> None:
        """Fire due timers until ``stop`` is set; sleep until the next due instant or a notification.

        When the database goes away (restart, crash, network) the session ends and a new one starts after a
        backoff (``RECONNECT_DELAYS_S``), LISTEN again; its first pass fires everything that fell due in
        the meantime, each once (the rows stayed due, and a batch cut short rolled back).
        """
        failures = 0
        while not stop.is_set():
            sessions = self.sessions
            try:
                self._session(stop)
                return
            except DATABASE_UNAVAILABLE as exc:
                # Back off from the first delay again once a session had started: a new outage.
                failures = 0 if self.sessions > sessions else failures
                delay = RECONNECT_DELAYS_S[min(failures, len(RECONNECT_DELAYS_S) - 1)]
                failures += 1
                log.warning("scheduler lost the database (%s); reconnecting in %.1f s", exc, delay)
                # A staged copy may predate what happened during the outage: it is checked by version
                # anyway, but a fresh start reads what is stored.
                self._staged.clear()
                self._heads.clear()
                self._staged_until = None
                self._stage_read = self._chunk_load = timedelta(0)
                stop.wait(delay)

    def _session(self, stop: threading.Event) -> None:
        """One session: LISTEN on a connection of its own (the one dedicated connection), fire what is due,
        sleep until the next due instant or a notification; a lost database raises."""
        with self.database.dedicated() as listener:
            listener.execute(sql.SQL("LISTEN {}").format(sql.Identifier(due_channel(self.base_schema))))
            self.sessions += 1
            next_due: datetime | None = None
            changed = True
            while not stop.is_set():
                if changed or (next_due is not None and self.clock.now() >= next_due):
                    try:
                        tick = self.tick()
                    except ConcurrencyConflictError as exc:
                        # Other writers kept winning over a due timer (``Timers.change`` gave up): its row
                        # is still due, so a pass shortly after decides again from what is stored.
                        log.warning("a scheduler pass gave up on a contended timer (%s); retrying", exc)
                        stop.wait(RECONNECT_DELAYS_S[0])
                        continue
                    if tick.taken:
                        log.info("fired %d timer(s) at %s", len(tick.taken), tick.now.isoformat())
                    next_due = self.next_due()
                    changed = False
                if next_due is not None and self._should_stage(next_due):
                    staged = self.stage()
                    log.debug("staged %d timer(s) due before %s", staged, self._staged_until)
                wait = self.max_wait
                if next_due is not None:
                    # The clock may be a controlled one: re-read it at least every max_wait seconds.
                    wait = min(wait, max(0.0, (next_due - self.clock.now()).total_seconds()))
                if wait > 0:
                    for _ in listener.notifies(timeout=wait, stop_after=1):
                        changed = True
        self.close()

    def _should_stage(self, next_due: datetime) -> bool:
        # Once per second of horizon at most: staging re-reads the rows due within the lookahead.
        now = self.clock.now()
        if not self.lookahead or now >= next_due or next_due > now + self.lookahead:
            return False
        # Staging reads its whole window before it looks at the clock again: started just before the
        # instant, it would make every timer due then wait for it, which it exists to spare them. What is
        # staged already fires; anything else is read at the instant.
        if next_due - now < max(STAGE_GUARD, 2 * self._stage_read):
            return False
        return self._staged_until is None or now + self.lookahead - self._staged_until >= timedelta(seconds=1)


def _recorded(due: datetime, action: str, timer: SlaTimer) -> tuple[str, datetime, str | None] | None:
    """What firing a timer whose row named (``due``, ``action``) recorded, for the metrics: the action,
    the instant its lateness runs from and the breached rule; None when it recorded nothing.

    Only a running timer has a due row, so one breached or closed now was so by this pass, even when its
    row named a warning (a late pass records the warnings and the end at once): its lateness runs from the
    deadline. (A breach the library's path stored before a scheduler died, its row still due, is counted
    once, by the pass that finds it.) One still running is counted when it has raised the warning its row
    named; one whose warning moved since its row was written (extended, resumed) raised nothing, and one
    satisfied, cancelled or paused since recorded nothing.
    """
    if timer.state is TimerState.BREACHED:
        return TimerAction.BREACH, timer.due_at or due, timer.rule_id
    if timer.state is TimerState.WINDOW_CLOSED:
        return TimerAction.CLOSE_WINDOW, timer.due_at or due, None
    if (
        timer.state is TimerState.RUNNING
        and action == TimerAction.WARNING
        and any(warning.at == due and warning.fraction in timer.warned for warning in timer.warnings)
    ):
        return TimerAction.WARNING, due, None
    return None


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
    system.database.name_process(ProcessKind.TIMERS)
    scheduler = Scheduler(
        system.timers,
        system.database,
        system.settings.db_schema,
        clock,
        after_record=after_record,
    )
    try:
        scheduler.run(stop)
    finally:
        scheduler.close()
