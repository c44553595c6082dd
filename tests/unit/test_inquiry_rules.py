"""咨询 Inquiry rules, as Given / When / Then: logging with channel and category, first-contact resolution,
the promised reply and its INQ-REPLY-1WD clock (holidays, make-up days, month ends), transfer to the case
that handles it, and closure."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from domain.base import ActorRoleError, Context, InvalidTransitionError, Role
from domain.calendar import Deadline, default_calendar
from domain.inquiry import (
    REPLY_RULE_ID,
    CaseOnRecord,
    Inquiry,
    InquiryAnswered,
    InquiryCategory,
    InquiryChannel,
    InquiryClosed,
    InquiryDeferred,
    InquiryLogged,
    InquiryReplyNeedsCustomerError,
    InquiryStatus,
    InquiryTimeInFutureError,
    InquiryTransferred,
    InquiryTransferTargetError,
    TransferTarget,
)
from domain.sla import rule_by_id, rules_started_by
from tests.gwt import T0, ctx, expect, given, refuses

SHANGHAI = ZoneInfo("Asia/Shanghai")
CUSTOMER = "CUST-0b8a4f2e"


def agent(at: datetime = T0) -> Context:
    return ctx(Role.CALLBACK_AGENT, "agent-1", at)


def logged(customer_id: str | None = CUSTOMER, inquiry_id: UUID | None = None) -> Inquiry:
    return Inquiry.log(
        agent(),
        inquiry_id=inquiry_id or uuid4(),
        contacted_at=T0 - timedelta(minutes=5),
        channel=InquiryChannel.HOTLINE,
        category=InquiryCategory.CLAIM_PROGRESS,
        question="when will my claim be paid?",
        customer_id=customer_id,
        policy_ref="P0B8A4F2E3C1D",
    )


def deferred() -> Inquiry:
    inquiry = logged()
    inquiry.defer(agent(), reason="the adjuster has to be asked")
    return inquiry


def reply_due(start: datetime) -> datetime:
    deadline = rule_by_id(REPLY_RULE_ID).deadline(start, default_calendar())
    assert isinstance(deadline, Deadline)
    return deadline.due_at


# ------------------------------------------------------------------------------------------ logging


def test_inquiry_is_logged_with_its_channel_category_customer_and_policy_when_a_caller_asks() -> None:
    inquiry = logged()
    [event] = inquiry.collect_events()
    assert isinstance(event, InquiryLogged)
    assert (event.channel, event.category) == (InquiryChannel.HOTLINE, InquiryCategory.CLAIM_PROGRESS)
    assert (event.customer_id, event.policy_ref) == (CUSTOMER, "P0B8A4F2E3C1D")
    assert event.contacted_at == T0 - timedelta(minutes=5)
    assert inquiry.status is InquiryStatus.OPEN


def test_anonymous_inquiry_is_logged_when_the_caller_is_not_identified() -> None:
    inquiry = logged(customer_id=None)
    assert inquiry.customer_id is None
    assert inquiry.status is InquiryStatus.OPEN


def test_inquiry_is_refused_when_the_contact_time_is_after_the_recorded_time() -> None:
    with refuses(InquiryTimeInFutureError):
        Inquiry.log(
            agent(),
            inquiry_id=uuid4(),
            contacted_at=T0 + timedelta(hours=1),
            channel=InquiryChannel.ONLINE,
            category=InquiryCategory.PRODUCT,
            question="does the product cover dental care?",
        )


def test_inquiry_is_refused_when_a_seller_logs_it() -> None:
    with refuses(ActorRoleError):
        Inquiry.log(
            ctx(Role.SELLER),
            inquiry_id=uuid4(),
            contacted_at=T0,
            channel=InquiryChannel.AGENT,
            category=InquiryCategory.PREMIUM,
            question="how much is the renewal premium?",
        )


# ------------------------------------------------------------------------------------------ answers


def test_answer_during_the_contact_records_first_contact_resolution() -> None:
    then = given(logged()).when(lambda i: i.answer(agent(), answer="paid on Friday"))
    then.events(expect(InquiryAnswered, answer="paid on Friday", first_contact=True))
    assert then.aggregate.first_contact_resolved is True


def test_answer_after_a_deferral_is_not_a_first_contact_resolution() -> None:
    then = given(deferred()).when(lambda i: i.answer(agent(), answer="paid on Friday"))
    then.events(expect(InquiryAnswered, answer="paid on Friday", first_contact=False))
    assert then.aggregate.first_contact_resolved is False


def test_answer_is_refused_when_it_is_dated_before_the_contact() -> None:
    given(logged()).when(
        lambda i: i.answer(agent(), answer="paid on Friday", answered_at=T0 - timedelta(hours=1))
    ).refused(InquiryTimeInFutureError)


def test_answer_is_refused_when_the_inquiry_is_already_answered() -> None:
    inquiry = logged()
    inquiry.answer(agent(), answer="paid on Friday")
    given(inquiry).when(lambda i: i.answer(agent(), answer="again")).refused(InvalidTransitionError)


# ------------------------------------------------------------------------------------------ deferral


def test_deferral_promises_a_reply_when_the_customer_is_known() -> None:
    then = given(logged()).when(lambda i: i.defer(agent(), reason="the adjuster has to be asked"))
    then.events(expect(InquiryDeferred, reason="the adjuster has to be asked"))
    assert then.aggregate.status is InquiryStatus.PENDING


def test_deferral_is_refused_when_the_caller_is_anonymous() -> None:
    given(logged(customer_id=None)).when(lambda i: i.defer(agent(), reason="needs checking")).refused(
        InquiryReplyNeedsCustomerError
    )


def test_deferral_starts_the_reply_clock_and_the_answer_or_transfer_meets_it() -> None:
    rule = rule_by_id(REPLY_RULE_ID)
    assert rule in rules_started_by("InquiryDeferred")
    assert set(rule.satisfied_by) == {"InquiryAnswered", "InquiryTransferred"}
    assert rules_started_by("InquiryLogged") == ()


def test_reply_is_due_after_national_day_when_deferred_on_the_eve() -> None:
    # Wed 2026-09-30 16:00; Oct 1-7 are holidays; Thu Oct 8 is the one working day, ending 24:00.
    assert reply_due(datetime(2026, 9, 30, 16, tzinfo=SHANGHAI)) == datetime(2026, 10, 9, tzinfo=SHANGHAI)


def test_reply_is_due_on_the_make_up_saturday_before_spring_festival() -> None:
    # Fri 2026-02-13 17:00; Sat Feb 14 is a make-up working day (调休), so it is the working day.
    assert reply_due(datetime(2026, 2, 13, 17, tzinfo=SHANGHAI)) == datetime(2026, 2, 15, tzinfo=SHANGHAI)


def test_reply_is_due_on_the_next_month_s_first_monday_when_deferred_on_a_friday_month_end() -> None:
    # Fri 2026-01-30; the weekend does not count; Mon Feb 2 is the working day.
    assert reply_due(datetime(2026, 1, 30, 17, tzinfo=SHANGHAI)) == datetime(2026, 2, 3, tzinfo=SHANGHAI)


# ------------------------------------------------------------------------------------------ transfer


def test_transfer_records_the_target_case_when_a_complaint_is_opened_for_the_inquiry() -> None:
    complaint_id = uuid4()
    then = given(logged()).when(
        lambda i: i.transfer(agent(), target_kind=TransferTarget.COMPLAINT, target_id=complaint_id)
    )
    then.events(
        expect(InquiryTransferred, target_kind=TransferTarget.COMPLAINT, target_id=complaint_id, note=None)
    )
    assert then.aggregate.transferred_to == (TransferTarget.COMPLAINT, complaint_id)
    assert then.aggregate.first_contact_resolved is False


def test_transfer_of_a_pending_inquiry_to_a_claim_report_is_recorded() -> None:
    claim_id = uuid4()
    then = given(deferred()).when(
        lambda i: i.transfer(
            agent(), target_kind=TransferTarget.CLAIM_REPORT, target_id=claim_id, note="loss reported"
        )
    )
    then.events(
        expect(
            InquiryTransferred,
            target_kind=TransferTarget.CLAIM_REPORT,
            target_id=claim_id,
            note="loss reported",
        )
    )


def test_transfer_is_refused_when_the_caller_is_anonymous() -> None:
    given(logged(customer_id=None)).when(
        lambda i: i.transfer(agent(), target_kind=TransferTarget.SERVICE_REQUEST, target_id=uuid4())
    ).refused(InquiryTransferTargetError)


def test_transfer_is_refused_when_it_names_the_inquiry_itself() -> None:
    inquiry_id = uuid4()
    given(logged(inquiry_id=inquiry_id)).when(
        lambda i: i.transfer(agent(), target_kind=TransferTarget.COMPLAINT, target_id=inquiry_id)
    ).refused(InquiryTransferTargetError)


def test_transfer_to_the_customer_s_own_service_request_opened_for_this_inquiry_is_recorded() -> None:
    inquiry_id, request_id = uuid4(), uuid4()
    request = CaseOnRecord(customer_id=CUSTOMER, from_inquiry=inquiry_id)
    then = given(logged(inquiry_id=inquiry_id)).when(
        lambda i: i.transfer(
            agent(), target_kind=TransferTarget.SERVICE_REQUEST, target_id=request_id, target=request
        )
    )
    then.events(
        expect(
            InquiryTransferred, target_kind=TransferTarget.SERVICE_REQUEST, target_id=request_id, note=None
        )
    )
    assert then.aggregate.transferred_to == (TransferTarget.SERVICE_REQUEST, request_id)


def test_transfer_to_a_service_request_that_names_no_inquiry_is_recorded() -> None:
    request_id = uuid4()
    then = given(logged()).when(
        lambda i: i.transfer(
            agent(),
            target_kind=TransferTarget.SERVICE_REQUEST,
            target_id=request_id,
            target=CaseOnRecord(customer_id=CUSTOMER),
        )
    )
    then.events(
        expect(
            InquiryTransferred, target_kind=TransferTarget.SERVICE_REQUEST, target_id=request_id, note=None
        )
    )


def test_transfer_is_refused_when_the_service_request_is_another_customer_s() -> None:
    given(logged()).when(
        lambda i: i.transfer(
            agent(),
            target_kind=TransferTarget.SERVICE_REQUEST,
            target_id=uuid4(),
            target=CaseOnRecord(customer_id="CUST-someone-else"),
        )
    ).refused(InquiryTransferTargetError, match="not the caller's")


def test_transfer_is_refused_when_the_service_request_was_opened_for_another_inquiry() -> None:
    given(logged()).when(
        lambda i: i.transfer(
            agent(),
            target_kind=TransferTarget.SERVICE_REQUEST,
            target_id=uuid4(),
            target=CaseOnRecord(customer_id=CUSTOMER, from_inquiry=uuid4()),
        )
    ).refused(InquiryTransferTargetError, match="not this one")


def test_transfer_is_refused_when_the_complaint_is_another_customer_s() -> None:
    given(logged()).when(
        lambda i: i.transfer(
            agent(),
            target_kind=TransferTarget.COMPLAINT,
            target_id=uuid4(),
            target=CaseOnRecord(customer_id="CUST-someone-else"),
        )
    ).refused(InquiryTransferTargetError, match="not the caller's")


# ------------------------------------------------------------------------------------------ closure


def test_inquiry_is_closed_when_it_was_answered() -> None:
    inquiry = logged()
    inquiry.answer(agent(), answer="paid on Friday")
    then = given(inquiry).when(lambda i: i.close(agent()))
    then.events(InquiryClosed)
    assert then.aggregate.status is InquiryStatus.CLOSED


def test_close_is_refused_when_the_inquiry_has_neither_answer_nor_transfer() -> None:
    given(deferred()).when(lambda i: i.close(agent())).refused(InvalidTransitionError)
