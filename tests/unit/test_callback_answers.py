"""回访 The seven new-policy checks answered, as Given / When / Then: seven yeses and a recording complete the
callback; a "no" records what it found (proxy signature, unexplained exclusions, mis-selling) and leaves
the task open; an unclear answer or a missing recording is refused."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

from domain.base import Role
from domain.callback import (
    AttemptOutcome,
    CallbackChannel,
    CallbackCompleted,
    CallbackIssue,
    CallbackIssueFound,
    CallbackNotReachedError,
    CallbackRecordingRequiredError,
    CallbackStatus,
    CallbackTask,
    CallbackType,
    NewPolicyCheck,
    NewPolicyCheckAnswerUnclearError,
)
from tests.gwt import T0, ctx, expect, given

POLICY_ID = uuid4()
ALL_YES = {check.value: "yes" for check in NewPolicyCheck}
RECORDING = "REC-CB-0042"


def reached(
    task_type: CallbackType = CallbackType.NEW_POLICY, recording_ref: str | None = RECORDING
) -> CallbackTask:
    task = CallbackTask.create(
        ctx(Role.SYSTEM, "caseledger"),
        task_type=task_type,
        source_event_id=uuid4(),
        source_case_id=POLICY_ID,
        customer_id="CUST-1",
        due_by=T0 + timedelta(days=15),
        seller_id="li.na.seller",
    )
    task.attempt(
        ctx(Role.CALLBACK_AGENT, "he.ping.callback", T0),
        channel=CallbackChannel.PHONE,
        outcome=AttemptOutcome.REACHED,
        recording_ref=recording_ref,
    )
    return task


def answering(**changed: str) -> dict[str, str]:
    return {**ALL_YES, **changed}


def test_a_new_policy_callback_completes_with_its_recording_when_all_seven_are_yes() -> None:
    then = given(reached()).when(
        lambda t: t.complete(ctx(Role.CALLBACK_AGENT, "he.ping.callback"), answers=ALL_YES)
    )

    then.events(expect(CallbackCompleted, answers=ALL_YES, recording_ref=RECORDING))


def test_a_no_to_signing_personally_records_a_proxy_signature_instead_of_completing() -> None:
    then = given(reached()).when(
        lambda t: t.complete(
            ctx(Role.CALLBACK_AGENT, "he.ping.callback"), answers=answering(bought_and_signed_personally="no")
        )
    )

    [found] = then.new_events
    then.events(
        expect(
            CallbackIssueFound,
            issue=CallbackIssue.PROXY_SIGNATURE,
            details="new-policy callback answered no: bought_and_signed_personally = 'no'",
            source_case_id=POLICY_ID,
            seller_id="li.na.seller",
        )
    )
    assert isinstance(found, CallbackIssueFound)
    assert found.remediation_task_id is not None
    assert then.aggregate.status is CallbackStatus.ATTEMPTED


def test_a_no_to_knowing_the_exclusions_records_unexplained_exclusions() -> None:
    then = given(reached()).when(
        lambda t: t.complete(
            ctx(Role.CALLBACK_AGENT, "he.ping.callback"), answers=answering(knows_cover_exclusions_term="否")
        )
    )

    then.events(
        expect(
            CallbackIssueFound,
            issue=CallbackIssue.EXCLUSIONS_UNKNOWN,
            details="new-policy callback answered no: knows_cover_exclusions_term = '否'",
        )
    )


def test_several_noes_record_each_issue_once_naming_every_check_that_found_it() -> None:
    answers = answering(
        knows_surrender_loss="No", knows_cooling_off="不知道", bought_and_signed_personally="n"
    )

    then = given(reached()).when(
        lambda t: t.complete(ctx(Role.CALLBACK_AGENT, "he.ping.callback"), answers=answers)
    )

    then.events(
        expect(
            CallbackIssueFound,
            issue=CallbackIssue.PROXY_SIGNATURE,
            details="new-policy callback answered no: bought_and_signed_personally = 'n'",
        ),
        expect(
            CallbackIssueFound,
            issue=CallbackIssue.MIS_SELLING,
            details="new-policy callback answered no: "
            "knows_surrender_loss = 'No', knows_cooling_off = '不知道'",
        ),
    )


def test_a_repeated_no_records_nothing_when_its_issue_was_found_already() -> None:
    task = reached()
    task.complete(ctx(Role.CALLBACK_AGENT, "he.ping.callback"), answers=answering(knows_cooling_off="no"))

    given(task).when(
        lambda t: t.complete(
            ctx(Role.CALLBACK_AGENT, "he.ping.callback"), answers=answering(knows_cooling_off="no")
        )
    ).events()


def test_completing_is_refused_when_the_respondent_is_not_the_applicant() -> None:
    given(reached()).when(
        lambda t: t.complete(
            ctx(Role.CALLBACK_AGENT, "he.ping.callback"), answers=answering(applicant_is_respondent="no")
        )
    ).refused(CallbackNotReachedError)


def test_completing_is_refused_when_an_answer_is_neither_yes_nor_no() -> None:
    given(reached()).when(
        lambda t: t.complete(
            ctx(Role.CALLBACK_AGENT, "he.ping.callback"), answers=answering(knows_surrender_loss="sort of")
        )
    ).refused(NewPolicyCheckAnswerUnclearError)


def test_completing_is_refused_when_no_recording_is_named() -> None:
    given(reached(recording_ref=None)).when(
        lambda t: t.complete(ctx(Role.CALLBACK_AGENT, "he.ping.callback"), answers=ALL_YES)
    ).refused(CallbackRecordingRequiredError)


def test_completing_records_the_recording_named_with_the_answers_when_the_attempt_named_none() -> None:
    given(reached(recording_ref=None)).when(
        lambda t: t.complete(
            ctx(Role.CALLBACK_AGENT, "he.ping.callback"), answers=ALL_YES, recording_ref="REC-CB-0099"
        )
    ).events(expect(CallbackCompleted, answers=ALL_YES, recording_ref="REC-CB-0099"))


def test_a_survey_callback_completes_without_a_recording_when_the_customer_is_satisfied() -> None:
    given(reached(CallbackType.SURVEY, recording_ref=None)).when(
        lambda t: t.complete(ctx(Role.CALLBACK_AGENT, "he.ping.callback"), answers={"satisfied": "yes"})
    ).events(expect(CallbackCompleted, answers={"satisfied": "yes"}, recording_ref=None))
