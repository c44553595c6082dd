"""`caseledger up --demo`: the story the demo tells, told with the scenario builders, then printed event by
event.

The cases are built by ``cli/scenarios.py`` (the builders the tests and the load driver use too), so what
the demo shows is what the tests prove; this module only chooses which cases, in which order and on which
days, and prints them. The story is told on a controlled clock: it starts some weeks back, so a cooling-off
period can run out and a claim can age, while every recorded time is still the server's (simulated) time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from uuid import UUID, uuid4

from cli.scenarios import (
    HANDLER,
    OFFICER,
    a_policy,
    address_change_story,
    agree_monthly_premiums,
    beneficiary_change_story,
    by,
    claim_story,
    complaint_story,
    drive,
    handling_steps,
    inquiry_story,
    life_policy_story,
    lodge_sample_complaint,
    next_morning,
    open_bank_account_change,
    open_complaint,
    register_claim,
    register_demo_seller,
    remind_premium,
    report_claim,
    service_order_story,
    settled_claim,
    surrender_story,
    suspend_and_reinstate,
    today,
)
from domain.base import SHANGHAI, DomainEvent
from domain.policy import Line
from domain.service_request import ServiceRequested
from infra.bootstrap import System
from infra.clock import ControlledClock, SystemClock

__all__ = ["DemoCases", "OpenCase", "next_morning", "open_complaint", "print_demo", "run_demo"]
"""``caseledger up --demo`` (cli/runtime.py) takes the story's steps from here."""


@dataclass
class DemoCases:
    life_policy_id: UUID
    motor_policy_id: UUID
    claim_id: UUID
    complaint_id: UUID
    callback_task_id: UUID
    open_work: tuple[OpenCase, ...] = ()
    service_request_ids: tuple[UUID, ...] = ()
    """保全 on the life policy: an address change, then a beneficiary change (Art. 41 consent)."""
    # 咨询 and 其他 (issue #14): two inquiries (answered at once; deferred, then answered) and a rescue.
    inquiry_ids: tuple[UUID, ...] = ()
    service_order_id: UUID | None = None


@dataclass(frozen=True)
class OpenCase:
    """A case the demo leaves open for the worklist, and where it stands."""

    context: str
    case_id: UUID
    stands: str


def run_demo(system: System, clock: ControlledClock) -> DemoCases:
    """Drive one life policy (with its callback, two 保全 requests, a missed premium to suspension and
    reinstatement, and a surrender), one motor policy and claim, one complaint, two inquiries and a roadside
    rescue."""
    register_demo_seller(system, today(system))
    life_policy_id, task_id = life_policy_story(system, clock)
    agree_monthly_premiums(system, life_policy_id)  # 续期: the 2nd instalment falls due a month after issue
    service_request_ids = (
        address_change_story(system, clock, life_policy_id),
        beneficiary_change_story(system, clock, life_policy_id),
    )
    motor_policy_id = a_policy(system, Line.MOTOR_COMMERCIAL)
    clock.advance(timedelta(days=5, hours=2))
    claim_id = claim_story(system, clock, motor_policy_id)
    remind_premium(system, life_policy_id)  # 催告, the instalment still unpaid
    complaint_id = complaint_story(system, clock, motor_policy_id)
    # Unpaid 30 days after the demand: suspended (中止), then reinstated (复效); then surrendered (退保).
    suspend_and_reinstate(system, clock, life_policy_id)
    surrender_story(system, clock, life_policy_id)
    inquiry_ids = inquiry_story(system, clock, motor_policy_id)
    service_order_id = service_order_story(system, clock, motor_policy_id)
    # The cases left open are told on the days just before now, so that when the clock then follows real
    # time their colours are the ones the story meant (never backwards: an older story keeps its own time).
    # They start the morning after the day fifteen days back (``next_morning``) and take thirteen days, so
    # they end yesterday morning whatever the hour now.
    start_day = (SystemClock().now().astimezone(SHANGHAI) - timedelta(days=OPEN_WORK_DAYS + 2)).date()
    clock.set(max(clock.now(), datetime.combine(start_day, time(12), tzinfo=SHANGHAI)))
    open_work = open_work_story(system, clock, motor_policy_id)
    # The story ends now (within the day its open work needed), so nothing falls due unseen between them.
    clock.set(max(clock.now(), SystemClock().now()))
    return DemoCases(
        life_policy_id,
        motor_policy_id,
        claim_id,
        complaint_id,
        task_id,
        open_work,
        service_request_ids,
        inquiry_ids=inquiry_ids,
        service_order_id=service_order_id,
    )


OPEN_WORK_DAYS = 13
"""How much story time the open cases span: the last one is lodged a day before the story ends."""


def open_work_story(system: System, clock: ControlledClock, policy_id: UUID) -> tuple[OpenCase, ...]:
    """Cases left open over the story's last 13 days, so that the worklist shows work of every colour.

    At the story's end: a complaint never acknowledged (its 1-working-day acknowledgement breached, its
    15-day answer at 87 %: red), a claim whose one-time documents list was never sent (breached), a
    settled claim whose payment is due within 10 days of the agreement (80 %: red), a complaint assigned
    8 days before the end (53 %: amber) and one lodged the day before (green or just due), and a 保全 bank
    account change of the day before, checked and waiting for a second person's review (green).
    """
    next_morning(clock)
    unacknowledged = uuid4()
    lodge_sample_complaint(system, by(OFFICER), unacknowledged, clock.now(), policy_id)
    unlisted = uuid4()
    report_claim(
        system,
        unlisted,
        policy_id,
        loss_at=clock.now() - timedelta(hours=20),
        cause="hail",
        description="hail dents on the bonnet and roof",
        channel="app",
    )
    register_claim(system, unlisted, coverages=["vehicle damage"], reserve_fen=300_000)
    unpaid = settled_claim(system, clock, policy_id)
    assigned = uuid4()
    lodge_sample_complaint(system, by(OFFICER), assigned, clock.now(), policy_id)
    drive(handling_steps(system, assigned, [HANDLER[1]]))
    clock.advance(timedelta(days=OPEN_WORK_DAYS - 6))
    lodged_yesterday = uuid4()
    lodge_sample_complaint(system, by(OFFICER), lodged_yesterday, clock.now(), policy_id)
    bank_change = open_bank_account_change(system, clock, policy_id)
    clock.advance(timedelta(days=1))
    return (
        OpenCase("complaint", unacknowledged, "lodged, never acknowledged"),
        OpenCase("claim", unlisted, "registered, documents list never sent"),
        OpenCase("claim", unpaid, "settlement agreed, payment due"),
        OpenCase("complaint", assigned, "acknowledged and assigned, answer due"),
        OpenCase("complaint", lodged_yesterday, "lodged yesterday"),
        OpenCase("service_request", bank_change, "保全 bank account change checked, review due"),
    )


def format_history(title: str, events: list[DomainEvent]) -> str:
    """A case's history, one line per event: version, recorded time (Shanghai), event name, actor."""
    lines = [f"\n== {title} ({len(events)} events)"]
    for event in events:
        at = event.recorded_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
        lines.append(
            f"  v{event.originator_version:<3} {at}  {type(event).__name__:<32} "
            f"{event.actor.role.value}:{event.actor.id}  [{event.TOPIC}]"
        )
    return "\n".join(lines)


def print_demo(system: System, cases: DemoCases) -> None:
    """Print every demo case's history under the events' names."""
    print(
        format_history(
            f"Policy {cases.life_policy_id} (life, 20 years: monthly premium missed, suspended, reinstated, "
            "then surrendered)",
            system.policies.history(cases.life_policy_id),
        )
    )
    print(
        format_history(
            f"Callback task {cases.callback_task_id} (承保回访)",
            system.callbacks.history(cases.callback_task_id),
        )
    )
    print(
        format_history(
            f"Policy {cases.motor_policy_id} (motor)", system.policies.history(cases.motor_policy_id)
        )
    )
    print(format_history(f"Claim {cases.claim_id}", system.claims.history(cases.claim_id)))
    print(format_history(f"Complaint {cases.complaint_id}", system.complaints.history(cases.complaint_id)))
    for request_id in cases.service_request_ids:
        history = system.service_requests.history(request_id)
        opened = history[0]
        item = opened.item.value if isinstance(opened, ServiceRequested) else "?"
        print(format_history(f"Service request {request_id} (保全 {item})", history))
    for inquiry_id in cases.inquiry_ids:
        print(format_history(f"Inquiry {inquiry_id} (咨询)", system.inquiries.history(inquiry_id)))
    if cases.service_order_id is not None:
        print(
            format_history(
                f"Service order {cases.service_order_id} (非事故救援 roadside rescue)",
                system.service_orders.history(cases.service_order_id),
            )
        )
    if cases.open_work:
        print("\nLeft open for the worklist (the staff console at /console shows them):")
        for case in cases.open_work:
            print(f"  open {case.context:<10} {case.case_id}  {case.stands}")
