"""The load generator drives lifecycles that keep every rule, with the mix of outcomes it promises."""

from __future__ import annotations

from collections import Counter

import pytest

from cli.load import run_load
from domain.claim import ClosureOutcome
from domain.complaint import ComplaintStatus
from domain.policy import PolicyStatus
from infra.bootstrap import System

pytestmark = pytest.mark.integration


def test_load_drives_every_case_type_without_breaking_a_rule_when_run_at_full_speed(system: System) -> None:
    report = run_load(system, cases=120, rate=0, seed=11)

    assert report.refusals == {}
    assert report.commands > 800
    policy_states = Counter(system.policies.load(i).status for i in report.policies)
    claim_closures = Counter(system.claims.load(i).closure for i in report.claims)
    complaint_states = Counter(system.complaints.load(i).status for i in report.complaints)
    assert policy_states[PolicyStatus.DECLINED] > 0
    assert policy_states[PolicyStatus.IN_COOLING_OFF] + policy_states[PolicyStatus.IN_FORCE] > 0
    assert claim_closures[ClosureOutcome.PAID] > 0
    assert claim_closures[ClosureOutcome.REJECTED] > 0
    assert complaint_states[ComplaintStatus.CLOSED] > 0


def test_load_is_repeatable_when_the_seed_is_the_same(system: System) -> None:
    first = run_load(system, cases=30, rate=0, seed=5)
    second = run_load(system, cases=30, rate=0, seed=5)

    assert first.commands == second.commands
    assert len(first.claims) == len(second.claims)
    assert [system.claims.load(i).status for i in first.claims] == [
        system.claims.load(i).status for i in second.claims
    ]


def test_load_keeps_to_the_requested_rate(system: System) -> None:
    report = run_load(system, cases=8, rate=100, seed=2)

    # Paced, not timed: the run cannot finish faster than its commands at 100 per second.
    assert report.seconds >= (report.commands - 1) / 100
