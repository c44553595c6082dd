"""`caseledger bench --only timers`: the SLA scheduler with a million pending timers, beside a bare loop.

What is measured, in one run on one server (issue #5):

- **insert rate**: rows/s of a COPY into ``sla_due`` of the pending timers, and timers/s through the real
  start path (``Timers.start``, then ``Timers.fire`` recording the 50 % and 80 % warnings, then the due
  row) for the timers that fall due;
- **firing lateness**: ``due`` timers share one due instant a few seconds ahead; the real scheduler
  (``consumers.scheduler``, in a process of its own) must record a real ``TimerBreached`` on each. Lateness is
  the time from the due instant until the breach event is committed and seen by a watcher polling the
  store every 20 ms ("visible"), and until the instant the event records ("recorded");
- **resident memory** of the scheduler process (``/proc/<pid>/status``) idle and at its peak, and its **CPU
  seconds** over an idle interval while nothing is due (``/proc/<pid>/stat``);
- **baseline**: a bare ``SELECT … FOR UPDATE SKIP LOCKED LIMIT n`` + ``UPDATE`` loop, one transaction per
  batch, on a copy of the very same table (same rows, same indexes), firing the same due rows;
- **scale-out**: a second burst of as many real timers, due at the next midnight, fired by two scheduler
  processes at once (SKIP LOCKED shares the batches; the counts prove no timer is breached twice).

Every obligation's deadline is a Civil-Code day (24:00 Asia/Shanghai), so it cannot be set "a few seconds
from now" in real time. The due timers are started so their deadline is the same midnight D, and the
scheduler runs on a clock that moves at real speed but shifted so that D is a few seconds ahead: lateness
is real elapsed time. The other pending rows are bulk-COPY'd rows without aggregates, whose next instant is
at least a day after D: they never fall due within the run (the section checks that none was touched).
"""

from __future__ import annotations

import contextlib
import cProfile
import os
import pstats
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import sql

from cli.bench.figures import Figure, nearest_rank_ms
from consumers.scheduler import DEFAULT_LOOKAHEAD_S, Scheduler, run_scheduler
from domain.calendar import Deadline, HolidayCalendar, compute_deadline, default_calendar
from domain.sla import rule_by_id
from domain.timer import TimerBreached, TimerState
from infra.bootstrap import System, bootstrap
from infra.services.timers import DueRow, due_table, upsert_due_row
from infra.settings import Settings
from infra.store.eventstore import drop_schemas

SECTION = "timers"
RULE_ID = "CMP-DECIDE-15D"
"""An obligation with 50 % and 80 % warnings: the due timers are real complaint-decision clocks."""
BARE_TABLE = "sla_due_bare"
WATCH_POLL_S = 0.02
WATCH_GAP_S = 2.0
"""How long the watcher waits for a missing notification id before it takes it for one never committed."""
REPO = Path(__file__).resolve().parents[2]
GOAL_P99_MS = 500.0
"""Issue #17: one scheduler process records 10,000 breaches due at once with a lateness p99 below this."""


@dataclass(frozen=True)
class TimerSizes:
    """How much work the section does."""

    pending: int
    """Rows in ``sla_due`` in all, the due ones included."""
    due: int
    """Timers with real aggregates that fall due at one instant."""
    idle_seconds: float
    schedulers: tuple[int, ...] = (1, 2)
    """One burst of ``due`` timers per entry, each fired by that many scheduler processes at once."""
    start_writers: int = 4
    startup_budget_s: float = 20.0
    """How long the scheduler process may take to start before the idle interval begins."""
    drain_timeout_s: float = 300.0


QUICK = TimerSizes(pending=50_000, due=2_000, idle_seconds=5.0)
FULL = TimerSizes(pending=1_000_000, due=10_000, idle_seconds=10.0)


@dataclass
class TimerFigure(Figure):
    """A figure of the timers section: lateness percentiles, memory and CPU where they apply."""

    p50_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None
    recorded_p50_ms: float | None = None
    recorded_p99_ms: float | None = None
    rss_mib: float | None = None
    peak_rss_mib: float | None = None
    cpu_seconds: float | None = None
    burst_cpu: BurstCpu | None = None
    checks: dict[str, int] = field(default_factory=dict)
    """Exact counts the run verified (breach events, distinct timers, pending rows touched)."""


@dataclass(frozen=True)
class BurstCpu:
    """The CPU a burst cost, from its due instant until its last breach was seen (the bare loop's: committed),
    beside the cores there are.

    Lateness on a machine whose cores both sides of the burst share is bounded below by the CPU it needs:
    ``floor_s`` is the burst's time had the scheduler and the database kept every core busy throughout.
    """

    scheduler_s: float
    """The scheduler process(es), or the bare loop's own."""
    database_s: float | None
    """The PostgreSQL server's processes (None when the server is not on this machine)."""
    cores: int

    @property
    def floor_s(self) -> float | None:
        if self.database_s is None:
            return None
        return (self.scheduler_s + self.database_s) / self.cores


class ShiftedClock:
    """The machine's clock moved by a fixed offset: real-speed time around a chosen instant."""

    def __init__(self, offset_seconds: float) -> None:
        self.offset = timedelta(seconds=offset_seconds)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


# ---------------------------------------------------------------------------------------------- setup


def _start_due_timers(system: System, sizes: TimerSizes, start_at: datetime) -> tuple[datetime, TimerFigure]:
    """Start ``due`` real timers sharing one deadline, record their warnings, write their due rows."""
    rule = rule_by_id(RULE_ID)
    due_at: set[datetime] = set()
    lock = threading.Lock()
    errors: list[Exception] = []
    per_writer = [sizes.due // sizes.start_writers] * sizes.start_writers
    per_writer[0] += sizes.due - sum(per_writer)

    def write(count: int) -> None:
        try:
            with psycopg.connect(system.database_url, autocommit=True) as conn:
                for _ in range(count):
                    caller = system.timers.caller(uuid4(), None)
                    timer = system.timers.start(
                        caller,
                        rule=rule,
                        case_id=uuid4(),
                        case_context="complaint",
                        cycle=1,
                        start_at=start_at,
                        cause_event="ComplaintLodged",
                        cause_event_id=uuid4(),
                    )
                    assert timer.due_at is not None
                    # Warnings first, as a live scheduler would have: the row then names the breach next.
                    timer = system.timers.fire(timer.id, caller, timer.due_at - timedelta(minutes=1))
                    upsert_due_row(conn, system.settings.db_schema, DueRow.of(timer))
                    deadline = timer.due_at
                    assert deadline is not None
                    with lock:
                        due_at.add(deadline)
        except Exception as error:  # noqa: BLE001 - re-raised in the caller's thread after the join
            errors.append(error)

    started = time.perf_counter()
    threads = [threading.Thread(target=write, args=(n,)) for n in per_writer]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    if len(due_at) != 1:
        raise RuntimeError(f"the due timers should share one deadline, got {sorted(due_at)}")
    figure = TimerFigure(
        SECTION,
        "Timers.start + warnings + due row (the due ones)",
        sizes.start_writers,
        sizes.due,
        round(elapsed, 3),
        round(sizes.due / elapsed, 1),
    )
    return due_at.pop(), figure


def _copy_pending(system: System, sizes: TimerSizes, deadline: datetime) -> TimerFigure:
    """COPY the pending rows that never fall due in the run: next instants 18 days or more after D."""
    count = sizes.pending - sizes.due * len(sizes.schedulers)
    table = due_table(system.settings.db_schema)
    columns = (
        "timer_id, rule_id, case_id, case_context, cycle, state, due_at, warn_50_at, warn_80_at, "
        "next_fire_at, next_action, timer_version"
    )
    day = 86_400
    started = time.perf_counter()
    with (
        psycopg.connect(system.database_url) as conn,
        conn.cursor().copy(sql.SQL("COPY {} (" + columns + ") FROM STDIN").format(table)) as copy,
    ):
        for i in range(count):
            due = deadline + timedelta(seconds=20 * day + i % (27 * day))
            copy.write_row(
                (
                    uuid4(),
                    RULE_ID,
                    uuid4(),
                    "complaint",
                    1,
                    TimerState.RUNNING.value,
                    due,
                    due - timedelta(days=2),
                    due - timedelta(days=1),
                    due - timedelta(days=2),
                    "warning",
                    3,
                )
            )
    elapsed = time.perf_counter() - started
    with psycopg.connect(system.database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("ANALYZE {}").format(table))
    return TimerFigure(
        SECTION,
        "COPY into sla_due (pending, never due in the run)",
        1,
        count,
        round(elapsed, 3),
        round(count / elapsed, 1),
    )


# ---------------------------------------------------------------------------------------------- bare loop


def _bare_table(schema: str) -> sql.Composed:
    return sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(BARE_TABLE))


def _copy_to_bare(database_url: str, schema: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE TABLE {b} (LIKE {t} INCLUDING ALL)").format(
                b=_bare_table(schema), t=due_table(schema)
            )
        )
        conn.execute(
            sql.SQL("INSERT INTO {b} SELECT * FROM {t}").format(b=_bare_table(schema), t=due_table(schema))
        )
        conn.execute(sql.SQL("ANALYZE {}").format(_bare_table(schema)))


def _bare_loop(database_url: str, schema: str, deadline: datetime, sizes: TimerSizes) -> TimerFigure:
    """Sleep until the first due instant, then take, mark and commit due rows, a batch per transaction."""
    clock = ShiftedClock((deadline - datetime.now(UTC)).total_seconds() - 2.0)
    table = _bare_table(schema)
    lateness: list[float] = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(sql.SQL("SELECT min(next_fire_at) FROM {}").format(table)).fetchone()
        assert row is not None
        assert row[0] == deadline
        server = _server_pids(database_url)
        time.sleep(max(0.0, (row[0] - clock.now()).total_seconds()))
        at_instant = time.process_time(), _cpu_of(server or [])
        while True:
            now = clock.now()
            with conn.transaction():
                rows = conn.execute(
                    sql.SQL(
                        """SELECT timer_id, next_fire_at FROM {} WHERE next_fire_at <= %s
                           ORDER BY next_fire_at LIMIT 200 FOR UPDATE SKIP LOCKED"""
                    ).format(table),
                    (now,),
                ).fetchall()
                conn.execute(
                    sql.SQL(
                        """UPDATE {} SET state = 'breached', breached_at = %s, next_fire_at = NULL,
                           next_action = NULL, timer_version = timer_version + 1, updated_at = now()
                           WHERE timer_id = ANY(%s)"""
                    ).format(table),
                    (now, [r[0] for r in rows]),
                )
            committed = clock.now()
            lateness += [(committed - r[1]).total_seconds() for r in rows]
            if len(rows) < 200:
                break
        burst_cpu = BurstCpu(
            round(time.process_time() - at_instant[0], 2),
            None if server is None else round(_cpu_between(at_instant[1], _cpu_of(server)), 2),
            _cores(),
        )
        fired, touched = _bare_counts(conn, table, deadline)
    seconds = max(lateness) if lateness else 0.0
    return TimerFigure(
        SECTION,
        "bare SKIP LOCKED loop + UPDATE, 200/tx",
        1,
        fired,
        round(seconds, 3),
        round(fired / seconds, 1) if seconds else 0.0,
        p50_ms=nearest_rank_ms(sorted(lateness), 0.5, digits=1),
        p99_ms=nearest_rank_ms(sorted(lateness), 0.99, digits=1),
        max_ms=round(max(lateness) * 1000, 1),
        burst_cpu=burst_cpu,
        checks={"fired": fired, "pending_touched": touched},
    )


def _bare_counts(conn: psycopg.Connection[Any], table: sql.Composed, deadline: datetime) -> tuple[int, int]:
    row = conn.execute(
        sql.SQL(
            """SELECT count(*) FILTER (WHERE state = 'breached'),
                      count(*) FILTER (WHERE state <> 'running' AND due_at <> %s)
               FROM {}"""
        ).format(table),
        (deadline,),
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


# ---------------------------------------------------------------------------------------------- scheduler


def _proc_rss_mib(pid: int, key: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no {key} for process {pid}")


def _proc_stat(pid: int) -> list[str]:
    # The fields after the command name (which may hold spaces): the 3rd field of stat is the first here.
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _proc_cpu_seconds(pid: int) -> float:
    fields = _proc_stat(pid)
    # utime and stime are the 14th and 15th fields.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _server_pids(database_url: str) -> list[int] | None:
    """The PostgreSQL server's processes (the postmaster and its children: backends, WAL writer,
    checkpointer…) when the server runs on this machine, by the parent of a backend of ours; else None."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute("SELECT pg_backend_pid()").fetchone()
        assert row is not None
        try:
            # Read while the backend lives: it ends with this connection.
            postmaster = int(_proc_stat(int(row[0]))[1])
            if Path(f"/proc/{postmaster}/comm").read_text().strip() != "postgres":
                return None
        except (OSError, ValueError, IndexError):
            return None  # a server elsewhere (or in a container): this machine cannot see its processes
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                if int(_proc_stat(int(entry.name))[1]) == postmaster:
                    children.append(int(entry.name))
    return [postmaster, *children]


def _cpu_of(pids: Sequence[int]) -> dict[int, float]:
    """CPU seconds of each of the processes still running."""
    seconds = {}
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            seconds[pid] = _proc_cpu_seconds(pid)
    return seconds


def _cores() -> int:
    """The cores this process may run on (its affinity, not the machine's count)."""
    return len(os.sched_getaffinity(0)) or 1


def _cpu_between(before: dict[int, float], after: dict[int, float]) -> float:
    """The CPU the processes running at both samples used between them (one that ended in between, such as
    a backend whose client disconnected, is left out: its last figure is gone with it)."""
    return sum(after[pid] - before[pid] for pid in before.keys() & after.keys())


@contextlib.contextmanager
def _scheduler_processes(
    system: System, offset_seconds: float, count: int, startup_budget_s: float
) -> Iterator[list[subprocess.Popen[str]]]:
    """``count`` real scheduler loops, each in a process of its own (so memory and CPU are their own).

    Started one after another, each once the previous one is ready: processes bootstrapping at once race
    on the library's CREATE OR REPLACE FUNCTION ("tuple concurrently updated") and one of them dies.
    """
    with contextlib.ExitStack() as stack:
        running = []
        for _ in range(count):
            process = stack.enter_context(_scheduler_process(system, offset_seconds))
            _wait_ready(process, startup_budget_s)
            running.append(process)
        yield running


@contextlib.contextmanager
def _scheduler_process(system: System, offset_seconds: float) -> Iterator[subprocess.Popen[str]]:
    """The real scheduler loop in a process of its own."""
    settings = system.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASELEDGER_")} | {
        "CASELEDGER_DATABASE_URL": system.database_url,
        "CASELEDGER_DB_SCHEMA": settings.db_schema,
        "CASELEDGER_DATA_DIR": str(settings.data_dir.resolve()),
        "PYTHONPATH": str(REPO),
    }
    if settings.master_key is not None:
        env["CASELEDGER_MASTER_KEY"] = settings.master_key.get_secret_value()
    process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "cli.bench.timers", "scheduler", repr(offset_seconds)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(process: subprocess.Popen[str], timeout: float) -> None:
    assert process.stdout is not None
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout)
    if not result or result[0].strip() != "ready":
        raise RuntimeError(f"the scheduler process did not start within {timeout:.0f} s")


class IdFloor:
    """The highest notification id up to which every one has been seen, so that a poll reads only above it.

    Concurrent transactions commit their ids out of order (the library's function mode takes no table
    lock), so an id above the floor may still be missing: the floor waits for it. A hole below an id seen
    ``gap_s`` ago is taken for ids never committed (a rolled-back insert takes its sequence values too, one
    per event it tried) and stepped over whole.
    """

    def __init__(self, start: int, gap_s: float = WATCH_GAP_S) -> None:
        self.floor = start
        self.gap_s = gap_s
        self._above: dict[int, float] = {}
        """The ids seen above the floor, with when each was first seen."""

    def saw(self, notification_id: int, now: float) -> None:
        if notification_id > self.floor:
            self._above.setdefault(notification_id, now)

    def advance(self, now: float) -> int:
        """Move over the ids seen without a hole below them, and over a hole below one seen ``gap_s`` ago."""
        above = self._above
        while above:
            while self.floor + 1 in above:
                self.floor += 1
                del above[self.floor]
            if not above:
                break
            lowest = min(above)
            if now - above[lowest] < self.gap_s:
                break
            self.floor = lowest - 1
        return self.floor


class _BreachWatcher:
    """Notes when each breach event becomes visible in the timer store (committed), polling every 20 ms.

    Each poll reads the ids above an ``IdFloor`` only. An id stepped over as never committed that then came
    would be missed, and the run's count check would fail rather than report. (Reading a 2,000-id window
    every poll, 50 times a second, was load on the two cores the scheduler is measured on.)
    """

    def __init__(self, system: System) -> None:
        recorder = system.timers.recorder
        assert isinstance(recorder, PostgresApplicationRecorder)
        self.database_url = system.database_url
        self.query = sql.SQL("SELECT notification_id, topic = %s FROM {} WHERE notification_id > %s").format(
            system.timers.events_table()
        )
        self.seen: dict[int, datetime] = {}
        """The breach events' ids, with when each was first seen."""
        self.backend_pid: int | None = None
        """The server process that answers the watcher's polls: not the burst's work."""
        self._stop = threading.Event()
        self._floor = IdFloor(recorder.max_notification_id() or 0)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wait_for(self, count: int, timeout: float, processes: Sequence[subprocess.Popen[str]]) -> None:
        deadline = time.monotonic() + timeout
        try:
            while len(self.seen) < count and time.monotonic() < deadline:
                ended = [p.args for p in processes if p.poll() is not None]
                if ended:
                    raise RuntimeError(f"a scheduler process stopped during the benchmark: {ended}")
                time.sleep(0.1)
        finally:
            self._stop.set()
            self._thread.join()

    def _run(self) -> None:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            self.backend_pid = conn.info.backend_pid
            while not self._stop.is_set():
                rows = conn.execute(self.query, (TimerBreached.TOPIC, self._floor.floor)).fetchall()
                now, monotonic = datetime.now(UTC), time.monotonic()
                for notification_id, breach in rows:
                    self._floor.saw(notification_id, monotonic)
                    if breach:
                        self.seen.setdefault(notification_id, now)
                self._floor.advance(monotonic)
                time.sleep(WATCH_POLL_S)


def _run_scheduler_phase(
    system: System, sizes: TimerSizes, deadline: datetime, bare: TimerFigure, processes: int
) -> list[TimerFigure]:
    """Start the scheduler processes, measure them idle (one process only), then fire the burst at D."""
    idle_seconds = sizes.idle_seconds if processes == 1 else 0.0
    lead = sizes.startup_budget_s * processes + idle_seconds + DEFAULT_LOOKAHEAD_S + 3.0
    offset = (deadline - datetime.now(UTC)).total_seconds() - lead
    watcher = _BreachWatcher(system)
    with _scheduler_processes(system, offset, processes, sizes.startup_budget_s) as running:
        time.sleep(1.0)  # the first pass over the due rows and the LISTEN
        pids = [process.pid for process in running]
        cpu_before = sum(map(_proc_cpu_seconds, pids))
        time.sleep(idle_seconds)
        cpu_after_idle = sum(map(_proc_cpu_seconds, pids))
        rss_idle = max(map(_proc_rss_mib, pids))
        # Idle means before the scheduler stages the burst's timers, the lookahead before the instant.
        if datetime.now(UTC) + timedelta(seconds=offset + DEFAULT_LOOKAHEAD_S) >= deadline:
            raise RuntimeError("the scheduler started too late: the idle interval overlapped the staging")
        watcher.start()
        # The server's processes are listed before the instant: a backend that starts in the burst (a pool
        # growing) is not counted. The watcher's own backend is left out; any other client of the server
        # counts (run it on a server of its own), as does the idle tail of at most ≈ 0.12 s between the last
        # breach and the watcher noticing it has them all.
        server = _server_pids(system.database_url)
        time.sleep(max(0.0, (deadline - timedelta(seconds=offset) - datetime.now(UTC)).total_seconds()))
        if server is not None:
            server = [pid for pid in server if pid != watcher.backend_pid]
        at_instant = _cpu_of(pids), _cpu_of(server or [])
        watcher.wait_for(sizes.due, sizes.drain_timeout_s, running)
        after_burst = _cpu_of(pids), _cpu_of(server or [])
        peak = max(_proc_rss_mib(pid, "VmHWM") for pid in pids)
        cpu_firing = sum(map(_proc_cpu_seconds, pids)) - cpu_after_idle
    burst_cpu = BurstCpu(
        round(_cpu_between(at_instant[0], after_burst[0]), 2),
        None if server is None else round(_cpu_between(at_instant[1], after_burst[1]), 2),
        _cores(),
    )
    visible = [
        (seen + timedelta(seconds=offset) - deadline).total_seconds() for seen in watcher.seen.values()
    ]
    recorded, timers = _recorded_breaches(system, deadline)
    seconds = max(visible) if visible else 0.0
    name = "scheduler process" if processes == 1 else f"{processes} scheduler processes"
    figures = [
        TimerFigure(
            SECTION,
            f"{name}: TimerBreached via Timers, 200/tx",
            processes,
            len(timers),
            round(seconds, 3),
            round(len(timers) / seconds, 1) if seconds else 0.0,
            baseline_per_second=bare.per_second,
            p50_ms=nearest_rank_ms(sorted(visible), 0.5, digits=1) if visible else None,
            p99_ms=nearest_rank_ms(sorted(visible), 0.99, digits=1) if visible else None,
            max_ms=round(max(visible) * 1000, 1) if visible else None,
            recorded_p50_ms=nearest_rank_ms(sorted(recorded), 0.5, digits=1) if recorded else None,
            recorded_p99_ms=nearest_rank_ms(sorted(recorded), 0.99, digits=1) if recorded else None,
            # The firing row shows the peak (VmHWM, the largest process); the idle row the size at rest.
            rss_mib=peak,
            peak_rss_mib=peak,
            cpu_seconds=round(cpu_firing, 2),
            burst_cpu=burst_cpu,
            checks={"breach_events": len(recorded), "breached_timers": len(timers)},
        )
    ]
    if processes == 1:
        figures.append(
            TimerFigure(
                SECTION,
                f"scheduler process idle {idle_seconds:.0f} s, {sizes.pending} pending",
                1,
                0,
                idle_seconds,
                0.0,
                rss_mib=rss_idle,
                cpu_seconds=round(cpu_after_idle - cpu_before, 3),
            )
        )
    return figures


def _recorded_breaches(system: System, deadline: datetime) -> tuple[list[float], set[UUID]]:
    """Every breach event in the store: its recorded lateness, and the distinct timers breached."""
    lateness: list[float] = []
    timers: set[UUID] = set()
    position = 0
    recorder = system.timers.recorder
    while page := recorder.select_notifications(
        position, 5_000, topics=[TimerBreached.TOPIC], inclusive_of_start=False
    ):
        for notification in page:
            event = system.timers.mapper.to_domain_event(notification)
            assert isinstance(event, TimerBreached)
            if event.due_at != deadline:
                continue
            lateness.append((event.timestamp - deadline).total_seconds())
            timers.add(UUID(str(notification.originator_id)))
        position = page[-1].id
    return lateness, timers


def _pending_touched(system: System, deadlines: Sequence[datetime]) -> int:
    """Rows of ``sla_due`` not due in the run whose state or version moved (there should be none)."""
    with psycopg.connect(system.database_url) as conn:
        row = conn.execute(
            sql.SQL(
                """SELECT count(*) FROM {} WHERE due_at <> ALL(%s)
                   AND (state <> 'running' OR timer_version <> 3)"""
            ).format(due_table(system.settings.db_schema)),
            (list(deadlines),),
        ).fetchone()
    assert row is not None
    return int(row[0])


# ---------------------------------------------------------------------------------------------- section


def run_timers_bench(settings: Settings, sizes: TimerSizes) -> list[Figure]:
    """The whole section on a base schema of its own, dropped at the end."""
    schema = f"{settings.db_schema}_bt{uuid4().hex[:6]}"
    system = bootstrap(settings.model_copy(update={"db_schema": schema, "db_pool_size": sizes.start_writers}))
    figures: list[Figure] = []
    try:
        deadlines: list[datetime] = []
        start_figures: list[TimerFigure] = []
        for start_at in _burst_starts(len(sizes.schedulers)):
            deadline, started = _start_due_timers(system, sizes, start_at)
            deadlines.append(deadline)
            start_figures.append(started)
        copied = _copy_pending(system, sizes, deadlines[0])
        _copy_to_bare(system.database_url, schema)
        bare = _bare_loop(system.database_url, schema, deadlines[0], sizes)
        figures = [copied, *start_figures, bare]
        for processes, deadline in zip(sizes.schedulers, deadlines, strict=True):
            figures += _run_scheduler_phase(system, sizes, deadline, bare, processes)
        touched = _pending_touched(system, deadlines)
        for figure in figures:
            if isinstance(figure, TimerFigure) and "breached_timers" in figure.checks:
                figure.checks["pending_touched"] = touched
    finally:
        system.close()
        drop_schemas(system.database_url, schema)
    return figures


def _burst_starts(bursts: int) -> list[datetime]:
    """Start instants whose deadlines are distinct midnights, in order (holiday roll-over may merge days)."""
    rule = rule_by_id(RULE_ID)
    calendar = default_calendar()
    first = datetime.now(UTC) - timedelta(days=rule.duration - 1)
    starts = [first]
    day = 0
    while len(starts) < bursts:
        day += 1
        candidate = first + timedelta(days=day)
        if _deadline_of(candidate, calendar) > _deadline_of(starts[-1], calendar):
            starts.append(candidate)
    return starts


def _deadline_of(start_at: datetime, calendar: HolidayCalendar) -> datetime:
    deadline = compute_deadline(rule_by_id(RULE_ID), start_at, calendar)
    assert isinstance(deadline, Deadline)
    return deadline.due_at


def bench_timers(settings: Settings, quick: bool) -> list[Figure]:
    """The timers section of ``caseledger bench``: prints its own table."""
    sizes = QUICK if quick else FULL
    figures = run_timers_bench(settings, sizes)
    print(timers_table(figures, sizes))
    return figures


def timers_table(figures: Sequence[Figure], sizes: TimerSizes) -> str:
    """The section's figures as a text table, with what the rows are."""
    bursts = len(sizes.schedulers)
    lines = [
        f"{sizes.pending} rows in sla_due: {bursts} x {sizes.due} real SlaTimer aggregates, "
        f"each due at one instant (fired by {' then '.join(map(str, sizes.schedulers))} scheduler "
        "process(es)), "
        f"{sizes.pending - sizes.due * bursts} COPY'd rows (no aggregates) not due within the run",
        f"{'measure':<52} {'ops':>8} {'ops/s':>10} {'p50 ms':>9} {'p99 ms':>9} {'RSS MiB':>8} {'CPU s':>7}",
    ]
    for f in figures:
        extra = f if isinstance(f, TimerFigure) else TimerFigure(**vars(f))

        def show(value: float | None, width: int) -> str:
            return f"{value:>{width}.2f}" if value is not None else " " * (width - 1) + "-"

        lines.append(
            f"{f.name:<52} {f.operations:>8} {f.per_second:>10.1f} {show(extra.p50_ms, 9)} "
            f"{show(extra.p99_ms, 9)} {show(extra.rss_mib, 8)} {show(extra.cpu_seconds, 7)}"
        )
        if extra.recorded_p99_ms is not None:
            lines.append(
                f"{'  (recorded instant of the event: p50/p99 ms)':<52} {'':>8} {'':>10} "
                f"{show(extra.recorded_p50_ms, 9)} {show(extra.recorded_p99_ms, 9)}"
            )
        if extra.checks:
            lines.append(f"  checks: {extra.checks}")
        if extra.burst_cpu is not None:
            firing = "bare loop" if f.name.startswith("bare ") else "scheduler"
            lines.append(_burst_cpu_line(extra.burst_cpu, extra.p99_ms, firing))
        versus = _versus_bare(extra, figures)
        if versus is not None:
            lines.append(versus)
    return "\n".join(lines)


def _burst_cpu_line(cpu: BurstCpu, p99_ms: float | None, firing: str = "scheduler") -> str:
    """What the burst cost in CPU (``firing``: what fired it), and the least time that CPU takes on the
    machine's cores."""
    line = f"  burst CPU: {firing} {cpu.scheduler_s:.2f} s"
    floor = cpu.floor_s
    if cpu.database_s is None or floor is None:
        return line + ", PostgreSQL not on this machine (not measured)"
    line += (
        f" + PostgreSQL {cpu.database_s:.2f} s on {cpu.cores} core(s): "
        f"{floor * 1000:.0f} ms with every core busy throughout"
    )
    if p99_ms is not None and floor > 0:
        line += f" (p99 = {p99_ms / (floor * 1000):.1f}x that)"
    return line


def _versus_bare(figure: TimerFigure, figures: Sequence[Figure]) -> str | None:
    """A scheduler row beside the bare loop of the same run: rate ratio, lateness p99 ratio, the goal."""
    bare = next((f for f in figures if isinstance(f, TimerFigure) and f.name.startswith("bare ")), None)
    if figure.ratio is None or figure.p99_ms is None or bare is None or not bare.p99_ms:
        return None
    versus = (
        f"  vs the bare loop: {figure.ratio:.2f}x its rate, p99 lateness {figure.p99_ms:.0f} ms = "
        f"{figure.p99_ms / bare.p99_ms:.2f}x its {bare.p99_ms:.0f} ms"
    )
    if figure.writers != 1:
        return versus
    # The goal is one process's (at the full size: a quick run only shows the trend).
    return versus + f"; goal p99 < {GOAL_P99_MS:.0f} ms: {'met' if figure.p99_ms < GOAL_P99_MS else 'missed'}"


def _scheduler_main(offset_seconds: float) -> int:
    """The bench's scheduler process: ``caseledger timers`` on a clock shifted by ``offset_seconds``."""
    clock = ShiftedClock(offset_seconds)
    system = bootstrap(Settings(), clock)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        print("ready", flush=True)
        run_scheduler(system, clock, stop)
    finally:
        system.close()
    return 0


def _profile_main(due: int, workers: int, top: int) -> int:
    """One scheduler pass over ``due`` staged timers falling due at once, in this process: wall time, this
    process's CPU and its PostgreSQL backends' CPU per breach; with ``top``, cProfile's heaviest functions.

    Where a breach's time goes, without the bench's processes and watcher (issue #17's profile):
    ``python -m cli.bench.timers profile 3000 [WORKERS [TOP]]`` (with TOP, WORKERS 1: cProfile sees one
    thread).
    """
    settings = Settings()
    schema = f"{settings.db_schema}_bp{uuid4().hex[:6]}"
    system = bootstrap(settings.model_copy(update={"db_schema": schema, "db_pool_size": 4}))
    try:
        deadline, _ = _start_due_timers(system, TimerSizes(due, due, 0.0), _burst_starts(1)[0])
        clock = ShiftedClock((deadline - datetime.now(UTC)).total_seconds() - 4.0)
        scheduler = Scheduler(system.timers, system.database, schema, clock, workers=workers)
        staged = scheduler.stage()
        with contextlib.ExitStack() as held:
            pids = [held.enter_context(system.database.connection()).info.backend_pid for _ in range(4)]
        time.sleep(max(0.0, (deadline - clock.now()).total_seconds()))
        profile = cProfile.Profile() if top else None
        backend_before, cpu_before, started = (
            _cpu_of(pids),
            time.process_time(),
            time.perf_counter(),
        )
        if profile is not None:
            profile.enable()
        written: list[float] = []
        count_fired = scheduler._count_fired

        def note_written() -> None:
            # The pass's last batch has committed: what is counted and freed after it delays no breach.
            written.append(time.perf_counter() - started)
            count_fired()

        scheduler._count_fired = note_written  # type: ignore[method-assign]
        fired = len(scheduler.tick().taken)
        if profile is not None:
            profile.disable()
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_before
        backend = _cpu_between(backend_before, _cpu_of(pids))
        print(
            f"{fired} breaches ({staged} staged), {workers} worker(s): written in {written[0]:.3f} s, "
            f"pass {wall:.3f} s wall; per breach "
            f"{wall / fired * 1e6:.0f} us wall, {cpu / fired * 1e6:.0f} us CPU of this process, "
            f"{backend / fired * 1e6:.0f} us CPU of its PostgreSQL backends; load {os.getloadavg()[0]:.1f}"
        )
        if profile is not None:
            pstats.Stats(profile).sort_stats("tottime").print_stats(top)
    finally:
        system.close()
        drop_schemas(system.database_url, schema)
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "profile":
        given = [int(a) for a in sys.argv[2:5]]
        due, workers, top = given + [2, 0][len(given) - 1 :]
        raise SystemExit(_profile_main(due, workers, top))
    if len(sys.argv) != 3 or sys.argv[1] != "scheduler":
        raise SystemExit(
            "usage: python -m cli.bench.timers scheduler OFFSET_SECONDS | profile DUE [WORKERS [TOP]]"
        )
    raise SystemExit(_scheduler_main(float(sys.argv[2])))
