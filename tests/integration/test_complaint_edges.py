"""Complaints and timers at the law's edges, on real PostgreSQL: recusal looked up from the case complained
about, the review window the guard and its timer read alike, a newer calendar version recorded on running
timers, and dates outside every calendar refused at the command."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid4

import psycopg
import pytest
from psycopg import sql

from cli.scenarios import (
    ADJUSTER,
    HANDLER,
    HANDLING_OFFICER,
    OFFICER,
    SELLER,
    a_policy,
    by,
    claim_story,
    register_demo_seller,
)
from domain.base import SHANGHAI
from domain.calendar import DateOutsideCalendarsError
from domain.complaint import (
    ComplaintAssigned,
    ComplaintCategory,
    ComplaintChannel,
    ComplaintHandlerWorkedSubjectCaseError,
    ComplaintResponded,
    ComplaintReviewRequested,
    Complexity,
    Remedy,
    SubjectKind,
)
from domain.policy import Line
from domain.timer import SlaTimer, TimerDeadlineRecomputed, TimerState
from infra.bootstrap import System
from infra.clock import ControlledClock
from infra.services.complaints import (
    AcknowledgeComplaint,
    AssignComplaint,
    ClassifyComplaint,
    LodgeComplaint,
    RequestReview,
    RespondToComplaint,
    SubjectRefBody,
)
from infra.services.timers import due_table
from tests.calendar_versions import TEST_VERSION, notice_2027, publish
from tests.feed import Group

pytestmark = pytest.mark.integration


def at(year: int, month: int, day: int, hour: int = 10) -> datetime:
    return datetime(year, month, day, hour, tzinfo=SHANGHAI)


def lodge(system: System, clock: ControlledClock, kind: SubjectKind, ref: str) -> UUID:
    complaint_id = uuid4()
    system.complaints.lodge(
        LodgeComplaint(
            received_at=clock.now(),
            category=ComplaintCategory.CLAIMS,
            channel=ComplaintChannel.HOTLINE,
            subject_ref=SubjectRefBody(kind=kind, ref=ref),
            customer_id="CUST-edge",
            complainant_name="张伟",
            complainant_phone="13800138000",
            facts="the paint work was left out",
            demands="pay the paint work",
        ),
        by(OFFICER),
        complaint_id=complaint_id,
    )
    system.complaints.acknowledge(complaint_id, AcknowledgeComplaint(channel="sms"), by(OFFICER))
    return complaint_id


def the_timer(system: System, rule_id: str, case_id: UUID) -> SlaTimer:
    with psycopg.connect(system.database_url) as conn:
        [(timer_id,)] = conn.execute(
            sql.SQL("SELECT timer_id FROM {} WHERE rule_id = %s AND case_id = %s").format(
                due_table(system.settings.db_schema)
            ),
            (rule_id, case_id),
        ).fetchall()
    return system.timers.load(timer_id)


def due_row(system: System, timer_id: UUID) -> tuple[datetime, bool]:
    with psycopg.connect(system.database_url) as conn:
        row = conn.execute(
            sql.SQL("SELECT due_at, provisional FROM {} WHERE timer_id = %s").format(
                due_table(system.settings.db_schema)
            ),
            (timer_id,),
        ).fetchone()
    assert row is not None
    return row[0], row[1]


# ------------------------------------------------------------------------------ recusal (回避)


@pytest.fixture
def a_closed_claim(system: System, clock: ControlledClock) -> UUID:
    """The demo's motor claim: handled, surveyed, adjusted, reviewed, paid and closed."""
    register_demo_seller(system, clock.now().astimezone(SHANGHAI).date())
    policy_id = a_policy(system)
    return claim_story(system, clock, policy_id)


@pytest.mark.parametrize("worked_it", [ADJUSTER[1], HANDLER[1], "zhou.hui.review", SELLER[1]])
def test_assigning_refuses_whoever_the_claim_complained_about_records(
    system: System, clock: ControlledClock, a_closed_claim: UUID, worked_it: str
) -> None:
    complaint_id = lodge(system, clock, SubjectKind.CLAIM, str(a_closed_claim))

    with pytest.raises(ComplaintHandlerWorkedSubjectCaseError):
        system.complaints.assign(complaint_id, AssignComplaint(handler_id=worked_it), by(OFFICER))


def test_assigning_records_the_staff_looked_up_on_the_claim_when_the_handler_is_free(
    system: System, clock: ControlledClock, a_closed_claim: UUID
) -> None:
    complaint_id = lodge(system, clock, SubjectKind.CLAIM, str(a_closed_claim))

    system.complaints.assign(complaint_id, AssignComplaint(handler_id=HANDLING_OFFICER[1]), by(OFFICER))

    assigned = system.complaints.history(complaint_id)[-1]
    assert isinstance(assigned, ComplaintAssigned)
    assert {ADJUSTER[1], HANDLER[1], "liu.yang.survey", "zhou.hui.review", SELLER[1]} <= set(
        assigned.subject_staff
    )
    assert "caseledger" not in assigned.subject_staff  # the system's own steps are nobody's
    assert assigned.subject_case_version == len(system.claims.history(a_closed_claim))


def test_assigning_refuses_the_underwriter_of_the_policy_complained_about(
    system: System, clock: ControlledClock
) -> None:
    register_demo_seller(system, clock.now().astimezone(SHANGHAI).date())
    policy_id = a_policy(system, Line.LIFE)
    complaint_id = lodge(system, clock, SubjectKind.POLICY, str(policy_id))

    with pytest.raises(ComplaintHandlerWorkedSubjectCaseError):
        system.complaints.assign(complaint_id, AssignComplaint(handler_id="wang.fang.uw"), by(OFFICER))


# A policy or claim named by its number, a seller, and a reference caseledger cannot resolve (refused, never
# passed over): tests/integration/test_complaint_recusal.py.


# ------------------------------------------------------------------------------ the review window


def test_a_review_asked_on_a_day_the_window_timer_shows_open_is_accepted(
    system: System, clock: ControlledClock, timers_group: Group
) -> None:
    clock.set(at(2026, 8, 25))
    register_demo_seller(system, clock.now().astimezone(SHANGHAI).date())
    complaint_id = lodge(system, clock, SubjectKind.SELLER, SELLER[1])  # a subject on record: assignable
    system.complaints.assign(complaint_id, AssignComplaint(handler_id=HANDLING_OFFICER[1]), by(OFFICER))
    system.complaints.classify(complaint_id, ClassifyComplaint(complexity=Complexity.SIMPLE), by(OFFICER))
    clock.set(at(2026, 9, 1, 15))  # the 30th day after it is National Day
    system.complaints.respond(
        complaint_id,
        RespondToComplaint(
            decision="upheld",
            verification_summary="invoice checked",
            basis="clause 3.2",
            remedies=[Remedy.REVIEW, Remedy.LITIGATION],
            channel="letter",
            delivered_at=clock.now(),
        ),
        by(HANDLING_OFFICER),
    )
    response = system.complaints.history(complaint_id)[-1]
    assert isinstance(response, ComplaintResponded)

    timers_group.consume()
    window = the_timer(system, "CMP-REVIEW-APPLY-30D", complaint_id)
    clock.set(at(2026, 10, 8, 20))  # the window rolled over National Day to Thu 8 Oct
    system.complaints.request_review(
        complaint_id, RequestReview(reason="the paint is unmatched"), by(OFFICER)
    )

    assert window.due_at == response.review_window_closes_at == at(2026, 10, 9, 0)
    assert isinstance(system.complaints.history(complaint_id)[-1], ComplaintReviewRequested)


# ------------------------------------------------------------------------------ a newer calendar version


def test_publishing_2027s_notice_recomputes_a_running_complaint_clock_with_a_recorded_event(
    system: System, clock: ControlledClock, timers_group: Group, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Received Thu 16 Sep 2027: the 15th day is 1 Oct. Provisionally National Day is 1-5 Oct (24:00 Wed
    # 6 Oct); the notice makes it 1-7 Oct, so the period runs to 24:00 Fri 8 Oct.
    clock.set(at(2027, 9, 16))
    complaint_id = lodge(system, clock, SubjectKind.POLICY, "P-1")
    timers_group.consume()
    before = the_timer(system, "CMP-DECIDE-15D", complaint_id)
    assert (before.due_at, before.provisional) == (at(2027, 10, 7, 0), True)
    assert due_row(system, before.id) == (at(2027, 10, 7, 0), True)
    clock.set(at(2027, 9, 20))
    publish(monkeypatch, notice_2027())

    with psycopg.connect(system.database_url) as conn, conn.transaction():
        report = system.timers.recompute_deadlines(conn, system.settings.db_schema)
    with psycopg.connect(system.database_url) as conn, conn.transaction():
        again = system.timers.recompute_deadlines(conn, system.settings.db_schema)

    after = the_timer(system, "CMP-DECIDE-15D", complaint_id)
    recomputed = system.timers.history(after.id)[-1]
    assert before.id in report.recomputed
    assert again.recomputed == []
    assert isinstance(recomputed, TimerDeadlineRecomputed)
    assert (recomputed.previous_calendar_version, recomputed.calendar_version) == (
        before.calendar_version,
        TEST_VERSION,
    )
    assert (recomputed.previous_due_at, recomputed.due_at) == (at(2027, 10, 7, 0), at(2027, 10, 9, 0))
    assert (after.state, after.due_at, after.provisional) == (TimerState.RUNNING, at(2027, 10, 9, 0), False)
    assert due_row(system, after.id) == (at(2027, 10, 9, 0), False)


# ------------------------------------------------------------------------------ dates outside every calendar


def test_lodging_a_complaint_received_in_2020_is_refused_and_nothing_is_stored(
    system: System, clock: ControlledClock
) -> None:
    stored = system.complaints.recorder.max_notification_id() or 0

    with pytest.raises(DateOutsideCalendarsError) as refused:
        system.complaints.lodge(
            LodgeComplaint(
                received_at=at(2020, 6, 1),
                category=ComplaintCategory.CLAIMS,
                channel=ComplaintChannel.LETTER,
                subject_ref=SubjectRefBody(kind=SubjectKind.POLICY, ref="P-1"),
                customer_id="CUST-edge",
                complainant_name="张伟",
                complainant_phone="13800138000",
                facts="an old grievance",
                demands="a refund",
            ),
            by(OFFICER),
        )

    assert refused.value.rule == "CAL-OUT-OF-RANGE"
    assert (system.complaints.recorder.max_notification_id() or 0) == stored
