"""投诉 periods at the edges of the calendar, as Given / When / Then: the review window that rolls over a
holiday (and the response that records it), extensions decided only while the period runs, the senior
manager's approval as their own command, and recusal of the staff the complained-about case records."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

from domain.base import Actor, ActorRoleError, Context, Role
from domain.complaint import (
    Complaint,
    ComplaintAssigned,
    ComplaintCategory,
    ComplaintChannel,
    ComplaintDeadlineExtended,
    ComplaintExtensionApproved,
    ComplaintHandlerInvolvedError,
    ComplaintHandlerWorkedSubjectCaseError,
    ComplaintResponded,
    ComplaintReviewRequested,
    Complexity,
    ExtensionAfterPeriodError,
    ExtensionNeedsSeniorApprovalError,
    ExtensionOutOfOrderError,
    Remedy,
    ReviewWindowClosedError,
    SubjectKind,
    SubjectRef,
    review_window_closes_at,
)
from tests.gwt import ctx, expect, given

SHANGHAI = ZoneInfo("Asia/Shanghai")
HANDLER = "officer-2"
SENIOR = Actor(id="senior-1", role=Role.SENIOR_MANAGER)
REMEDIES = (Remedy.REVIEW, Remedy.MEDIATION, Remedy.ARBITRATION, Remedy.LITIGATION)


def at(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def officer(when: datetime, actor: str = HANDLER) -> Context:
    return ctx(Role.COMPLAINTS_OFFICER, actor, when)


def senior(when: datetime) -> Context:
    return ctx(Role.SENIOR_MANAGER, SENIOR.id, when)


def investigating(received: datetime) -> Complaint:
    """A complex complaint received at ``received``, assigned and classified within the hour."""
    complaint = Complaint.lodge(
        officer(received, "officer-1"),
        complaint_id=uuid4(),
        received_at=received,
        category=ComplaintCategory.CLAIMS,
        channel=ComplaintChannel.HOTLINE,
        subject_ref=SubjectRef(kind=SubjectKind.CLAIM, ref=str(uuid4())),
        customer_id="C-1",
        complainant_name="张三",
        complainant_phone="13800000000",
        facts="the adjuster left out the paint work",
        demands="pay the paint work",
    )
    complaint.acknowledge(officer(received, "officer-1"), channel="sms")
    complaint.assign(officer(received, "officer-1"), handler_id=HANDLER, involved_staff=frozenset())
    complaint.classify(officer(received), complexity=Complexity.COMPLEX)
    return complaint


def responded(delivered: datetime) -> Complaint:
    complaint = investigating(delivered - timedelta(days=5))
    complaint.respond(
        officer(delivered),
        decision="upheld in part",
        verification_summary="invoice checked",
        basis="clause 3.2",
        remedies=REMEDIES,
        channel="letter",
        delivered_at=delivered,
    )
    return complaint


def responded_before_the_window_was_recorded(delivered: datetime) -> Complaint:
    """A response stored before responses recorded their window (the field absent: None)."""
    complaint = investigating(delivered - timedelta(days=5))
    complaint.trigger_event(
        ComplaintResponded,
        timestamp=delivered,
        actor=Actor(id=HANDLER, role=Role.COMPLAINTS_OFFICER),
        correlation_id=uuid4(),
        occurred_at=delivered,
        decision="upheld in part",
        verification_summary="invoice checked",
        basis="clause 3.2",
        remedies=REMEDIES,
        channel="letter",
        delivered_at=delivered,
    )
    return complaint


# ------------------------------------------------------------------------------ review window (核查)

# Delivered Tue 1 Sep 2026: the 30th day after it is Thu 1 Oct, National Day (1-7 Oct 2026).
NATIONAL_DAY_DELIVERY = at(2026, 9, 1, 15)
NATIONAL_DAY_WINDOW_END = at(2026, 10, 9, 0)  # 24:00 of Thu 8 Oct, the next working day


def test_review_window_rolls_over_national_day_when_its_30th_day_is_a_holiday() -> None:
    assert review_window_closes_at(NATIONAL_DAY_DELIVERY) == NATIONAL_DAY_WINDOW_END


def test_review_window_rolls_over_spring_festival_when_its_30th_day_is_new_year() -> None:
    # Delivered Fri 16 Jan 2026: the 30th day is Sun 15 Feb, 春节 (15-23 Feb): it ends 24:00 Tue 24 Feb.
    assert review_window_closes_at(at(2026, 1, 16, 11)) == at(2026, 2, 25, 0)


def test_review_window_counts_across_a_month_end_when_the_30th_day_is_a_working_day() -> None:
    # Delivered Sat 31 Jan 2026: the 30th day is Mon 2 Mar, a working day; February has 28 days.
    assert review_window_closes_at(at(2026, 1, 31, 16)) == at(2026, 3, 3, 0)


def test_the_response_records_the_review_window_it_opens_when_delivered() -> None:
    complaint = investigating(at(2026, 8, 25))

    then = given(complaint).when(
        lambda c: c.respond(
            officer(NATIONAL_DAY_DELIVERY),
            decision="upheld in part",
            verification_summary="invoice checked",
            basis="clause 3.2",
            remedies=REMEDIES,
            channel="letter",
            delivered_at=NATIONAL_DAY_DELIVERY,
        )
    )

    then.events(
        expect(
            ComplaintResponded,
            delivered_at=NATIONAL_DAY_DELIVERY,
            review_window_closes_at=NATIONAL_DAY_WINDOW_END,
        )
    )


def test_review_request_is_accepted_during_national_day_when_the_window_rolls_over() -> None:
    asked = at(2026, 10, 5, 11)

    given(responded(NATIONAL_DAY_DELIVERY)).when(
        lambda c: c.request_review(officer(asked, "officer-1"), reason="the paint is not matched")
    ).events(expect(ComplaintReviewRequested, reason="the paint is not matched", occurred_at=asked))


def test_review_request_is_accepted_on_the_working_day_the_window_rolled_over_to() -> None:
    asked = at(2026, 10, 8, 23, 59)

    given(responded(NATIONAL_DAY_DELIVERY)).when(
        lambda c: c.request_review(officer(asked, "officer-1"), reason="late but in time")
    ).events(expect(ComplaintReviewRequested, reason="late but in time", occurred_at=asked))


def test_review_request_is_refused_when_received_after_the_rolled_over_window() -> None:
    given(responded(NATIONAL_DAY_DELIVERY)).when(
        lambda c: c.request_review(officer(NATIONAL_DAY_WINDOW_END, "officer-1"), reason="too late")
    ).refused(ReviewWindowClosedError)


def test_an_old_response_keeps_its_calendar_day_window_when_it_recorded_none() -> None:
    # Loaded as it was guarded then: 24:00 of the 30th calendar day, no roll-over.
    old = responded_before_the_window_was_recorded(NATIONAL_DAY_DELIVERY)

    assert old.review_window_closes_at == at(2026, 10, 2, 0)
    given(old).when(
        lambda c: c.request_review(officer(at(2026, 10, 5), "officer-1"), reason="too late then")
    ).refused(ReviewWindowClosedError)


# ------------------------------------------------------------------------------ extensions in the period

# Received Mon 2 Mar 2026 09:00: the 15-day period ends 24:00 Tue 17 Mar.
RECEIVED = at(2026, 3, 2, 9)


def test_extending_is_refused_when_the_15_day_period_has_run_out() -> None:
    day_49 = RECEIVED + timedelta(days=49)

    given(investigating(RECEIVED)).when(
        lambda c: c.extend(officer(day_49), to_days=30, reason="the invoice is still disputed")
    ).refused(ExtensionAfterPeriodError)


def test_extending_is_refused_at_midnight_ending_the_last_day() -> None:
    given(investigating(RECEIVED)).when(
        lambda c: c.extend(officer(at(2026, 3, 18, 0)), to_days=30, reason="the invoice is disputed")
    ).refused(ExtensionAfterPeriodError)


def test_extending_is_accepted_on_the_last_day_of_the_15_day_period() -> None:
    last_minute = at(2026, 3, 17, 23, 59)

    given(investigating(RECEIVED)).when(
        lambda c: c.extend(officer(last_minute), to_days=30, reason="the invoice is disputed")
    ).events(
        expect(
            ComplaintDeadlineExtended,
            from_days=15,
            to_days=30,
            reason="the invoice is disputed",
            approver=None,
            recorded_at=last_minute,
        )
    )


def test_extending_is_accepted_during_national_day_when_the_period_rolled_over_it() -> None:
    # Received Wed 16 Sep 2026: the 15th day is Thu 1 Oct (National Day), so the period runs to 24:00
    # Thu 8 Oct.
    complaint = investigating(at(2026, 9, 16))
    holiday = at(2026, 10, 6, 15)

    given(complaint).when(
        lambda c: c.extend(officer(holiday), to_days=30, reason="the garage is closed for the holiday")
    ).events(
        expect(
            ComplaintDeadlineExtended,
            from_days=15,
            to_days=30,
            reason="the garage is closed for the holiday",
            recorded_at=holiday,
        )
    )


def test_extending_is_accepted_after_the_nominal_end_when_an_appraisal_pauses_the_clock() -> None:
    complaint = investigating(RECEIVED)
    complaint.start_appraisal(officer(at(2026, 3, 5)), provider="lab", purpose="paint analysis")
    paused_long = at(2026, 3, 25)

    given(complaint).when(
        lambda c: c.extend(officer(paused_long), to_days=30, reason="the lab is slow")
    ).events(expect(ComplaintDeadlineExtended, from_days=15, to_days=30, reason="the lab is slow"))


def test_extending_is_refused_when_the_period_ran_out_after_the_appraisal_resumed_it() -> None:
    complaint = investigating(RECEIVED)
    complaint.start_appraisal(officer(at(2026, 3, 5)), provider="lab", purpose="paint analysis")
    complaint.complete_appraisal(officer(at(2026, 3, 10)), result_summary="paint is original")
    # Paused on 5 Mar with 12 days left; resumed 10 Mar: the period ends 24:00 Sun 22 Mar, a weekend
    # day, so it rolls to 24:00 Mon 23 Mar.
    assert complaint.decision_period() is not None
    assert complaint.decision_period().due_at == at(2026, 3, 24, 0)  # type: ignore[union-attr]

    given(complaint).when(
        lambda c: c.extend(officer(at(2026, 3, 24, 0)), to_days=30, reason="too late")
    ).refused(ExtensionAfterPeriodError)


def test_extending_to_60_days_is_refused_when_the_30_day_period_has_run_out() -> None:
    complaint = investigating(RECEIVED)
    complaint.extend(officer(at(2026, 3, 10)), to_days=30, reason="complex")
    complaint.approve_extension(senior(at(2026, 3, 20)), to_days=60, reason="special")

    given(complaint).when(
        lambda c: c.extend(officer(at(2026, 4, 20)), to_days=60, reason="x", customer_notified_at=RECEIVED)
    ).refused(ExtensionAfterPeriodError)


# ------------------------------------------------------------------------------ the senior manager's approval


def extended_to_30() -> Complaint:
    complaint = investigating(RECEIVED)
    complaint.extend(officer(at(2026, 3, 10)), to_days=30, reason="complex")
    return complaint


def test_approving_60_days_is_recorded_as_the_senior_managers_own_step() -> None:
    given(extended_to_30()).when(
        lambda c: c.approve_extension(senior(at(2026, 3, 25)), to_days=60, reason="head-office expert needed")
    ).events(expect(ComplaintExtensionApproved, to_days=60, reason="head-office expert needed", actor=SENIOR))


def test_extending_to_60_days_names_the_senior_manager_who_approved_it() -> None:
    complaint = extended_to_30()
    complaint.approve_extension(senior(at(2026, 3, 25)), to_days=60, reason="expert needed")
    notified = at(2026, 3, 26, 9)

    given(complaint).when(
        lambda c: c.extend(
            officer(at(2026, 3, 26, 10)), to_days=60, reason="expert needed", customer_notified_at=notified
        )
    ).events(
        expect(
            ComplaintDeadlineExtended,
            from_days=30,
            to_days=60,
            reason="expert needed",
            approver=SENIOR,
            customer_notified_at=notified,
        )
    )


def test_extending_to_60_days_is_refused_when_no_senior_manager_approved_it() -> None:
    given(extended_to_30()).when(
        lambda c: c.extend(officer(at(2026, 3, 26)), to_days=60, reason="x", customer_notified_at=RECEIVED)
    ).refused(ExtensionNeedsSeniorApprovalError)


def test_approving_is_refused_with_the_approval_rule_when_a_complaints_officer_approves() -> None:
    given(extended_to_30()).when(
        lambda c: c.approve_extension(officer(at(2026, 3, 25)), to_days=60, reason="x")
    ).refused(ExtensionNeedsSeniorApprovalError)


def test_approving_is_refused_when_a_seller_approves() -> None:
    given(extended_to_30()).when(
        lambda c: c.approve_extension(ctx(Role.SELLER, "seller-7", at(2026, 3, 25)), to_days=60, reason="x")
    ).refused(ActorRoleError)


def test_approving_is_refused_when_the_period_has_not_been_extended_to_30_days() -> None:
    given(investigating(RECEIVED)).when(
        lambda c: c.approve_extension(senior(at(2026, 3, 5)), to_days=60, reason="x")
    ).refused(ExtensionOutOfOrderError)


def test_approving_is_refused_when_the_30_day_period_has_run_out() -> None:
    # Extended on 10 Mar to 30 days from 2 Mar: ends 24:00 Wed 1 Apr.
    given(extended_to_30()).when(
        lambda c: c.approve_extension(senior(at(2026, 4, 2, 0)), to_days=60, reason="x")
    ).refused(ExtensionAfterPeriodError)


def test_the_approval_is_used_once_when_the_period_is_reopened_later() -> None:
    complaint = extended_to_30()
    complaint.approve_extension(senior(at(2026, 3, 25)), to_days=60, reason="expert needed")
    complaint.extend(officer(at(2026, 3, 26)), to_days=60, reason="expert", customer_notified_at=RECEIVED)

    assert complaint.extension_approval is None


# ------------------------------------------------------------------------------ recusal (回避)


def acknowledged() -> Complaint:
    complaint = Complaint.lodge(
        officer(RECEIVED, "officer-1"),
        complaint_id=uuid4(),
        received_at=RECEIVED,
        category=ComplaintCategory.CLAIMS,
        channel=ComplaintChannel.HOTLINE,
        subject_ref=SubjectRef(kind=SubjectKind.CLAIM, ref="claim-1"),
        customer_id="C-1",
        complainant_name="张三",
        complainant_phone="13800000000",
        facts="x",
        demands="y",
    )
    complaint.acknowledge(officer(RECEIVED, "officer-1"), channel="sms")
    return complaint


def test_assigning_is_refused_when_the_subject_case_records_the_handler() -> None:
    given(acknowledged()).when(
        lambda c: c.assign(
            officer(RECEIVED, "officer-1"),
            handler_id="huang.min.adjust",
            involved_staff=frozenset(),
            subject_staff=frozenset({"chen.jie.claims", "huang.min.adjust"}),
            subject_case_version=12,
        )
    ).refused(ComplaintHandlerWorkedSubjectCaseError)


def test_assigning_records_whom_the_subject_case_names_when_the_handler_is_free() -> None:
    then = given(acknowledged()).when(
        lambda c: c.assign(
            officer(RECEIVED, "officer-1"),
            handler_id=HANDLER,
            involved_staff=frozenset({"wang.fang.uw"}),
            subject_staff=frozenset({"huang.min.adjust", "chen.jie.claims"}),
            subject_case_version=12,
        )
    )

    then.events(
        expect(
            ComplaintAssigned,
            handler_id=HANDLER,
            involved_staff=("wang.fang.uw",),
            subject_staff=("chen.jie.claims", "huang.min.adjust"),
            subject_case_version=12,
        )
    )


def test_reassigning_is_refused_when_an_earlier_lookup_found_the_new_handler_on_the_subject_case() -> None:
    complaint = acknowledged()
    complaint.assign(
        officer(RECEIVED, "officer-1"),
        handler_id=HANDLER,
        involved_staff=frozenset(),
        subject_staff=frozenset({"huang.min.adjust"}),
        subject_case_version=12,
    )

    given(complaint).when(
        lambda c: c.assign(
            officer(RECEIVED, "officer-1"), handler_id="huang.min.adjust", involved_staff=frozenset()
        )
    ).refused(ComplaintHandlerInvolvedError)
