"""SLA timers on real PostgreSQL: the ``timers`` consumer fed through the Processor, and the scheduler."""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from prometheus_client import REGISTRY
from psycopg import sql
from psycopg.rows import dict_row

from cli.scenarios import (
    HANDLER,
    HANDLING_OFFICER,
    OFFICER,
    SELLER,
    a_policy,
    by,
    life_policy_story,
    lodge_sample_complaint,
    register_demo_seller,
)
from consumers.processing import Outcome, Processor, event_stores
from consumers.scheduler import HELD_BATCHES, Scheduler, nudge, run_scheduler
from consumers.timers import TIMERS_GROUP, TimerHandler, timers_handler
from domain.base import SHANGHAI, Role
from domain.calendar import Deadline, Pause, compute_deadline, default_calendar
from domain.complaint import Complexity, SubjectKind
from domain.policy import CoolingOffEnded, Line, PolicyStatus
from domain.sla import rule_by_id
from domain.timer import (
    SlaTimer,
    TimerBreached,
    TimerExtended,
    TimerPaused,
    TimerRestarted,
    TimerResumed,
    TimerSatisfied,
    TimerStarted,
    TimerState,
    TimerWarningRaised,
    TimerWindowClosed,
)
from infra.audit.history import AuditTrail
from infra.audit.verify import chain_hash
from infra.bootstrap import System
from infra.clock import ControlledClock
from infra.messaging.contract import ReceivedEvent
from infra.services.claims import (
    CompleteDocuments,
    ReceiveClaimApplication,
    ReceiveDocument,
    RecordRequestDelivery,
    ReportClaim,
    RequestDocuments,
)
from infra.services.complaints import (
    AcknowledgeComplaint,
    AssignComplaint,
    ClassifyComplaint,
    CompleteAppraisal,
    ExtendComplaint,
    ReceiveNewFacts,
    StartAppraisal,
    SubjectRefBody,
)
from infra.services.policies import AcknowledgeReceipt
from infra.services.timers import DueRow, Timers, due_table
from infra.settings import Settings
from infra.store.database import Database
from infra.store.eventstore import ConcurrencyConflictError, ensure_schema, store_env
from tests.feed import deliver

pytestmark = pytest.mark.integration

IL23 = "IL23-DETERMINE-30D"
CMP = "CMP-DECIDE-15D"


@pytest.fixture
def timers(system: System) -> Iterator[Timers]:
    schema = Timers.schema_for(system.settings.db_schema)
    ensure_schema(system.database, schema)
    app = Timers(store_env(system.database_url, schema, 4, 4), system.clock)
    yield app
    app.close()


@dataclass
class TimerSystem:
    """The composition root's part a scheduler reads, with timers of the test's own."""

    database: Database
    settings: Settings
    timers: Timers


class Consumer:
    """The ``timers`` group's Processor, fed every stored case event as the topics would deliver it."""

    def __init__(self, system: System, timers: Timers) -> None:
        self.system = system
        self.conn = psycopg.connect(system.database_url, autocommit=True)
        self.handler: TimerHandler = timers_handler(system, self.conn, timers)
        self.group_id = f"{system.settings.topic_prefix}.{TIMERS_GROUP}"
        self.processor = Processor(
            self.group_id, self.handler, event_stores(system), system.settings.db_schema
        )
        self.offsets = itertools.count(1)

    def consume(self) -> Counter[Outcome]:
        system = self.system
        cases = (system.policies, system.claims, system.complaints, system.callbacks)
        return deliver(system, self.processor, self.conn, cases, self.offsets)

    def consume_timers(self) -> Counter[Outcome]:
        """Deliver the timer topic too (the group reads it for the ends a case records itself)."""
        return deliver(self.system, self.processor, self.conn, (self.system.timers,), self.offsets)

    def forget_progress(self) -> None:
        """Lose the group's tracking, so that every event is applied again (a replay from the start)."""
        self.conn.execute(
            sql.SQL("DELETE FROM {}.consumer_applied WHERE group_id = %s").format(
                sql.Identifier(self.system.settings.db_schema)
            ),
            (self.group_id,),
        )

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def consumer(system: System, timers: Timers) -> Iterator[Consumer]:
    built = Consumer(system, timers)
    yield built
    built.close()


def timer_topics(timers: Timers) -> Counter[str]:
    return Counter(n.topic for n in timers.recorder.select_notifications(start=None, limit=100_000))


def the_timer(system: System, timers: Timers, rule_id: str, case_id: UUID) -> SlaTimer:
    with psycopg.connect(system.database_url) as conn:
        rows = conn.execute(
            sql.SQL("SELECT timer_id FROM {} WHERE rule_id = %s AND case_id = %s").format(
                due_table(system.settings.db_schema)
            ),
            (rule_id, case_id),
        ).fetchall()
    assert len(rows) == 1, rows
    return timers.load(rows[0][0])


def history_types(timers: Timers, timer_id: UUID) -> list[type]:
    return [type(e) for e in timers.history(timer_id)]


def a_reported_motor_claim(system: System, clock: ControlledClock) -> UUID:
    register_demo_seller(system, clock.now().astimezone(SHANGHAI).date())
    policy_id = a_policy(system)
    claim_id = uuid4()
    system.claims.report(
        ReportClaim(
            policy_id=policy_id,
            loss_at=clock.now() - timedelta(hours=2),
            reporter_name="张伟",
            reporter_phone="13800138000",
            cause="hail",
            description="dents on the roof",
            channel="app",
        ),
        by(HANDLER),
        claim_id=claim_id,
    )
    return claim_id


def a_claim_paused_for_documents(system: System, clock: ControlledClock) -> tuple[UUID, list[datetime]]:
    """A motor claim: applied for an hour before it was recorded; documents asked for 3 days later, the
    request reaching the claimant the day after; the invoice arriving 7 days after that and declared
    complete hours later. Returns the business times: application, delivery, arrival."""
    claim_id = a_reported_motor_claim(system, clock)
    applied_at = clock.now() - timedelta(hours=1)
    system.claims.receive_application(claim_id, ReceiveClaimApplication(received_at=applied_at), by(HANDLER))
    clock.advance(timedelta(days=3))
    system.claims.request_documents(
        claim_id, RequestDocuments(required_docs=["invoice"], notice_ref="N-1"), by(HANDLER)
    )
    clock.advance(timedelta(days=1))
    delivered_at = clock.now() - timedelta(hours=2)
    system.claims.record_request_delivery(
        claim_id, RecordRequestDelivery(delivered_at=delivered_at, notice_ref="N-1"), by(HANDLER)
    )
    clock.advance(timedelta(days=7))
    arrived_at = clock.now() - timedelta(hours=5)
    system.claims.receive_document(
        claim_id, ReceiveDocument(doc_type="invoice", received_at=arrived_at), by(HANDLER)
    )
    system.claims.complete_documents(claim_id, CompleteDocuments(), by(HANDLER))
    return claim_id, [applied_at, delivered_at, arrived_at]


def a_complaint(system: System, clock: ControlledClock, subject: UUID | SubjectRefBody | None = None) -> UUID:
    complaint_id = uuid4()
    lodge_sample_complaint(system, by(OFFICER), complaint_id, clock.now(), subject or uuid4())
    return complaint_id


def a_complaint_about_the_seller(system: System, clock: ControlledClock) -> UUID:
    """A complaint that can be assigned: its subject, the seller, is on record (回避 is checked on it)."""
    register_demo_seller(system, clock.now().astimezone(SHANGHAI).date())
    return a_complaint(system, clock, SubjectRefBody(kind=SubjectKind.SELLER, ref=SELLER[1]))


def test_il23_runs_from_the_application_and_stops_from_the_delivery_to_the_documents_arrival(
    system: System, clock: ControlledClock, timers: Timers, consumer: Consumer
) -> None:
    claim_id, (applied_at, delivered_at, arrived_at) = a_claim_paused_for_documents(system, clock)

    consumer.consume()

    timer = the_timer(system, timers, IL23, claim_id)
    assert history_types(timers, timer.id) == [TimerStarted, TimerPaused, TimerResumed]
    # JI-II Art. 15: the stated business times, not when staff recorded the request or the completion.
    assert timer.start_at == applied_at
    assert timer.pauses == (Pause(paused_at=delivered_at, resumed_at=arrived_at),)
    calendar = default_calendar()
    rule = rule_by_id(IL23)
    moved = compute_deadline(
        rule, applied_at, calendar, (Pause(paused_at=delivered_at, resumed_at=arrived_at),)
    )
    assert isinstance(moved, Deadline)
    assert timer.state is TimerState.RUNNING
    assert timer.due_at == moved.due_at
    assert (timer.calendar_id, timer.calendar_version) == (calendar.calendar_id, calendar.version)
    paused = timers.history(timer.id)[1]
    assert isinstance(paused, TimerPaused)
    assert paused.cause_event == "ClaimDocumentsRequestDelivered"


def test_documents_that_arrived_before_the_request_reached_the_claimant_stop_the_clock_for_no_time(
    system: System, clock: ControlledClock, timers: Timers, consumer: Consumer
) -> None:
    claim_id = a_reported_motor_claim(system, clock)
    applied_at = clock.now() - timedelta(hours=1)
    system.claims.receive_application(claim_id, ReceiveClaimApplication(received_at=applied_at), by(HANDLER))
    system.claims.request_documents(
        claim_id, RequestDocuments(required_docs=["invoice"], notice_ref="N-1"), by(HANDLER)
    )
    clock.advance(timedelta(days=2))
    # The invoice came in on day 1; the registered letter's receipt, signed on day 2, is recorded after it.
    system.claims.receive_document(
        claim_id,
        ReceiveDocument(doc_type="invoice", received_at=clock.now() - timedelta(days=1)),
        by(HANDLER),
    )
    delivered_at = clock.now() - timedelta(hours=1)
    system.claims.record_request_delivery(
        claim_id, RecordRequestDelivery(delivered_at=delivered_at, notice_ref="N-1"), by(HANDLER)
    )
    system.claims.complete_documents(claim_id, CompleteDocuments(), by(HANDLER))

    outcomes = consumer.consume()

    assert set(outcomes) == {Outcome.APPLIED}
    timer = the_timer(system, timers, IL23, claim_id)
    unpaused = compute_deadline(rule_by_id(IL23), applied_at, default_calendar())
    assert isinstance(unpaused, Deadline)
    assert timer.pauses == (Pause(paused_at=delivered_at, resumed_at=delivered_at),)
    assert timer.due_at == unpaused.due_at


def test_a_claim_complete_on_receipt_owes_no_notice_and_starts_art25_at_the_receipt(
    system: System, clock: ControlledClock, timers: Timers, consumer: Consumer
) -> None:
    claim_id = a_reported_motor_claim(system, clock)
    applied_at = clock.now() - timedelta(hours=1)
    system.claims.receive_application(claim_id, ReceiveClaimApplication(received_at=applied_at), by(HANDLER))
    clock.advance(timedelta(hours=3))
    system.claims.complete_documents(claim_id, CompleteDocuments(), by(HANDLER))

    consumer.consume()

    notice = the_timer(system, timers, "IL22-ONE-TIME-NOTICE-1WD", claim_id)
    advance = the_timer(system, timers, "IL25-ADVANCE-60D", claim_id)
    assert notice.state is TimerState.CANCELLED
    assert (advance.state, advance.start_at) == (TimerState.RUNNING, applied_at)
    assert the_timer(system, timers, IL23, claim_id).pauses == ()


def test_a_complaint_clock_is_extended_paused_for_appraisal_and_restarted_by_new_facts(
    system: System, clock: ControlledClock, timers: Timers, consumer: Consumer
) -> None:
    complaint_id = a_complaint_about_the_seller(system, clock)
    system.complaints.acknowledge(complaint_id, AcknowledgeComplaint(channel="sms"), by(OFFICER))
    system.complaints.assign(complaint_id, AssignComplaint(handler_id=HANDLING_OFFICER[1]), by(OFFICER))
    system.complaints.classify(
        complaint_id, ClassifyComplaint(complexity=Complexity.COMPLEX), by(HANDLING_OFFICER)
    )
    clock.advance(timedelta(days=5))
    system.complaints.extend(
        complaint_id, ExtendComplaint(to_days=30, reason="manufacturer check"), by(HANDLING_OFFICER)
    )
    system.complaints.start_appraisal(
        complaint_id, StartAppraisal(provider="lab", purpose="paint"), by(HANDLING_OFFICER)
    )
    clock.advance(timedelta(days=4))
    system.complaints.complete_appraisal(
        complaint_id, CompleteAppraisal(result_summary="original paint"), by(HANDLING_OFFICER)
    )
    clock.advance(timedelta(days=2))
    system.complaints.receive_new_facts(
        complaint_id, ReceiveNewFacts(facts="a second dent"), by(HANDLING_OFFICER)
    )
    restarted_at = clock.now()

    consumer.consume()

    timer = the_timer(system, timers, CMP, complaint_id)
    assert history_types(timers, timer.id) == [
        TimerStarted,
        TimerExtended,
        TimerPaused,
        TimerResumed,
        TimerRestarted,
    ]
    extended = timers.history(timer.id)[1]
    assert isinstance(extended, TimerExtended)
    assert (extended.from_duration, extended.to_duration) == (15, 30)
    restarted = compute_deadline(rule_by_id(CMP), restarted_at, default_calendar(), duration=30)
    assert isinstance(restarted, Deadline)
    assert timer.due_at == restarted.due_at
    acknowledgement = the_timer(system, timers, "CO-CMP-ACK-1WD", complaint_id)
    assert acknowledgement.state is TimerState.SATISFIED


def test_replaying_every_event_twice_starts_no_timer_and_changes_none(
    system: System, clock: ControlledClock, timers: Timers, consumer: Consumer
) -> None:
    a_claim_paused_for_documents(system, clock)
    a_complaint(system, clock)
    consumer.consume()
    before = timer_topics(timers)

    redelivered = consumer.consume()
    consumer.forget_progress()
    replayed = consumer.consume()

    assert set(redelivered) == {Outcome.DUPLICATE}
    assert set(replayed) == {Outcome.APPLIED}
    assert timer_topics(timers) == before
    assert before["timer.started.v1"] >= 4


def test_a_redelivery_after_a_crash_between_the_timer_and_the_consumer_commit_pauses_once(
    system: System, clock: ControlledClock, timers: Timers, consumer: Consumer
) -> None:
    claim_id, _ = a_claim_paused_for_documents(system, clock)
    consumer.consume()
    timer = the_timer(system, timers, IL23, claim_id)
    # Every case event handled again inside transactions that never commit: the timer's events are stored,
    # the consumer's tracking and due rows are not. The redelivery must then change nothing.
    delivery = system.claims.history(claim_id)[3]
    assert type(delivery).__name__ == "ClaimDocumentsRequestDelivered"
    received = received_claim_event(system, claim_id, delivery.originator_version)

    def handle_then_crash() -> None:
        with consumer.conn.transaction():
            consumer.handler.handle(consumer.conn, delivery, received)
            raise CrashBeforeCommitError

    for _ in range(2):
        with pytest.raises(CrashBeforeCommitError):
            handle_then_crash()

    assert history_types(timers, timer.id) == [TimerStarted, TimerPaused, TimerResumed]


class CrashBeforeCommitError(Exception):
    """The consumer died after the timer service wrote and before its own transaction committed."""


def received_claim_event(system: System, case_id: UUID, version: int) -> ReceivedEvent:
    stored = next(iter(system.claims.recorder.select_events(case_id, gt=version - 1, lte=version)))
    return ReceivedEvent("claim", case_id, version, stored.topic, 0, stored.state)


def scheduler(system: System, timers: Timers, clock: ControlledClock, **kwargs: Any) -> Scheduler:
    return Scheduler(timers, system.database, system.settings.db_schema, clock, **kwargs)


def test_the_scheduler_warns_at_half_and_four_fifths_then_breaches_once_at_the_deadline(
    system: System, clock: ControlledClock, timers: Timers, consumer: Consumer
) -> None:
    complaint_id = a_complaint(system, clock)
    consumer.consume()
    timer = the_timer(system, timers, CMP, complaint_id)
    half, four_fifths, due = timer.warning_at(0.5), timer.warning_at(0.8), timer.due_at
    assert half is not None
    assert four_fifths is not None
    assert due is not None
    one = scheduler(system, timers, clock)
    try:
        one.tick()
        clock.set(half)
        one.tick()
        one.tick()
        clock.set(four_fifths)
        one.tick()
        clock.set(due + timedelta(seconds=3))
        one.tick()
        clock.advance(timedelta(days=2))
        one.tick()
    finally:
        one.close()

    events = timers.history(timer.id)
    assert [type(e) for e in events] == [TimerStarted, TimerWarningRaised, TimerWarningRaised, TimerBreached]
    breach = events[-1]
    assert isinstance(breach, TimerBreached)
    assert breach.lateness_seconds == 3
    assert breach.regulator_reportable is True


def test_two_racing_schedulers_record_one_breach(
    system: System, clock: ControlledClock, timers: Timers, consumer: Consumer
) -> None:
    complaint_id = a_complaint(system, clock)
    consumer.consume()
    timer = the_timer(system, timers, CMP, complaint_id)
    assert timer.due_at is not None
    clock.set(timer.due_at + timedelta(minutes=1))
    racers = [scheduler(system, timers, clock, after_record=lambda _: time.sleep(0.2)) for _ in range(2)]
    start = threading.Barrier(2)

    def race(s: Scheduler) -> None:
        start.wait()
        s.tick()

    threads = [threading.Thread(target=race, args=(s,)) for s in racers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    for s in racers:
        s.close()

    assert history_types(timers, timer.id).count(TimerBreached) == 1


class SimulatedCrashError(Exception):
    """The scheduler process died after recording and before committing its row."""


def test_a_scheduler_killed_between_recording_and_committing_leaves_exactly_one_breach(
    system: System, clock: ControlledClock, timers: Timers, consumer: Consumer
) -> None:
    complaint_id = a_complaint(system, clock)
    consumer.consume()
    timer = the_timer(system, timers, CMP, complaint_id)
    assert timer.due_at is not None
    clock.set(timer.due_at + timedelta(minutes=1))

    def crash(_: UUID) -> None:
        raise SimulatedCrashError

    dying = scheduler(system, timers, clock, after_record=crash)
    with pytest.raises(SimulatedCrashError):
        dying.tick()
    dying.close()
    restarted = scheduler(system, timers, clock)
    taken = restarted.tick().taken
    restarted.tick()
    next_due = restarted.next_due()
    restarted.close()

    assert timer.id in taken
    assert history_types(timers, timer.id).count(TimerBreached) == 1
    assert next_due is None or next_due > clock.now()


def test_a_breach_cut_off_before_its_commit_is_stored_with_its_row_or_not_at_all(
    system: System, clock: ControlledClock, timers: Timers, consumer: Consumer
) -> None:
    (timer,), deadline = warned_timers(system, clock, timers, consumer, 1)
    clock.set(deadline + timedelta(seconds=1))

    def crash(_: UUID) -> None:
        raise SimulatedCrashError

    dying = scheduler(system, timers, clock, after_record=crash)
    with pytest.raises(SimulatedCrashError):
        dying.tick()
    after_crash = history_types(timers, timer.id)
    still_due = due_row(system, timer.id)["next_fire_at"]
    restarted = scheduler(system, timers, clock)
    taken = restarted.tick().taken

    assert TimerBreached not in after_crash
    assert still_due == deadline
    assert timer.id in taken
    assert history_types(timers, timer.id).count(TimerBreached) == 1
    assert due_row(system, timer.id)["next_fire_at"] is None


def due_row(system: System, timer_id: UUID) -> dict[str, Any]:
    with psycopg.connect(system.database_url, row_factory=dict_row) as conn:
        row = conn.execute(
            sql.SQL(
                """SELECT rule_id, case_id, case_context, cycle, state, due_at, warn_50_at, warn_80_at,
                          next_fire_at, next_action, timer_version, breached_at, provisional
                   FROM {} WHERE timer_id = %s"""
            ).format(due_table(system.settings.db_schema)),
            (timer_id,),
        ).fetchone()
    assert row is not None
    return row


def test_the_running_scheduler_wakes_on_a_notification_and_breaches_when_the_clock_moves(
    system: System, clock: ControlledClock, timers: Timers, consumer: Consumer
) -> None:
    complaint_id = a_complaint(system, clock)
    consumer.consume()
    timer = the_timer(system, timers, CMP, complaint_id)
    assert timer.due_at is not None
    stop = threading.Event()
    runner = threading.Thread(
        target=run_scheduler, args=(TimerSystem(system.database, system.settings, timers), clock, stop)
    )
    runner.start()
    try:
        clock.set(timer.due_at + timedelta(seconds=1))
        with psycopg.connect(system.database_url, autocommit=True) as conn:
            nudge(conn, system.settings.db_schema)
        deadline = time.monotonic() + 10
        while TimerBreached not in history_types(timers, timer.id) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        runner.join(timeout=10)

    assert not runner.is_alive()
    assert history_types(timers, timer.id).count(TimerBreached) == 1


def test_a_pass_that_gives_up_on_a_contended_timer_does_not_stop_the_scheduler(
    system: System, clock: ControlledClock, timers: Timers, consumer: Consumer
) -> None:
    (timer,), deadline = warned_timers(system, clock, timers, consumer, 1)
    contended: list[UUID] = []

    def lose_twice(timer_id: UUID) -> None:
        # As when another writer keeps winning: the batch's own write, then the library's, give up.
        if len(contended) < 2:
            contended.append(timer_id)
            raise ConcurrencyConflictError(timer_id, None, timers.load(timer_id).version)

    one = scheduler(system, timers, clock, after_record=lose_twice)
    stop = threading.Event()
    runner = threading.Thread(target=one.run, args=(stop,))
    clock.set(deadline + timedelta(seconds=1))
    runner.start()
    try:
        limit = time.monotonic() + 10
        while due_row(system, timer.id)["next_fire_at"] is not None and time.monotonic() < limit:
            time.sleep(0.05)
        alive = runner.is_alive()
    finally:
        stop.set()
        runner.join(timeout=10)

    assert contended == [timer.id, timer.id]
    assert alive
    assert history_types(timers, timer.id).count(TimerBreached) == 1
    assert due_row(system, timer.id)["next_fire_at"] is None


def warned_timers(
    system: System, clock: ControlledClock, timers: Timers, consumer: Consumer, count: int
) -> tuple[list[SlaTimer], datetime]:
    """``count`` complaint-decision clocks lodged at one instant, their warnings recorded (and the
    complaints' shorter clocks breached): each decision deadline is what the scheduler does next."""
    complaints = [a_complaint(system, clock) for _ in range(count)]
    consumer.consume()
    found = [the_timer(system, timers, CMP, complaint_id) for complaint_id in complaints]
    due = {timer.due_at for timer in found}
    assert len(due) == 1
    deadline = due.pop()
    assert deadline is not None
    clock.set(deadline - timedelta(minutes=1))
    warner = scheduler(system, timers, clock)
    try:
        assert {timer.id for timer in found} <= set(warner.tick().taken)
        assert warner.next_due() == deadline
    finally:
        warner.close()
    return found, deadline


def breaches_counted() -> float:
    return REGISTRY.get_sample_value("caseledger_timers_fired_total", {"action": "breach"}) or 0.0


def test_a_pass_cut_short_still_counts_the_breaches_it_committed(
    system: System, clock: ControlledClock, timers: Timers, consumer: Consumer
) -> None:
    found, deadline = warned_timers(system, clock, timers, consumer, 3)
    recorded: list[UUID] = []

    def crash_on_the_third(timer_id: UUID) -> None:
        recorded.append(timer_id)
        if len(recorded) == 3:
            raise SimulatedCrashError

    before = breaches_counted()
    dying = scheduler(system, timers, clock, batch_size=1, workers=1, after_record=crash_on_the_third)
    clock.set(deadline + timedelta(seconds=1))
    with pytest.raises(SimulatedCrashError):
        dying.tick()

    # Two batches committed before the third died: counted, though the pass never ended normally.
    assert breaches_counted() - before == 2
    assert sum(history_types(timers, t.id).count(TimerBreached) for t in found) == 2
    scheduler(system, timers, clock).tick()
    assert breaches_counted() - before == 3


def test_a_backlog_larger_than_a_burst_is_counted_every_hundred_batches_not_held_to_the_end(
    system: System, clock: ControlledClock, timers: Timers, consumer: Consumer
) -> None:
    found, deadline = warned_timers(system, clock, timers, consumer, HELD_BATCHES + 1)
    before = breaches_counted()
    counted_while_recording: list[float] = []
    one = scheduler(
        system,
        timers,
        clock,
        batch_size=1,
        workers=1,
        after_record=lambda _: counted_while_recording.append(breaches_counted() - before),
    )
    clock.set(deadline + timedelta(seconds=1))

    taken = one.tick().taken

    assert len(taken) == len(found)
    # The first hundred batches were held; the hundredth's commit counted them before the next was written.
    assert counted_while_recording[:HELD_BATCHES] == [0.0] * HELD_BATCHES
    assert counted_while_recording[HELD_BATCHES] == HELD_BATCHES
    assert breaches_counted() - before == len(found)


def test_staging_ahead_of_the_deadline_records_nothing_before_it(
    system: System, clock: ControlledClock, timers: Timers, consumer: Consumer
) -> None:
    (timer,), deadline = warned_timers(system, clock, timers, consumer, 1)
    before = history_types(timers, timer.id)
    one = scheduler(system, timers, clock, lookahead=5.0)
    try:
        clock.set(deadline - timedelta(seconds=3))
        staged = one.stage()
        clock.set(deadline - timedelta(milliseconds=1))
        early = one.tick().taken
        after_staging = history_types(timers, timer.id)
        clock.set(deadline)
        on_time = one.tick().taken
    finally:
        one.close()

    assert staged == 1
    assert early == ()
    assert after_staging == before
    assert on_time == (timer.id,)
    breach = timers.history(timer.id)[-1]
    assert isinstance(breach, TimerBreached)
    assert breach.timestamp == deadline
    assert breach.lateness_seconds == 0


def test_staging_that_would_still_be_reading_at_the_instant_is_not_started(
    system: System, clock: ControlledClock, timers: Timers, consumer: Consumer
) -> None:
    # Staging reads its whole window before it looks at the clock again: started just before the
    # instant, it would make every timer due then wait for it.
    (timer,), deadline = warned_timers(system, clock, timers, consumer, 1)
    one = scheduler(system, timers, clock, lookahead=5.0)
    late = scheduler(system, timers, clock, lookahead=5.0)
    try:
        clock.set(deadline - timedelta(seconds=4))
        first = one._should_stage(deadline)
        one.stage()
        staged = one.staged
        clock.set(deadline - timedelta(seconds=2))
        a_second_later = one._should_stage(deadline)
        # Had the last read of the window taken 1.5 s, a re-stage would need twice that before the instant.
        one._stage_read = timedelta(seconds=1.5)
        slow_read = one._should_stage(deadline)
        clock.set(deadline - timedelta(milliseconds=50))
        at_the_instant = one._should_stage(deadline)
        # Nothing staged yet (a start, a reconnect): the first staging is held off the instant too.
        first_at_the_instant = late._should_stage(deadline)
        clock.set(deadline)
        on_time = one.tick().taken
    finally:
        one.close()
        late.close()

    assert first is True
    assert staged == 1
    assert a_second_later is True
    assert slow_read is False
    assert at_the_instant is False
    assert first_at_the_instant is False
    # What the first stage loaded fires at the instant.
    assert on_time == (timer.id,)


def test_a_timer_chunk_that_would_still_be_loading_at_its_instant_is_left_to_the_instant(
    system: System, clock: ControlledClock, timers: Timers, consumer: Consumer
) -> None:
    (timer,), deadline = warned_timers(system, clock, timers, consumer, 1)
    slow = scheduler(system, timers, clock, lookahead=5.0)
    quick = scheduler(system, timers, clock, lookahead=5.0)
    try:
        clock.set(deadline - timedelta(seconds=3))
        # Loading its last chunk took longer than the time left before the window's first instant.
        slow._chunk_load = timedelta(seconds=3.5)
        left = slow.stage()
        staged = quick.stage()
        clock.set(deadline)
        fired = slow.tick().taken
    finally:
        slow.close()
        quick.close()

    assert left == 0
    assert staged == 1
    # What was not staged is read at the instant, as before.
    assert fired == (timer.id,)
    assert isinstance(timers.history(timer.id)[-1], TimerBreached)


def test_a_staged_timer_satisfied_before_its_instant_is_not_breached_and_the_rest_of_its_batch_is(
    system: System, clock: ControlledClock, timers: Timers, consumer: Consumer
) -> None:
    (met, missed), deadline = warned_timers(system, clock, timers, consumer, 2)
    one = scheduler(system, timers, clock, lookahead=5.0)
    try:
        clock.set(deadline - timedelta(seconds=2))
        staged = one.stage()
        # The timer service records the satisfaction; the consumer has not rewritten the row yet, so
        # the row still names the deadline and the scheduler takes the timer with its stale copy.
        caller = timers.caller(uuid4(), None)
        timers.apply_case_event(
            met.id,
            caller,
            uuid4(),
            lambda timer, ctx: timer.satisfy(
                ctx, at=clock.now(), by_event="ComplaintDecided", cause_event_id=uuid4()
            ),
        )
        clock.set(deadline + timedelta(seconds=1))
        taken = one.tick().taken
    finally:
        one.close()

    assert staged == 2
    assert set(taken) == {met.id, missed.id}
    assert history_types(timers, met.id)[-1] is TimerSatisfied
    assert TimerBreached not in history_types(timers, met.id)
    assert history_types(timers, missed.id).count(TimerBreached) == 1
    # The batch met the satisfaction's version, rolled back whole and was fired again from what is
    # stored: both rows stand at their timers' versions and neither is due any more.
    for timer_id, state in ((met.id, "satisfied"), (missed.id, "breached")):
        row = due_row(system, timer_id)
        assert (row["state"], row["next_fire_at"], row["timer_version"]) == (
            state,
            None,
            timers.load(timer_id).version,
        )
        assert AuditTrail(system).verify(timer_id).broken == []


def test_a_batch_written_over_a_timer_another_writer_changed_names_that_timer_in_its_conflict(
    system: System, clock: ControlledClock, timers: Timers, consumer: Consumer
) -> None:
    (met, missed), deadline = warned_timers(system, clock, timers, consumer, 2)
    loaded, heads = timers.load_with_heads([missed.id, met.id])
    stale_version = loaded[met.id].version
    timers.apply_case_event(
        met.id,
        timers.caller(uuid4(), None),
        uuid4(),
        lambda timer, ctx: timer.satisfy(
            ctx, at=deadline - timedelta(seconds=1), by_event="ComplaintDecided", cause_event_id=uuid4()
        ),
    )

    with (
        system.database.connection() as conn,
        pytest.raises(ConcurrencyConflictError) as conflict,
        conn.transaction(),
    ):
        # The stale copy is the batch's second timer: the conflict must name it, not the first.
        timers.fire_many(
            [missed.id, met.id],
            timers.caller(uuid4(), None),
            deadline + timedelta(seconds=1),
            loaded=loaded,
            chain_heads=heads,
            conn=conn,
        )

    assert conflict.value.case_id == met.id
    assert conflict.value.expected_version == stale_version
    assert conflict.value.current_version == timers.load(met.id).version == stale_version + 1
    # Rolled back whole: the first timer's breach went with it, and both rows are still due.
    assert TimerBreached not in history_types(timers, missed.id)
    clock.set(deadline + timedelta(seconds=1))
    assert set(scheduler(system, timers, clock).tick().taken) == {met.id, missed.id}
    assert history_types(timers, missed.id).count(TimerBreached) == 1
    assert TimerBreached not in history_types(timers, met.id)


def test_a_scheduler_killed_while_firing_a_batch_again_after_a_conflict_leaves_exactly_one_breach(
    system: System, clock: ControlledClock, timers: Timers, consumer: Consumer
) -> None:
    (met, missed), deadline = warned_timers(system, clock, timers, consumer, 2)
    calls: list[UUID] = []

    def crash(timer_id: UUID) -> None:
        calls.append(timer_id)
        if timer_id == missed.id:
            raise SimulatedCrashError

    dying = scheduler(system, timers, clock, lookahead=5.0, after_record=crash)
    clock.set(deadline - timedelta(seconds=2))
    dying.stage()
    # Satisfied behind the staged copy: the batch's own write meets a conflict and rolls back, and the
    # batch is taken again and stored the library's way, whose events commit before the rows do.
    timers.apply_case_event(
        met.id,
        timers.caller(uuid4(), None),
        uuid4(),
        lambda timer, ctx: timer.satisfy(
            ctx, at=clock.now(), by_event="ComplaintDecided", cause_event_id=uuid4()
        ),
    )
    clock.set(deadline + timedelta(seconds=1))
    with pytest.raises(SimulatedCrashError):
        dying.tick()
    after_crash = history_types(timers, missed.id)
    still_due = due_row(system, missed.id)["next_fire_at"]
    restarted = scheduler(system, timers, clock)
    taken = restarted.tick().taken

    # The crash came in the second pass: the first one, in the rows' transaction, recorded nothing.
    assert missed.id in calls
    assert after_crash.count(TimerBreached) == 1
    assert still_due == deadline
    assert set(taken) == {met.id, missed.id}
    assert history_types(timers, missed.id).count(TimerBreached) == 1
    assert TimerBreached not in history_types(timers, met.id)
    for timer_id in (met.id, missed.id):
        assert due_row(system, timer_id)["next_fire_at"] is None
        assert AuditTrail(system).verify(timer_id).broken == []


def test_the_row_of_a_timer_breached_from_its_staged_copy_is_the_breached_timer_s_row(
    system: System, clock: ControlledClock, timers: Timers, consumer: Consumer
) -> None:
    (timer,), deadline = warned_timers(system, clock, timers, consumer, 1)
    one = scheduler(system, timers, clock, lookahead=5.0)
    try:
        clock.set(deadline - timedelta(seconds=1))
        staged = one.stage()
        clock.set(deadline + timedelta(seconds=2))
        taken = one.tick().taken
    finally:
        one.close()
    breached = timers.load(timer.id)
    expected = DueRow.of(breached)
    stored = timers.read_events(
        sql.SQL(
            """SELECT originator_version, topic, state, chain_hash FROM {}
               WHERE originator_id = %s ORDER BY originator_version"""
        ).format(timers.events_table()),
        (timer.id,),
    )
    chained = bytes(32)
    for row in stored:
        chained = chain_hash(chained, timer.id, row["originator_version"], row["topic"], bytes(row["state"]))
        # The scheduler chains its own insert exactly as the trigger chains the library's.
        assert bytes(row["chain_hash"]) == chained

    assert staged == 1
    assert taken == (timer.id,)
    assert breached.state is TimerState.BREACHED
    assert due_row(system, timer.id) == {
        "rule_id": expected.rule_id,
        "case_id": expected.case_id,
        "case_context": expected.case_context,
        "cycle": expected.cycle,
        "state": "breached",
        "due_at": deadline,
        "warn_50_at": expected.warn_50_at,
        "warn_80_at": expected.warn_80_at,
        "next_fire_at": None,
        "next_action": None,
        "timer_version": breached.version,
        "breached_at": deadline + timedelta(seconds=2),
        "provisional": expected.provisional,
    }


def test_a_staged_burst_is_stored_with_the_scheduler_s_own_chain_hashes_and_a_fresh_timer_by_the_trigger(
    system: System, clock: ControlledClock, timers: Timers, consumer: Consumer
) -> None:
    (staged_one, fresh_one), deadline = warned_timers(system, clock, timers, consumer, 2)
    one = scheduler(system, timers, clock, lookahead=5.0)
    table = sql.SQL("{}.{}").format(
        sql.Identifier(timers.events_schema), sql.Identifier(timers.events_table_name)
    )
    try:
        clock.set(deadline - timedelta(seconds=1))
        one.stage()
        # Unstage one: it is loaded at the instant, without its head, and left to the trigger.
        one._staged.pop(fresh_one.id)
        with psycopg.connect(system.database_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL(
                    """CREATE FUNCTION {s}.counted_chain() RETURNS trigger LANGUAGE plpgsql AS $$
                       BEGIN PERFORM pg_notify('chained', NEW.originator_id::text); RETURN NEW; END $$"""
                ).format(s=sql.Identifier(timers.events_schema))
            )
            # A second trigger with the chain's condition, named to run before it (triggers run in name
            # order): it runs for exactly the rows the chain's does.
            conn.execute(
                sql.SQL(
                    """CREATE TRIGGER a_counted_chain BEFORE INSERT ON {t} FOR EACH ROW
                       WHEN (NEW.chain_hash IS NULL) EXECUTE FUNCTION {s}.counted_chain()"""
                ).format(t=table, s=sql.Identifier(timers.events_schema))
            )
            conn.execute("LISTEN chained")
            clock.set(deadline + timedelta(seconds=1))
            taken = one.tick().taken
            chained_by_trigger = [note.payload for note in conn.notifies(timeout=0.5)]
    finally:
        one.close()

    assert sorted(taken) == sorted([staged_one.id, fresh_one.id])
    assert chained_by_trigger == [str(fresh_one.id)]
    for timer in (staged_one, fresh_one):
        assert history_types(timers, timer.id)[-1] is TimerBreached
        assert AuditTrail(system).verify(timer.id).broken == []


def test_a_burst_drained_by_several_workers_breaches_each_timer_once(
    system: System, clock: ControlledClock, timers: Timers, consumer: Consumer
) -> None:
    found, deadline = warned_timers(system, clock, timers, consumer, 7)
    one = scheduler(system, timers, clock, batch_size=2, workers=3)
    try:
        clock.set(deadline - timedelta(seconds=1))
        one.stage()
        clock.set(deadline + timedelta(seconds=1))
        taken = one.tick().taken
        next_due = one.next_due()
    finally:
        one.close()

    assert sorted(taken) == sorted(timer.id for timer in found)
    for timer in found:
        assert history_types(timers, timer.id).count(TimerBreached) == 1
    assert next_due is None or next_due > clock.now()


def test_a_staged_burst_leaves_a_row_another_scheduler_holds_to_it_and_fires_it_once_released(
    system: System, clock: ControlledClock, timers: Timers, consumer: Consumer
) -> None:
    (held, *others), deadline = warned_timers(system, clock, timers, consumer, 5)
    one = scheduler(system, timers, clock, batch_size=2, workers=1, lookahead=5.0)
    before = breaches_counted()
    try:
        clock.set(deadline - timedelta(seconds=1))
        staged = one.stage()
        clock.set(deadline + timedelta(seconds=1))
        with psycopg.connect(system.database_url) as other:
            # Another scheduler's transaction holds one row, as a pass of its own would.
            other.execute(
                sql.SQL("SELECT 1 FROM {} WHERE timer_id = %s FOR UPDATE").format(
                    due_table(system.settings.db_schema)
                ),
                (held.id,),
            )
            first = one.tick().taken
            held_meanwhile = history_types(timers, held.id)
            other.rollback()
        second = one.tick().taken
    finally:
        one.close()

    assert staged == 5
    # Every timer but the held one was fired in the first pass; the held one in the next.
    assert sorted(first) == sorted(timer.id for timer in others)
    # Nothing is written for a timer whose row the pass could not lock.
    assert TimerBreached not in held_meanwhile
    assert second == (held.id,)
    for timer in (held, *others):
        assert history_types(timers, timer.id).count(TimerBreached) == 1
        assert due_row(system, timer.id)["next_fire_at"] is None
        assert AuditTrail(system).verify(timer.id).broken == []
    assert breaches_counted() - before == 5


def test_a_staged_timer_whose_row_is_behind_its_copy_gets_its_whole_row_written(
    system: System, clock: ControlledClock, timers: Timers, consumer: Consumer
) -> None:
    (behind, ahead), deadline = warned_timers(system, clock, timers, consumer, 2)
    one = scheduler(system, timers, clock, lookahead=5.0)
    try:
        clock.set(deadline - timedelta(seconds=1))
        one.stage()
        # The row stands a version behind the copy (a consumer's rewrite not applied yet), without what
        # that version wrote: only a whole row written from the timer puts it back.
        with psycopg.connect(system.database_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL(
                    "UPDATE {} SET timer_version = timer_version - 1, warn_50_at = NULL WHERE timer_id = %s"
                ).format(due_table(system.settings.db_schema)),
                (behind.id,),
            )
        clock.set(deadline + timedelta(seconds=1))
        taken = one.tick().taken
    finally:
        one.close()

    assert sorted(taken) == sorted([behind.id, ahead.id])
    for timer in (behind, ahead):
        breached = timers.load(timer.id)
        row = due_row(system, timer.id)
        assert history_types(timers, timer.id).count(TimerBreached) == 1
        assert row["timer_version"] == breached.version
        assert (row["state"], row["next_fire_at"]) == ("breached", None)
        assert row["warn_50_at"] == breached.warning_at(0.5) is not None


def test_two_schedulers_staged_for_one_burst_breach_each_timer_once(
    system: System, clock: ControlledClock, timers: Timers, consumer: Consumer
) -> None:
    found, deadline = warned_timers(system, clock, timers, consumer, 12)
    pair = [scheduler(system, timers, clock, batch_size=2, workers=2, lookahead=5.0) for _ in range(2)]
    before = breaches_counted()
    try:
        clock.set(deadline - timedelta(seconds=1))
        for one in pair:
            assert one.stage() == 12
        clock.set(deadline + timedelta(seconds=1))
        with ThreadPoolExecutor(2) as both:
            passes = list(both.map(lambda one: one.tick().taken, pair))
    finally:
        for one in pair:
            one.close()

    fired = [timer_id for taken in passes for timer_id in taken]
    assert sorted(fired) == sorted(timer.id for timer in found)
    for timer in found:
        assert history_types(timers, timer.id).count(TimerBreached) == 1
        assert AuditTrail(system).verify(timer.id).broken == []
    assert breaches_counted() - before == 12


def test_the_running_scheduler_stages_a_timer_before_its_deadline_and_breaches_it_once_after(
    system: System, clock: ControlledClock, timers: Timers, consumer: Consumer
) -> None:
    (timer,), deadline = warned_timers(system, clock, timers, consumer, 1)
    before = history_types(timers, timer.id)
    clock.set(deadline - timedelta(seconds=3))
    running = scheduler(system, timers, clock, lookahead=5.0)
    stop = threading.Event()
    runner = threading.Thread(target=running.run, args=(stop,))
    runner.start()
    try:
        wait_until = time.monotonic() + 10
        while running.staged == 0 and time.monotonic() < wait_until:
            time.sleep(0.05)
        staged = running.staged
        early = history_types(timers, timer.id)
        clock.set(deadline + timedelta(seconds=1))
        with psycopg.connect(system.database_url, autocommit=True) as conn:
            nudge(conn, system.settings.db_schema)
        wait_until = time.monotonic() + 10
        while TimerBreached not in history_types(timers, timer.id) and time.monotonic() < wait_until:
            time.sleep(0.05)
    finally:
        stop.set()
        runner.join(timeout=10)

    assert not runner.is_alive()
    assert staged == 1
    assert early == before
    assert history_types(timers, timer.id).count(TimerBreached) == 1


def test_window_rules_are_timed_beside_the_callback_rule_and_an_obligation(
    system: System, timers: Timers, clock: ControlledClock, consumer: Consumer
) -> None:
    register_demo_seller(system, clock.now().astimezone(SHANGHAI).date())
    life_policy_story(system, clock)
    a_complaint(system, clock)  # an obligation beside them, so an empty result cannot pass by accident

    outcomes = consumer.consume()

    with psycopg.connect(system.database_url) as conn:
        rules = {
            r[0]
            for r in conn.execute(
                sql.SQL("SELECT rule_id FROM {}").format(due_table(system.settings.db_schema))
            ).fetchall()
        }
    assert outcomes[Outcome.APPLIED] > 15
    assert {"CMP-DECIDE-15D", "LIFE-CALLBACK-15D", "LIFE-COOLOFF-15D", "IL16-INCONTESTABLE-2Y"} <= rules


@pytest.mark.isolated("its scheduler fires every timer due in the schema, and it asserts no breach anywhere")
def test_the_cooling_off_window_closes_at_its_end_without_a_breach_or_an_escalation(
    system: System, timers: Timers, clock: ControlledClock, consumer: Consumer
) -> None:
    register_demo_seller(system, clock.now().astimezone(SHANGHAI).date())
    policy_id, _ = life_policy_story(system, clock)
    consumer.consume()
    timer = the_timer(system, timers, "LIFE-COOLOFF-15D", policy_id)
    assert timer.due_at is not None
    scheduler = Scheduler(timers, system.database, system.settings.db_schema, clock)
    try:
        clock.set(max(clock.now(), timer.due_at) + timedelta(seconds=1))
        scheduler.tick()
        scheduler.tick()
    finally:
        scheduler.close()

    assert history_types(timers, timer.id) == [TimerStarted, TimerWindowClosed]
    assert the_timer(system, timers, "LIFE-COOLOFF-15D", policy_id).state is TimerState.WINDOW_CLOSED
    closed = timers.history(timer.id)[-1]
    assert isinstance(closed, TimerWindowClosed)
    assert closed.records == "CoolingOffEnded"
    assert TimerBreached not in timer_topics_types(timers)


def test_the_policy_records_cooling_off_ended_once_caused_by_the_closed_window(
    system: System, timers: Timers, clock: ControlledClock, consumer: Consumer
) -> None:
    register_demo_seller(system, clock.now().astimezone(SHANGHAI).date())
    policy_id = a_policy(system, Line.LIFE)
    received_on = clock.now().astimezone(SHANGHAI).date()
    system.policies.acknowledge_receipt(
        policy_id, AcknowledgeReceipt(received_on=received_on, method="e-receipt"), by(SELLER)
    )
    consumer.consume()
    timer = the_timer(system, timers, "LIFE-COOLOFF-15D", policy_id)
    assert timer.due_at is not None
    one = Scheduler(timers, system.database, system.settings.db_schema, clock)
    try:
        clock.set(timer.due_at + timedelta(seconds=1))
        one.tick()
    finally:
        one.close()
    closed = timers.history(timer.id)[-1]
    assert isinstance(closed, TimerWindowClosed)

    consumer.consume_timers()
    consumer.forget_progress()
    consumer.consume_timers()  # a replay of the timer topic from the start

    ended = [e for e in system.policies.history(policy_id) if isinstance(e, CoolingOffEnded)]
    assert len(ended) == 1
    assert ended[0].causation_id == closed.event_id
    assert ended[0].correlation_id == closed.correlation_id
    assert ended[0].actor.role is Role.SYSTEM
    assert ended[0].ended_on == received_on + timedelta(days=15)
    assert system.policies.load(policy_id).status is PolicyStatus.IN_FORCE


def test_a_twenty_day_cooling_off_closes_on_day_twenty_and_the_policy_records_its_end(
    system: System, timers: Timers, clock: ControlledClock, consumer: Consumer
) -> None:
    # Received Mon 2 March 2026 under a contract granting 20 days: day 20 is Sun 22 March, a rest day, so
    # the period runs to Mon 23 March (Civil Code Art. 203); a 15-day timer would close on 17 March and the
    # policy would refuse CoolingOffEnded, parking the timer's event as a dead letter.
    register_demo_seller(system, clock.now().astimezone(SHANGHAI).date())
    policy_id = a_policy(system, Line.LIFE)
    received_on = clock.now().astimezone(SHANGHAI).date()
    system.policies.acknowledge_receipt(
        policy_id,
        AcknowledgeReceipt(received_on=received_on, method="e-receipt", cooling_off_days=20),
        by(SELLER),
    )
    consumer.consume()
    timer = the_timer(system, timers, "LIFE-COOLOFF-15D", policy_id)
    assert timer.due_at == datetime(2026, 3, 24, tzinfo=SHANGHAI)
    assert timer.due_at == system.policies.load(policy_id).cooling_off_end
    scheduler = Scheduler(timers, system.database, system.settings.db_schema, clock)
    try:
        clock.set(timer.due_at + timedelta(seconds=1))
        scheduler.tick()
    finally:
        scheduler.close()

    outcomes = consumer.consume_timers()

    assert outcomes[Outcome.PARKED] == 0
    ended = [e for e in system.policies.history(policy_id) if isinstance(e, CoolingOffEnded)]
    assert [e.ended_on for e in ended] == [date(2026, 3, 23)]
    assert system.policies.load(policy_id).status is PolicyStatus.IN_FORCE


def test_a_closed_cooling_off_window_records_nothing_on_a_policy_whose_end_is_recorded(
    system: System, timers: Timers, clock: ControlledClock, consumer: Consumer
) -> None:
    register_demo_seller(system, clock.now().astimezone(SHANGHAI).date())
    policy_id, _ = life_policy_story(system, clock)  # ends cooling-off by its own system command
    consumer.consume()
    timer = the_timer(system, timers, "LIFE-COOLOFF-15D", policy_id)
    assert timer.due_at is not None
    one = Scheduler(timers, system.database, system.settings.db_schema, clock)
    try:
        clock.set(max(clock.now(), timer.due_at) + timedelta(seconds=1))
        one.tick()
    finally:
        one.close()
    before = len(system.policies.history(policy_id))

    consumer.consume_timers()

    assert history_types(timers, timer.id)[-1] is TimerWindowClosed
    assert len(system.policies.history(policy_id)) == before


def timer_topics_types(timers: Timers) -> set[type]:
    return {
        type(e)
        for n in timers.recorder.select_notifications(start=None, limit=100_000)
        for e in timers.history(UUID(str(n.originator_id)))
    }
