"""`caseledger timers explain`: an auditor reads how each deadline of a case was computed."""

from __future__ import annotations

from uuid import uuid4

import pytest

from infra.bootstrap import System
from infra.clock import ControlledClock
from infra.services.explain import explain
from tests.integration.test_timers import Consumer, a_claim_paused_for_documents

pytestmark = pytest.mark.integration


def test_explain_shows_the_rule_the_calendar_and_the_pause_of_a_claim_deadline(
    system: System, clock: ControlledClock
) -> None:
    claim_id, _ = a_claim_paused_for_documents(system, clock)
    consumer = Consumer(system, system.timers)
    try:
        consumer.consume()
    finally:
        consumer.close()

    text = explain(system, claim_id)

    assert "rule IL23-DETERMINE-30D" in text
    assert "calendar CN-mainland version" in text
    assert "paused    by ClaimDocumentsRequestDelivered" in text
    assert "resumed   by ClaimDocumentsCompleted" in text
    assert "Civil Code" in text or "Art." in text


def test_explain_says_so_when_a_case_has_no_timer(system: System) -> None:
    case_id = uuid4()

    assert explain(system, case_id) == f"no SLA timers for case {case_id}"
