"""Callback tasks on real PostgreSQL: the ``callbacks`` consumer fed through the Processor, no broker."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from datetime import date, datetime, time, timedelta
from uuid import UUID

import pytest

from cli.scenarios import (
    HANDLER,
    SELLER,
    SURVEYOR,
    UNDERWRITER,
    a_policy,
    by,
    claim_story,
    register_demo_seller,
)
from consumers.callbacks import CALLBACKS_CONTEXTS, CALLBACKS_GROUP, callbacks_handler
from consumers.groups import default_groups
from consumers.processing import Outcome
from domain.base import SHANGHAI, Role
from domain.calendar import Deadline, compute_deadline, default_calendar
from domain.callback import CallbackCancelled, CallbackScheduled, CallbackStatus, CallbackTask, CallbackType
from domain.claim import ClaimClosed, SurveyDone
from domain.policy import Line, PolicyCancelledInCoolingOff, PolicyReceiptAcknowledged
from domain.sla import rule_by_id
from infra.bootstrap import System
from infra.clock import ControlledClock
from infra.services.claims import RecordSurvey, RegisterClaim
from infra.services.policies import AcknowledgeReceipt, CancelInCoolingOff
from tests.cases import report_hail_claim
from tests.feed import Group, stored_since_begin

pytestmark = pytest.mark.integration

TASK_CREATED = "callback.task-created.v1"
CANCELLED = "callback.cancelled.v1"


@pytest.fixture
def consumer(system: System) -> Iterator[Group]:
    """The ``callbacks`` group, fed every stored policy and claim event as the topics would deliver them."""
    with closing(
        Group(system, CALLBACKS_GROUP, callbacks_handler, (system.policies, system.claims))
    ) as group:
        yield group


@pytest.fixture
def seller(system: System, clock: ControlledClock) -> None:
    register_demo_seller(system, clock.now().astimezone(SHANGHAI).date())


def callback_topics(system: System) -> Counter[str]:
    """The topics of the callback events the test stored."""
    return Counter(n.topic for n in stored_since_begin(system, system.callbacks))


def tasks(system: System) -> list[CallbackTask]:
    """Every callback task the test opened, in the order they were opened."""
    return [
        system.callbacks.load(UUID(str(n.originator_id)))
        for n in stored_since_begin(system, system.callbacks)
        if n.topic == TASK_CREATED
    ]


def end_of(day: date) -> datetime:
    """24:00 Asia/Shanghai of ``day``."""
    return datetime.combine(day + timedelta(days=1), time(0), SHANGHAI)


def today(clock: ControlledClock) -> date:
    return clock.now().astimezone(SHANGHAI).date()


def a_received_life_policy(system: System, clock: ControlledClock) -> tuple[UUID, PolicyReceiptAcknowledged]:
    """A 20-year life policy issued and received two days later: cooling-off starts (no demo callback)."""
    policy_id = a_policy(system, Line.LIFE)
    clock.advance(timedelta(days=2))
    system.policies.acknowledge_receipt(
        policy_id, AcknowledgeReceipt(received_on=today(clock), method="e-receipt"), by(SELLER)
    )
    receipt = system.policies.history(policy_id)[-1]
    assert isinstance(receipt, PolicyReceiptAcknowledged)
    return policy_id, receipt


def a_motor_policy(system: System) -> UUID:
    return a_policy(system)


def test_the_group_is_registered_on_the_policy_claim_callback_and_service_order_topics() -> None:
    group = default_groups()[CALLBACKS_GROUP]
    # The callback topic: an issue found on a callback opens the remediation task; a done service order
    # opens its callback.
    assert group.contexts == CALLBACKS_CONTEXTS == ("policy", "claim", "callback", "service_order")
    assert group.build_handler is callbacks_handler


@pytest.mark.usefixtures("seller")
def test_a_received_life_policy_gets_one_new_policy_callback_due_at_the_end_of_cooling_off(
    system: System, clock: ControlledClock, consumer: Group
) -> None:
    policy_id, receipt = a_received_life_policy(system, clock)
    motor_id = a_motor_policy(system)
    system.policies.acknowledge_receipt(
        motor_id, AcknowledgeReceipt(received_on=today(clock), method="paper"), by(SELLER)
    )

    consumer.consume()

    [task] = tasks(system)
    policy = system.policies.load(policy_id)
    assert receipt.cooling_off_ends_on == receipt.received_on + timedelta(days=15)
    assert task.task_type is CallbackType.NEW_POLICY
    assert task.status is CallbackStatus.SCHEDULED  # its first call proposed by the system
    assert task.id == CallbackTask.task_id_for(CallbackType.NEW_POLICY, receipt.event_id)
    assert (task.source_event_id, task.source_case_id) == (receipt.event_id, policy_id)
    assert task.due_by == end_of(receipt.cooling_off_ends_on)
    assert (task.customer_id, task.seller_id) == (policy.customer_id, SELLER[1])
    created = system.callbacks.history(task.id)[0]
    assert (created.actor.id, created.actor.role) == ("caseledger", Role.SYSTEM)
    assert created.causation_id == receipt.event_id
    assert created.correlation_id == receipt.correlation_id


@pytest.mark.usefixtures("seller")
def test_a_survey_and_a_closed_claim_get_their_callbacks_with_their_due_dates(
    system: System, clock: ControlledClock, consumer: Group
) -> None:
    policy_id = a_motor_policy(system)
    claim_id = claim_story(system, clock, policy_id)  # starts Monday 2026-03-02 09:00 Shanghai

    consumer.consume()

    history = system.claims.history(claim_id)
    [survey] = [e for e in history if isinstance(e, SurveyDone)]
    [closed] = [e for e in history if isinstance(e, ClaimClosed)]
    by_type = {task.task_type: task for task in tasks(system)}
    assert set(by_type) == {CallbackType.SURVEY, CallbackType.CLAIM_CLOSURE}
    survey_task, closure_task = by_type[CallbackType.SURVEY], by_type[CallbackType.CLAIM_CLOSURE]
    # Surveyed Monday 2 March: two working days after it end on Wednesday 4 March.
    assert survey.timestamp.astimezone(SHANGHAI).date() == date(2026, 3, 2)
    assert survey_task.due_by == end_of(date(2026, 3, 4))
    # Closed Monday 9 March: seven days after it end on Monday 16 March.
    assert closed.timestamp.astimezone(SHANGHAI).date() == date(2026, 3, 9)
    assert closure_task.due_by == end_of(date(2026, 3, 16))
    for task, event, rule_id in (
        (survey_task, survey, "CO-SURVEY-CALLBACK-2WD"),
        (closure_task, closed, "CO-CLOSURE-CALLBACK-7D"),
    ):
        deadline = compute_deadline(rule_by_id(rule_id), event.timestamp, default_calendar())
        assert isinstance(deadline, Deadline)
        assert task.due_by == deadline.due_at
        assert (task.source_event_id, task.source_case_id) == (event.event_id, claim_id)
        claim = system.claims.load(claim_id)
        assert (task.customer_id, task.seller_id) == (claim.customer_id, SELLER[1])


@pytest.mark.usefixtures("seller")
def test_the_survey_callback_skips_the_qingming_holiday(
    system: System, clock: ControlledClock, consumer: Group
) -> None:
    policy_id = a_motor_policy(system)
    claim_id = report_hail_claim(system, clock, policy_id)
    system.claims.register(
        claim_id,
        RegisterClaim(claim_no="LP-QINGMING", coverages=["vehicle damage"], reserve_fen=100_000),
        by(HANDLER),
    )
    clock.set(datetime(2026, 4, 2, 10, 0, tzinfo=SHANGHAI))  # Thursday before 清明 (4-6 April)
    system.claims.record_survey(
        claim_id, RecordSurvey(findings="hail dents", liability_view="covered"), by(SURVEYOR)
    )

    consumer.consume()

    [task] = tasks(system)
    assert task.task_type is CallbackType.SURVEY
    # Working day 1 is Friday 3 April; 4-6 April are the holiday; working day 2 is Tuesday 7 April.
    assert task.due_by == end_of(date(2026, 4, 7))


@pytest.mark.usefixtures("seller")
def test_replaying_every_event_twice_creates_no_second_task(
    system: System, clock: ControlledClock, consumer: Group
) -> None:
    a_received_life_policy(system, clock)
    claim_story(system, clock, a_motor_policy(system))
    consumer.consume()
    before = callback_topics(system)

    redelivered = consumer.consume()
    consumer.forget_progress()
    replayed = consumer.consume()

    assert set(redelivered) == {Outcome.DUPLICATE}
    assert set(replayed) == {Outcome.APPLIED}
    assert callback_topics(system) == before
    assert before[TASK_CREATED] == 3
    assert Counter(task.task_type for task in tasks(system)) == Counter(
        {CallbackType.NEW_POLICY: 1, CallbackType.SURVEY: 1, CallbackType.CLAIM_CLOSURE: 1}
    )


@pytest.mark.usefixtures("seller")
def test_cancelling_in_cooling_off_cancels_the_open_callback_once(
    system: System, clock: ControlledClock, consumer: Group
) -> None:
    policy_id, _ = a_received_life_policy(system, clock)
    consumer.consume()
    clock.advance(timedelta(days=3))
    system.policies.cancel_in_cooling_off(
        policy_id, CancelInCoolingOff(requested_on=today(clock)), by(UNDERWRITER)
    )
    cancellation = system.policies.history(policy_id)[-1]
    assert isinstance(cancellation, PolicyCancelledInCoolingOff)

    consumer.consume()
    consumer.forget_progress()
    consumer.consume()

    [task] = tasks(system)
    assert task.status is CallbackStatus.CANCELLED
    cancelled = [e for e in system.callbacks.history(task.id) if isinstance(e, CallbackCancelled)]
    assert len(cancelled) == 1
    assert cancelled[0].causation_id == cancellation.event_id
    assert (cancelled[0].actor.id, cancelled[0].actor.role) == ("caseledger", Role.SYSTEM)
    assert callback_topics(system)[CANCELLED] == 1


@pytest.mark.usefixtures("seller")
def test_a_task_opened_at_22_30_gets_its_first_call_proposed_at_09_00_the_next_day(
    system: System, clock: ControlledClock, consumer: Group
) -> None:
    policy_id = a_policy(system, Line.LIFE)
    received_on = today(clock) + timedelta(days=2)
    clock.set(datetime.combine(received_on, time(22, 30), SHANGHAI))
    system.policies.acknowledge_receipt(
        policy_id, AcknowledgeReceipt(received_on=received_on, method="e-receipt"), by(SELLER)
    )
    receipt = system.policies.history(policy_id)[-1]

    consumer.consume()
    consumer.forget_progress()
    consumer.consume()  # a replay proposes nothing more

    [task] = tasks(system)
    assert task.created_on == datetime.combine(received_on, time(22, 30), SHANGHAI)
    assert task.slot == datetime.combine(received_on + timedelta(days=1), time(9, 0), SHANGHAI)
    scheduled = [e for e in system.callbacks.history(task.id) if isinstance(e, CallbackScheduled)]
    assert len(scheduled) == 1
    assert scheduled[0].actor.role is Role.SYSTEM
    assert scheduled[0].causation_id == receipt.event_id


@pytest.mark.usefixtures("seller")
def test_a_task_opened_in_calling_hours_is_proposed_for_the_instant_it_was_opened(
    system: System, clock: ControlledClock, consumer: Group
) -> None:
    _, receipt = a_received_life_policy(system, clock)  # 09:00 Asia/Shanghai, two days after issue

    consumer.consume()

    [task] = tasks(system)
    assert task.slot == receipt.timestamp == task.created_on
