"""The audit history and the case as of a version or an instant, on real PostgreSQL, timers included."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID, uuid4

import pytest

from cli.scenarios import HANDLER, by
from domain.base import Role
from domain.legal_basis import INSURANCE_LAW
from infra.audit.history import AuditTrail, VersionNotRecordedError
from infra.bootstrap import System
from infra.clock import ControlledClock
from infra.services.claims import (
    CompleteDocuments,
    ReceiveClaimApplication,
    ReceiveDocument,
    RecordRequestDelivery,
    RequestDocuments,
)
from infra.store.eventstore import CaseNotFoundError
from tests.cases import a_motor_policy, report_hail_claim
from tests.feed import Group

pytestmark = pytest.mark.integration

IL23 = "IL23-DETERMINE-30D"


@pytest.fixture
def trail(system: System) -> AuditTrail:
    return AuditTrail(system)


def a_claim_paused_for_documents(
    system: System, clock: ControlledClock, timers: Group
) -> tuple[UUID, dict[str, datetime]]:
    """A motor claim reported, its application recorded an hour later, documents requested 3 days later, the
    request delivered the next day and the documents completed 7 days after that; the timers group
    consumes after each step, as it would while the case is worked. Returns the recording times."""
    policy_id = a_motor_policy(system, clock)
    clock.advance(timedelta(days=1))
    claim_id = report_hail_claim(system, clock, policy_id)
    reported = clock.now()
    clock.advance(timedelta(hours=1))
    system.claims.receive_application(
        claim_id, ReceiveClaimApplication(received_at=reported + timedelta(minutes=10)), by(HANDLER)
    )
    applied = clock.now()
    timers.consume()
    clock.advance(timedelta(days=3))
    system.claims.request_documents(
        claim_id, RequestDocuments(required_docs=["invoice"], notice_ref="N-1"), by(HANDLER)
    )
    requested = clock.now()
    clock.advance(timedelta(days=1))
    system.claims.record_request_delivery(
        claim_id,
        RecordRequestDelivery(delivered_at=clock.now() - timedelta(hours=4), notice_ref="N-1"),
        by(HANDLER),
    )
    delivered = clock.now()
    timers.consume()
    clock.advance(timedelta(days=7))
    system.claims.receive_document(
        claim_id,
        ReceiveDocument(doc_type="invoice", received_at=clock.now() - timedelta(hours=1)),
        by(HANDLER),
    )
    system.claims.complete_documents(claim_id, CompleteDocuments(), by(HANDLER))
    timers.consume()
    return claim_id, {
        "reported": reported,
        "applied": applied,
        "requested": requested,
        "delivered": delivered,
        "completed": clock.now(),
    }


def test_history_lists_every_event_with_actor_times_basis_and_chain_when_a_claim_was_worked(
    system: System, clock: ControlledClock, timers_group: Group, trail: AuditTrail
) -> None:
    claim_id, times = a_claim_paused_for_documents(system, clock, timers_group)

    history = trail.history(claim_id)

    names = [e.wire_name for e in history.events]
    assert history.context == "claim"
    assert names[0] == "claim.reported.v2"
    assert "claim.documents-requested.v1" in names
    assert [e.version for e in history.events] == list(range(1, history.version + 1))
    requested = history.events[names.index("claim.documents-requested.v1")]
    assert (requested.actor_id, requested.actor_role) == (HANDLER[1], Role.CLAIMS_HANDLER)
    assert requested.recorded_at == times["requested"]
    assert requested.legal_basis is not None
    assert requested.legal_basis.instrument == INSURANCE_LAW
    assert requested.legal_basis.article is not None
    assert "Art. 22" in requested.legal_basis.article
    reported = history.events[0]
    assert reported.occurred_at == times["reported"] - timedelta(hours=2)
    assert all(e.correlation_id is not None for e in history.events)
    assert all(e.chain_hash is not None and len(e.chain_hash) == 64 for e in history.events)
    assert len({e.chain_hash for e in history.events}) == len(history.events)


def test_as_of_an_instant_shows_the_case_and_its_timer_as_they_stood_when_the_clock_was_paused(
    system: System, clock: ControlledClock, timers_group: Group, trail: AuditTrail
) -> None:
    claim_id, times = a_claim_paused_for_documents(system, clock, timers_group)

    paused = trail.as_of(claim_id, at=times["delivered"] + timedelta(days=1))
    now = trail.as_of(claim_id)

    assert paused.recorded_at == times["delivered"]
    assert paused.version < now.version
    assert paused.state["documents_complete"] is False
    assert now.state["documents_complete"] is True
    il23_then = next(t for t in paused.timers if t.rule_id == IL23)
    il23_now = next(t for t in now.timers if t.rule_id == IL23)
    assert (il23_then.state, il23_then.due_at, il23_then.pauses) == ("paused", None, 1)
    assert il23_now.state == "running"
    assert il23_now.due_at is not None
    assert il23_then.legal_basis.article is not None
    assert "Art. 23" in il23_then.legal_basis.article


def test_as_of_a_version_rebuilds_the_case_at_that_version_and_its_timers_at_its_recorded_time(
    system: System, clock: ControlledClock, timers_group: Group, trail: AuditTrail
) -> None:
    claim_id, times = a_claim_paused_for_documents(system, clock, timers_group)

    reported = trail.as_of(claim_id, version=1)
    applied = trail.as_of(claim_id, version=2)

    assert (reported.version, reported.recorded_at) == (1, times["reported"])
    # JI-II Art. 15: the decision clock starts with the claim application, not with the report.
    assert IL23 not in {t.rule_id for t in reported.timers}
    assert (applied.version, applied.recorded_at) == (2, times["applied"])
    il23 = next(t for t in applied.timers if t.rule_id == IL23)
    assert (il23.state, il23.version, il23.pauses) == ("running", 1, 0)


def test_as_of_is_refused_when_the_case_did_not_exist_yet_or_the_version_was_never_recorded(
    system: System, clock: ControlledClock, timers_group: Group, trail: AuditTrail
) -> None:
    claim_id, times = a_claim_paused_for_documents(system, clock, timers_group)

    with pytest.raises(VersionNotRecordedError):
        trail.as_of(claim_id, at=times["reported"] - timedelta(seconds=1))
    with pytest.raises(VersionNotRecordedError):
        trail.as_of(claim_id, version=999)


def test_history_is_not_found_when_no_context_holds_the_case(trail: AuditTrail) -> None:
    with pytest.raises(CaseNotFoundError):
        trail.history(uuid4())
