"""SLA timers met on callback tasks, and the mis-selling remediation task, on real PostgreSQL.

The clocks of LIFE-CALLBACK-15D, CO-SURVEY-CALLBACK-2WD and CO-CLOSURE-CALLBACK-7D run on the policy or
claim whose event starts them and are met by the callback task that event opened; LIFE-MISSELL-15WD runs
on the remediation task an issue found opens. Both groups are fed every stored event, no broker.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from datetime import datetime
from uuid import UUID

import psycopg
import pytest

from cli.scenarios import (
    CALLBACK_AGENT,
    OFFICER,
    SELLER,
    a_policy,
    by,
    claim_story,
    register_demo_seller,
)
from consumers.callbacks import CALLBACKS_GROUP, callbacks_handler
from consumers.scheduler import Scheduler
from domain.base import SHANGHAI, Role
from domain.callback import (
    AttemptOutcome,
    CallbackChannel,
    CallbackIssue,
    CallbackStatus,
    CallbackTask,
    CallbackType,
    NewPolicyCheck,
    RemediationBySalesStaffError,
)
from domain.policy import Line
from domain.timer import TimerBreached, TimerSatisfied, TimerState
from infra.bootstrap import System
from infra.clock import ControlledClock
from infra.services.callbacks import (
    AttemptCallback,
    CancelCallbackTask,
    CompleteCallback,
    RecordCallbackIssue,
    RemedyMisSelling,
)
from infra.services.explain import explain
from infra.services.policies import AcknowledgeReceipt
from infra.services.timers import callback_completion, timer_views
from tests.cases import a_motor_policy, the_timer
from tests.feed import Group

pytestmark = pytest.mark.integration


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def callbacks_group(system: System) -> Iterator[Group]:
    """The ``callbacks`` group, fed every stored policy, claim and callback event."""
    apps = (system.policies, system.claims, system.callbacks)
    with closing(Group(system, CALLBACKS_GROUP, callbacks_handler, apps)) as group:
        yield group


def task_of(system: System, task_type: CallbackType, source_case_id: UUID) -> CallbackTask:
    for notification in system.callbacks.recorder.select_notifications(start=None, limit=100_000):
        task = system.callbacks.load(UUID(str(notification.originator_id)))
        if task.task_type is task_type and task.source_case_id == source_case_id:
            return task
    raise AssertionError(f"no {task_type} task for {source_case_id}")


def a_life_policy_received(
    system: System, clock: ControlledClock, issued: datetime, received: datetime
) -> UUID:
    """A 20-year life policy issued at ``issued``, its receipt acknowledged on paper at ``received``."""
    clock.set(issued)
    register_demo_seller(system, issued.date())
    policy_id = a_policy(system, Line.LIFE)
    clock.set(received)
    system.policies.acknowledge_receipt(
        policy_id, AcknowledgeReceipt(received_on=received.date(), method="paper"), by(SELLER)
    )
    return policy_id


def a_life_policy_received_on_4_march(system: System, clock: ControlledClock) -> UUID:
    """Issued Monday 2 March 2026, its receipt acknowledged Wednesday 4 March: cooling-off to 19 March."""
    return a_life_policy_received(system, clock, issued=at(2026, 3, 2, 9), received=at(2026, 3, 4, 10))


def a_life_policy_received_on_22_april(system: System, clock: ControlledClock) -> UUID:
    """Issued Monday 20 April 2026, its receipt acknowledged Wednesday 22 April."""
    return a_life_policy_received(system, clock, issued=at(2026, 4, 20, 10), received=at(2026, 4, 22, 10))


def a_scheduler(system: System, clock: ControlledClock) -> closing[Scheduler]:
    return closing(Scheduler(system.timers, system.database, system.settings.db_schema, clock))


def reach(system: System, task_id: UUID) -> None:
    system.callbacks.attempt(
        task_id,
        # A new-policy callback completes with the call's recording (LIFE-CALLBACK-RECORDING).
        AttemptCallback(channel=CallbackChannel.PHONE, outcome=AttemptOutcome.REACHED, recording_ref="REC-1"),
        by(CALLBACK_AGENT),
    )


def find_issue(system: System, task_id: UUID, issue: CallbackIssue, details: str) -> None:
    system.callbacks.find_issue(
        task_id, RecordCallbackIssue(issue=issue, details=details), by(CALLBACK_AGENT)
    )


def complete(system: System, task_id: UUID, answers: dict[str, str] | None = None) -> None:
    reach(system, task_id)
    system.callbacks.complete(
        task_id,
        CompleteCallback(answers=answers or {check.value: "yes" for check in NewPolicyCheck}),
        by(CALLBACK_AGENT),
    )


def test_the_new_policy_callback_completed_on_18_march_meets_life_callback_15d_due_20_march(
    system: System, clock: ControlledClock, callbacks_group: Group, timers_group: Group
) -> None:
    policy_id = a_life_policy_received_on_4_march(system, clock)
    callbacks_group.consume()
    task = task_of(system, CallbackType.NEW_POLICY, policy_id)
    clock.set(at(2026, 3, 18, 15))

    complete(system, task.id)
    timers_group.consume()

    timer = the_timer(system, "LIFE-CALLBACK-15D", policy_id)
    assert timer.due_at == at(2026, 3, 20)  # 24:00 of 19 March, the last cooling-off day
    assert timer.state is TimerState.SATISFIED
    satisfied = system.timers.history(timer.id)[-1]
    assert isinstance(satisfied, TimerSatisfied)
    assert (satisfied.by_event, satisfied.late) == ("CallbackCompleted", False)
    assert "rule LIFE-CALLBACK-15D" in explain(system, policy_id)


def test_a_new_policy_callback_never_made_breaches_at_24_00_on_19_march_and_a_later_one_is_late(
    system: System, clock: ControlledClock, callbacks_group: Group, timers_group: Group
) -> None:
    policy_id = a_life_policy_received_on_4_march(system, clock)
    callbacks_group.consume()
    timers_group.consume()
    with a_scheduler(system, clock) as scheduler:
        clock.set(at(2026, 3, 19, 20, 59))
        scheduler.tick()
        assert the_timer(system, "LIFE-CALLBACK-15D", policy_id).state is TimerState.RUNNING
        clock.set(at(2026, 3, 20, 0, 0))
        scheduler.tick()
    timer = the_timer(system, "LIFE-CALLBACK-15D", policy_id)
    assert timer.state is TimerState.BREACHED
    breach = system.timers.history(timer.id)[-1]
    assert isinstance(breach, TimerBreached)
    assert (breach.escalate_to, breach.regulator_reportable) == (Role.SUPERVISOR, True)

    clock.set(at(2026, 3, 20, 10))
    complete(system, task_of(system, CallbackType.NEW_POLICY, policy_id).id)
    timers_group.consume()

    satisfied = system.timers.history(timer.id)[-1]
    assert isinstance(satisfied, TimerSatisfied)
    assert satisfied.late is True


def test_a_completion_delivered_before_the_receipt_still_meets_the_clock_when_it_starts(
    system: System, clock: ControlledClock, callbacks_group: Group, timers_group: Group
) -> None:
    policy_id = a_life_policy_received_on_4_march(system, clock)
    callbacks_group.consume()
    clock.set(at(2026, 3, 5, 11))
    complete(system, task_of(system, CallbackType.NEW_POLICY, policy_id).id)

    # The callback topic is read ahead of the policy topic: no order holds between two topics.
    timers_group.consume((system.callbacks,))
    timers_group.consume()

    timer = the_timer(system, "LIFE-CALLBACK-15D", policy_id)
    assert timer.state is TimerState.SATISFIED
    assert timer.next_fire() is None


@pytest.fixture
def claim_closed_on_24_september(system: System, clock: ControlledClock) -> UUID:
    """A motor claim surveyed Thursday 17 September 2026 10:00 and closed Thursday 24 September 10:00."""
    clock.set(at(2026, 9, 17, 10))
    return claim_story(system, clock, a_motor_policy(system, clock))


def test_the_survey_callback_is_due_after_the_make_up_working_sunday_and_met_only_by_its_own_task(
    system: System,
    clock: ControlledClock,
    callbacks_group: Group,
    timers_group: Group,
    claim_closed_on_24_september: UUID,
) -> None:
    claim_id = claim_closed_on_24_september
    callbacks_group.consume()
    clock.set(at(2026, 9, 25, 10))

    complete(system, task_of(system, CallbackType.CLAIM_CLOSURE, claim_id).id, {"satisfied": "yes"})
    timers_group.consume()

    survey = the_timer(system, "CO-SURVEY-CALLBACK-2WD", claim_id)
    closure = the_timer(system, "CO-CLOSURE-CALLBACK-7D", claim_id)
    # Working day 1 is Friday 18 September; Sunday 20 September is a make-up working day (国庆 调休).
    assert survey.due_at == at(2026, 9, 21)
    # 7 days end on Thursday 1 October, inside 国庆 (1-7 October): the period ends on Thursday 8 October.
    assert closure.due_at == at(2026, 10, 9)
    assert closure.state is TimerState.SATISFIED
    assert survey.state is TimerState.RUNNING  # the closure task's completion is not the survey's


def test_cancelling_the_survey_task_cancels_the_survey_clock(
    system: System,
    clock: ControlledClock,
    callbacks_group: Group,
    timers_group: Group,
    claim_closed_on_24_september: UUID,
) -> None:
    claim_id = claim_closed_on_24_september
    callbacks_group.consume()
    survey_task = task_of(system, CallbackType.SURVEY, claim_id)

    system.callbacks.cancel(
        survey_task.id, CancelCallbackTask(reason="duplicate"), by((Role.SUPERVISOR, "zhou.min.sup"))
    )
    timers_group.consume()

    assert the_timer(system, "CO-SURVEY-CALLBACK-2WD", claim_id).state is TimerState.CANCELLED
    assert the_timer(system, "CO-CLOSURE-CALLBACK-7D", claim_id).state is TimerState.RUNNING


def test_mis_selling_found_opens_one_remediation_task_due_in_15_working_days_across_may_day(
    system: System, clock: ControlledClock, callbacks_group: Group, timers_group: Group
) -> None:
    policy_id = a_life_policy_received_on_22_april(system, clock)
    callbacks_group.consume()
    callback = task_of(system, CallbackType.NEW_POLICY, policy_id)
    clock.set(at(2026, 4, 28, 10))
    reach(system, callback.id)
    find_issue(system, callback.id, CallbackIssue.MIS_SELLING, "told the policy was a savings deposit")
    issue = system.callbacks.history(callback.id)[-1]

    callbacks_group.consume()
    callbacks_group.consume()  # a redelivery opens nothing more
    timers_group.consume()

    remediation = task_of(system, CallbackType.MIS_SELLING_REMEDIATION, policy_id)
    assert remediation.id == getattr(issue, "remediation_task_id", None)
    assert remediation.source_event_id == getattr(issue, "issue_id", None)
    assert remediation.seller_id == SELLER[1]
    # 29, 30 April; 1-5 May 劳动节; 6-8 May; Saturday 9 May (make-up); 11-21 May: the 15th is 21 May.
    assert remediation.due_by == at(2026, 5, 22)
    timer = the_timer(system, "LIFE-MISSELL-15WD", remediation.id)
    assert timer.due_at == at(2026, 5, 22)
    assert timer.case_context == "callback"
    assert "rule LIFE-MISSELL-15WD" in explain(system, policy_id)


def test_a_seller_may_not_remedy_and_a_complaints_officer_meets_the_remediation_clock(
    system: System, clock: ControlledClock, callbacks_group: Group, timers_group: Group
) -> None:
    policy_id = a_life_policy_received_on_22_april(system, clock)
    callbacks_group.consume()
    callback = task_of(system, CallbackType.NEW_POLICY, policy_id)
    clock.set(at(2026, 4, 28, 10))
    find_issue(
        system, callback.id, CallbackIssue.PROXY_SIGNATURE, "the applicant did not sign the declaration"
    )
    callbacks_group.consume()
    remediation = task_of(system, CallbackType.MIS_SELLING_REMEDIATION, policy_id)

    with pytest.raises(RemediationBySalesStaffError) as refused:
        system.callbacks.remedy(
            remediation.id, RemedyMisSelling(action="re-signed", summary="visited"), by(SELLER)
        )
    assert refused.value.rule == "LIFE-MISSELL-NON-SALES"
    clock.set(at(2026, 5, 21, 16))
    system.callbacks.remedy(
        remediation.id, RemedyMisSelling(action="re-signed", summary="visited"), by(OFFICER)
    )
    timers_group.consume()

    assert system.callbacks.load(remediation.id).status is CallbackStatus.REMEDIED
    timer = the_timer(system, "LIFE-MISSELL-15WD", remediation.id)
    assert timer.state is TimerState.SATISFIED
    satisfied = system.timers.history(timer.id)[-1]
    assert isinstance(satisfied, TimerSatisfied)
    assert (satisfied.by_event, satisfied.late) == ("MisSellingRemedied", False)


@pytest.mark.isolated("reads the breached view and the completion rate over every case in the schema")
def test_the_views_show_a_late_new_policy_callback_as_breached_and_count_it_against_the_rate(
    system: System, clock: ControlledClock, callbacks_group: Group, timers_group: Group
) -> None:
    policy_id = a_life_policy_received_on_4_march(system, clock)
    callbacks_group.consume()
    timers_group.consume()
    with a_scheduler(system, clock) as scheduler:
        clock.set(at(2026, 3, 20, 0, 1))
        scheduler.tick()
    clock.set(at(2026, 3, 20, 10))
    complete(system, task_of(system, CallbackType.NEW_POLICY, policy_id).id)
    timers_group.consume()
    schema = system.settings.db_schema

    with psycopg.connect(system.database_url) as conn:
        of_policy = timer_views(conn, schema, clock.now(), case_id=policy_id, rule_id="LIFE-CALLBACK-15D")
        breached = timer_views(conn, schema, clock.now(), breached=True)
        due_soon = timer_views(conn, schema, at(2026, 3, 19, 12), due_before=at(2026, 3, 20, 12))
        rates = {row.rule_id: row for row in callback_completion(conn, schema)}

    [timer] = of_policy
    assert (timer.state, timer.colour, timer.breached_at) == ("satisfied", "breached", at(2026, 3, 20, 0, 1))
    assert [t.timer_id for t in breached] == [timer.timer_id]
    assert timer.timer_id not in {t.timer_id for t in due_soon}  # met (late): no longer due
    life = rates["LIFE-CALLBACK-15D"]
    assert (life.on_time, life.late, life.missed, life.completion_rate) == (0, 1, 0, 0.0)
    assert rates["CO-SURVEY-CALLBACK-2WD"].completion_rate is None
