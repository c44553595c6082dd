"""其他 Value-added service order rules, as Given / When / Then: requested → dispatched → arrived → done or
cancelled; the arrival-time standard per kind (SLA rows, dated around holidays, make-up days and month
ends) and the callback after a done order."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest

from domain.base import Context, InvalidTransitionError, Role
from domain.calendar import Deadline, default_calendar
from domain.callback import CallbackType
from domain.service_order import (
    ARRIVAL_RULE_IDS,
    CALLBACK_RULE_ID,
    ServiceKind,
    ServiceOrder,
    ServiceOrderCancelled,
    ServiceOrderCompleted,
    ServiceOrderDispatched,
    ServiceOrderRequested,
    ServiceOrderStatus,
    ServiceOrderTimeError,
    ServiceOrderWithoutPolicyError,
    ServiceProviderArrived,
)
from domain.sla import rule_by_id, rules_started_by
from tests.gwt import T0, ctx, expect, given, refuses

SHANGHAI = ZoneInfo("Asia/Shanghai")


def agent(at: datetime = T0) -> Context:
    return ctx(Role.CALLBACK_AGENT, "agent-1", at)


def requested(kind: ServiceKind = ServiceKind.ROADSIDE_RESCUE) -> ServiceOrder:
    return ServiceOrder.request(
        agent(),
        order_id=uuid4(),
        requested_at=T0 - timedelta(minutes=10),
        kind=kind,
        customer_id="CUST-0b8a4f2e",
        policy_ref="P0B8A4F2E3C1D",
        contact_phone="13800138000",
        location="G60 km 32, Songjiang",
        details="flat battery",
    )


def dispatched() -> ServiceOrder:
    order = requested()
    order.dispatch(agent(), provider="Anji Rescue")
    return order


def arrived() -> ServiceOrder:
    order = dispatched()
    order.record_arrival(agent(), arrived_at=T0)
    return order


def due(rule_id: str, start: datetime) -> datetime:
    deadline = rule_by_id(rule_id).deadline(start, default_calendar())
    assert isinstance(deadline, Deadline)
    return deadline.due_at


# ------------------------------------------------------------------------------------------ lifecycle


def test_request_records_kind_customer_policy_and_sealed_contact_when_a_rescue_is_asked_for() -> None:
    [event] = requested().collect_events()
    assert isinstance(event, ServiceOrderRequested)
    assert (event.kind, event.customer_id, event.policy_ref) == (
        ServiceKind.ROADSIDE_RESCUE,
        "CUST-0b8a4f2e",
        "P0B8A4F2E3C1D",
    )
    assert set(ServiceOrderRequested.personal_fields()) == {"contact_phone", "location"}


def test_request_is_refused_when_no_policy_is_named() -> None:
    with refuses(ServiceOrderWithoutPolicyError):
        ServiceOrder.request(
            agent(),
            order_id=uuid4(),
            requested_at=T0,
            kind=ServiceKind.DESIGNATED_DRIVER,
            customer_id="CUST-0b8a4f2e",
            policy_ref=" ",
            contact_phone="13800138000",
            location="Xintiandi",
        )


def test_request_is_refused_when_its_time_is_after_the_recorded_time() -> None:
    with refuses(ServiceOrderTimeError):
        ServiceOrder.request(
            agent(),
            order_id=uuid4(),
            requested_at=T0 + timedelta(minutes=1),
            kind=ServiceKind.RISK_PREVENTION,
            customer_id="CUST-0b8a4f2e",
            policy_ref="P0B8A4F2E3C1D",
            contact_phone="13800138000",
            location="Warehouse 4",
        )


def test_dispatch_records_the_provider_when_the_order_is_requested() -> None:
    then = given(requested()).when(lambda o: o.dispatch(agent(), provider="Anji Rescue"))
    then.events(expect(ServiceOrderDispatched, provider="Anji Rescue", eta=None))
    assert then.aggregate.status is ServiceOrderStatus.DISPATCHED


def test_arrival_is_recorded_at_its_business_time_when_the_provider_is_on_site() -> None:
    then = given(dispatched()).when(lambda o: o.record_arrival(agent(), arrived_at=T0))
    then.events(expect(ServiceProviderArrived, occurred_at=T0))


def test_arrival_is_refused_when_it_is_dated_before_the_dispatch() -> None:
    given(dispatched()).when(
        lambda o: o.record_arrival(agent(), arrived_at=T0 - timedelta(minutes=30))
    ).refused(ServiceOrderTimeError)


def test_arrival_is_refused_when_no_provider_was_dispatched() -> None:
    given(requested()).when(lambda o: o.record_arrival(agent(), arrived_at=T0)).refused(
        InvalidTransitionError
    )


def test_completion_records_the_summary_when_the_provider_arrived() -> None:
    then = given(arrived()).when(lambda o: o.complete(agent(), summary="battery jump-started"))
    then.events(expect(ServiceOrderCompleted, summary="battery jump-started"))
    assert then.aggregate.status is ServiceOrderStatus.DONE


def test_cancellation_records_its_reason_when_the_order_is_not_done() -> None:
    then = given(dispatched()).when(lambda o: o.cancel(agent(), reason="the customer found help"))
    then.events(expect(ServiceOrderCancelled, reason="the customer found help"))
    assert then.aggregate.status is ServiceOrderStatus.CANCELLED


def test_cancellation_is_refused_when_the_order_is_done() -> None:
    order = arrived()
    order.complete(agent(), summary="battery jump-started")
    given(order).when(lambda o: o.cancel(agent(), reason="too late")).refused(InvalidTransitionError)


# ------------------------------------------------------------------------------------------ clocks


@pytest.mark.parametrize("kind", list(ServiceKind))
def test_each_kind_has_exactly_one_arrival_standard_started_by_the_request(kind: ServiceKind) -> None:
    facts = {"service_kind": kind.value}
    started = [r for r in rules_started_by("ServiceOrderRequested") if r.applies(facts)]
    assert [r.rule_id for r in started] == [ARRIVAL_RULE_IDS[kind.value]]
    assert started[0].satisfied_by == ("ServiceProviderArrived",)
    assert started[0].cancelled_by == ("ServiceOrderCancelled",)


def test_rescue_arrival_is_due_one_hour_later_across_new_year_when_hours_are_exact() -> None:
    start = datetime(2026, 12, 31, 23, 30, tzinfo=SHANGHAI)
    assert due("VAS-ARRIVE-RESCUE-1H", start) == datetime(2027, 1, 1, 0, 30, tzinfo=SHANGHAI)


def test_driver_arrival_is_due_one_hour_later_on_a_holiday_night() -> None:
    start = datetime(2026, 10, 1, 23, 10, tzinfo=SHANGHAI)
    assert due("VAS-ARRIVE-DRIVER-1H", start) == datetime(2026, 10, 2, 0, 10, tzinfo=SHANGHAI)


def test_prevention_visit_is_due_after_may_day_when_requested_on_april_30() -> None:
    # Thu 2026-04-30; May 1-5 are holidays; Wed 6, Thu 7, Fri 8 are the 3 working days.
    start = datetime(2026, 4, 30, 10, tzinfo=SHANGHAI)
    assert due("VAS-ARRIVE-PREVENTION-3WD", start) == datetime(2026, 5, 9, tzinfo=SHANGHAI)


def test_prevention_visit_counts_the_make_up_saturday_at_february_s_end() -> None:
    # Fri 2026-02-27; Sat Feb 28 is a make-up working day, then Mon Mar 2 and Tue Mar 3.
    start = datetime(2026, 2, 27, 10, tzinfo=SHANGHAI)
    assert due("VAS-ARRIVE-PREVENTION-3WD", start) == datetime(2026, 3, 4, tzinfo=SHANGHAI)


def test_done_order_starts_the_callback_clock_met_by_its_callback_task() -> None:
    rule = rule_by_id(CALLBACK_RULE_ID)
    assert rule.starts_on == ("ServiceOrderCompleted",)
    assert rule.met_on_callback is CallbackType.VALUE_ADDED_SERVICE
    # Wed 2026-09-30; Oct 8 (Thu), 9 (Fri) and the make-up Saturday Oct 10 are the 3 working days.
    assert due(CALLBACK_RULE_ID, datetime(2026, 9, 30, 10, tzinfo=SHANGHAI)) == datetime(
        2026, 10, 11, tzinfo=SHANGHAI
    )
