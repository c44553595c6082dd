"""Every kind of event cites a legal basis (or, explicitly, the company's procedure) for the audit view."""

from __future__ import annotations

import pytest

from domain.base import DomainEvent
from domain.legal_basis import BY_WIRE_NAME, COMPANY_PROCEDURE, TIMER_EVENTS, legal_basis
from domain.sla import ALL_RULES
from domain.timer import (
    TimerBreached,
    TimerCancelled,
    TimerDeadlineRecomputed,
    TimerExtended,
    TimerPaused,
    TimerRestarted,
    TimerResumed,
    TimerSatisfied,
    TimerStarted,
    TimerWarningRaised,
)
from infra.schemas import event_classes

# The schemas cover the timer topic too; a timer event cites its rule's basis instead (tested below).
CASE_EVENTS = [c for c in event_classes() if not c.TOPIC.startswith("timer.")]
TIMER_EVENT_CLASSES: list[type[DomainEvent]] = [
    TimerStarted,
    TimerWarningRaised,
    TimerPaused,
    TimerResumed,
    TimerRestarted,
    TimerExtended,
    TimerDeadlineRecomputed,
    TimerSatisfied,
    TimerBreached,
    TimerCancelled,
]


@pytest.mark.parametrize("event_class", CASE_EVENTS, ids=lambda c: c.TOPIC)
def test_every_case_event_in_the_catalogue_cites_a_basis(event_class: type[DomainEvent]) -> None:
    citation = legal_basis(event_class.TOPIC)

    assert citation is not None
    assert citation.instrument
    assert citation.law or citation.instrument == COMPANY_PROCEDURE.instrument


def test_the_table_names_no_wire_name_that_no_event_class_has() -> None:
    assert set(BY_WIRE_NAME) == {c.TOPIC for c in CASE_EVENTS}


def test_timer_events_cite_the_basis_of_their_rule_when_the_rule_is_known() -> None:
    assert {c.TOPIC for c in TIMER_EVENT_CLASSES} == TIMER_EVENTS
    rule = next(r for r in ALL_RULES if r.rule_id == "IL24-REJECT-3D")

    citation = legal_basis(TimerBreached.TOPIC, rule.rule_id)

    assert citation is not None
    assert citation.instrument == rule.legal_basis.instrument
    assert citation.article == rule.legal_basis.article


def test_a_timer_event_has_no_basis_when_its_rule_is_not_given() -> None:
    assert legal_basis(TimerStarted.TOPIC) is None
