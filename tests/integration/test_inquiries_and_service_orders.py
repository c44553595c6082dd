"""Inquiries (咨询) and value-added service orders (其他) on real PostgreSQL: stored, projected into their
read models and the customer's contact history, linked to the case an inquiry was transferred to, their
clocks started and met by the timers, and a done order's callback task opened."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import psycopg
import pytest
from psycopg import sql

from cli.scenarios import (
    CALLBACK_AGENT,
    OFFICER,
    SELLER,
    ZHANG_WEI,
    a_policy,
    by,
    register_demo_seller,
    today,
)
from consumers.callbacks import CALLBACKS_GROUP, callbacks_handler
from consumers.timers import TIMERS_GROUP, timers_handler
from domain.base import SHANGHAI
from domain.callback import CallbackTask, CallbackType
from domain.complaint import ComplaintCategory, ComplaintChannel, SubjectKind
from domain.inquiry import InquiryCategory, InquiryChannel, InquiryTransferTargetError, TransferTarget
from domain.policy import Line
from domain.service_order import ServiceKind
from domain.service_request import Requester, ServiceChannel, ServiceItem
from domain.timer import TimerState
from infra.bootstrap import System
from infra.clock import ControlledClock
from infra.services.complaints import LodgeComplaint, SubjectRefBody
from infra.services.explain import explain
from infra.services.inquiries import AnswerInquiry, DeferInquiry, LogInquiry, TransferInquiry
from infra.services.service_orders import (
    CompleteServiceOrder,
    DispatchServiceOrder,
    RecordProviderArrival,
    RequestServiceOrder,
)
from infra.services.service_requests import RequestPolicyService
from infra.services.timers import due_table
from projections.contact_queries import (
    contact_history,
    get_inquiry,
    get_service_order,
    inquiry_origin,
    inquiry_statistics,
)
from projections.schema import read_schema
from projections.store import read_key
from projections.worklist import WORKLIST
from tests.feed import Group, begin, project

pytestmark = pytest.mark.integration


def at(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def customer() -> str:
    return f"CUST-inq-{uuid4().hex[:8]}"


@pytest.fixture
def timers(system: System) -> Iterator[Group]:
    apps = (system.inquiries, system.service_orders, system.callbacks)
    with closing(Group(system, TIMERS_GROUP, timers_handler, apps)) as group:
        yield group


def log(system: System, clock: ControlledClock, customer: str | None, category: InquiryCategory) -> UUID:
    return system.inquiries.log_inquiry(
        LogInquiry(
            contacted_at=clock.now() - timedelta(minutes=3),
            channel=InquiryChannel.HOTLINE,
            category=category,
            question="when is my claim paid?",
            customer_id=customer,
        ),
        by(CALLBACK_AGENT),
    ).case_id


def rescue(system: System, clock: ControlledClock, customer: str) -> UUID:
    return system.service_orders.request(
        RequestServiceOrder(
            requested_at=clock.now(),
            kind=ServiceKind.ROADSIDE_RESCUE,
            customer_id=customer,
            policy_ref="P0B8A4F2E3C1D",
            contact_phone="13800138000",
            location="G60 km 32",
        ),
        by(CALLBACK_AGENT),
    ).case_id


def timer_state(system: System, rule_id: str, case_id: UUID) -> TimerState:
    with psycopg.connect(system.database_url) as conn:
        [(timer_id,)] = conn.execute(
            sql.SQL("SELECT timer_id FROM {} WHERE rule_id = %s AND case_id = %s").format(
                due_table(system.settings.db_schema)
            ),
            (rule_id, case_id),
        ).fetchall()
    return system.timers.load(timer_id).state


def test_inquiries_project_their_first_contact_resolution_and_statistics(
    system: System, clock: ControlledClock, customer: str
) -> None:
    clock.set(at(2026, 7, 14))
    begin(system)
    project(system)  # the read-model tables exist before the totals are read
    at_once = log(system, clock, customer, InquiryCategory.PREMIUM)
    system.inquiries.answer(at_once, AnswerInquiry(answer="3,200.00 CNY"), by(CALLBACK_AGENT))
    later = log(system, clock, customer, InquiryCategory.PREMIUM)
    system.inquiries.defer(later, DeferInquiry(reason="billing must confirm"), by(CALLBACK_AGENT))
    system.inquiries.answer(later, AnswerInquiry(answer="confirmed"), by(CALLBACK_AGENT))
    schema = read_schema(system.settings.db_schema)
    with psycopg.connect(system.database_url) as conn:
        before = {(s.category, s.channel): s for s in inquiry_statistics(conn, schema, month_from="2026-07")}

    project(system)

    with psycopg.connect(system.database_url) as conn:
        first = get_inquiry(conn, schema, at_once)
        second = get_inquiry(conn, schema, later)
        after = {(s.category, s.channel): s for s in inquiry_statistics(conn, schema, month_from="2026-07")}
    assert first is not None
    assert second is not None
    assert (first.status, first.first_contact) == ("answered", True)
    assert (second.status, second.first_contact) == ("answered", False)
    assert second.next_deadline is None  # the answer met the reply clock
    key = ("premium", "hotline")
    old = before.get(key)
    assert after[key].logged - (old.logged if old else 0) == 2
    assert after[key].first_contact_resolved - (old.first_contact_resolved if old else 0) == 1


def test_transferred_inquiry_is_shown_on_the_complaint_it_opened_and_in_the_contact_history(
    system: System, clock: ControlledClock, customer: str
) -> None:
    clock.set(at(2026, 7, 15))
    begin(system)
    inquiry_id = log(system, clock, customer, InquiryCategory.CLAIM_PROGRESS)
    complaint_id = system.complaints.lodge(
        LodgeComplaint(
            received_at=clock.now(),
            category=ComplaintCategory.CLAIMS,
            channel=ComplaintChannel.HOTLINE,
            subject_ref=SubjectRefBody(kind=SubjectKind.POLICY, ref="P0B8A4F2E3C1D"),
            customer_id=customer,
            complainant_name="张伟",
            complainant_phone="13800138000",
            facts="the claim has waited 40 days",
            demands="pay now",
        ),
        by(OFFICER),
    ).case_id
    system.inquiries.transfer(
        inquiry_id,
        TransferInquiry(target_kind=TransferTarget.COMPLAINT, target_id=complaint_id),
        by(CALLBACK_AGENT),
    )

    project(system)

    schema = read_schema(system.settings.db_schema)
    with psycopg.connect(system.database_url) as conn:
        origin = inquiry_origin(conn, schema, complaint_id)
        history = contact_history(conn, schema, customer)
    assert origin is not None
    assert (origin.inquiry_id, origin.case_kind) == (inquiry_id, "complaint")
    kinds = {contact.case_id: (contact.contact_kind, contact.last_step) for contact in history.contacts}
    assert kinds == {
        inquiry_id: ("inquiry", "InquiryTransferred"),
        complaint_id: ("complaint", "ComplaintLodged"),
    }


def test_transfer_is_refused_when_the_complaint_named_is_not_on_record(
    system: System, clock: ControlledClock, customer: str
) -> None:
    inquiry_id = log(system, clock, customer, InquiryCategory.OTHER)

    with pytest.raises(InquiryTransferTargetError):
        system.inquiries.transfer(
            inquiry_id,
            TransferInquiry(target_kind=TransferTarget.COMPLAINT, target_id=uuid4()),
            by(CALLBACK_AGENT),
        )


def test_deferral_starts_the_reply_timer_and_the_answer_satisfies_it(
    system: System, clock: ControlledClock, customer: str, timers: Group
) -> None:
    clock.set(at(2026, 9, 30, 16))
    begin(system)
    inquiry_id = log(system, clock, customer, InquiryCategory.POLICY)
    system.inquiries.defer(inquiry_id, DeferInquiry(reason="underwriting must answer"), by(CALLBACK_AGENT))
    timers.consume()
    assert timer_state(system, "INQ-REPLY-1WD", inquiry_id) is TimerState.RUNNING

    clock.set(at(2026, 10, 8, 11))
    system.inquiries.answer(inquiry_id, AnswerInquiry(answer="the clause covers it"), by(CALLBACK_AGENT))
    timers.consume()

    assert timer_state(system, "INQ-REPLY-1WD", inquiry_id) is TimerState.SATISFIED
    told = explain(system, inquiry_id)
    assert "INQ-REPLY-1WD" in told
    assert "company policy" in told


def test_rescue_order_meets_its_arrival_standard_and_opens_its_callback_when_done(
    system: System, clock: ControlledClock, customer: str, timers: Group
) -> None:
    clock.set(at(2026, 7, 16, 21, 40))
    begin(system)
    order_id = rescue(system, clock, customer)
    system.service_orders.dispatch(order_id, DispatchServiceOrder(provider="Anji Rescue"), by(CALLBACK_AGENT))
    clock.set(at(2026, 7, 16, 22, 25))
    system.service_orders.record_arrival(
        order_id, RecordProviderArrival(arrived_at=clock.now()), by(CALLBACK_AGENT)
    )
    system.service_orders.complete(
        order_id, CompleteServiceOrder(summary="battery jumped"), by(CALLBACK_AGENT)
    )
    timers.consume()
    with closing(Group(system, CALLBACKS_GROUP, callbacks_handler, (system.service_orders,))) as callbacks:
        callbacks.consume()
    project(system)

    assert timer_state(system, "VAS-ARRIVE-RESCUE-1H", order_id) is TimerState.SATISFIED
    assert timer_state(system, "CO-VAS-CALLBACK-3WD", order_id) is TimerState.RUNNING
    task_id = CallbackTask.task_id_for(
        CallbackType.VALUE_ADDED_SERVICE, system.service_orders.history(order_id)[-1].event_id
    )
    task = system.callbacks.load(task_id)
    assert (task.customer_id, task.source_case_id) == (customer, order_id)
    schema = read_schema(system.settings.db_schema)
    with psycopg.connect(system.database_url) as conn:
        order = get_service_order(conn, schema, order_id)
    assert order is not None
    assert (order.status, order.arrived_on_time) == ("done", True)
    assert order.arrival_due_at == at(2026, 7, 16, 22, 40)


def test_a_deferred_inquiry_is_on_its_agent_s_worklist_due_when_the_reply_standard_ends(
    system: System, clock: ControlledClock, customer: str
) -> None:
    clock.set(at(2026, 9, 30, 16))
    begin(system)
    inquiry_id = log(system, clock, customer, InquiryCategory.POLICY)
    project(system)
    schema = read_schema(system.settings.db_schema)
    with psycopg.connect(system.database_url) as conn:
        during_the_contact = read_key(conn, schema, WORKLIST, (inquiry_id, "answer inquiry"))
    system.inquiries.defer(inquiry_id, DeferInquiry(reason="underwriting must answer"), by(CALLBACK_AGENT))
    project(system)
    with psycopg.connect(system.database_url) as conn:
        assert read_key(conn, schema, WORKLIST, (inquiry_id, "answer inquiry")) is None
        item = read_key(conn, schema, WORKLIST, (inquiry_id, "reply to inquiry"))
    assert during_the_contact is not None
    assert during_the_contact["due_at"] is None
    assert item is not None
    assert (item["role"], item["assignee"], item["rule_id"]) == (
        "callback_agent",
        CALLBACK_AGENT[1],
        "INQ-REPLY-1WD",
    )
    assert item["due_at"] == at(2026, 10, 9, 0)

    system.inquiries.answer(inquiry_id, AnswerInquiry(answer="the clause covers it"), by(CALLBACK_AGENT))
    project(system)

    with psycopg.connect(system.database_url) as conn:
        assert read_key(conn, schema, WORKLIST, (inquiry_id, "reply to inquiry")) is None
        closing_item = read_key(conn, schema, WORKLIST, (inquiry_id, "close inquiry"))
    assert closing_item is not None


def test_transfer_is_refused_when_the_complaint_is_another_customer_s(
    system: System, clock: ControlledClock, customer: str
) -> None:
    inquiry_id = log(system, clock, customer, InquiryCategory.CLAIM_PROGRESS)
    someone_else_s = system.complaints.lodge(
        LodgeComplaint(
            received_at=clock.now(),
            category=ComplaintCategory.CLAIMS,
            channel=ComplaintChannel.HOTLINE,
            subject_ref=SubjectRefBody(kind=SubjectKind.POLICY, ref="P0B8A4F2E3C1D"),
            customer_id="CUST-someone-else",
            complainant_name="李四",
            complainant_phone="13900139000",
            facts="late",
            demands="pay",
        ),
        by(OFFICER),
    ).case_id

    with pytest.raises(InquiryTransferTargetError, match="not the caller's"):
        system.inquiries.transfer(
            inquiry_id,
            TransferInquiry(target_kind=TransferTarget.COMPLAINT, target_id=someone_else_s),
            by(CALLBACK_AGENT),
        )


def address_change(system: System, clock: ControlledClock, policy_id: UUID, inquiry_id: UUID | None) -> UUID:
    return system.service_requests.request(
        RequestPolicyService(
            policy_id=policy_id,
            item=ServiceItem.ADDRESS_CHANGE,
            channel=ServiceChannel.HOTLINE,
            requested_by=Requester.APPLICANT,
            requester_name=ZHANG_WEI.name,
            received_at=clock.now(),
            new_address="上海市浦东新区世纪大道 100 号 8 楼",
            inquiry_id=inquiry_id,
        ),
        by(SELLER),
    ).case_id


def a_policy_holder(system: System) -> tuple[UUID, str]:
    register_demo_seller(system, today(system))
    policy_id = a_policy(system, Line.LIFE)
    return policy_id, system.policies.load(policy_id).customer_id


def test_transferred_inquiry_is_shown_on_the_service_request_it_opened_and_both_are_in_the_history(
    system: System, clock: ControlledClock
) -> None:
    policy_id, customer = a_policy_holder(system)
    inquiry_id = log(system, clock, customer, InquiryCategory.POLICY)
    request_id = address_change(system, clock, policy_id, inquiry_id)
    system.inquiries.transfer(
        inquiry_id,
        TransferInquiry(target_kind=TransferTarget.SERVICE_REQUEST, target_id=request_id),
        by(CALLBACK_AGENT),
    )

    project(system)

    schema = read_schema(system.settings.db_schema)
    with psycopg.connect(system.database_url) as conn:
        origin = inquiry_origin(conn, schema, request_id)
        history = contact_history(conn, schema, customer)
    assert origin is not None
    assert (origin.inquiry_id, origin.case_kind) == (inquiry_id, "service_request")
    kinds = {contact.case_id: (contact.contact_kind, contact.topic) for contact in history.contacts}
    assert kinds[inquiry_id] == ("inquiry", "policy")
    assert kinds[request_id] == ("service_request", "address_change")


def test_transfer_is_refused_when_the_service_request_named_is_not_on_record(
    system: System, clock: ControlledClock, customer: str
) -> None:
    inquiry_id = log(system, clock, customer, InquiryCategory.POLICY)

    with pytest.raises(InquiryTransferTargetError, match="is on record"):
        system.inquiries.transfer(
            inquiry_id,
            TransferInquiry(target_kind=TransferTarget.SERVICE_REQUEST, target_id=uuid4()),
            by(CALLBACK_AGENT),
        )


def test_transfer_is_refused_when_the_service_request_is_on_another_customer_s_policy(
    system: System, clock: ControlledClock, customer: str
) -> None:
    policy_id, _ = a_policy_holder(system)
    request_id = address_change(system, clock, policy_id, None)
    inquiry_id = log(system, clock, customer, InquiryCategory.POLICY)

    with pytest.raises(InquiryTransferTargetError, match="not the caller's"):
        system.inquiries.transfer(
            inquiry_id,
            TransferInquiry(target_kind=TransferTarget.SERVICE_REQUEST, target_id=request_id),
            by(CALLBACK_AGENT),
        )
    assert system.inquiries.load(inquiry_id).transferred_to is None


def test_transfer_is_refused_when_the_service_request_was_opened_for_another_inquiry(
    system: System, clock: ControlledClock
) -> None:
    policy_id, customer = a_policy_holder(system)
    first = log(system, clock, customer, InquiryCategory.POLICY)
    request_id = address_change(system, clock, policy_id, first)
    second = log(system, clock, customer, InquiryCategory.POLICY)

    with pytest.raises(InquiryTransferTargetError, match="not this one"):
        system.inquiries.transfer(
            second,
            TransferInquiry(target_kind=TransferTarget.SERVICE_REQUEST, target_id=request_id),
            by(CALLBACK_AGENT),
        )


def test_a_service_request_shows_the_inquiry_it_was_opened_for_before_the_inquiry_is_transferred(
    system: System, clock: ControlledClock
) -> None:
    policy_id, customer = a_policy_holder(system)
    inquiry_id = log(system, clock, customer, InquiryCategory.POLICY)
    request_id = address_change(system, clock, policy_id, inquiry_id)
    without_inquiry = address_change(system, clock, policy_id, None)

    project(system)

    schema = read_schema(system.settings.db_schema)
    with psycopg.connect(system.database_url) as conn:
        origin = inquiry_origin(conn, schema, request_id)
        none = inquiry_origin(conn, schema, without_inquiry)
    assert origin is not None
    assert (origin.case_id, origin.case_kind, origin.inquiry_id) == (
        request_id,
        "service_request",
        inquiry_id,
    )
    assert (origin.channel, origin.category) == ("hotline", "policy")
    assert none is None
