"""``sla_due``: the timers' due rows, the read side of the SLA timers, and the views read from them.

One row per timer: its state, deadline, warnings and the next instant the scheduler acts at. The row is a
projection of the timer, written with the timer's version and only ever moved forward
(``WHERE sla_due.timer_version < EXCLUDED.timer_version``), so a late or repeated write is harmless.

Who writes it: the ``timers`` consumer group (``consumers.timers``) and the scheduler
(``consumers.scheduler``), in the transactions that change the timers. Who reads it: the scheduler,
``timers explain``, the API's and the command line's timer views. The table is the migrations'
(``infra/migrations/steps.py``): every process finds it at start.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any
from uuid import UUID

from psycopg import Connection, sql
from psycopg.rows import dict_row
from pydantic import BaseModel, ConfigDict

from domain.timer import SlaTimer, TimerAction, TimerState

DUE_TABLE = "sla_due"


def due_table(base_schema: str) -> sql.Identifier:
    """The ``sla_due`` table of a base schema, as an SQL identifier."""
    return sql.Identifier(base_schema, DUE_TABLE)


def due_channel(base_schema: str) -> str:
    """The LISTEN/NOTIFY channel a change of the next due instant is announced on."""
    return f"{base_schema}_sla_due"


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


def rewrite_fired_rows(conn: Connection[Any], base_schema: str, timers: Sequence[SlaTimer]) -> None:
    """Rewrite the rows of timers the scheduler has just fired, each from the row's own version: only
    the columns firing moves (state, next instant and action, breach instant, version), one statement.

    Firing records warnings, a breach or a window's end, none of which moves a deadline, a warning
    instant or the provisional flag: a row that stood at the version the timer was fired from holds the
    rest already. The caller sends any other row (one behind its timer) through ``upsert_due_rows``. At
    a burst of breaches the whole-row upsert (fifteen columns) was a fifth of the scheduler's Python time.
    """
    if not timers:
        return
    ids: list[UUID] = []
    states: list[str] = []
    next_at: list[datetime | None] = []
    actions: list[str | None] = []
    breached: list[datetime | None] = []
    versions: list[int] = []
    for timer in timers:
        fire = timer.next_fire()
        ids.append(timer.id)
        states.append(timer.state.value)
        next_at.append(None if fire is None else fire[0])
        actions.append(None if fire is None else fire[1].value)
        breached.append(timer.breached_at)
        versions.append(timer.version)
    moved = (states, next_at, actions, breached)
    if all(len(set(column)) == 1 for column in moved):
        # A burst: every row moved alike (breached at the same instant), so what it moved is sent once.
        conn.execute(_rewrite_sql(base_schema, True), (*(column[0] for column in moved), ids, versions))
    else:
        conn.execute(_rewrite_sql(base_schema, False), (ids, states, next_at, actions, breached, versions))
    if any(at is not None for at in next_at):
        # A warning fired: the timer is due again (its breach), and a sleeping scheduler should know.
        conn.execute("SELECT pg_notify(%s, %s)", (due_channel(base_schema), "batch"))


@cache
def _rewrite_sql(base_schema: str, alike: bool) -> bytes:
    """``rewrite_fired_rows``' statement, composed once: what firing moved as values when the rows moved
    ``alike``, else as columns."""
    if alike:
        statement = sql.SQL(
            """UPDATE {t} AS t SET state = %s, next_fire_at = %s, next_action = %s, breached_at = %s,
                   timer_version = v.timer_version, updated_at = now()
               FROM unnest(%b::uuid[], %b::bigint[]) AS v(timer_id, timer_version)
               WHERE t.timer_id = v.timer_id AND t.timer_version <= v.timer_version"""
        )
    else:
        statement = sql.SQL(
            """UPDATE {t} AS t SET state = v.state, next_fire_at = v.next_fire_at,
                   next_action = v.next_action, breached_at = v.breached_at,
                   timer_version = v.timer_version, updated_at = now()
               FROM unnest(%b::uuid[], %b::text[], %b::timestamptz[], %b::text[], %b::timestamptz[],
                           %b::bigint[]) AS v(timer_id, state, next_fire_at, next_action, breached_at,
                                              timer_version)
               WHERE t.timer_id = v.timer_id AND t.timer_version <= v.timer_version"""
        )
    return statement.format(t=due_table(base_schema)).as_bytes(None)


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


def due_table_exists(conn: Connection[Any], base_schema: str) -> bool:
    """Whether a writer (the timers consumer or a scheduler) has created ``sla_due`` yet."""
    row = conn.execute("SELECT to_regclass(%s)", (f"{base_schema}.{DUE_TABLE}",)).fetchone()
    return row is not None and row[0] is not None


def timers_of_case(conn: Connection[Any], base_schema: str, case_id: UUID) -> list[UUID]:
    """The timers of a case, oldest cycle first, then those of the tasks serving it; none before any
    timer was started (the table is not there yet)."""
    if not due_table_exists(conn, base_schema):
        return []
    rows = conn.execute(
        sql.SQL(
            """SELECT timer_id FROM {} WHERE case_id = %s OR source_case_id = %s
               ORDER BY case_id <> %s, cycle, rule_id"""
        ).format(due_table(base_schema)),
        (case_id, case_id, case_id),
    ).fetchall()
    return [row[0] for row in rows]


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
    scope: sql.Composable | None = None,
) -> list[TimerView]:
    """Timers by case (its own and its tasks'), rule, state, due instant or breach, soonest due first;
    ``scope``: a condition on ``case_id`` (the reader's record scope, ``projections.scopes``)."""
    conditions: list[sql.Composable] = [] if scope is None else [scope]
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


def open_timer_page(
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
