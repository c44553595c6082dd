"""SLA timers: the application service for ``SlaTimer``, and the ``sla_due`` table the scheduler reads.

Idempotency, across the two transactions a timer change involves (the library's event-store write, and the
consumer's or scheduler's own transaction on ``sla_due``):

- a timer's id derives from (rule, case, cycle): a second start of the same cycle is a conflict on create,
  read as "already started";
- every change a case event causes records that event's id in the timer, and the service skips an event the
  timer already applied: a redelivery after a crash between the two transactions never pauses twice;
- scheduler actions are idempotent by the timer's state (a threshold warned once, a breach recorded once),
  and two writers that loaded the same version meet at the store's unique (id, version): the loser reloads
  and decides again;
- the ``sla_due`` row is a projection of the timer, written with the timer's version and only ever moved
  forward (``WHERE sla_due.timer_version < EXCLUDED.timer_version``), so a late or repeated write is harmless.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import Connection, sql
from psycopg.rows import dict_row
from pydantic import BaseModel, ConfigDict

from domain.base import Actor, Context, Role
from domain.calendar import HolidayCalendar, default_calendar
from domain.sla import RuleKind, SlaRule
from domain.timer import SlaTimer, TimerAction, TimerState, timer_id_for
from infra.store.eventstore import Caller, CaseApplication, CaseNotFoundError, ConcurrencyConflictError
from infra.store.mapper import personal_data_of

TIMERS_ACTOR = Actor(id="sla-timers", role=Role.SYSTEM)
"""Who records every timer event: the system's timers, on behalf of the rule."""

_CONFLICT_RETRIES = 5


def due_table(base_schema: str) -> sql.Composed:
    """The ``sla_due`` table of a base schema, as an SQL identifier."""
    return sql.SQL("{}.sla_due").format(sql.Identifier(base_schema))


def due_channel(base_schema: str) -> str:
    """The LISTEN/NOTIFY channel a change of the next due instant is announced on."""
    return f"{base_schema}_sla_due"


def create_due_table(conn: Connection[Any], base_schema: str) -> None:
    """Create ``sla_due`` and its due-instant index if they are missing."""
    table = due_table(base_schema)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('caseledger.timers.tables'))")
        conn.execute(
            sql.SQL(
                """CREATE TABLE IF NOT EXISTS {t} (
                    timer_id uuid PRIMARY KEY,
                    rule_id text NOT NULL,
                    case_id uuid NOT NULL,
                    case_context text NOT NULL,
                    cycle bigint NOT NULL,
                    state text NOT NULL,
                    due_at timestamptz,
                    warn_50_at timestamptz,
                    warn_80_at timestamptz,
                    next_fire_at timestamptz,
                    next_action text,
                    timer_version bigint NOT NULL,
                    updated_at timestamptz NOT NULL DEFAULT now())"""
            ).format(t=table)
        )
        # The policy or claim a callback task's own clock serves (a remediation's), for explain and views;
        # and when a breach was recorded, which a late satisfaction keeps (the on-time rate needs it).
        conn.execute(
            sql.SQL(
                """ALTER TABLE {t} ADD COLUMN IF NOT EXISTS source_case_id uuid,
                   ADD COLUMN IF NOT EXISTS breached_at timestamptz"""
            ).format(t=table)
        )
        # Whether the deadline rests on a year whose holiday notice is not out yet (2027 for now).
        conn.execute(
            sql.SQL(
                "ALTER TABLE {t} ADD COLUMN IF NOT EXISTS provisional boolean NOT NULL DEFAULT false"
            ).format(t=table)
        )
        conn.execute(
            sql.SQL(
                "CREATE INDEX IF NOT EXISTS {i} ON {t} (next_fire_at) WHERE next_fire_at IS NOT NULL"
            ).format(i=sql.Identifier("sla_due_next_fire"), t=table)
        )
        conn.execute(
            sql.SQL("CREATE INDEX IF NOT EXISTS {i} ON {t} (rule_id, case_id, cycle)").format(
                i=sql.Identifier("sla_due_by_rule_case"), t=table
            )
        )


@dataclass(frozen=True)
class DueRow:
    """What ``sla_due`` holds of one timer: its state and the next instant the scheduler acts at."""

    timer_id: UUID
    rule_id: str
    case_id: UUID
    case_context: str
    cycle: int
    state: TimerState
    due_at: datetime | None
    warn_50_at: datetime | None
    warn_80_at: datetime | None
    next_fire_at: datetime | None
    next_action: TimerAction | None
    timer_version: int
    source_case_id: UUID | None = None
    breached_at: datetime | None = None
    provisional: bool = False

    @classmethod
    def of(cls, timer: SlaTimer, *, source_case_id: UUID | None = None) -> DueRow:
        """The row of a timer as it stands (``source_case_id``: the case a task's clock serves)."""
        fire = timer.next_fire()
        return cls(
            timer_id=timer.id,
            rule_id=timer.rule_id,
            case_id=timer.case_id,
            case_context=timer.case_context,
            cycle=timer.cycle,
            state=timer.state,
            due_at=timer.due_at,
            warn_50_at=timer.warning_at(0.5),
            warn_80_at=timer.warning_at(0.8),
            next_fire_at=None if fire is None else fire[0],
            next_action=None if fire is None else fire[1],
            timer_version=timer.version,
            source_case_id=source_case_id,
            breached_at=timer.breached_at,
            provisional=timer.provisional,
        )


def upsert_due_row(
    conn: Connection[Any], base_schema: str, row: DueRow, *, same_version: bool = False
) -> None:
    """Write a timer's row unless a newer version of it is there already; wake the schedulers if due.

    ``same_version`` also rewrites a row of the same version (the scheduler, whose row must stop naming an
    instant it has handled even when another scheduler recorded the event).
    """
    updated = conn.execute(_upsert_sql(base_schema, same_version), _row_values(row))
    if updated.rowcount and row.next_fire_at is not None:
        # Delivered on commit: a sleeping scheduler recomputes its wake-up time.
        conn.execute("SELECT pg_notify(%s, %s)", (due_channel(base_schema), str(row.timer_id)))


def upsert_due_rows(
    conn: Connection[Any], base_schema: str, rows: Sequence[DueRow], *, same_version: bool = False
) -> None:
    """``upsert_due_row`` for many rows in one statement, with one wake-up if any is still due.

    One set-based statement (the rows as column arrays) rather than one per row: at a burst of deadlines
    the scheduler rewrites every row it fired, and per-row statements were a tenth of its time.
    """
    if not rows:
        return
    # One row per timer, its newest: ON CONFLICT DO UPDATE cannot touch a row twice in one statement.
    newest: dict[UUID, DueRow] = {}
    for row in rows:
        kept = newest.get(row.timer_id)
        if kept is None or kept.timer_version < row.timer_version:
            newest[row.timer_id] = row
    columns = list(zip(*(_row_values(row) for row in newest.values()), strict=True))
    conn.execute(_upsert_many_sql(base_schema, same_version), [list(column) for column in columns])
    if any(row.next_fire_at is not None for row in rows):
        # A spurious wake-up only makes a scheduler recompute its next instant.
        conn.execute("SELECT pg_notify(%s, %s)", (due_channel(base_schema), "batch"))


_COLUMN_TYPES = (
    "uuid[]",
    "text[]",
    "uuid[]",
    "text[]",
    "bigint[]",
    "text[]",
    "timestamptz[]",
    "timestamptz[]",
    "timestamptz[]",
    "timestamptz[]",
    "text[]",
    "bigint[]",
    "uuid[]",
    "timestamptz[]",
    "boolean[]",
)
"""The types of ``_row_values``' columns, in order, as arrays (a list of only NULLs needs its type named)."""


def _upsert_many_sql(base_schema: str, same_version: bool) -> sql.Composed:
    # Binary (%b): the text form of an array escapes every element, a third of the statement's time.
    arrays = sql.SQL(", ").join(sql.SQL("%b::" + kind) for kind in _COLUMN_TYPES)
    return _upsert_sql(base_schema, same_version, values=sql.SQL("SELECT * FROM unnest({})").format(arrays))


def _upsert_sql(base_schema: str, same_version: bool, values: sql.Composable | None = None) -> sql.Composed:
    newer = sql.SQL("<=" if same_version else "<")
    one_row = sql.SQL("VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)")
    return sql.SQL(
        """INSERT INTO {t} (timer_id, rule_id, case_id, case_context, cycle, state, due_at, warn_50_at,
                   warn_80_at, next_fire_at, next_action, timer_version, source_case_id, breached_at,
                   provisional)
               {values}
               ON CONFLICT (timer_id) DO UPDATE SET state = EXCLUDED.state, due_at = EXCLUDED.due_at,
                   warn_50_at = EXCLUDED.warn_50_at, warn_80_at = EXCLUDED.warn_80_at,
                   next_fire_at = EXCLUDED.next_fire_at, next_action = EXCLUDED.next_action,
                   timer_version = EXCLUDED.timer_version, updated_at = now(),
                   source_case_id = coalesce(EXCLUDED.source_case_id, {t}.source_case_id),
                   breached_at = EXCLUDED.breached_at, provisional = EXCLUDED.provisional
               WHERE {t}.timer_version {newer} EXCLUDED.timer_version"""
    ).format(t=due_table(base_schema), newer=newer, values=one_row if values is None else values)


def _row_values(row: DueRow) -> tuple[Any, ...]:
    return (
        row.timer_id,
        row.rule_id,
        row.case_id,
        row.case_context,
        row.cycle,
        row.state.value,
        row.due_at,
        row.warn_50_at,
        row.warn_80_at,
        row.next_fire_at,
        None if row.next_action is None else row.next_action.value,
        row.timer_version,
        row.source_case_id,
        row.breached_at,
        row.provisional,
    )


def open_timers(
    conn: Connection[Any], base_schema: str, rule_id: str, case_id: UUID
) -> list[tuple[UUID, int]]:
    """The timers (id, cycle) of ``rule_id`` on a case that case events may still change, newest first."""
    rows = conn.execute(
        sql.SQL(
            """SELECT timer_id, cycle FROM {t} WHERE rule_id = %s AND case_id = %s
               AND state IN ('running', 'paused', 'breached') ORDER BY cycle DESC"""
        ).format(t=due_table(base_schema)),
        (rule_id, case_id),
    ).fetchall()
    return [(row[0], row[1]) for row in rows]


@dataclass(frozen=True)
class RecomputeReport:
    """What ``Timers.recompute_deadlines`` did: the calendar, the open timers looked at, those moved."""

    calendar: str
    examined: int
    recomputed: list[UUID]


def _open_timers(
    conn: Connection[Any], base_schema: str, after: UUID | None, limit: int
) -> list[tuple[UUID, int]]:
    """A page of the open timers' (id, row version), in id order after ``after``."""
    rows = conn.execute(
        sql.SQL(
            """SELECT timer_id, timer_version FROM {t} WHERE state IN ('running', 'paused')
               AND (%s::uuid IS NULL OR timer_id > %s::uuid) ORDER BY timer_id LIMIT %s"""
        ).format(t=due_table(base_schema)),
        (after, after, limit),
    ).fetchall()
    return [(row[0], int(row[1])) for row in rows]


TimerCommand = Callable[[SlaTimer, Context], None]
"""A decision on a loaded timer: call one of its commands, or nothing when it does not apply."""


class Timers(CaseApplication[SlaTimer]):
    """SLA timer commands, each idempotent: the consumer and the scheduler may repeat any of them."""

    aggregate_class = SlaTimer
    kind = "timer"
    bounded_context = "timer"

    def caller(self, correlation_id: UUID, causation_id: UUID | None) -> Caller:
        """The timers' own caller, carrying the case event's correlation and causation."""
        return Caller(actor=TIMERS_ACTOR, correlation_id=correlation_id, causation_id=causation_id)

    def start(
        self,
        caller: Caller,
        *,
        rule: SlaRule,
        case_id: UUID,
        case_context: str,
        cycle: int,
        start_at: datetime,
        cause_event: str,
        cause_event_id: UUID,
        calendar: HolidayCalendar | None = None,
        ends_at: datetime | None = None,
    ) -> SlaTimer:
        """Start the rule's clock for this cycle, or return the timer that an earlier delivery started.

        ``ends_at``: the end the case recorded on the start event, where the rule reads one.
        """
        timer = SlaTimer.start(
            self.context(caller),
            rule=rule,
            case_id=case_id,
            case_context=case_context,
            cycle=cycle,
            start_at=start_at,
            calendar=calendar or default_calendar(),
            cause_event=cause_event,
            cause_event_id=cause_event_id,
            ends_at=ends_at,
        )
        try:
            self.save_new(timer)
        except ConcurrencyConflictError:
            # The id derives from (rule, case, cycle): a conflict on create means it is started already.
            return self.load(timer_id_for(rule.rule_id, case_id, cycle))
        return self.load(timer.id)

    def apply_case_event(
        self, timer_id: UUID, caller: Caller, cause_event_id: UUID, decide: TimerCommand
    ) -> SlaTimer:
        """Let a case event change a timer once: skipped when the timer already records that event."""

        def once(timer: SlaTimer, ctx: Context) -> None:
            if not timer.has_applied(cause_event_id):
                decide(timer, ctx)

        return self.change(timer_id, caller, once)

    def fire(self, timer_id: UUID, caller: Caller, now: datetime) -> SlaTimer:
        """Record what is due at ``now``: the warnings reached (before the deadline), then the breach."""
        return self.change(timer_id, caller, _due_at(now))

    def fire_many(
        self,
        timer_ids: Sequence[UUID],
        caller: Caller,
        now: datetime,
        *,
        loaded: Mapping[UUID, SlaTimer] | None = None,
    ) -> list[SlaTimer]:
        """``fire`` for a batch of timers: one read of their events and one write of what they record.

        Why: a scheduler woken by thousands of deadlines falling at once spends its time on round trips
        (two reads and a write per timer). The write is one transaction, so it stores every timer's events
        or none: when another writer got to any of them first, each timer is fired on its own instead, and
        decides again from what is stored.

        ``loaded``: timers the caller loaded before ``now`` (the scheduler stages the ones about to fall
        due), used instead of reading them again. One that changed since is stale, and its write meets the
        store's unique (id, version) like any other writer that lost: the batch goes the per-timer way.
        The decision is still taken here, at ``now``: staging never records anything early.
        """
        known = loaded or {}
        missing = [timer_id for timer_id in timer_ids if timer_id not in known]
        fresh = dict(zip(missing, self.load_many(missing), strict=True)) if missing else {}
        timers = [known[timer_id] if timer_id in known else fresh[timer_id] for timer_id in timer_ids]
        decide = _due_at(now)
        ctx = self.context(caller)
        for timer in timers:
            decide(timer, ctx)
        changed = [timer for timer in timers if timer.pending_events]
        if not changed:
            return timers
        try:
            self._save_all(changed)
        except ConcurrencyConflictError:
            return [self.fire(timer_id, caller, now) for timer_id in timer_ids]
        return timers

    def load_many(self, timer_ids: Sequence[UUID]) -> list[SlaTimer]:
        """The timers with these ids as they stand, in that order, from one query of their events.

        Every event is read (snapshots are skipped): a timer's history is a handful of events.
        """
        found = self.load_found(timer_ids)
        for timer_id in timer_ids:
            if timer_id not in found:
                raise CaseNotFoundError(self.kind, timer_id)
        return [found[timer_id] for timer_id in timer_ids]

    def load_found(self, timer_ids: Sequence[UUID]) -> dict[UUID, SlaTimer]:
        """``load_many`` without the ids that name no timer (they are left out, not an error)."""
        recorder = self.recorder
        assert isinstance(recorder, PostgresApplicationRecorder)
        table = sql.Identifier(recorder.datastore.schema, recorder.events_table_name)
        query = sql.SQL(
            """SELECT originator_id, originator_version, topic, state FROM {} WHERE originator_id = ANY(%s)
               ORDER BY originator_id, originator_version"""
        ).format(table)
        with recorder.datastore.get_connection() as conn, conn.cursor() as cursor:
            rows = cursor.execute(query, (list(timer_ids),)).fetchall()
        events: dict[UUID, list[Any]] = {}
        for row in rows:
            stored = StoredEvent(
                row["originator_id"], row["originator_version"], row["topic"], bytes(row["state"])
            )
            events.setdefault(row["originator_id"], []).append(self.mapper.to_domain_event(stored))
        timers: dict[UUID, SlaTimer] = {}
        for timer_id, history in events.items():
            # ``event.mutate`` as the library's projector calls it, without its per-event protocol check
            # (a quarter of a batch's time).
            timer: SlaTimer | None = None
            for event in history:
                timer = event.mutate(timer)
            if isinstance(timer, SlaTimer):
                timers[timer_id] = timer
        return timers

    def _save_all(self, timers: Sequence[SlaTimer]) -> None:
        # ``Application.save`` without its two runtime-protocol ``isinstance`` checks per object, which on
        # Python 3.11 walk the protocol's attributes every call: a sixth of a burst's Python time. The
        # steps are the library's own (9.5): collect, record, snapshot, notify.
        processing: ProcessingEvent[UUID] = ProcessingEvent()
        for timer in timers:
            processing.events.extend(timer.collect_events())
            processing.aggregates[timer.id] = timer
        try:
            # As ``CaseApplication._save`` does: a timer holds no personal data of a customer of its own.
            with personal_data_of(None):
                recordings = self._record(processing)
        except IntegrityError:
            raise ConcurrencyConflictError(timers[0].id, None, self._current_version(timers[0].id)) from None
        self._take_snapshots(processing)
        self._notify(recordings)

    def change(self, timer_id: UUID, caller: Caller, decide: TimerCommand) -> SlaTimer:
        """Load the timer, let ``decide`` run its commands, save; on a concurrent write, decide again."""
        for _ in range(_CONFLICT_RETRIES):
            timer = self.load(timer_id)
            decide(timer, self.context(caller))
            if not timer.pending_events:
                return timer
            try:
                self.save_new_version(timer)
            except ConcurrencyConflictError:
                continue
            return timer
        raise ConcurrencyConflictError(timer_id, None, self._current_version(timer_id))

    def save_new_version(self, timer: SlaTimer) -> None:
        """Store the events a command recorded on a loaded timer (a writer in between is a conflict)."""
        self._save(timer, expected_version=timer.version - len(timer.pending_events))

    def recompute_deadlines(
        self,
        conn: Connection[Any],
        base_schema: str,
        calendar: HolidayCalendar | None = None,
        *,
        page: int = 500,
    ) -> RecomputeReport:
        """`caseledger timers recompute`: after a new calendar version is published, move every open
        timer whose deadline depends on what it changed to that version (``SlaTimer.recompute_deadline``
        records ``TimerDeadlineRecomputed``), and rewrite those timers' due rows in ``conn``'s transaction.

        Idempotent: a timer already on the version records nothing, so the command may run again (or on
        several machines at once: two writers of one timer meet at its version and the loser decides again).
        """
        target = calendar or default_calendar()
        caller = Caller(actor=TIMERS_ACTOR, correlation_id=uuid4())
        examined = 0
        recomputed: list[UUID] = []
        after: UUID | None = None
        while True:
            rows = _open_timers(conn, base_schema, after, page)
            if not rows:
                break
            after = rows[-1][0]
            for timer_id, row_version in rows:
                examined += 1
                before = self.load(timer_id).version
                timer = self.change(timer_id, caller, _recompute_with(target))
                if timer.version > before:
                    recomputed.append(timer_id)
                # Also a row an earlier run left behind (it died between the timer's write and its commit).
                if timer.version > row_version:
                    upsert_due_row(conn, base_schema, DueRow.of(timer))
        return RecomputeReport(
            calendar=f"{target.calendar_id} {target.version}", examined=examined, recomputed=recomputed
        )

    def find(self, timer_id: UUID) -> SlaTimer | None:
        """The timer with this id, or None when it was never started."""
        try:
            return self.load(timer_id)
        except CaseNotFoundError:
            return None


def _recompute_with(calendar: HolidayCalendar) -> TimerCommand:
    """Move an open timer to ``calendar`` where that changes its deadline (a closed one stays as it is)."""

    def recompute(timer: SlaTimer, ctx: Context) -> None:
        if timer.is_open:
            timer.recompute_deadline(ctx, calendar=calendar)

    return recompute


def _due_at(now: datetime) -> TimerCommand:
    """What the scheduler records on a timer at ``now``: the warnings reached, else the deadline's end."""

    def due(timer: SlaTimer, ctx: Context) -> None:
        if timer.state is not TimerState.RUNNING or timer.due_at is None:
            return
        if now >= timer.due_at:
            # A warning first raised after the deadline would warn nobody: only the end is recorded.
            if timer.rule.kind is RuleKind.WINDOW:
                timer.close_window(ctx, at=now)
            else:
                timer.breach(ctx, at=now)
            return
        for warning in timer.pending_warnings():
            if warning.at <= now:
                timer.raise_warning(ctx, threshold=warning.fraction, at=now)

    return due


# ---------------------------------------------------------------------------------------------- views

CALLBACK_RULES: tuple[str, ...] = (
    "LIFE-CALLBACK-15D",
    "CO-SURVEY-CALLBACK-2WD",
    "CO-CLOSURE-CALLBACK-7D",
    "LIFE-MISSELL-15WD",
)
"""The rules a callback task meets: their timers give the callback completion rate."""


class TimerView(BaseModel):
    """One timer as ``sla_due`` holds it, with its colour at the time asked."""

    model_config = ConfigDict(frozen=True)

    timer_id: UUID
    rule_id: str
    case_id: UUID
    case_context: str
    source_case_id: UUID | None
    cycle: int
    state: str
    due_at: datetime | None
    warn_50_at: datetime | None
    warn_80_at: datetime | None
    breached_at: datetime | None
    provisional: bool
    """The deadline rests on a year whose holiday notice is not out yet: it may move when it is added."""
    colour: str


class CallbackCompletion(BaseModel):
    """How one callback rule's timers ended: met on time, met late, missed, still open, cancelled."""

    model_config = ConfigDict(frozen=True)

    rule_id: str
    on_time: int
    late: int
    missed: int
    open: int
    cancelled: int
    completion_rate: float | None
    """Met on time / (met + missed): None while nothing has come due."""


def _colour(row: dict[str, Any], at: datetime) -> str:
    if row["breached_at"] is not None or row["state"] == TimerState.BREACHED.value:
        return "breached"
    if row["state"] not in (TimerState.RUNNING.value, TimerState.PAUSED.value) or row["due_at"] is None:
        return "none"
    if at >= row["due_at"]:
        return "breached"
    for key, name in (("warn_80_at", "red"), ("warn_50_at", "amber")):
        if row[key] is not None and at >= row[key]:
            return name
    return "green"


def timer_views(
    conn: Connection[Any],
    base_schema: str,
    at: datetime,
    *,
    case_id: UUID | None = None,
    rule_id: str | None = None,
    states: tuple[TimerState, ...] = (),
    due_before: datetime | None = None,
    breached: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> list[TimerView]:
    """Timers by case (its own and its tasks'), rule, state, due instant or breach, soonest due first."""
    conditions: list[sql.Composable] = []
    params: list[Any] = []
    if case_id is not None:
        conditions.append(sql.SQL("(case_id = %s OR source_case_id = %s)"))
        params += [case_id, case_id]
    if rule_id is not None:
        conditions.append(sql.SQL("rule_id = %s"))
        params.append(rule_id)
    if states:
        conditions.append(sql.SQL("state = ANY(%s)"))
        params.append([state.value for state in states])
    if due_before is not None:
        conditions.append(sql.SQL("state = 'running' AND due_at < %s"))
        params.append(due_before)
    if breached:
        conditions.append(sql.SQL("breached_at IS NOT NULL"))
    where = sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("")
    fields = [name for name in TimerView.model_fields if name != "colour"]
    with conn.cursor(row_factory=dict_row) as cursor:
        rows = cursor.execute(
            sql.SQL(
                "SELECT {f} FROM {t}{w} ORDER BY due_at ASC NULLS LAST, timer_id LIMIT %s OFFSET %s"
            ).format(f=sql.SQL(", ").join(map(sql.Identifier, fields)), t=due_table(base_schema), w=where),
            [*params, limit, offset],
        ).fetchall()
    return [TimerView(**row, colour=_colour(row, at)) for row in rows]


def callback_completion(conn: Connection[Any], base_schema: str) -> list[CallbackCompletion]:
    """Per callback rule: how its timers ended, and the share met on time of those that came due."""
    rows = conn.execute(
        sql.SQL(
            """SELECT rule_id,
                   count(*) FILTER (WHERE state = 'satisfied' AND breached_at IS NULL),
                   count(*) FILTER (WHERE state = 'satisfied' AND breached_at IS NOT NULL),
                   count(*) FILTER (WHERE state = 'breached'),
                   count(*) FILTER (WHERE state IN ('running', 'paused')),
                   count(*) FILTER (WHERE state = 'cancelled')
               FROM {t} WHERE rule_id = ANY(%s) GROUP BY rule_id"""
        ).format(t=due_table(base_schema)),
        (list(CALLBACK_RULES),),
    ).fetchall()
    found = {row[0]: row[1:] for row in rows}
    answer = []
    for rule_id in CALLBACK_RULES:
        on_time, late, missed, still_open, cancelled = found.get(rule_id, (0, 0, 0, 0, 0))
        came_due = on_time + late + missed
        answer.append(
            CallbackCompletion(
                rule_id=rule_id,
                on_time=on_time,
                late=late,
                missed=missed,
                open=still_open,
                cancelled=cancelled,
                completion_rate=on_time / came_due if came_due else None,
            )
        )
    return answer
