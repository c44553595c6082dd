"""续期 and 退保 timers on real PostgreSQL: the ``timers`` group starts the Art. 36, 37 and 47 clocks from the
policy's events, the scheduler closes the payment period's window, and the policy records its suspension
(caused by the closed window, once); the two years to reinstate start from it; a surrender notice starts
the refund clock that the refund meets."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from uuid import uuid4

import pytest

from cli.scenarios import UNDERWRITER, a_policy, by, register_demo_seller, report_claim
from consumers.processing import Outcome
from consumers.scheduler import Scheduler
from domain.base import SHANGHAI, Role
from domain.claim import ClaimStatus
from domain.policy import Line, PolicyLapsed, PolicyStatus
from domain.timer import TimerSatisfied, TimerStarted, TimerState, TimerWindowClosed
from infra.bootstrap import System
from infra.clock import ControlledClock
from infra.services.explain import explain
from infra.services.policies import (
    AgreePremiumSchedule,
    ComputeSurrenderValue,
    PaySurrenderRefund,
    ReceiveSurrenderNotice,
)
from infra.services.timers import Timers
from tests.integration.test_timers import (  # noqa: F401 (the fixtures are used by name)
    Consumer,
    consumer,
    history_types,
    the_timer,
    timers,
)

pytestmark = pytest.mark.integration


def today(clock: ControlledClock) -> date:
    return clock.now().astimezone(SHANGHAI).date()


def test_the_closed_payment_period_suspends_the_policy_once_and_starts_the_two_years_to_reinstate(
    system: System,
    timers: Timers,  # noqa: F811
    clock: ControlledClock,
    consumer: Consumer,  # noqa: F811
) -> None:
    register_demo_seller(system, today(clock))
    policy_id = a_policy(system, Line.LIFE)
    system.policies.agree_premium_schedule(
        policy_id, AgreePremiumSchedule(frequency_months=1, instalments=12), by(UNDERWRITER)
    )
    consumer.consume()
    grace = the_timer(system, timers, "IL36-GRACE-60D", policy_id)
    billed = system.policies.load(policy_id).billed
    assert billed is not None
    assert grace.due_at == billed.suspends_at
    assert the_timer(system, timers, "CO-PREMIUM-REMIND-15D", policy_id).state is TimerState.RUNNING
    scheduler = Scheduler(timers, system.database, system.settings.db_schema, clock)
    try:
        clock.set(billed.suspends_at + timedelta(seconds=1))
        scheduler.tick()
    finally:
        scheduler.close()
    closed = timers.history(grace.id)[-1]
    assert isinstance(closed, TimerWindowClosed)

    outcomes = consumer.consume_timers()
    consumer.forget_progress()
    consumer.consume_timers()  # a replay of the timer topic from the start

    assert outcomes[Outcome.PARKED] == 0
    lapsed = [e for e in system.policies.history(policy_id) if isinstance(e, PolicyLapsed)]
    assert len(lapsed) == 1
    assert lapsed[0].causation_id == closed.event_id
    assert lapsed[0].actor.role is Role.SYSTEM
    assert lapsed[0].payment_period_ended_at == billed.suspends_at
    assert system.policies.load(policy_id).status is PolicyStatus.LAPSED
    consumer.consume()
    reinstatement = the_timer(system, timers, "IL37-REINSTATE-2Y", policy_id)
    assert reinstatement.due_at == lapsed[0].reinstatement_ends_at
    assert history_types(timers, reinstatement.id) == [TimerStarted]
    text = explain(system, policy_id)  # caseledger timers explain
    assert "IL36-GRACE-60D" in text
    assert "PolicyLapsed.reinstatement_ends_at" in text


def test_a_surrender_notice_starts_the_art47_clock_and_the_refund_meets_it(
    system: System,
    timers: Timers,  # noqa: F811
    clock: ControlledClock,
    consumer: Consumer,  # noqa: F811
) -> None:
    register_demo_seller(system, today(clock))
    policy_id = a_policy(system, Line.MOTOR_COMMERCIAL)
    system.policies.receive_surrender_notice(
        policy_id, ReceiveSurrenderNotice(received_on=today(clock)), by(UNDERWRITER)
    )
    consumer.consume()
    timer = the_timer(system, timers, "IL47-SURRENDER-30D", policy_id)
    assert timer.due_at == system.policies.load(policy_id).refund_due_at
    system.policies.compute_surrender_value(policy_id, ComputeSurrenderValue(), by(UNDERWRITER))
    refund = system.policies.load(policy_id).refund_due_fen
    assert refund is not None
    system.policies.pay_surrender_refund(
        policy_id,
        PaySurrenderRefund(amount_fen=refund, paid_on=today(clock), payment_ref="PAY-IT-1"),
        by(UNDERWRITER),
    )

    consumer.consume()

    assert history_types(timers, timer.id) == [TimerStarted, TimerSatisfied]
    text = explain(system, policy_id)  # caseledger timers explain
    assert "IL47-SURRENDER-30D" in text
    assert "Art. 47" in text
    assert "SurrenderNoticeReceived.refund_due_at" in text


def test_a_claim_for_a_loss_in_the_grace_period_carries_the_premium_due_read_from_the_policys_history(
    system: System, clock: ControlledClock
) -> None:
    register_demo_seller(system, today(clock))
    policy_id = a_policy(system, Line.LIFE)
    system.policies.agree_premium_schedule(
        policy_id, AgreePremiumSchedule(frequency_months=1, instalments=12), by(UNDERWRITER)
    )
    billed = system.policies.load(policy_id).billed
    assert billed is not None
    loss_at = datetime.combine(billed.due_on + timedelta(days=3), time(15), tzinfo=SHANGHAI)
    clock.set(loss_at + timedelta(days=2))
    claim_id = uuid4()

    report_claim(system, claim_id, policy_id, loss_at=loss_at, cause="illness", description="hospitalised")

    claim = system.claims.load(claim_id)
    assert claim.status is ClaimStatus.REPORTED
    assert claim.premium_due_fen == billed.amount_fen
