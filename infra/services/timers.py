"""SLA timers: the application service for ``SlaTimer`` (its ``sla_due`` rows are the read side's:
``projections.due``, re-exported here for the modules that import them from the service).

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

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.persistence import IntegrityError, StoredEvent
from psycopg import Connection, sql
from psycopg.errors import UniqueViolation

from domain.base import Actor, Context, Role
from domain.calendar import HolidayCalendar, default_calendar
from domain.sla import RuleKind, SlaRule
from domain.timer import SlaTimer, TimerState, timer_id_for
from infra.audit.verify import chain_hash
from infra.store.eventstore import (
    Caller,
    CaseApplication,
    CaseNotFoundError,
    ConcurrencyConflictError,
    insert_and_notify,
)
from infra.store.mapper import personal_data_of

# The due rows and the timer views are the read side's; these names are kept importable from here for the
# API's timer routes and the command line.
from projections.due import CallbackCompletion as CallbackCompletion
from projections.due import DueRow as DueRow
from projections.due import TimerView as TimerView
from projections.due import callback_completion as callback_completion
from projections.due import due_channel as due_channel
from projections.due import due_table as due_table
from projections.due import open_timer_page
from projections.due import open_timers as open_timers
from projections.due import timer_views as timer_views
from projections.due import upsert_due_row as upsert_due_row
from projections.due import upsert_due_rows as upsert_due_rows

TIMERS_ACTOR = Actor(id="sla-timers", role=Role.SYSTEM)
"""Who records every timer event: the system's timers, on behalf of the rule."""

_CONFLICT_RETRIES = 5

ChainHeads = Mapping[tuple[UUID, int], bytes]
"""The chain hash (``infra.audit.chain``) of a timer's event at a version, read with the timer's events."""


@dataclass(frozen=True)
class RecomputeReport:
    """What ``Timers.recompute_deadlines`` did: the calendar, the open timers looked at, those moved."""

    calendar: str
    examined: int
    recomputed: list[UUID]


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
        chain_heads: ChainHeads | None = None,
        conn: Connection[Any] | None = None,
    ) -> list[SlaTimer]:
        """``fire`` for a batch of timers: one read of their events and one write of what they record.

        Why: a scheduler woken by thousands of deadlines falling at once spends its time on round trips
        (two reads and a write per timer). The write is one transaction, so it stores every timer's events
        or none: without ``conn``, when another writer got to any of them first, each timer is fired on its
        own instead, and decides again from what is stored (with ``conn``, see below).

        ``loaded``: timers the caller loaded before ``now`` (the scheduler stages the ones about to fall
        due), used instead of reading them again. One that changed since is stale, and its write meets the
        store's unique (id, version) like any other writer that lost.
        The decision is still taken here, at ``now``: staging never records anything early.
        ``chain_heads``: the loaded timers' last chain hashes (``load_with_heads``), so that their new events
        are stored with their hashes and the chain's trigger has nothing to do (``write_in``).

        ``conn``: a connection in a transaction (the scheduler's, which holds the timers' due rows): the
        events are written in it (``write_in``), so they commit with the rewritten rows or not at all. There
        a stale timer is not fired again here: the conflict (``ConcurrencyConflictError``) has spoiled that
        transaction, so it goes to the caller, which rolls it back whole (nothing recorded, the rows due
        again) and takes the rows again to fire them without ``conn``.
        """
        known = loaded or {}
        found = [known.get(timer_id) for timer_id in timer_ids]
        missing = [timer_id for timer_id, timer in zip(timer_ids, found, strict=True) if timer is None]
        if missing:
            fresh = iter(self.load_many(missing))
            found = [next(fresh) if timer is None else timer for timer in found]
        timers = [timer for timer in found if timer is not None]
        decide = _due_at(now)
        ctx = self.context(caller)
        for timer in timers:
            decide(timer, ctx)
        changed = [timer for timer in timers if timer.pending_events]
        if not changed:
            return timers
        if conn is not None and not _snapshot_due(changed, self.snapshotting_intervals.get(SlaTimer)):
            self.write_in(conn, changed, chain_heads)
            return timers
        try:
            self._save_all(changed)
        except ConcurrencyConflictError:
            return [self.fire(timer_id, caller, now) for timer_id in timer_ids]
        return timers

    @cached_property
    def _chained_insert(self) -> dict[bool, bytes]:
        """``write_in``'s statement for several events and for one, composed once."""
        return {
            one: insert_and_notify(self.events_table(), 1 if one else 2, chain_hashes=True).as_bytes(None)
            for one in (False, True)
        }

    def write_in(
        self, conn: Connection[Any], timers: Sequence[SlaTimer], chain_heads: ChainHeads | None = None
    ) -> None:
        """Store the timers' pending events in ``conn``'s transaction: one insert, binary arrays.

        The statement every command's events are stored with (``insert_and_notify``: binary arrays, the
        NOTIFY, the hash chain), but on the caller's connection, so a burst of breaches costs one
        transaction per batch instead of two. A timer written meanwhile meets the store's unique (id,
        version), raised as a conflict that leaves the caller's transaction failed: it must roll back. Not
        in a savepoint: its two more round trips a batch (each waiting for the GIL again in a burst) cost a
        tenth of a burst's time, and a conflict is rare. No snapshot is taken here (``fire_many`` leaves a
        batch that reaches a snapshot interval to the library's path): a snapshot would be stored before
        this commits.

        Where ``chain_heads`` holds a timer's hash at the version its new events follow, they are stored
        with their chain hashes, computed here as the trigger would (the trigger's look-up and PL/pgSQL call
        were a quarter of a breach's database time); the others are left to the trigger. A stale head cannot
        be used: the version it names is taken, so the insert meets the unique (id, version).
        """
        to_stored = self.mapper.to_stored_event
        heads = chain_heads or {}
        # ``insert_and_notify``'s parameters, built in one pass (a burst writes thousands).
        ids: list[UUID] = []
        versions: list[int] = []
        topics: list[str] = []
        states: list[bytes] = []
        hashes: list[bytes | None] = []
        # As ``_save_all``: a timer holds no personal data of a customer of its own.
        with personal_data_of(None):
            for timer in timers:
                events = timer.collect_events()
                previous = heads.get((timer.id, events[0].originator_version - 1)) if events else None
                for event in events:
                    row = to_stored(event)
                    if previous is not None:
                        previous = chain_hash(
                            previous, timer.id, row.originator_version, row.topic, row.state
                        )
                    ids.append(timer.id)
                    versions.append(row.originator_version)
                    topics.append(row.topic)
                    states.append(row.state)
                    hashes.append(previous)
        params: tuple[Any, ...] = (
            (ids[0], versions[0], topics[0], states[0], hashes[0])
            if len(ids) == 1
            else (ids, versions, topics, states, hashes)
        )
        try:
            conn.execute(self._chained_insert[len(ids) == 1], (*params, self.notification_channel))
        except UniqueViolation as taken:
            timer_id, expected = _stored_key(taken, timers[0].id)
            raise ConcurrencyConflictError(timer_id, expected, self._current_version(timer_id)) from None

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
        return self.load_with_heads(timer_ids)[0]

    def load_with_heads(
        self, timer_ids: Sequence[UUID]
    ) -> tuple[dict[UUID, SlaTimer], dict[tuple[UUID, int], bytes]]:
        """``load_found``, with each timer's chain hash at the version loaded (for ``fire_many``)."""
        rows = self.read_events(
            sql.SQL(
                """SELECT originator_id, originator_version, topic, state, chain_hash FROM {}
                   WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version"""
            ).format(self.events_table()),
            (list(timer_ids),),
        )
        events: dict[UUID, list[Any]] = {}
        # Rows come in version order: each timer's last one is its head.
        last: dict[UUID, tuple[int, bytes | None]] = {}
        for row in rows:
            last[row["originator_id"]] = (row["originator_version"], row["chain_hash"])
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
        heads = {
            (timer_id, version): bytes(head)
            for timer_id, (version, head) in last.items()
            if head is not None and timer_id in timers
        }
        return timers, heads

    def _save_all(self, timers: Sequence[SlaTimer]) -> None:
        try:
            # As ``CaseApplication._save`` does: a timer holds no personal data of a customer of its own.
            with personal_data_of(None):
                self.save_aggregates(timers)
        except IntegrityError:
            raise ConcurrencyConflictError(timers[0].id, None, self._current_version(timers[0].id)) from None

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
            rows = open_timer_page(conn, base_schema, after, page)
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


_KEY_TAKEN = re.compile(r"\(originator_id, originator_version\)=\(([0-9a-fA-F-]{36}), (\d+)\)")
"""The key a unique violation of the events table's primary key names, in any of the server's languages:
``Key (originator_id, originator_version)=(…, 5) already exists``."""


def _stored_key(violation: UniqueViolation, otherwise: UUID) -> tuple[UUID, int | None]:
    """The timer whose version was taken by another writer, and the version this write followed; the batch's
    first timer and no version when the server did not say (a detail it may leave out)."""
    match = _KEY_TAKEN.search(violation.diag.message_detail or "")
    if match is None:
        return otherwise, None
    return UUID(match[1]), int(match[2]) - 1


def _snapshot_due(timers: Sequence[SlaTimer], interval: int | None) -> bool:
    """Whether any of the timers' pending events reaches a snapshot interval (the library takes one then)."""
    if not interval:
        return False
    return any(event.originator_version % interval == 0 for timer in timers for event in timer.pending_events)


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
