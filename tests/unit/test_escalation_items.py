"""A breached SLA timer opens an escalation item in the worklist; meeting the obligation late closes it."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

from domain.base import DomainEvent
from projections.base import fold
from projections.worklist import ESCALATION, WorklistView
from tests.unit.test_timer_rules import CLAIM_ID, DUE, SYSTEM, started


def history_of(timer: object) -> list[DomainEvent]:
    return [e for e in timer.collect_events() if isinstance(e, DomainEvent)]  # type: ignore[attr-defined]


def worklist(events: list[DomainEvent]) -> dict[tuple[object, ...], dict[str, object]]:
    view = WorklistView()
    return fold([view], events)[view.table.name]


def test_breach_opens_an_escalation_item_for_the_role_the_rule_escalates_to() -> None:
    timer = started()
    timer.breach(SYSTEM, at=DUE + timedelta(hours=2))

    rows = worklist(history_of(timer))

    row = rows[(CLAIM_ID, f"{ESCALATION}IL23-DETERMINE-30D")]
    assert row["role"] == "supervisor"  # IL23 escalates to the supervisor
    assert row["case_facts"] == {"regulator_reportable": True}
    assert row["case_type"] == "claim"
    assert row["related_case_id"] == timer.id


def test_escalation_item_closes_when_the_obligation_is_met_late() -> None:
    timer = started()
    timer.breach(SYSTEM, at=DUE)
    timer.satisfy(SYSTEM, at=DUE + timedelta(days=1), by_event="ClaimDecided", cause_event_id=uuid4())

    rows = worklist(history_of(timer))

    assert (CLAIM_ID, f"{ESCALATION}IL23-DETERMINE-30D") not in rows


def test_a_timer_met_in_time_opens_no_escalation_item() -> None:
    timer = started()
    timer.satisfy(SYSTEM, at=DUE - timedelta(days=1), by_event="ClaimDecided", cause_event_id=uuid4())

    assert worklist(history_of(timer)) == {}
