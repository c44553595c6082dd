"""回访 Callback rules, as Given / When / Then: quiet hours, the seven new-policy checks, the caller is not
the seller, remediation by non-sales staff, issues as facts, cancellation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import pytest

from domain.base import Actor, ActorRoleError, Context, FourEyesError, InvalidTransitionError, Role
from domain.callback import (
    AttemptOutcome,
    CallbackAttempted,
    CallbackCancelled,
    CallbackChannel,
    CallbackCompleted,
    CallbackFailed,
    CallbackIssue,
    CallbackIssueFound,
    CallbackNotReachedError,
    CallbackQuietHoursError,
    CallbackScheduled,
    CallbackStatus,
    CallbackTask,
    CallbackTaskCreated,
    CallbackType,
    CallerIsSellerError,
    MisSellingRemedied,
    NewPolicyCheck,
    NewPolicyCheckUnansweredError,
    RemediationBySalesStaffError,
    WrongCallbackTypeError,
)
from tests.gwt import T0, ctx, expect, given, refuses

SHANGHAI = ZoneInfo("Asia/Shanghai")
SELLER = "seller-7"
POLICY_ISSUED = uuid4()  # the event that called for the callback
POLICY_ID = uuid4()
ALL_CHECKS = {check.value: "yes" for check in NewPolicyCheck}


def shanghai(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=SHANGHAI)


def system(at: datetime = T0) -> Context:
    return ctx(Role.SYSTEM, "timer", at)


def agent(actor: str = "agent-1", at: datetime = T0) -> Context:
    return ctx(Role.CALLBACK_AGENT, actor, at)


# ---------------------------------------------------------------------------------- histories


def created(
    task_type: CallbackType = CallbackType.NEW_POLICY, source_event_id: UUID = POLICY_ISSUED
) -> CallbackTask:
    return CallbackTask.create(
        system(),
        task_type=task_type,
        source_event_id=source_event_id,
        source_case_id=POLICY_ID,
        customer_id="C-1",
        due_by=T0 + timedelta(days=15),
        seller_id=SELLER,
    )


RECORDING = "REC-CB-0001"


def reached(task_type: CallbackType = CallbackType.NEW_POLICY) -> CallbackTask:
    task = created(task_type)
    task.attempt(
        agent(), channel=CallbackChannel.PHONE, outcome=AttemptOutcome.REACHED, recording_ref=RECORDING
    )
    return task


def not_reached() -> CallbackTask:
    task = created()
    task.attempt(agent(), channel=CallbackChannel.PHONE, outcome=AttemptOutcome.NO_ANSWER)
    return task


def remediation() -> CallbackTask:
    return created(CallbackType.MIS_SELLING_REMEDIATION, source_event_id=uuid4())


def completed() -> CallbackTask:
    task = reached()
    task.complete(agent(), answers=ALL_CHECKS)
    return task


def cancelled() -> CallbackTask:
    task = created()
    task.cancel(system(), reason="policy cancelled in the cooling-off period")
    return task


def remedied() -> CallbackTask:
    task = remediation()
    task.remedy(ctx(Role.COMPLAINTS_OFFICER), action="policy cancelled, premium refunded", summary="accepted")
    return task


def failed() -> CallbackTask:
    task = not_reached()
    task.fail(system(), reason="three attempts unanswered", fallback="letter")
    return task


# ---------------------------------------------------------------------------------- happy paths


def test_new_policy_callback_completes_when_the_customer_answers_all_seven_checks() -> None:
    def work(task: CallbackTask) -> None:
        task.schedule(system(), slot=shanghai(3, 10))
        task.attempt(
            agent(at=shanghai(3, 10)), channel=CallbackChannel.PHONE, outcome=AttemptOutcome.NO_ANSWER
        )
        task.attempt(
            agent(at=shanghai(3, 15)),
            channel=CallbackChannel.PHONE,
            outcome=AttemptOutcome.REACHED,
            recording_ref=RECORDING,
        )
        task.complete(agent(at=shanghai(3, 15, 20)), answers=ALL_CHECKS)

    then = given(created()).when(work)

    then.events(
        expect(CallbackScheduled, slot=shanghai(3, 10)),
        expect(
            CallbackAttempted, attempt_no=1, channel=CallbackChannel.PHONE, outcome=AttemptOutcome.NO_ANSWER
        ),
        expect(
            CallbackAttempted, attempt_no=2, channel=CallbackChannel.PHONE, outcome=AttemptOutcome.REACHED
        ),
        expect(CallbackCompleted, answers=ALL_CHECKS, recording_ref=RECORDING),
    )
    assert then.aggregate.status is CallbackStatus.COMPLETED


def test_mis_selling_found_by_a_callback_is_remedied_when_non_sales_staff_handle_the_remediation() -> None:
    task = reached()
    then = given(task).when(
        lambda t: t.find_issue(agent(), issue=CallbackIssue.MIS_SELLING, details="told it was a deposit")
    )
    (found,) = then.events(
        expect(
            CallbackIssueFound,
            issue=CallbackIssue.MIS_SELLING,
            details="told it was a deposit",
            customer_id="C-1",
            seller_id=SELLER,
            source_case_id=POLICY_ID,
        )
    )
    assert isinstance(found, CallbackIssueFound)

    # What the consumer of CallbackIssueFound does, from the event alone.
    opened = CallbackTask.create(
        system(),
        task_type=CallbackType.MIS_SELLING_REMEDIATION,
        source_event_id=found.issue_id,
        source_case_id=found.source_case_id,
        customer_id=found.customer_id,
        due_by=T0 + timedelta(days=21),
        seller_id=found.seller_id,
    )
    assert opened.id == found.remediation_task_id

    officer = ctx(Role.COMPLAINTS_OFFICER, "officer-1", shanghai(4, 10))

    def work(task: CallbackTask) -> None:
        task.attempt(officer, channel=CallbackChannel.PHONE, outcome=AttemptOutcome.REACHED)
        task.remedy(officer, action="policy cancelled, premium refunded in full", summary="customer accepted")

    remedy = given(opened).when(work)

    remedy.events(
        expect(
            CallbackAttempted,
            attempt_no=1,
            channel=CallbackChannel.PHONE,
            outcome=AttemptOutcome.REACHED,
            actor=officer.actor,
        ),
        expect(
            MisSellingRemedied,
            action="policy cancelled, premium refunded in full",
            summary="customer accepted",
            actor=officer.actor,
        ),
    )
    assert remedy.aggregate.status is CallbackStatus.REMEDIED


# ---------------------------------------------------------------------------------- creation


def test_creating_derives_the_task_id_from_type_and_source_when_opened() -> None:
    assert created().id == CallbackTask.task_id_for(CallbackType.NEW_POLICY, POLICY_ISSUED)


def test_creating_gives_another_id_when_the_type_differs() -> None:
    assert created(CallbackType.SURVEY).id != created(CallbackType.NEW_POLICY).id


def test_creating_records_the_source_and_due_date_when_opened() -> None:
    event = created().collect_events()[0]

    assert isinstance(event, CallbackTaskCreated)
    assert (event.type, event.source_event_id, event.seller_id) == (
        CallbackType.NEW_POLICY,
        POLICY_ISSUED,
        SELLER,
    )


def test_creating_is_refused_when_not_done_by_the_system() -> None:
    with refuses(ActorRoleError):
        CallbackTask.create(
            agent(),
            task_type=CallbackType.SURVEY,
            source_event_id=uuid4(),
            source_case_id=uuid4(),
            customer_id="C-1",
            due_by=T0 + timedelta(days=2),
        )


def test_creating_is_refused_when_the_due_date_has_no_time_zone() -> None:
    with refuses(ValueError):
        CallbackTask.create(
            system(),
            task_type=CallbackType.SURVEY,
            source_event_id=uuid4(),
            source_case_id=uuid4(),
            customer_id="C-1",
            due_by=shanghai(4, 18).replace(tzinfo=None),
        )


# ---------------------------------------------------------------------------------- quiet hours


@pytest.mark.parametrize("slot", [shanghai(3, 9, 0), shanghai(3, 20, 59)], ids=["09:00", "20:59"])
def test_scheduling_is_recorded_when_the_slot_is_within_calling_hours(slot: datetime) -> None:
    given(created()).when(lambda t: t.schedule(agent(), slot=slot)).events(
        expect(CallbackScheduled, slot=slot)
    )


@pytest.mark.parametrize(
    "slot",
    [shanghai(3, 21, 0), shanghai(3, 23, 30), shanghai(4, 3, 0), shanghai(4, 8, 59)],
    ids=["21:00", "23:30", "03:00", "08:59"],
)
def test_scheduling_is_refused_when_the_slot_is_in_quiet_hours(slot: datetime) -> None:
    given(created()).when(lambda t: t.schedule(agent(), slot=slot)).refused(CallbackQuietHoursError)


def test_scheduling_is_refused_when_a_utc_slot_is_21_00_in_shanghai() -> None:
    slot = datetime(2026, 3, 3, 13, 0, tzinfo=UTC)

    given(created()).when(lambda t: t.schedule(agent(), slot=slot)).refused(CallbackQuietHoursError)


def test_scheduling_is_refused_when_the_slot_has_no_time_zone() -> None:
    given(created()).when(lambda t: t.schedule(agent(), slot=shanghai(3, 10).replace(tzinfo=None))).refused(
        ValueError
    )


@pytest.mark.parametrize("at", [shanghai(3, 9, 0), shanghai(3, 20, 59)], ids=["09:00", "20:59"])
def test_attempting_is_recorded_when_made_within_calling_hours(at: datetime) -> None:
    given(created()).when(
        lambda t: t.attempt(agent(at=at), channel=CallbackChannel.PHONE, outcome=AttemptOutcome.NO_ANSWER)
    ).events(
        expect(
            CallbackAttempted,
            attempt_no=1,
            channel=CallbackChannel.PHONE,
            outcome=AttemptOutcome.NO_ANSWER,
            recorded_at=at,
        )
    )


@pytest.mark.parametrize("at", [shanghai(3, 21, 0), shanghai(4, 8, 59)], ids=["21:00", "08:59"])
def test_attempting_is_refused_when_made_in_quiet_hours(at: datetime) -> None:
    given(created()).when(
        lambda t: t.attempt(agent(at=at), channel=CallbackChannel.PHONE, outcome=AttemptOutcome.NO_ANSWER)
    ).refused(CallbackQuietHoursError)


@pytest.mark.parametrize(
    ("proposed", "planned"),
    [
        (shanghai(3, 20, 59), shanghai(3, 20, 59)),
        (shanghai(3, 21, 0), shanghai(4, 9, 0)),
        (shanghai(3, 23, 45), shanghai(4, 9, 0)),
        (shanghai(4, 0, 0), shanghai(4, 9, 0)),
        (shanghai(4, 8, 59), shanghai(4, 9, 0)),
        (datetime(2026, 3, 31, 14, 30, tzinfo=UTC), datetime(2026, 4, 1, 9, 0, tzinfo=SHANGHAI)),
    ],
    ids=["20:59 stays", "21:00", "23:45", "00:00", "08:59", "22:30 on 31 March (UTC given)"],
)
def test_a_slot_the_system_proposes_in_quiet_hours_moves_to_09_00(
    proposed: datetime, planned: datetime
) -> None:
    then = given(created()).when(lambda t: t.schedule(system(), slot=proposed))

    then.events(expect(CallbackScheduled, slot=planned))


def test_the_next_attempt_after_a_20_50_no_answer_waits_for_09_00_the_next_morning() -> None:
    task = created()

    assert task.next_attempt_at(shanghai(3, 20, 50)) == shanghai(3, 20, 50)
    assert task.next_attempt_at(shanghai(3, 21, 5)) == shanghai(4, 9, 0)


def test_the_next_attempt_is_the_planned_slot_when_it_is_later_than_now() -> None:
    task = created()
    task.schedule(agent(), slot=shanghai(5, 14, 0))

    assert task.next_attempt_at(shanghai(3, 22, 0)) == shanghai(5, 14, 0)


# ---------------------------------------------------------------------------------- completion


def test_completing_a_new_policy_callback_is_refused_naming_the_checks_when_some_are_unanswered() -> None:
    answers = {**ALL_CHECKS, NewPolicyCheck.KNOWS_SURRENDER_LOSS.value: " "}
    del answers[NewPolicyCheck.KNOWS_COOLING_OFF.value]

    error = (
        given(reached())
        .when(lambda t: t.complete(agent(), answers=answers))
        .refused(NewPolicyCheckUnansweredError)
    )

    assert isinstance(error, NewPolicyCheckUnansweredError)
    assert error.missing == (NewPolicyCheck.KNOWS_SURRENDER_LOSS, NewPolicyCheck.KNOWS_COOLING_OFF)
    assert "knows_cooling_off" in str(error)


def test_completing_a_new_policy_callback_records_the_answers_when_all_seven_are_answered() -> None:
    then = given(reached()).when(lambda t: t.complete(agent(), answers=ALL_CHECKS))

    then.events(expect(CallbackCompleted, answers=ALL_CHECKS))


def test_completing_a_survey_callback_needs_no_new_policy_checks_when_the_customer_was_reached() -> None:
    given(reached(CallbackType.SURVEY)).when(
        lambda t: t.complete(agent(), answers={"satisfied": "yes"})
    ).events(expect(CallbackCompleted, answers={"satisfied": "yes"}))


def test_completing_is_refused_when_the_customer_was_not_reached() -> None:
    given(not_reached()).when(lambda t: t.complete(agent(), answers=ALL_CHECKS)).refused(
        CallbackNotReachedError
    )


def test_completing_is_refused_when_the_task_is_a_remediation() -> None:
    given(reached(CallbackType.MIS_SELLING_REMEDIATION)).when(
        lambda t: t.complete(ctx(Role.COMPLAINTS_OFFICER), answers={})
    ).refused(WrongCallbackTypeError)


# ---------------------------------------------------------------------------------- caller is not the seller


def test_calling_back_is_recorded_when_the_caller_did_not_sell_the_policy() -> None:
    given(created()).when(
        lambda t: t.attempt(agent("agent-2"), channel=CallbackChannel.PHONE, outcome=AttemptOutcome.REACHED)
    ).events(
        expect(
            CallbackAttempted,
            attempt_no=1,
            channel=CallbackChannel.PHONE,
            outcome=AttemptOutcome.REACHED,
            actor=Actor(id="agent-2", role=Role.CALLBACK_AGENT),
        )
    )


def test_calling_back_is_refused_when_the_caller_sold_the_policy() -> None:
    given(created()).when(
        lambda t: t.attempt(agent(SELLER), channel=CallbackChannel.PHONE, outcome=AttemptOutcome.REACHED)
    ).refused(CallerIsSellerError)


def test_completing_is_refused_when_the_caller_sold_the_policy() -> None:
    given(reached()).when(lambda t: t.complete(agent(SELLER), answers=ALL_CHECKS)).refused(
        CallerIsSellerError
    )


def test_scheduling_is_refused_when_the_scheduler_sold_the_policy() -> None:
    given(created()).when(lambda t: t.schedule(agent(SELLER), slot=shanghai(3, 10))).refused(
        CallerIsSellerError
    )


def test_failing_is_refused_when_the_caller_sold_the_policy() -> None:
    given(not_reached()).when(lambda t: t.fail(agent(SELLER), reason="x")).refused(CallerIsSellerError)


def test_caller_is_seller_is_a_four_eyes_rule_when_mapped_by_the_api() -> None:
    assert issubclass(CallerIsSellerError, FourEyesError)


def test_calling_back_is_refused_when_the_caller_is_a_seller_of_another_policy() -> None:
    given(created()).when(
        lambda t: t.attempt(
            ctx(Role.SELLER, "seller-9"), channel=CallbackChannel.PHONE, outcome=AttemptOutcome.REACHED
        )
    ).refused(ActorRoleError)


def test_calling_back_is_recorded_when_a_supervisor_calls() -> None:
    supervisor = ctx(Role.SUPERVISOR)

    given(created()).when(
        lambda t: t.attempt(supervisor, channel=CallbackChannel.PHONE, outcome=AttemptOutcome.REACHED)
    ).events(
        expect(
            CallbackAttempted,
            attempt_no=1,
            channel=CallbackChannel.PHONE,
            outcome=AttemptOutcome.REACHED,
            actor=supervisor.actor,
        )
    )


def test_calling_back_is_refused_when_a_complaints_officer_calls_on_a_new_policy() -> None:
    given(created()).when(
        lambda t: t.attempt(
            ctx(Role.COMPLAINTS_OFFICER), channel=CallbackChannel.PHONE, outcome=AttemptOutcome.REACHED
        )
    ).refused(ActorRoleError)


# ---------------------------------------------------------------------------------- remediation by non-sales


@pytest.mark.parametrize("role", [Role.CALLBACK_AGENT, Role.SUPERVISOR, Role.COMPLAINTS_OFFICER])
def test_remedying_is_recorded_when_non_sales_staff_remedy(role: Role) -> None:
    staff = ctx(role)

    given(remediation()).when(
        lambda t: t.remedy(staff, action="re-explained", summary="keeps policy")
    ).events(expect(MisSellingRemedied, action="re-explained", summary="keeps policy", actor=staff.actor))


def test_remedying_is_refused_when_the_actor_is_sales_staff() -> None:
    given(remediation()).when(
        lambda t: t.remedy(ctx(Role.SELLER, "seller-9"), action="re-explained", summary="x")
    ).refused(RemediationBySalesStaffError)


def test_remedying_is_refused_when_the_actor_sold_the_policy_under_another_role() -> None:
    given(remediation()).when(
        lambda t: t.remedy(ctx(Role.COMPLAINTS_OFFICER, SELLER), action="re-explained", summary="x")
    ).refused(RemediationBySalesStaffError)


def test_calling_on_a_remediation_is_refused_when_the_caller_is_sales_staff() -> None:
    given(remediation()).when(
        lambda t: t.attempt(
            ctx(Role.SELLER, "seller-9"), channel=CallbackChannel.PHONE, outcome=AttemptOutcome.REACHED
        )
    ).refused(RemediationBySalesStaffError)


def test_remedying_is_refused_when_the_actor_is_an_auditor() -> None:
    given(remediation()).when(lambda t: t.remedy(ctx(Role.AUDITOR), action="x", summary="x")).refused(
        ActorRoleError
    )


def test_remedying_is_refused_when_the_task_is_not_a_remediation() -> None:
    given(reached()).when(lambda t: t.remedy(agent(), action="x", summary="x")).refused(
        WrongCallbackTypeError
    )


def test_remediation_by_sales_staff_is_a_four_eyes_rule_when_mapped_by_the_api() -> None:
    assert issubclass(RemediationBySalesStaffError, FourEyesError)


# ---------------------------------------------------------------------------------- issues are facts


def test_finding_mis_selling_names_the_remediation_task_but_does_not_complete_the_callback() -> None:
    then = given(reached()).when(
        lambda t: t.find_issue(agent(), issue=CallbackIssue.MIS_SELLING, details="x")
    )

    (event,) = then.events(
        expect(
            CallbackIssueFound,
            issue=CallbackIssue.MIS_SELLING,
            details="x",
            customer_id="C-1",
            seller_id=SELLER,
            source_case_id=POLICY_ID,
        )
    )
    assert isinstance(event, CallbackIssueFound)
    assert event.remediation_task_id == CallbackTask.task_id_for(
        CallbackType.MIS_SELLING_REMEDIATION, event.issue_id
    )
    assert then.aggregate.status is CallbackStatus.ATTEMPTED


def test_finding_a_proxy_signature_names_a_remediation_task_when_found() -> None:
    then = given(reached()).when(
        lambda t: t.find_issue(agent(), issue=CallbackIssue.PROXY_SIGNATURE, details="x")
    )

    (event,) = then.events(expect(CallbackIssueFound, issue=CallbackIssue.PROXY_SIGNATURE, details="x"))
    assert isinstance(event, CallbackIssueFound)
    assert event.remediation_task_id is not None
    assert event.remediation_task_id == CallbackTask.task_id_for(
        CallbackType.MIS_SELLING_REMEDIATION, event.issue_id
    )


def test_finding_a_wish_to_cancel_names_no_remediation_task_when_found() -> None:
    then = given(reached()).when(
        lambda t: t.find_issue(agent(), issue=CallbackIssue.WANTS_CANCEL, details="x")
    )

    then.events(
        expect(CallbackIssueFound, issue=CallbackIssue.WANTS_CANCEL, details="x", remediation_task_id=None)
    )


def test_finding_an_issue_on_a_remediation_names_no_further_remediation_when_found() -> None:
    then = given(remediation()).when(
        lambda t: t.find_issue(ctx(Role.COMPLAINTS_OFFICER), issue=CallbackIssue.MIS_SELLING, details="x")
    )

    then.events(
        expect(CallbackIssueFound, issue=CallbackIssue.MIS_SELLING, details="x", remediation_task_id=None)
    )


def test_finding_an_issue_gives_the_same_issue_id_when_the_history_is_replayed() -> None:
    first, second = reached(), reached()
    first.find_issue(agent(), issue=CallbackIssue.MIS_SELLING, details="x")
    second.find_issue(agent(), issue=CallbackIssue.MIS_SELLING, details="x")

    issue_ids = [
        e.issue_id for t in (first, second) for e in t.collect_events() if isinstance(e, CallbackIssueFound)
    ]

    assert issue_ids[0] == issue_ids[1]


def test_completing_is_recorded_when_an_issue_was_found_before() -> None:
    task = reached()
    task.find_issue(agent(), issue=CallbackIssue.EXCLUSIONS_UNKNOWN, details="never heard of exclusions")

    given(task).when(lambda t: t.complete(agent(), answers=ALL_CHECKS)).events(
        expect(CallbackCompleted, answers=ALL_CHECKS)
    )


def test_finding_an_issue_is_refused_when_the_finder_sold_the_policy() -> None:
    given(reached()).when(
        lambda t: t.find_issue(agent(SELLER), issue=CallbackIssue.MIS_SELLING, details="x")
    ).refused(CallerIsSellerError)


# ---------------------------------------------------------------------------------- failure


def test_failing_records_the_attempts_when_the_customer_cannot_be_reached() -> None:
    then = given(not_reached()).when(lambda t: t.fail(system(), reason="3 attempts", fallback="letter"))

    then.events(expect(CallbackFailed, attempts=1, reason="3 attempts", fallback="letter"))


def test_failing_is_recorded_when_a_callback_agent_gives_up() -> None:
    given(not_reached()).when(
        lambda t: t.fail(agent(), reason="number disconnected", fallback="visit")
    ).events(expect(CallbackFailed, attempts=1, reason="number disconnected", fallback="visit"))


def test_failing_is_refused_when_the_task_already_failed() -> None:
    given(failed()).when(lambda t: t.fail(system(), reason="again")).refused(InvalidTransitionError)


def test_attempting_is_recorded_when_a_fallback_visit_follows_a_failure() -> None:
    then = given(failed()).when(
        lambda t: t.attempt(agent(), channel=CallbackChannel.VISIT, outcome=AttemptOutcome.REACHED)
    )

    then.events(
        expect(CallbackAttempted, attempt_no=2, channel=CallbackChannel.VISIT, outcome=AttemptOutcome.REACHED)
    )
    assert then.aggregate.status is CallbackStatus.ATTEMPTED


# ---------------------------------------------------------------------------------- cancellation and ends


@pytest.mark.parametrize("role", [Role.SYSTEM, Role.SUPERVISOR])
def test_cancelling_stops_the_task_when_done_by_the_system_or_a_supervisor(role: Role) -> None:
    then = given(created()).when(lambda t: t.cancel(ctx(role), reason="policy cancelled"))

    then.events(expect(CallbackCancelled, reason="policy cancelled"))
    assert then.aggregate.status is CallbackStatus.CANCELLED


def test_cancelling_is_refused_when_done_by_a_callback_agent() -> None:
    given(created()).when(lambda t: t.cancel(agent(), reason="x")).refused(ActorRoleError)


STEPS: dict[str, Callable[[CallbackTask], Any]] = {
    "schedule": lambda t: t.schedule(agent(), slot=shanghai(5, 10)),
    "attempt": lambda t: t.attempt(agent(), channel=CallbackChannel.PHONE, outcome=AttemptOutcome.REACHED),
    "complete": lambda t: t.complete(agent(), answers=ALL_CHECKS),
    "fail": lambda t: t.fail(system(), reason="x"),
    "find_issue": lambda t: t.find_issue(agent(), issue=CallbackIssue.MIS_SELLING, details="x"),
    "cancel": lambda t: t.cancel(system(), reason="x"),
}
REMEDIATION_STEPS: dict[str, Callable[[CallbackTask], Any]] = {
    **STEPS,
    "remedy": lambda t: t.remedy(ctx(Role.COMPLAINTS_OFFICER), action="x", summary="x"),
}
REMEDIATION_STEPS.pop("complete")


@pytest.mark.parametrize("step", STEPS.values(), ids=list(STEPS))
def test_a_completed_task_refuses_every_step_when_asked(step: Callable[[CallbackTask], Any]) -> None:
    given(completed()).when(step).refused(InvalidTransitionError)


@pytest.mark.parametrize("step", STEPS.values(), ids=list(STEPS))
def test_a_cancelled_task_refuses_every_step_when_asked(step: Callable[[CallbackTask], Any]) -> None:
    given(cancelled()).when(step).refused(InvalidTransitionError)


@pytest.mark.parametrize("step", REMEDIATION_STEPS.values(), ids=list(REMEDIATION_STEPS))
def test_a_remedied_task_refuses_every_step_when_asked(step: Callable[[CallbackTask], Any]) -> None:
    given(remedied()).when(step).refused(InvalidTransitionError)
