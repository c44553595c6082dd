"""投诉 Complaint rules, as Given / When / Then: recusal, the 15 → 30 → 60 day period, the paused clock,
remedies in the response, the 30-day review window, withdrawal and closure."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest

from domain.base import Actor, ActorRoleError, Context, FourEyesError, InvalidTransitionError, Role
from domain.complaint import (
    AppraisalInProgressError,
    Complaint,
    ComplaintAcknowledged,
    ComplaintAssigned,
    ComplaintCategory,
    ComplaintChannel,
    ComplaintClassified,
    ComplaintClosed,
    ComplaintDeadlineExtended,
    ComplaintEscalatedExternally,
    ComplaintExtensionApproved,
    ComplaintExtensionBeyondSixtyDaysError,
    ComplaintHandlerInvolvedError,
    ComplaintLodged,
    ComplaintNewFactsReceived,
    ComplaintOutcome,
    ComplaintReopened,
    ComplaintResponded,
    ComplaintReviewDecided,
    ComplaintReviewerIsResponderError,
    ComplaintReviewRequested,
    ComplaintStatus,
    ComplaintTimeInFutureError,
    ComplaintWithdrawn,
    Complexity,
    ExtensionForSimpleComplaintError,
    ExtensionNeedsSeniorApprovalError,
    ExtensionNoticeRequiredError,
    ExtensionOutOfOrderError,
    ExtensionReasonRequiredError,
    ExternalAppraisalCompleted,
    ExternalAppraisalStarted,
    ExternalBody,
    NoAppraisalInProgressError,
    Remedy,
    ResponseWithoutRemediesError,
    ReviewResult,
    ReviewWindowClosedError,
    SubjectKind,
    SubjectRef,
    review_window_closes_at,
)
from tests.gwt import T0, ctx, expect, given, refuses

SHANGHAI = ZoneInfo("Asia/Shanghai")
SELLER = "seller-7"  # sold the policy complained about
HANDLER = "officer-2"
ALL_REMEDIES = (Remedy.REVIEW, Remedy.MEDIATION, Remedy.ARBITRATION, Remedy.LITIGATION)
SENIOR = Actor(id="senior-1", role=Role.SENIOR_MANAGER)


def shanghai(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


def officer(actor: str = "officer-1", at: datetime = T0) -> Context:
    return ctx(Role.COMPLAINTS_OFFICER, actor, at)


# ------------------------------------------------------------------------------------------ histories


def lodged(channel: ComplaintChannel = ComplaintChannel.HOTLINE) -> Complaint:
    return Complaint.lodge(
        officer(),
        complaint_id=uuid4(),
        received_at=T0 - timedelta(hours=1),
        category=ComplaintCategory.SALES,
        channel=channel,
        subject_ref=SubjectRef(kind=SubjectKind.POLICY, ref="P-2026-0001"),
        customer_id="C-1",
        complainant_name="张三",
        complainant_phone="13800000000",
        facts="the seller did not explain the surrender loss",
        demands="full refund",
        involved_staff=frozenset({SELLER}),
    )


def acknowledged() -> Complaint:
    complaint = lodged()
    complaint.acknowledge(officer(), channel="sms")
    return complaint


def assigned() -> Complaint:
    complaint = acknowledged()
    complaint.assign(officer("supervisor-1"), handler_id=HANDLER, involved_staff=frozenset({"underwriter-3"}))
    return complaint


def investigating(complexity: Complexity = Complexity.COMPLEX) -> Complaint:
    complaint = assigned()
    complaint.classify(officer(HANDLER), complexity=complexity)
    return complaint


def paused() -> Complaint:
    complaint = investigating()
    complaint.start_appraisal(officer(HANDLER), provider="forensic lab", purpose="signature comparison")
    return complaint


def extended_to_30() -> Complaint:
    complaint = investigating()
    complaint.extend(officer(HANDLER), to_days=30, reason="needs the sales recording")
    return complaint


def approved_to_60() -> Complaint:
    complaint = extended_to_30()
    complaint.approve_extension(ctx(Role.SENIOR_MANAGER, SENIOR.id), to_days=60, reason="special")
    return complaint


def extended_to_60() -> Complaint:
    complaint = approved_to_60()
    complaint.extend(officer(HANDLER), to_days=60, reason="special", customer_notified_at=T0)
    return complaint


DELIVERED = shanghai(3, 10, 15)
AFTER = shanghai(3, 20, 10)  # after the response, inside the review window


def responded(responder: str = HANDLER) -> Complaint:
    complaint = investigating()
    complaint.respond(
        officer(responder, at=DELIVERED),
        decision="policy cancelled with full refund",
        verification_summary="sales recording reviewed",
        basis="Sales Conduct Measures",
        remedies=ALL_REMEDIES,
        channel="letter",
        delivered_at=DELIVERED,
    )
    return complaint


def review_requested() -> Complaint:
    complaint = responded()
    complaint.request_review(officer(at=AFTER), reason="refund too low")
    return complaint


def closed() -> Complaint:
    complaint = responded()
    complaint.close(officer(HANDLER, at=shanghai(4, 15, 10)), outcome=ComplaintOutcome.UPHELD)
    return complaint


def withdrawn() -> Complaint:
    complaint = investigating()
    complaint.withdraw(officer(HANDLER), reason="settled with the branch")
    return complaint


def respond_to(
    complaint: Complaint, *, remedies: tuple[Remedy, ...] = ALL_REMEDIES, actor: str = HANDLER
) -> None:
    complaint.respond(
        officer(actor),
        decision="upheld",
        verification_summary="recording reviewed",
        basis="contract clause 7",
        remedies=remedies,
        channel="letter",
        delivered_at=T0,
    )


# What respond_to records: the delivery is also the event's business time, from which review is counted.
RESPONSE = expect(
    ComplaintResponded,
    decision="upheld",
    verification_summary="recording reviewed",
    basis="contract clause 7",
    remedies=ALL_REMEDIES,
    channel="letter",
    delivered_at=T0,
    occurred_at=T0,
)


# ------------------------------------------------------------------------------------------ happy path


def test_complaint_runs_from_lodging_to_closure_when_every_rule_is_kept() -> None:
    def work(complaint: Complaint) -> None:
        complaint.acknowledge(officer(), channel="sms")
        complaint.assign(
            officer("supervisor-1"), handler_id=HANDLER, involved_staff=frozenset({"adjuster-4"})
        )
        complaint.classify(officer(HANDLER), complexity=Complexity.SPECIAL)
        complaint.start_appraisal(
            officer(HANDLER), provider="lab", purpose="signature", customer_notified_at=T0
        )
        complaint.complete_appraisal(officer(HANDLER), result_summary="signature is not the applicant's")
        complaint.receive_new_facts(officer(HANDLER), facts="a second witness")
        complaint.extend(officer(HANDLER), to_days=30, reason="witness to be heard")
        complaint.approve_extension(ctx(Role.SENIOR_MANAGER, SENIOR.id), to_days=60, reason="special")
        complaint.extend(officer(HANDLER), to_days=60, reason="special", customer_notified_at=T0)
        respond_to(complaint)
        complaint.request_review(officer(), reason="wants interest too")
        complaint.decide_review(
            ctx(Role.SENIOR_MANAGER, "senior-1"), result=ReviewResult.UPHELD, decision="stands"
        )
        complaint.close(officer(HANDLER), outcome=ComplaintOutcome.UPHELD)

    then = given(lodged()).when(work)

    then.events(
        expect(ComplaintAcknowledged, channel="sms"),
        expect(ComplaintAssigned, handler_id=HANDLER, involved_staff=("adjuster-4",)),
        # No category given: the one recorded at lodging is confirmed.
        expect(ComplaintClassified, complexity=Complexity.SPECIAL, category=ComplaintCategory.SALES),
        expect(ExternalAppraisalStarted, provider="lab", purpose="signature", customer_notified_at=T0),
        expect(ExternalAppraisalCompleted, result_summary="signature is not the applicant's"),
        # No receipt time given: the facts count as received when recorded.
        expect(ComplaintNewFactsReceived, facts="a second witness", occurred_at=T0),
        expect(
            ComplaintDeadlineExtended, from_days=15, to_days=30, reason="witness to be heard", approver=None
        ),
        expect(ComplaintExtensionApproved, to_days=60, reason="special", actor=SENIOR),
        expect(
            ComplaintDeadlineExtended,
            from_days=30,
            to_days=60,
            reason="special",
            approver=SENIOR,
            customer_notified_at=T0,
        ),
        RESPONSE,
        expect(ComplaintReviewRequested, reason="wants interest too", occurred_at=T0),
        expect(
            ComplaintReviewDecided,
            result=ReviewResult.UPHELD,
            decision="stands",
            actor=Actor(id="senior-1", role=Role.SENIOR_MANAGER),
        ),
        expect(ComplaintClosed, outcome=ComplaintOutcome.UPHELD),
    )
    assert then.aggregate.status is ComplaintStatus.CLOSED
    assert then.aggregate.deadline_days == 60


# ------------------------------------------------------------------------------------------ lodging


def test_lodging_starts_the_clock_at_receipt_when_received_before_recording() -> None:
    complaint = lodged()

    event = complaint.collect_events()[0]

    assert isinstance(event, ComplaintLodged)
    assert event.occurred_at == T0 - timedelta(hours=1)
    assert complaint.clock_started_at == T0 - timedelta(hours=1)
    assert complaint.deadline_days == 15
    assert complaint.paused is False


def test_lodging_is_refused_when_receipt_is_after_recording() -> None:
    with refuses(ComplaintTimeInFutureError):
        Complaint.lodge(
            officer(),
            complaint_id=uuid4(),
            received_at=T0 + timedelta(minutes=1),
            category=ComplaintCategory.CLAIMS,
            channel=ComplaintChannel.ONLINE,
            subject_ref=SubjectRef(kind=SubjectKind.CLAIM, ref="CL-1"),
            customer_id="C-1",
            complainant_name="李四",
            complainant_phone="13900000000",
            facts="slow payment",
            demands="pay now",
        )


def test_lodging_is_refused_when_the_receipt_time_has_no_time_zone() -> None:
    with refuses(ValueError):
        Complaint.lodge(
            officer(),
            complaint_id=uuid4(),
            received_at=T0.replace(tzinfo=None),
            category=ComplaintCategory.CLAIMS,
            channel=ComplaintChannel.LETTER,
            subject_ref=SubjectRef(kind=SubjectKind.CLAIM, ref="CL-1"),
            customer_id="C-1",
            complainant_name="李四",
            complainant_phone="13900000000",
            facts="slow payment",
            demands="pay now",
        )


def test_lodging_marks_the_complainant_as_personal_data_when_recorded() -> None:
    assert set(ComplaintLodged.personal_fields()) == {"complainant_name", "complainant_phone"}


def test_lodging_flags_regulator_reporting_when_transferred_by_the_regulator() -> None:
    assert lodged(ComplaintChannel.REGULATOR_TRANSFER).regulator_reportable is True


def test_acknowledging_is_recorded_when_complaint_was_lodged() -> None:
    given(lodged()).when(lambda c: c.acknowledge(officer(), channel="sms")).events(
        expect(ComplaintAcknowledged, channel="sms")
    )


# ------------------------------------------------------------------------------------------ recusal


def test_assigning_records_the_handler_when_handler_has_no_part_in_the_case() -> None:
    then = given(acknowledged()).when(
        lambda c: c.assign(officer(), handler_id=HANDLER, involved_staff=frozenset({"adjuster-4"}))
    )

    then.events(expect(ComplaintAssigned, handler_id=HANDLER, involved_staff=("adjuster-4",)))
    assert then.aggregate.handler_id == HANDLER


def test_assigning_is_refused_when_handler_worked_on_the_subject_case() -> None:
    given(acknowledged()).when(
        lambda c: c.assign(officer(), handler_id="adjuster-4", involved_staff=frozenset({"adjuster-4"}))
    ).refused(ComplaintHandlerInvolvedError)


def test_assigning_is_refused_when_handler_was_named_as_involved_at_lodging() -> None:
    given(acknowledged()).when(
        lambda c: c.assign(officer(), handler_id=SELLER, involved_staff=frozenset())
    ).refused(ComplaintHandlerInvolvedError)


def test_reassigning_is_refused_when_handler_was_named_as_involved_at_an_earlier_assignment() -> None:
    given(investigating()).when(
        lambda c: c.assign(officer(), handler_id="underwriter-3", involved_staff=frozenset())
    ).refused(ComplaintHandlerInvolvedError)


def test_reassigning_keeps_the_investigation_going_when_the_new_handler_is_free() -> None:
    then = given(investigating()).when(
        lambda c: c.assign(officer(), handler_id="officer-9", involved_staff=frozenset())
    )

    then.events(expect(ComplaintAssigned, handler_id="officer-9", involved_staff=()))
    assert then.aggregate.status is ComplaintStatus.INVESTIGATING


def test_recusal_is_a_four_eyes_rule_when_mapped_by_the_api() -> None:
    assert issubclass(ComplaintHandlerInvolvedError, FourEyesError)


# ------------------------------------------------------------------------------------------ classification


def test_classifying_starts_the_investigation_when_assigned() -> None:
    then = given(assigned()).when(lambda c: c.classify(officer(HANDLER), complexity=Complexity.SIMPLE))

    then.events(
        expect(
            ComplaintClassified, complexity=Complexity.SIMPLE, category=ComplaintCategory.SALES, product=None
        )
    )
    assert then.aggregate.status is ComplaintStatus.INVESTIGATING


def test_classifying_corrects_the_category_when_one_is_given() -> None:
    then = given(assigned()).when(
        lambda c: c.classify(
            officer(HANDLER), complexity=Complexity.COMPLEX, category=ComplaintCategory.SURRENDER
        )
    )

    then.events(
        expect(ComplaintClassified, complexity=Complexity.COMPLEX, category=ComplaintCategory.SURRENDER)
    )
    assert then.aggregate.category is ComplaintCategory.SURRENDER


def test_classifying_is_refused_when_no_handler_is_assigned() -> None:
    given(acknowledged()).when(lambda c: c.classify(officer(), complexity=Complexity.SIMPLE)).refused(
        InvalidTransitionError
    )


# ------------------------------------------------------------------------------------------ appraisal pause


def test_starting_an_appraisal_pauses_the_clock_when_investigating() -> None:
    then = given(investigating()).when(
        lambda c: c.start_appraisal(officer(HANDLER), provider="lab", purpose="x")
    )

    then.events(expect(ExternalAppraisalStarted, provider="lab", purpose="x", customer_notified_at=None))
    assert then.aggregate.paused is True


def test_starting_an_appraisal_is_refused_when_one_is_running() -> None:
    given(paused()).when(lambda c: c.start_appraisal(officer(HANDLER), provider="lab", purpose="x")).refused(
        AppraisalInProgressError
    )


def test_completing_an_appraisal_resumes_the_clock_when_one_is_running() -> None:
    then = given(paused()).when(lambda c: c.complete_appraisal(officer(HANDLER), result_summary="forged"))

    then.events(expect(ExternalAppraisalCompleted, result_summary="forged"))
    assert then.aggregate.paused is False


def test_completing_an_appraisal_is_refused_when_none_is_running() -> None:
    given(investigating()).when(lambda c: c.complete_appraisal(officer(HANDLER), result_summary="x")).refused(
        NoAppraisalInProgressError
    )


def test_responding_is_refused_when_an_appraisal_is_running() -> None:
    given(paused()).when(respond_to).refused(AppraisalInProgressError)


def test_responding_is_allowed_when_the_appraisal_has_completed() -> None:
    complaint = paused()
    complaint.complete_appraisal(officer(HANDLER), result_summary="forged")

    given(complaint).when(respond_to).events(RESPONSE)


def test_extending_is_allowed_when_the_clock_is_paused() -> None:
    given(paused()).when(lambda c: c.extend(officer(HANDLER), to_days=30, reason="lab is slow")).events(
        expect(ComplaintDeadlineExtended, from_days=15, to_days=30, reason="lab is slow")
    )


# ------------------------------------------------------------------------------------------ new facts


def test_new_facts_restart_the_clock_from_their_receipt_when_received() -> None:
    received = T0 - timedelta(minutes=5)

    then = given(extended_to_30()).when(
        lambda c: c.receive_new_facts(officer(HANDLER), facts="a witness", received_at=received)
    )

    then.events(expect(ComplaintNewFactsReceived, facts="a witness", occurred_at=received))
    assert then.aggregate.clock_started_at == received
    assert then.aggregate.deadline_days == 30


def test_new_facts_are_refused_when_their_receipt_is_after_recording() -> None:
    given(investigating()).when(
        lambda c: c.receive_new_facts(officer(HANDLER), facts="x", received_at=T0 + timedelta(days=1))
    ).refused(ComplaintTimeInFutureError)


def test_new_facts_are_refused_when_the_complaint_was_answered() -> None:
    given(responded()).when(lambda c: c.receive_new_facts(officer(HANDLER), facts="x")).refused(
        InvalidTransitionError
    )


# ------------------------------------------------------------------------------------------ extension


def test_extending_to_30_days_records_from_and_to_when_a_reason_is_given() -> None:
    then = given(investigating()).when(
        lambda c: c.extend(officer(HANDLER), to_days=30, reason="complex facts")
    )

    then.events(
        expect(
            ComplaintDeadlineExtended,
            from_days=15,
            to_days=30,
            reason="complex facts",
            approver=None,
            customer_notified_at=None,
        )
    )
    assert then.aggregate.deadline_days == 30


def test_extending_to_30_days_is_refused_when_the_reason_is_blank() -> None:
    given(investigating()).when(lambda c: c.extend(officer(HANDLER), to_days=30, reason="  ")).refused(
        ExtensionReasonRequiredError
    )


def test_extending_is_refused_when_the_complaint_is_classified_simple() -> None:
    given(investigating(Complexity.SIMPLE)).when(
        lambda c: c.extend(officer(HANDLER), to_days=30, reason="busy")
    ).refused(ExtensionForSimpleComplaintError)


def test_extending_is_refused_when_the_complaint_is_not_yet_classified() -> None:
    given(assigned()).when(lambda c: c.extend(officer(HANDLER), to_days=30, reason="complex")).refused(
        InvalidTransitionError
    )


def test_extending_to_60_days_records_approver_and_notice_when_a_senior_manager_approved() -> None:
    notified = T0 - timedelta(hours=2)

    then = given(approved_to_60()).when(
        lambda c: c.extend(officer(HANDLER), to_days=60, reason="special", customer_notified_at=notified)
    )

    then.events(
        expect(
            ComplaintDeadlineExtended,
            from_days=30,
            to_days=60,
            reason="special",
            approver=SENIOR,
            customer_notified_at=notified,
        )
    )


def test_approving_60_days_is_refused_with_the_approval_rule_when_a_supervisor_approves() -> None:
    given(extended_to_30()).when(
        lambda c: c.approve_extension(ctx(Role.SUPERVISOR, "supervisor-1"), to_days=60, reason="x")
    ).refused(ExtensionNeedsSeniorApprovalError)


def test_extending_to_60_days_is_refused_when_there_is_no_approver() -> None:
    given(extended_to_30()).when(
        lambda c: c.extend(officer(HANDLER), to_days=60, reason="x", customer_notified_at=T0)
    ).refused(ExtensionNeedsSeniorApprovalError)


def test_extending_to_60_days_is_refused_when_the_complainant_was_not_notified() -> None:
    given(approved_to_60()).when(lambda c: c.extend(officer(HANDLER), to_days=60, reason="x")).refused(
        ExtensionNoticeRequiredError
    )


def test_extending_is_refused_when_the_period_would_exceed_60_days() -> None:
    given(extended_to_30()).when(
        lambda c: c.extend(officer(HANDLER), to_days=90, reason="x", customer_notified_at=T0)
    ).refused(ComplaintExtensionBeyondSixtyDaysError)


def test_extending_is_refused_when_60_days_are_reached_already() -> None:
    given(extended_to_60()).when(
        lambda c: c.extend(officer(HANDLER), to_days=60, reason="x", customer_notified_at=T0)
    ).refused(ExtensionOutOfOrderError)


def test_extending_is_refused_when_it_skips_the_30_day_step() -> None:
    given(investigating()).when(
        lambda c: c.extend(officer(HANDLER), to_days=60, reason="x", customer_notified_at=T0)
    ).refused(ExtensionOutOfOrderError)


# ------------------------------------------------------------------------------------------ response


def test_responding_records_decision_and_remedies_when_remedies_are_listed() -> None:
    then = given(investigating()).when(respond_to)

    then.events(RESPONSE)
    assert then.aggregate.status is ComplaintStatus.RESPONDED


def test_responding_is_refused_when_no_remedies_are_listed() -> None:
    given(investigating()).when(lambda c: respond_to(c, remedies=())).refused(ResponseWithoutRemediesError)


def test_responding_is_refused_when_the_responder_worked_on_the_subject_case() -> None:
    given(investigating()).when(lambda c: respond_to(c, actor=SELLER)).refused(ComplaintHandlerInvolvedError)


def test_responding_is_refused_when_delivery_is_after_recording() -> None:
    given(investigating()).when(
        lambda c: c.respond(
            officer(HANDLER),
            decision="d",
            verification_summary="v",
            basis="b",
            remedies=ALL_REMEDIES,
            channel="letter",
            delivered_at=T0 + timedelta(hours=1),
        )
    ).refused(ComplaintTimeInFutureError)


def test_responding_is_refused_when_the_complaint_is_not_yet_classified() -> None:
    given(assigned()).when(respond_to).refused(InvalidTransitionError)


# ------------------------------------------------------------------------------------------ review


def test_review_window_closes_at_midnight_after_the_30th_day_when_delivery_day_is_not_counted() -> None:
    assert review_window_closes_at(DELIVERED) == shanghai(4, 10, 0)


def test_review_request_is_accepted_when_received_on_the_30th_day() -> None:
    given(responded()).when(
        lambda c: c.request_review(officer(at=shanghai(4, 9, 23, 59)), reason="refund too low")
    ).events(expect(ComplaintReviewRequested, reason="refund too low", occurred_at=shanghai(4, 9, 23, 59)))


def test_review_request_is_refused_when_received_after_the_30th_day() -> None:
    given(responded()).when(
        lambda c: c.request_review(officer(at=shanghai(4, 10, 0, 0)), reason="refund too low")
    ).refused(ReviewWindowClosedError)


def test_review_request_is_accepted_when_received_in_time_but_recorded_late() -> None:
    then = given(responded()).when(
        lambda c: c.request_review(
            officer(at=shanghai(4, 13, 10)), reason="refund too low", received_at=shanghai(4, 9, 17)
        )
    )

    then.events(expect(ComplaintReviewRequested, reason="refund too low", occurred_at=shanghai(4, 9, 17)))


def test_review_request_is_refused_when_its_receipt_is_after_recording() -> None:
    given(responded()).when(
        lambda c: c.request_review(officer(at=AFTER), reason="x", received_at=AFTER + timedelta(days=1))
    ).refused(ComplaintTimeInFutureError)


def test_review_request_is_refused_when_the_complaint_was_not_answered() -> None:
    given(investigating()).when(lambda c: c.request_review(officer(), reason="x")).refused(
        InvalidTransitionError
    )


def test_review_decision_is_recorded_when_the_reviewer_did_not_make_the_decision() -> None:
    then = given(review_requested()).when(
        lambda c: c.decide_review(
            ctx(Role.SENIOR_MANAGER, "senior-1"), result=ReviewResult.REVISED, decision="pay"
        )
    )

    then.events(
        expect(
            ComplaintReviewDecided,
            result=ReviewResult.REVISED,
            decision="pay",
            actor=Actor(id="senior-1", role=Role.SENIOR_MANAGER),
        )
    )
    assert then.aggregate.status is ComplaintStatus.REVIEWED


def test_review_decision_is_refused_when_the_reviewer_made_the_decision() -> None:
    complaint = responded(responder="supervisor-1")
    complaint.request_review(officer(at=AFTER), reason="x")

    given(complaint).when(
        lambda c: c.decide_review(
            ctx(Role.SUPERVISOR, "supervisor-1"), result=ReviewResult.UPHELD, decision="d"
        )
    ).refused(ComplaintReviewerIsResponderError)


def test_review_decision_is_refused_when_the_reviewer_worked_on_the_subject_case() -> None:
    given(review_requested()).when(
        lambda c: c.decide_review(ctx(Role.SUPERVISOR, SELLER), result=ReviewResult.UPHELD, decision="d")
    ).refused(ComplaintHandlerInvolvedError)


# ------------------------------------------------------------------------------------------ ending


def test_closing_records_the_outcome_when_the_complaint_was_answered() -> None:
    then = given(responded()).when(
        lambda c: c.close(officer(HANDLER), outcome=ComplaintOutcome.PARTLY_UPHELD)
    )

    then.events(expect(ComplaintClosed, outcome=ComplaintOutcome.PARTLY_UPHELD))
    assert then.aggregate.outcome is ComplaintOutcome.PARTLY_UPHELD


def test_closing_is_refused_when_a_review_is_pending() -> None:
    given(review_requested()).when(
        lambda c: c.close(officer(HANDLER), outcome=ComplaintOutcome.UPHELD)
    ).refused(InvalidTransitionError)


def test_withdrawal_ends_the_procedure_on_its_receipt_when_received() -> None:
    received = T0 - timedelta(hours=3)

    then = given(investigating()).when(
        lambda c: c.withdraw(officer(HANDLER), reason="settled", received_at=received)
    )

    then.events(expect(ComplaintWithdrawn, reason="settled", occurred_at=received))
    assert then.aggregate.status is ComplaintStatus.WITHDRAWN


def test_withdrawal_clears_the_pause_when_an_appraisal_is_running() -> None:
    then = given(paused()).when(lambda c: c.withdraw(officer(HANDLER), reason="settled"))

    then.events(expect(ComplaintWithdrawn, reason="settled", occurred_at=T0))
    assert then.aggregate.paused is False


def test_withdrawal_is_refused_when_its_receipt_is_after_recording() -> None:
    given(investigating()).when(
        lambda c: c.withdraw(officer(HANDLER), reason="x", received_at=T0 + timedelta(hours=1))
    ).refused(ComplaintTimeInFutureError)


# Every step a complaint knows, each by an actor whose role may take it.
STEPS: dict[str, Callable[[Complaint], Any]] = {
    "acknowledge": lambda c: c.acknowledge(officer(), channel="sms"),
    "assign": lambda c: c.assign(officer(), handler_id="officer-9", involved_staff=frozenset()),
    "classify": lambda c: c.classify(officer(), complexity=Complexity.COMPLEX),
    "start_appraisal": lambda c: c.start_appraisal(officer(), provider="lab", purpose="x"),
    "complete_appraisal": lambda c: c.complete_appraisal(officer(), result_summary="x"),
    "receive_new_facts": lambda c: c.receive_new_facts(officer(), facts="x"),
    "extend": lambda c: c.extend(officer(), to_days=30, reason="x"),
    "respond": respond_to,
    "request_review": lambda c: c.request_review(officer(at=AFTER), reason="x"),
    "decide_review": lambda c: c.decide_review(
        ctx(Role.SENIOR_MANAGER, at=AFTER), result=ReviewResult.UPHELD, decision="d"
    ),
    "withdraw": lambda c: c.withdraw(officer(at=AFTER), reason="x"),
    "close": lambda c: c.close(officer(at=AFTER), outcome=ComplaintOutcome.UPHELD),
    "escalate_externally": lambda c: c.escalate_externally(officer(at=AFTER), body=ExternalBody.REGULATOR),
}


def REOPEN(complaint: Complaint) -> None:  # noqa: N802 - named like the step table it extends
    complaint.reopen(ctx(Role.SUPERVISOR, at=shanghai(5, 6, 9)), reason="new evidence")


@pytest.mark.parametrize("step", [*STEPS.values(), REOPEN], ids=[*STEPS, "reopen"])
def test_a_withdrawn_complaint_refuses_every_step_when_asked(step: Callable[[Complaint], Any]) -> None:
    given(withdrawn()).when(step).refused(InvalidTransitionError)


@pytest.mark.parametrize("step", STEPS.values(), ids=list(STEPS))
def test_a_closed_complaint_refuses_every_step_but_reopening_when_asked(
    step: Callable[[Complaint], Any],
) -> None:
    given(closed()).when(step).refused(InvalidTransitionError)


def test_reopening_starts_a_new_15_day_investigation_when_the_complaint_is_closed() -> None:
    reopened_at = shanghai(5, 6, 9)

    then = given(closed()).when(
        lambda c: c.reopen(ctx(Role.SUPERVISOR, at=reopened_at), reason="new evidence")
    )

    # The new period counts from the reopening's recording.
    then.events(expect(ComplaintReopened, reason="new evidence", recorded_at=reopened_at))
    assert then.aggregate.status is ComplaintStatus.INVESTIGATING
    assert (then.aggregate.clock_started_at, then.aggregate.deadline_days) == (reopened_at, 15)


def test_reopening_is_refused_when_the_complaint_is_not_closed() -> None:
    given(responded()).when(REOPEN).refused(InvalidTransitionError)


def test_escalating_to_the_regulator_makes_the_complaint_reportable_when_it_is_open() -> None:
    then = given(responded()).when(
        lambda c: c.escalate_externally(officer(HANDLER), body=ExternalBody.REGULATOR, reference="12378-001")
    )

    then.events(expect(ComplaintEscalatedExternally, body=ExternalBody.REGULATOR, reference="12378-001"))
    assert then.aggregate.regulator_reportable is True


# ------------------------------------------------------------------------------------------ roles

# The history each step needs, so that only the actor's role can be the reason for a refusal.
READY_FOR: dict[str, Callable[[], Complaint]] = {
    "acknowledge": lodged,
    "assign": acknowledged,
    "classify": assigned,
    "start_appraisal": investigating,
    "complete_appraisal": paused,
    "receive_new_facts": investigating,
    "extend": investigating,
    "respond": investigating,
    "request_review": responded,
    "decide_review": review_requested,
    "withdraw": investigating,
    "close": responded,
    "escalate_externally": investigating,
    "reopen": closed,
}


@pytest.mark.parametrize("name", list(READY_FOR))
def test_a_step_is_accepted_when_taken_by_a_role_that_may_take_it(name: str) -> None:
    step = STEPS.get(name, REOPEN)

    then = given(READY_FOR[name]()).when(step)

    assert then.error is None, then.error


@pytest.mark.parametrize("name", list(READY_FOR))
def test_a_step_is_refused_when_taken_by_a_seller(name: str) -> None:
    seller = ctx(Role.SELLER, "seller-9")
    steps: dict[str, Callable[[Complaint], Any]] = {
        "acknowledge": lambda c: c.acknowledge(seller, channel="sms"),
        "assign": lambda c: c.assign(seller, handler_id="officer-9", involved_staff=frozenset()),
        "classify": lambda c: c.classify(seller, complexity=Complexity.COMPLEX),
        "start_appraisal": lambda c: c.start_appraisal(seller, provider="lab", purpose="x"),
        "complete_appraisal": lambda c: c.complete_appraisal(seller, result_summary="x"),
        "receive_new_facts": lambda c: c.receive_new_facts(seller, facts="x"),
        "extend": lambda c: c.extend(seller, to_days=30, reason="x"),
        "respond": lambda c: c.respond(
            seller,
            decision="d",
            verification_summary="v",
            basis="b",
            remedies=ALL_REMEDIES,
            channel="letter",
            delivered_at=T0,
        ),
        "request_review": lambda c: c.request_review(seller, reason="x"),
        "decide_review": lambda c: c.decide_review(seller, result=ReviewResult.UPHELD, decision="d"),
        "withdraw": lambda c: c.withdraw(seller, reason="x"),
        "close": lambda c: c.close(seller, outcome=ComplaintOutcome.UPHELD),
        "escalate_externally": lambda c: c.escalate_externally(seller, body=ExternalBody.REGULATOR),
        "reopen": lambda c: c.reopen(seller, reason="x"),
    }

    given(READY_FOR[name]()).when(steps[name]).refused(ActorRoleError)


def test_deciding_a_review_is_refused_when_taken_by_a_complaints_officer() -> None:
    given(review_requested()).when(
        lambda c: c.decide_review(officer("officer-9"), result=ReviewResult.UPHELD, decision="d")
    ).refused(ActorRoleError)


def test_lodging_is_refused_when_taken_by_a_seller() -> None:
    with refuses(ActorRoleError):
        Complaint.lodge(
            ctx(Role.SELLER),
            complaint_id=uuid4(),
            received_at=T0,
            category=ComplaintCategory.SALES,
            channel=ComplaintChannel.COUNTER,
            subject_ref=SubjectRef(kind=SubjectKind.SELLER, ref=SELLER),
            customer_id="C-1",
            complainant_name="张三",
            complainant_phone="13800000000",
            facts="x",
            demands="y",
        )
