"""The counter's read models as pure folds: inquiries with first-contact resolution and their statistics,
service orders with the arrival standard of their kind, and the contact history of one customer (保全
requests included)."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

from domain.base import CaseAggregate, DomainEvent, Role
from domain.complaint import Complaint, ComplaintCategory, ComplaintChannel, SubjectKind, SubjectRef
from domain.inquiry import TransferTarget
from projections.base import fold
from projections.contact_history import CONTACT_HISTORY, ContactHistoryView
from projections.inquiries import INQUIRIES, INQUIRY_STATS, InquiriesView, InquiryStatsView
from projections.service_orders import SERVICE_ORDERS, ServiceOrdersView
from tests.gwt import T0, ctx
from tests.unit import test_inquiry_rules as inquiries
from tests.unit import test_service_order_rules as orders
from tests.unit import test_service_request_rules as requests


def events_of(*aggregates: CaseAggregate) -> list[DomainEvent]:
    found: list[DomainEvent] = []
    for aggregate in aggregates:
        found += [e for e in aggregate.collect_events() if isinstance(e, DomainEvent)]
    return found


def test_inquiry_rows_and_statistics_count_first_contact_resolution_and_transfers() -> None:
    at_once = inquiries.logged()
    at_once.answer(inquiries.agent(), answer="paid on Friday")
    later = inquiries.deferred()
    later.answer(inquiries.agent(), answer="confirmed")
    transferred = inquiries.logged()
    transferred.transfer(inquiries.agent(), target_kind=TransferTarget.COMPLAINT, target_id=uuid4())

    state = fold([InquiriesView(), InquiryStatsView()], events_of(at_once, later, transferred))

    rows = state[INQUIRIES.name]
    assert rows[(at_once.id,)]["first_contact"] is True
    assert rows[(later.id,)]["first_contact"] is False
    assert rows[(transferred.id,)]["transferred_kind"] == "complaint"
    [stats] = state[INQUIRY_STATS.name].values()
    assert (stats["logged"], stats["answered"], stats["first_contact_resolved"], stats["transferred"]) == (
        3,
        2,
        1,
        1,
    )


def test_a_deferred_inquiry_row_carries_its_reply_deadline_until_answered() -> None:
    pending = inquiries.deferred()
    events = events_of(pending)

    row = fold([InquiriesView()], events)[INQUIRIES.name][(pending.id,)]

    assert row["next_deadline_rule"] == "INQ-REPLY-1WD"
    assert row["next_deadline"] is not None


def test_a_rescue_row_shows_it_arrived_within_the_hour_of_the_request() -> None:
    order = orders.arrived()  # requested 10 minutes before T0, arrived at T0

    row = fold([ServiceOrdersView()], events_of(order))[SERVICE_ORDERS.name][(order.id,)]

    assert row["arrival_due_at"] == T0 - timedelta(minutes=10) + timedelta(hours=1)
    assert row["arrived_on_time"] is True
    assert row["next_deadline"] is None  # the arrival met the standard


def test_the_contact_history_lists_a_customer_s_inquiry_service_order_and_complaint_only() -> None:
    inquiry = inquiries.logged()  # CUST-0b8a4f2e
    order = orders.requested()  # CUST-0b8a4f2e
    anonymous = inquiries.logged(customer_id=None)
    complaint = Complaint.lodge(
        ctx(Role.COMPLAINTS_OFFICER),
        complaint_id=uuid4(),
        received_at=T0,
        category=ComplaintCategory.CLAIMS,
        channel=ComplaintChannel.HOTLINE,
        subject_ref=SubjectRef(kind=SubjectKind.POLICY, ref="P0B8A4F2E3C1D"),
        customer_id=inquiries.CUSTOMER,
        complainant_name="张伟",
        complainant_phone="13800138000",
        facts="late",
        demands="pay",
    )
    order.dispatch(orders.agent(), provider="Anji Rescue")

    rows = fold([ContactHistoryView()], events_of(inquiry, order, anonymous, complaint))[CONTACT_HISTORY.name]

    assert {key[0]: (row["contact_kind"], row["last_step"]) for key, row in rows.items()} == {
        inquiry.id: ("inquiry", "InquiryLogged"),
        order.id: ("service_order", "ServiceOrderDispatched"),
        complaint.id: ("complaint", "ComplaintLodged"),
    }


def test_the_contact_history_lists_a_policy_s_service_request_under_the_policy_s_customer() -> None:
    request = requests.checked()  # an address change on a policy of CUST-1

    rows = fold([ContactHistoryView()], events_of(request))[CONTACT_HISTORY.name]

    row = rows[(request.id,)]
    assert (row["customer_id"], row["contact_kind"], row["topic"], row["channel"], row["last_step"]) == (
        "CUST-1",
        "service_request",
        "address_change",
        "counter",
        "ServiceRequestChecked",
    )
