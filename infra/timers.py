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

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import Connection, sql

from domain.base import Actor, Context, Role
from domain.calendar import HolidayCalendar, default_calendar
from domain.sla import SlaRule
from domain.timer import SlaTimer, TimerAction, TimerState, timer_id_for
from infra.eventstore import Caller, CaseApplication, CaseNotFoundError, ConcurrencyConflictError

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

    @classmethod
    def of(cls, timer: SlaTimer) -> DueRow:
        """The row of a timer as it stands."""
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
        )


def upsert_due_row(
    conn: Connection[Any], base_schema: str, row: DueRow, *, same_version: bool = False
) -> None:
    """Write a timer's row unless a newer version of it is there already; wake the schedulers if due.

    ``same_version`` also rewrites a row of the same version (the scheduler, whose row must stop naming an
    instant it has handled even when another scheduler recorded the event).
    """
    newer = sql.SQL("<=" if same_version else "<")
    updated = conn.execute(
        sql.SQL(
            """INSERT INTO {t} (timer_id, rule_id, case_id, case_context, cycle, state, due_at, warn_50_at,
                   warn_80_at, next_fire_at, next_action, timer_version)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (timer_id) DO UPDATE SET state = EXCLUDED.state, due_at = EXCLUDED.due_at,
                   warn_50_at = EXCLUDED.warn_50_at, warn_80_at = EXCLUDED.warn_80_at,
                   next_fire_at = EXCLUDED.next_fire_at, next_action = EXCLUDED.next_action,
                   timer_version = EXCLUDED.timer_version, updated_at = now()
               WHERE {t}.timer_version {newer} EXCLUDED.timer_version"""
        ).format(t=due_table(base_schema), newer=newer),
        (
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
        ),
    )
    if updated.rowcount and row.next_fire_at is not None:
        # Delivered on commit: a sleeping scheduler recomputes its wake-up time.
        conn.execute("SELECT pg_notify(%s, %s)", (due_channel(base_schema), str(row.timer_id)))


def open_timer_ids(conn: Connection[Any], base_schema: str, rule_id: str, case_id: UUID) -> list[UUID]:
    """The timers of ``rule_id`` on a case that case events may still change, newest cycle first."""
    rows = conn.execute(
        sql.SQL(
            """SELECT timer_id FROM {t} WHERE rule_id = %s AND case_id = %s
               AND state IN ('running', 'paused', 'breached') ORDER BY cycle DESC"""
        ).format(t=due_table(base_schema)),
        (rule_id, case_id),
    ).fetchall()
    return [row[0] for row in rows]


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
    ) -> SlaTimer:
        """Start the rule's clock for this cycle, or return the timer that an earlier delivery started."""
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

        def due(timer: SlaTimer, ctx: Context) -> None:
            if timer.state is not TimerState.RUNNING or timer.due_at is None:
                return
            if now >= timer.due_at:
                # A warning first raised after the deadline would warn nobody: only the breach is recorded.
                timer.breach(ctx, at=now)
                return
            for warning in timer.pending_warnings():
                if warning.at <= now:
                    timer.raise_warning(ctx, threshold=warning.fraction, at=now)

        return self.change(timer_id, caller, due)

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

    def find(self, timer_id: UUID) -> SlaTimer | None:
        """The timer with this id, or None when it was never started."""
        try:
            return self.load(timer_id)
        except CaseNotFoundError:
            return None
