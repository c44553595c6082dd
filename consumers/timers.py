"""The ``timers`` group's handler: start, pause, resume, restart, extend, satisfy and cancel SLA timers
exactly as the rule data in ``domain.sla`` says, and keep each timer's ``sla_due`` row.

Choices, each made so that a redelivered or replayed event changes nothing twice:

- **Cycle.** A timer is keyed by (rule, case, cycle), and the cycle is the case version of the event that
  started it: the same on every delivery and replay, different when a later event starts the rule again
  (a claim closed, reopened and closed again owes a second closure callback).
- **Which timer an event moves.** The open timers of (rule, case) in ``sla_due``, newest cycle first; the
  row was written in the transaction that applied the start event, which this group applied before.
- **Two transactions.** The timer's events go through the library (another pooled connection); the due
  row goes through the consumer's transaction. A crash between them is repaired by the redelivery: the
  start is a conflict on create, every other change is skipped because the timer records the case event's
  id, and the row is rewritten from the timer as it stands (never to an older version).
- **Facts for ``applies_if``.** Read from the event where it carries them (``ClaimReported.ctpl``,
  ``ClaimDecided.outcome``, ``CallbackIssueFound.remediation_task_id``); otherwise from the case *as it
  stood at this event's version* (``ctpl`` of a claim, ``life_term_over_one_year`` and ``contract_formed``
  of a policy), so a replay months later decides as the live run did. A fact that cannot be read is an
  error (the event is retried, then parked): a rule is never applied by guess.
- **Times.** A clock starts at the rule's ``start_field`` (a date starts it at 00:00 Asia/Shanghai of that
  day); every other change takes effect at the event's ``occurred_at``, else its recorded time. A pause or
  resume stated before what the clock already holds takes effect at that instant instead (``last_change``).
  A rule with ``ends_at_field`` (the cooling-off end the policy recorded) ends its clock at that instant,
  never at a recount of its minimum duration, so the policy's guard and the timer agree on a longer period.
  A rule whose case records the deadline itself (the review window a complaint response opens) does the
  same.
- **Clocks met on a callback task.** A rule with ``met_on_callback`` keeps its clock on the policy or claim
  (so ``timers explain`` of that case shows it); a ``CallbackCompleted`` or ``CallbackCancelled`` of a task
  of that type moves the one timer whose cycle's event id is the task's ``source_event_id``, read from the
  task at that event's version. The two topics have no order between them, so when such a clock starts it
  also applies the task's earlier completion or cancellation. A rule with ``subject_field`` (the
  remediation's LIFE-MISSELL-15WD) keys its clock by the case that field names, cycle 1.
- **Windows.** Timed like obligations; the scheduler closes them (``TimerWindowClosed``) instead of
  breaching them. The group also reads the timer topic: where a window's end names a fact the case records
  (``CoolingOffEnded`` of LIFE-COOLOFF-15D, ``PolicyLapsed`` of IL36-GRACE-60D and IL36-DEMAND-30D,
  ``ReinstatementPeriodEnded`` of IL37-REINSTATE-2Y), the policy records it by its own command, by the
  timers' system actor, caused by the ``TimerWindowClosed`` (never silently, and once: see
  ``_record_window_end``).
- **Changes a timer cannot take** (a pause of a satisfied timer, a pause after the deadline has passed, a
  second resume) are no change at all: the rule allows nothing there, and the scheduler breaches a timer
  whose deadline passed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from typing import Any, Protocol
from uuid import UUID

from psycopg import Connection

from domain.base import SHANGHAI, CaseAggregate, Context, DomainEvent, event_id_for
from domain.callback import CallbackIssueFound, CallbackTask
from domain.claim import Claim, ClaimDecided, ClaimReported
from domain.complaint import ComplaintDeadlineExtended
from domain.policy import CoolingOffEnded, Policy, PolicyLapsed, PolicyStatus, ReinstatementPeriodEnded
from domain.service_order import ServiceOrderRequested
from domain.service_request import ServiceRequested
from domain.sla import ALL_RULES, FactValue, MissingCaseFactError, SlaRule
from domain.timer import SlaTimer, TimerState, TimerWindowClosed
from infra.messaging.contract import ReceivedEvent
from infra.services.callbacks import Callbacks
from infra.services.claims import Claims
from infra.services.complaints import Complaints
from infra.services.policies import EndCoolingOff, EndReinstatementPeriod, LapsePolicy, Policies
from infra.services.service_requests import ServiceRequests
from infra.services.timers import Timers
from infra.settings import Settings
from infra.store.eventstore import Caller, CaseApplication, CaseNotFoundError
from projections.due import DueRow, open_timers, upsert_due_row

log = logging.getLogger(__name__)

TIMERS_GROUP = "timers"
"""The consumer group's name (``caseledger consume --group timers``)."""

CaseStores = Mapping[str, CaseApplication[Any]]

CALLBACK_CONTEXT = "callback"
"""The bounded context of callback tasks, whose events meet clocks kept on policies and claims."""
POLICY_CONTEXT = "policy"
"""The bounded context of policies, whose cooling-off window's end the policy records itself."""


def _from_event(fact: str, event: DomainEvent) -> FactValue | None:
    if fact == "ctpl" and isinstance(event, ClaimReported):
        return event.ctpl
    if fact == "claim_outcome" and isinstance(event, ClaimDecided):
        return event.outcome.value
    if fact == "remediation_opened" and isinstance(event, CallbackIssueFound):
        return event.remediation_task_id is not None
    if fact == "service_item" and isinstance(event, ServiceRequested):
        return event.item.value
    if fact == "service_kind" and isinstance(event, ServiceOrderRequested):
        return event.kind.value
    return None


def _from_case(fact: str, case: CaseAggregate, event: DomainEvent) -> FactValue | None:
    if fact == "ctpl" and isinstance(case, Claim):
        return case.ctpl
    if fact == "claim_outcome" and isinstance(case, Claim) and case.outcome is not None:
        return case.outcome.value
    if fact == "life_term_over_one_year" and isinstance(case, Policy):
        return case.cooling_off_applies
    if fact == "contract_formed" and isinstance(case, Policy):
        # The Policy dates formation by the recorded time of the event that formed it.
        return case.formed_at is not None and case.formed_at == event.timestamp
    return None


class TimerHandler:
    """Moves the SLA timers a case event names, and keeps their due rows, in the consumer's transaction."""

    def __init__(self, timers: Timers, stores: CaseStores, base_schema: str) -> None:
        self.timers = timers
        self.stores = stores
        self.base_schema = base_schema

    def handle(self, conn: Connection[Any], event: DomainEvent, received: ReceivedEvent) -> None:
        """Apply every rule naming this event: end, pause, resume, restart, extend, then start."""
        if isinstance(event, TimerWindowClosed):
            self._record_window_end(event)
            return
        name = type(event).__name__
        for rule in ALL_RULES:
            if name not in rule.event_names():
                continue
            if rule.applies_to.value == received.context:
                self._move(conn, rule, name, event, received.case_id)
                if name in rule.starts_on and rule.applies(self.facts(rule, event, received)):
                    self._start(conn, rule, name, event, received)
            elif rule.met_on_callback is not None and received.context == CALLBACK_CONTEXT:
                self._move_from_task(conn, rule, name, event, received)

    def _record_window_end(self, closed: TimerWindowClosed) -> None:
        """Let the case record the fact its window's end names: the policy's ``CoolingOffEnded``, its
        ``PolicyLapsed`` (the Art. 36 payment period over) and its ``ReinstatementPeriodEnded`` (Art. 37).

        The timer only closes its own clock; the case changes by its own command, by the system actor,
        caused by the timer's event. Once: a policy no longer in that state (ended already, paid, reinstated
        or ended in time) records nothing, so a redelivery or a replay adds no event.
        """
        if closed.case_context != POLICY_CONTEXT or closed.records is None:
            return
        policies = self.stores[POLICY_CONTEXT]
        assert isinstance(policies, Policies)
        policy = policies.load(closed.subject_id)
        caller = self._caller(closed)
        records, at, version = closed.records, closed.timestamp, policy.version
        if records == CoolingOffEnded.__name__ and policy.status is PolicyStatus.IN_COOLING_OFF:
            policies.end_cooling_off(closed.subject_id, EndCoolingOff(), caller, version)
        elif records == PolicyLapsed.__name__ and policy.payment_period_over(at):
            policies.lapse(closed.subject_id, LapsePolicy(), caller, version)
        elif records == ReinstatementPeriodEnded.__name__ and policy.reinstatement_period_over(at):
            policies.end_reinstatement_period(closed.subject_id, EndReinstatementPeriod(), caller, version)

    def _move(
        self,
        conn: Connection[Any],
        rule: SlaRule,
        name: str,
        event: DomainEvent,
        case_id: UUID,
        only: Callable[[int], bool] = lambda cycle: True,
    ) -> None:
        decisions = self._decisions(rule, name, event)
        if not decisions:
            return
        for timer_id, cycle in open_timers(conn, self.base_schema, rule.rule_id, case_id):
            if not only(cycle):
                continue
            for decide in decisions:
                timer = self.timers.apply_case_event(timer_id, self._caller(event), event.event_id, decide)
                upsert_due_row(conn, self.base_schema, DueRow.of(timer))

    def _move_from_task(
        self, conn: Connection[Any], rule: SlaRule, name: str, event: DomainEvent, received: ReceivedEvent
    ) -> None:
        """A callback event meets or cancels the clock of the case and start event its task was opened for."""
        task = self.stores[CALLBACK_CONTEXT].load(received.case_id, version=received.version)
        assert isinstance(task, CallbackTask)
        if task.task_type is not rule.met_on_callback:
            return
        source = task.source_case_id

        def started_the_task(cycle: int) -> bool:
            # A timer's cycle is its start event's version: this names the one start this task was opened by.
            return event_id_for(source, cycle) == task.source_event_id

        self._move(conn, rule, name, event, source, started_the_task)

    def _start(
        self, conn: Connection[Any], rule: SlaRule, name: str, event: DomainEvent, received: ReceivedEvent
    ) -> None:
        subject = received.case_id
        if rule.subject_field is not None:
            named = getattr(event, rule.subject_field, None)
            if not isinstance(named, UUID):
                return
            subject = named
        timer = self.timers.start(
            self._caller(event),
            rule=rule,
            case_id=subject,
            case_context=received.context,
            cycle=received.version if subject == received.case_id else 1,
            start_at=start_instant(rule, event),
            cause_event=name,
            cause_event_id=event.event_id,
            ends_at=recorded_end(rule, event),
        )
        source_case = getattr(event, "source_case_id", None) if subject != received.case_id else None
        upsert_due_row(
            conn,
            self.base_schema,
            DueRow.of(timer, source_case_id=source_case if isinstance(source_case, UUID) else None),
        )
        task_id = self._settling_task(rule, event, subject)
        if task_id is not None:
            self._catch_up(conn, rule, timer.id, task_id)

    @staticmethod
    def _settling_task(rule: SlaRule, event: DomainEvent, subject: UUID) -> UUID | None:
        if rule.met_on_callback is not None:
            return CallbackTask.task_id_for(rule.met_on_callback, event.event_id)
        if rule.subject_field is not None:
            return subject
        return None

    def _catch_up(self, conn: Connection[Any], rule: SlaRule, timer_id: UUID, task_id: UUID) -> None:
        """Apply the task's events that already met or cancelled the clock.

        The task's events travel on the callback topic, the start event on its case's topic (or, for a
        remediation, on another task's partition): no order holds between them, and a completion seen
        before the start must not leave the clock to breach.
        """
        try:
            history = self.stores[CALLBACK_CONTEXT].history(task_id)
        except CaseNotFoundError:
            return
        for earlier in history:
            earlier_name = type(earlier).__name__
            if earlier_name not in (*rule.satisfied_by, *rule.cancelled_by):
                continue
            for decide in self._decisions(rule, earlier_name, earlier):
                timer = self.timers.apply_case_event(
                    timer_id, self._caller(earlier), earlier.event_id, decide
                )
                upsert_due_row(conn, self.base_schema, DueRow.of(timer))

    def facts(self, rule: SlaRule, event: DomainEvent, received: ReceivedEvent) -> dict[str, FactValue]:
        """The case facts ``rule.applies_if`` tests: from the event, else from the case at its version."""
        facts: dict[str, FactValue] = {}
        case: CaseAggregate | None = None
        for condition in rule.applies_if:
            value = _from_event(condition.fact, event)
            if value is None:
                if case is None:
                    store = self.stores.get(received.context)
                    if store is None:
                        raise MissingCaseFactError(rule.rule_id, condition.fact)
                    case = store.load(received.case_id, version=received.version)
                value = _from_case(condition.fact, case, event)
            if value is None:
                raise MissingCaseFactError(rule.rule_id, condition.fact)
            facts[condition.fact] = value
        return facts

    def _decisions(
        self, rule: SlaRule, name: str, event: DomainEvent
    ) -> list[Callable[[SlaTimer, Context], None]]:
        at = change_instant(event)
        decisions: list[Callable[[SlaTimer, Context], None]] = []
        if name in rule.cancelled_by:

            def cancel(timer: SlaTimer, ctx: Context) -> None:
                if timer.is_open:
                    timer.cancel(
                        ctx,
                        at=at,
                        reason=f"{name} ends the obligation",
                        cause_event=name,
                        cause_event_id=event.event_id,
                    )

            decisions.append(cancel)
        if name in rule.satisfied_by:

            def satisfy(timer: SlaTimer, ctx: Context) -> None:
                if timer.is_open or timer.state is TimerState.BREACHED:
                    timer.satisfy(ctx, at=at, by_event=name, cause_event_id=event.event_id)

            decisions.append(satisfy)
        if name in rule.pauses_on:

            def pause(timer: SlaTimer, ctx: Context) -> None:
                if timer.state is TimerState.RUNNING and timer.due_at is not None and at < timer.due_at:
                    timer.pause(
                        ctx,
                        at=max(at, last_change(timer)),
                        reason=name,
                        cause_event=name,
                        cause_event_id=event.event_id,
                    )

            decisions.append(pause)
        if name in rule.resumes_on:

            def resume(timer: SlaTimer, ctx: Context) -> None:
                if timer.state is TimerState.PAUSED:
                    timer.resume(
                        ctx, at=max(at, last_change(timer)), cause_event=name, cause_event_id=event.event_id
                    )

            decisions.append(resume)
        if name in rule.restarts_on:

            def restart(timer: SlaTimer, ctx: Context) -> None:
                if timer.is_open:
                    timer.restart(ctx, at=at, cause_event=name, cause_event_id=event.event_id)

            decisions.append(restart)
        if name in rule.extended_by and isinstance(event, ComplaintDeadlineExtended):
            extension = event

            def extend(timer: SlaTimer, ctx: Context) -> None:
                # A period that had run out is not extended (an old history may hold such an extension;
                # the command refuses it now, CMP-EXT-WITHIN-PERIOD): its breach stands.
                ran_out = timer.due_at is not None and at >= timer.due_at
                if timer.is_open and not ran_out:
                    timer.extend(
                        ctx,
                        at=at,
                        to_duration=extension.to_days,
                        approver=extension.approver or extension.actor,
                        reason=extension.reason,
                        cause_event=name,
                        cause_event_id=extension.event_id,
                    )

            decisions.append(extend)
        return decisions

    def _caller(self, event: DomainEvent) -> Caller:
        return self.timers.caller(event.correlation_id, event.event_id)


def start_instant(rule: SlaRule, event: DomainEvent) -> datetime:
    """Where a clock starts: its ``start_field`` (a date: 00:00 Asia/Shanghai), else the recorded time."""
    value = getattr(event, rule.start_field, None)
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=SHANGHAI)
    return event.timestamp


def recorded_end(rule: SlaRule, event: DomainEvent) -> datetime | None:
    """The end the case recorded on the start event (the rule's ``ends_at_field``), if it has one.

    None for a rule that counts its own duration, and for an event recorded before the case stored the end
    (such a clock counts the rule's duration, as it always did).
    """
    if rule.ends_at_field is None:
        return None
    value = getattr(event, rule.ends_at_field, None)
    return value if isinstance(value, datetime) else None


def change_instant(event: DomainEvent) -> datetime:
    """When a pause, resume, restart, extension or end takes effect: the business time, else recorded."""
    return event.occurred_at or event.timestamp


def last_change(timer: SlaTimer) -> datetime:
    """The latest instant the clock already holds (its start, a pause or a resume).

    Business times are stated, and may lie before it: documents that reached the insurer before the
    request reached the claimant (JI-II Art. 15) stop the clock for no time at all, and a delivery stated
    before an earlier resume stops it from that resume. A clock never runs backwards.
    """
    return max((timer.start_at, *(p.resumed_at or p.paused_at for p in timer.pauses)))


class TimerSystem(Protocol):
    """What the timers group's handler uses: the timers, the cases whose events move them, the settings."""

    @property
    def settings(self) -> Settings: ...

    @property
    def timers(self) -> Timers: ...

    @property
    def policies(self) -> Policies: ...

    @property
    def claims(self) -> Claims: ...

    @property
    def complaints(self) -> Complaints: ...

    @property
    def callbacks(self) -> Callbacks: ...

    @property
    def service_requests(self) -> ServiceRequests: ...


def timers_handler(system: TimerSystem, conn: Connection[Any], timers: Timers | None = None) -> TimerHandler:
    """The handler of the ``timers`` group (on ``system.timers`` unless given); it writes ``sla_due``."""
    timers = timers or system.timers
    stores: dict[str, CaseApplication[Any]] = {
        app.bounded_context: app
        for app in (
            system.policies,
            system.claims,
            system.complaints,
            system.callbacks,
            system.service_requests,
        )
    }
    return TimerHandler(timers, stores, system.settings.db_schema)
