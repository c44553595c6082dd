"""The event store on a real PostgreSQL server: round trips, conflicts, upcasting, snapshots, refusals."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import orjson
import psycopg
import pytest
from eventsourcing.domain import Snapshot
from eventsourcing.persistence import StoredEvent
from pydantic import ValidationError

from cli.scenarios import (
    HANDLER,
    SELLER_REGISTRATION,
    a_policy,
    by,
    claim_story,
    complaint_story,
    life_policy_story,
    register_demo_seller,
)
from domain.base import SHANGHAI, CaseAggregate, Context, DomainEvent, Role
from domain.claim import Claim, ClaimDecided, ClaimOutcome, ClaimReported, RefusalGround
from domain.cover import PolicyNotInForceError
from domain.policy import Line, Policy, SellerNotRegisteredError
from infra.bootstrap import System, bootstrap
from infra.clock import ControlledClock
from infra.services.claims import RegisterClaim, ReportClaim, WithdrawClaim
from infra.services.policies import SubmitProposal
from infra.settings import Settings
from infra.store.eventstore import CaseApplication, CaseNotFoundError, ConcurrencyConflictError

pytestmark = pytest.mark.integration


@pytest.fixture
def seller(system: System) -> None:
    register_demo_seller(system, system.clock.now().astimezone(SHANGHAI).date())


def a_motor_policy(system: System) -> UUID:
    return a_policy(system)


def replay(events: list[DomainEvent]) -> Any:
    aggregate: Any = None
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


def state(aggregate: CaseAggregate) -> dict[str, Any]:
    return {k: v for k, v in aggregate.__dict__.items() if k != "_pending_events"}


def report_claim(system: System, policy_id: UUID, **overrides: Any) -> UUID:
    claim_id = uuid4()
    fields: dict[str, Any] = {
        "policy_id": policy_id,
        "loss_at": system.clock.now() - timedelta(hours=2),
        "reporter_name": "张伟",
        "reporter_phone": "13800138000",
        "cause": "hail",
        "description": "dents on the roof",
        "channel": "app",
    } | overrides
    system.claims.report(ReportClaim(**fields), by(HANDLER), claim_id=claim_id)
    return claim_id


# ------------------------------------------------------------------------------------------ round trips


@pytest.mark.usefixtures("seller")
def test_every_aggregate_loads_as_it_was_saved_when_its_whole_lifecycle_is_stored(
    system: System, clock: ControlledClock
) -> None:
    life_policy_id, task_id = life_policy_story(system, clock)
    motor_policy_id = a_motor_policy(system)
    claim_id = claim_story(system, clock, motor_policy_id)
    complaint_id = complaint_story(system, clock, motor_policy_id)
    apps: list[tuple[CaseApplication[Any], UUID]] = [
        (system.policies, life_policy_id),
        (system.callbacks, task_id),
        (system.claims, claim_id),
        (system.complaints, complaint_id),
    ]

    for app, case_id in apps:
        loaded = app.load(case_id)
        history = app.history(case_id)
        assert loaded.version == len(history) > 2
        assert state(loaded) == state(replay(history))
    assert system.claims.load(claim_id).paid_fen == 600_000
    assert system.policies.load(life_policy_id).cover().in_force


@pytest.mark.usefixtures("seller")
def test_stored_payload_is_json_under_the_wire_name_when_an_event_is_saved(system: System) -> None:
    policy_id = a_motor_policy(system)
    claim_id = report_claim(system, policy_id)

    (stored,) = system.claims.recorder.select_events(claim_id)

    assert stored.topic == "claim.reported.v2"
    payload = orjson.loads(stored.state)
    assert payload["cause"] == "hail"
    assert payload["actor"] == {"id": HANDLER[1], "role": "claims_handler"}
    assert payload["class_version"] == 2


# ------------------------------------------------------------------------------------------ concurrency


@pytest.mark.usefixtures("seller")
def test_two_concurrent_writers_of_one_case_get_one_success_and_one_conflict(system: System) -> None:
    claim_id = report_claim(system, a_motor_policy(system))
    both_loaded = threading.Barrier(2, timeout=10)
    outcomes: list[object] = []

    def register_after_both_loaded(claim: Claim, ctx: Context, claim_no: str) -> None:
        both_loaded.wait()  # both writers hold version 1 before either saves
        claim.register(ctx, claim_no=claim_no, coverages=("hail",), reserve_fen=10_000)

    def writer(claim_no: str) -> None:
        try:
            outcomes.append(
                system.claims.run(claim_id, by(HANDLER), None, register_after_both_loaded, claim_no)
            )
        except ConcurrencyConflictError as conflict:
            outcomes.append(conflict)

    threads = [threading.Thread(target=writer, args=(f"LP-{n}",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    conflicts = [o for o in outcomes if isinstance(o, ConcurrencyConflictError)]
    assert len(outcomes) == 2
    assert len(conflicts) == 1
    assert conflicts[0].current_version == 2
    assert len(system.claims.history(claim_id)) == 2


@pytest.mark.usefixtures("seller")
def test_command_is_refused_with_the_current_version_when_if_match_is_stale(system: System) -> None:
    claim_id = report_claim(system, a_motor_policy(system))
    system.claims.register(
        claim_id, RegisterClaim(claim_no="LP-1", coverages=["hail"], reserve_fen=0), by(HANDLER), 1
    )

    with pytest.raises(ConcurrencyConflictError) as refusal:
        system.claims.withdraw(claim_id, WithdrawClaim(reason="customer changed their mind"), by(HANDLER), 1)

    assert refusal.value.current_version == 2
    assert refusal.value.expected_version == 1
    assert len(system.claims.history(claim_id)) == 2


# ------------------------------------------------------------------------------------------ upcasting


@pytest.mark.usefixtures("seller")
def test_claim_reported_in_the_version_1_shape_loads_with_its_channel_upcast(system: System) -> None:
    policy_id = a_motor_policy(system)
    cover = system.policies.cover(policy_id)
    claim_id = uuid4()
    recorded_at = system.clock.now()
    version_1_payload = {
        # The shape ClaimReported had before it recorded the reporting channel.
        "timestamp": recorded_at.isoformat(),
        "actor": {"id": HANDLER[1], "role": "claims_handler"},
        "correlation_id": str(uuid4()),
        "causation_id": None,
        "occurred_at": (recorded_at - timedelta(days=1)).isoformat(),
        "originator_topic": "claim.aggregate",
        "policy_id": str(policy_id),
        "policy_no": cover.policy_no,
        "customer_id": cover.customer_id,
        "reporter_name": "张伟",
        "reporter_phone": "13800138000",
        "cause": "flood",
        "description": "water in the engine",
        "ctpl": False,
        "sum_insured_fen": cover.sum_insured_fen,
    }
    system.claims.recorder.insert_events(
        [StoredEvent(claim_id, 1, "claim.reported.v1", orjson.dumps(version_1_payload))]
    )

    (event,) = system.claims.history(claim_id)
    claim = system.claims.load(claim_id)

    assert isinstance(event, ClaimReported)
    assert event.channel == "unknown"
    assert claim.policy_id == policy_id
    system.claims.register(
        claim_id, RegisterClaim(claim_no="LP-OLD", coverages=["hail"], reserve_fen=0), by(HANDLER), 1
    )
    assert system.claims.load(claim_id).version == 2


# ------------------------------------------------------------------------------------------ snapshots


@pytest.fixture
def snapshotting_system(database_url: str, schema: str, clock: ControlledClock) -> Iterator[System]:
    settings = Settings(database_url=database_url, db_schema=schema, snapshot_interval=4, db_pool_size=2)
    built = bootstrap(settings, clock)
    yield built
    built.close()


def test_long_history_loads_from_a_snapshot_with_the_same_state_as_a_full_replay(
    snapshotting_system: System, clock: ControlledClock
) -> None:
    system = snapshotting_system
    register_demo_seller(system, clock.now().astimezone(SHANGHAI).date())
    policy_id = a_motor_policy(system)

    assert system.policies.snapshots is not None
    snapshots = list(system.policies.snapshots.get(policy_id))
    loaded = system.policies.load(policy_id)

    assert [s.originator_version for s in snapshots] == [4, 8, 12]
    assert state(loaded) == state(replay(system.policies.history(policy_id)))
    assert loaded.cover().in_force


def test_snapshot_keeps_the_types_of_the_aggregate_state_when_it_is_loaded(
    snapshotting_system: System, clock: ControlledClock
) -> None:
    system = snapshotting_system
    register_demo_seller(system, clock.now().astimezone(SHANGHAI).date())
    policy_id = a_motor_policy(system)
    assert system.policies.snapshots is not None
    (latest,) = list(system.policies.snapshots.get(policy_id, desc=True, limit=1))
    assert isinstance(latest, Snapshot)

    restored = latest.mutate(None)

    assert isinstance(restored, Policy)
    assert restored.line is Line.MOTOR_COMMERCIAL
    assert isinstance(restored.exclusion_clause_ids, frozenset)
    assert restored.__dict__.keys() == system.policies.load(policy_id).__dict__.keys()


# ------------------------------------------------------------------------------- refusals store nothing


def events_in_store(system: System) -> int:
    with psycopg.connect(system.database_url) as conn:
        total = 0
        for app in (system.policies, system.claims, system.complaints, system.callbacks):
            table = f"{app.schema_for(system.settings.db_schema)}.{app.name.lower()}_events"
            row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            assert row is not None
            total += int(row[0])
        return total


@pytest.mark.usefixtures("seller")
def test_invalid_command_data_names_the_field_and_stores_nothing(system: System) -> None:
    policy_id = a_motor_policy(system)
    before = events_in_store(system)

    with pytest.raises(ValidationError) as refusal:
        report_claim(system, policy_id, cause="")

    assert refusal.value.errors()[0]["loc"] == ("cause",)
    assert events_in_store(system) == before


@pytest.mark.usefixtures("seller")
def test_claim_is_refused_and_nothing_stored_when_the_policy_is_not_yet_in_force(system: System) -> None:
    policy_id = uuid4()
    system.policies.submit(
        SubmitProposal(
            proposal_no="TB-1",
            product_code="MOTOR-COMM-2026",
            line=Line.MOTOR_COMMERCIAL,
            customer_id="CUST-1",
            applicant_name="张伟",
            applicant_id_number="110101199003071234",
            applicant_phone="13800138000",
            insured_name="张伟",
            sum_insured_fen=1_000_000,
            term_months=12,
            quoted_premium_fen=100_000,
            exclusion_clause_ids=["EXCL-1"],
            seller_registration_no=SELLER_REGISTRATION,
            channel="agency",
        ),
        by((Role.SELLER, "li.na.seller")),
        policy_id=policy_id,
    )
    before = events_in_store(system)

    with pytest.raises(PolicyNotInForceError):
        report_claim(system, policy_id)

    assert events_in_store(system) == before


@pytest.mark.usefixtures("seller")
def test_claim_is_stored_and_decided_not_covered_when_the_loss_date_is_before_the_cover_started(
    system: System,
) -> None:
    policy_id = a_motor_policy(system)

    claim_id = report_claim(system, policy_id, loss_at=system.clock.now() - timedelta(days=3))

    reported, decided = system.claims.history(claim_id)
    assert isinstance(reported, ClaimReported)
    assert isinstance(decided, ClaimDecided)
    assert (decided.outcome, decided.grounds) == (ClaimOutcome.NOT_COVERED, (RefusalGround.OUTSIDE_COVER,))
    assert "Insurance Law Art. 14" in decided.reasons[0]


@pytest.mark.isolated("needs a sellers registry without the demo seller")
def test_proposal_is_refused_when_the_seller_has_no_registration_on_record(system: System) -> None:
    before = events_in_store(system)

    with pytest.raises(SellerNotRegisteredError):
        a_motor_policy(system)

    assert events_in_store(system) == before


def test_unknown_case_is_reported_as_not_found(system: System) -> None:
    with pytest.raises(CaseNotFoundError):
        system.claims.load(uuid4())


@pytest.mark.usefixtures("seller")
def test_case_loads_as_it_stood_at_an_earlier_version(system: System) -> None:
    policy_id = a_motor_policy(system)

    proposal = system.policies.load(policy_id, version=1)

    assert proposal.version == 1
    assert proposal.status.value == "submitted"
    assert system.policies.load(policy_id).status.value != "submitted"
