"""Personal data on real parts: sealed in the store and on the topics, erased only when no retention hold
applies, and then gone from the event store, the read models and Kafka, while the cases stay whole."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import orjson
import psycopg
import pytest
from psycopg import sql

from cli.runtime import CONTEXTS, all_groups, caught_up, serve
from cli.scenarios import a_policy, claim_story, register_demo_seller
from consumers.rebuild import verify_projections
from domain.base import SHANGHAI, Actor, Role
from domain.complaint import (
    ComplaintCategory,
    ComplaintChannel,
    SubjectKind,
)
from domain.policy import PolicyStatus, ProposalSubmitted
from domain.privacy import ERASED, PersonalDataErased, RetentionHoldAppliesError
from infra.audit.history import AuditTrail
from infra.bootstrap import System, bootstrap
from infra.clock import ControlledClock
from infra.messaging.contract import topic_name
from infra.schemas import validate_message
from infra.services.complaints import LodgeComplaint, SubjectRefBody, WithdrawComplaint
from infra.services.policies import ExpirePolicy
from infra.settings import Settings
from infra.store.eventstore import Caller
from projections.schema import read_schema
from tests.kafka_fixtures import consume_all

pytestmark = [
    pytest.mark.integration,
    pytest.mark.isolated("runs the relay and the consumer groups over all the schema stores, then rebuilds"),
]

# What the demo's cases record as personal data: the applicant's name, id number and phone, the payee.
PLAINTEXT = ("张伟", "110101199003071234", "13800138000", "6222020200112233445")
MANAGER = Caller(Actor(id="privacy.officer", role=Role.SENIOR_MANAGER), correlation_id=uuid4())
OFFICER = Caller(Actor(id="complaints.officer", role=Role.COMPLAINTS_OFFICER), correlation_id=uuid4())
TIMERS = Caller(Actor(id="timers", role=Role.SYSTEM), correlation_id=uuid4())


@pytest.fixture
def privacy_system(
    database_url: str, schema: str, clock: ControlledClock, kafka_bootstrap: str
) -> Iterator[System]:
    settings = Settings(
        database_url=database_url,
        db_schema=schema,
        topic_prefix=f"t{uuid4().hex[:8]}",
        kafka_bootstrap_servers=kafka_bootstrap,
        db_pool_size=4,
    )
    built = bootstrap(settings, clock)
    register_demo_seller(built, clock.now().astimezone(SHANGHAI).date())
    yield built
    built.close()


def plaintext_in_database(system: System) -> list[str]:
    """Where any of PLAINTEXT appears in any row of any table of this system's schemas."""
    found: list[str] = []
    prefix = system.settings.db_schema
    with psycopg.connect(system.database_url) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables"
            " WHERE (table_schema = %s OR table_schema LIKE %s) AND table_type = 'BASE TABLE'",
            (prefix, prefix.replace("_", "\\_") + "\\_%"),
        ).fetchall()
        for table_schema, table_name in tables:
            rows = conn.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(table_schema, table_name)))
            for row in rows:
                for value in row:
                    text = _as_bytes(value)
                    for secret in PLAINTEXT:
                        if secret.encode() in text:
                            found.append(f"{table_schema}.{table_name}: {secret}")
    return found


def _as_bytes(value: Any) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, dict | list):
        return orjson.dumps(value)
    return str(value).encode()


def plaintext_on_topics(system: System, bootstrap_servers: str) -> tuple[int, list[str]]:
    """How many messages the system's topics hold, and where any of PLAINTEXT appears in them."""
    found: list[str] = []
    count = 0
    for context in CONTEXTS:
        for record in consume_all(bootstrap_servers, topic_name(system.settings.topic_prefix, context)):
            count += 1
            blob = record.value + b"".join(v for _, v in record.headers)
            found += [f"{record.topic}@{record.offset}: {s}" for s in PLAINTEXT if s.encode() in blob]
    return count, found


def applicant_in_read_model(system: System, policy_id: UUID) -> str:
    with psycopg.connect(system.database_url) as conn:
        row = conn.execute(
            sql.SQL("SELECT applicant_name FROM {} WHERE policy_id = %s").format(
                sql.Identifier(read_schema(system.settings.db_schema), "policies")
            ),
            (policy_id,),
        ).fetchone()
    assert row is not None
    return str(row[0])


def lodge_and_withdraw_complaint(
    system: System, clock: ControlledClock, customer_id: str, policy_id: UUID
) -> UUID:
    complaint_id = uuid4()
    system.complaints.lodge(
        LodgeComplaint(
            received_at=clock.now(),
            category=ComplaintCategory.SALES,
            channel=ComplaintChannel.HOTLINE,
            subject_ref=SubjectRefBody(kind=SubjectKind.POLICY, ref=str(policy_id)),
            customer_id=customer_id,
            complainant_name="张伟",
            complainant_phone="13800138000",
            facts="the seller did not explain the deductible",
            demands="an explanation",
        ),
        OFFICER,
        complaint_id=complaint_id,
    )
    system.complaints.withdraw(complaint_id, WithdrawComplaint(reason="explained on the phone"), OFFICER)
    return complaint_id


def a_motor_policy(system: System) -> tuple[UUID, str]:
    policy_id = a_policy(system)
    return policy_id, system.policies.load(policy_id).customer_id


def test_personal_fields_are_sealed_in_the_event_store_and_on_the_topics(
    privacy_system: System, clock: ControlledClock, kafka_bootstrap: str
) -> None:
    system = privacy_system
    policy_id, _ = a_motor_policy(system)
    claim_story(system, clock, policy_id)

    async def scenario() -> None:
        stop = asyncio.Event()

        async def then() -> None:
            assert await caught_up(system)
            stop.set()

        await serve(system, kafka_bootstrap, stop, relay=True, groups=("projections",), then=then)

    asyncio.run(scenario())

    # The policies view keeps the applicant's name in clear for staff search; nothing else does.
    everywhere = plaintext_in_database(system)
    assert any(leak.endswith("_read.policies: 张伟") for leak in everywhere)  # the search finds plaintext
    assert [leak for leak in everywhere if not leak.endswith("_read.policies: 张伟")] == []
    published, on_topics = plaintext_on_topics(system, kafka_bootstrap)
    assert published > 20
    assert on_topics == []
    # Sealed is still readable to whoever holds the key store: the store and the consumers.
    submitted = system.policies.history(policy_id)[0]
    assert isinstance(submitted, ProposalSubmitted)
    assert submitted.applicant_id_number == "110101199003071234"
    assert applicant_in_read_model(system, policy_id) == "张伟"


def test_erasure_is_refused_under_a_retention_hold_and_performed_once_every_hold_ran_out(
    privacy_system: System, clock: ControlledClock, kafka_bootstrap: str
) -> None:
    system = privacy_system
    policy_id, customer_id = a_motor_policy(system)
    complaint_id = lodge_and_withdraw_complaint(system, clock, customer_id, policy_id)

    def refused_then_erased() -> None:
        # While the policy is in force, its case is open.
        with pytest.raises(RetentionHoldAppliesError) as open_case:
            system.privacy.erase(MANAGER, customer_id, reason="the customer asked")
        assert open_case.value.retention_rule == "RET-OPEN-CASE"

        # Once it expired, its sales records are kept 5 years (a one-year contract).
        clock.advance(timedelta(days=370))
        system.policies.expire(policy_id, ExpirePolicy(), TIMERS)
        with pytest.raises(RetentionHoldAppliesError) as sales:
            system.privacy.erase(MANAGER, customer_id, reason="the customer asked")
        assert sales.value.retention_rule == "RET-SALES-5Y"
        assert "RET-SALES-5Y" in str(sales.value)
        assert {h.rule for h in sales.value.holds} == {"RET-SALES-5Y", "RET-COMPLAINT-3Y"}
        assert system.keys.key_for_reading(customer_id) is not None

        clock.advance(timedelta(days=5 * 366))
        system.privacy.erase(MANAGER, customer_id, reason="the customer asked (PIPL Art. 47)")

    async def scenario() -> None:
        stop = asyncio.Event()

        async def then() -> None:
            assert await caught_up(system)
            assert await asyncio.to_thread(applicant_in_read_model, system, policy_id) == "张伟"
            await asyncio.to_thread(refused_then_erased)
            assert await caught_up(system)
            stop.set()

        await serve(system, kafka_bootstrap, stop, relay=True, groups=all_groups(), then=then)

    asyncio.run(scenario())

    # The projections show the field as erased, and a rebuild after the erasure gives the same rows.
    assert applicant_in_read_model(system, policy_id) == ERASED
    assert verify_projections(system, out=None).consistent
    # No plaintext personal data is left anywhere: store, snapshots, read models, dead letters, topics.
    assert plaintext_in_database(system) == []
    published, on_topics = plaintext_on_topics(system, kafka_bootstrap)
    assert published > 10
    assert on_topics == []
    erasures = [
        r
        for r in consume_all(kafka_bootstrap, topic_name(system.settings.topic_prefix, "privacy"))
        if dict(r.headers)["ce_type"] == PersonalDataErased.TOPIC.encode()
    ]
    assert len(erasures) == 1
    validate_message(erasures[0].value, PersonalDataErased.TOPIC)
    # Nothing else of the cases is lost: they load, with their facts, and only the personal fields erased.
    policy = system.policies.load(policy_id)
    assert policy.status is PolicyStatus.EXPIRED
    assert policy.sum_insured_fen == 50_000_000
    submitted = system.policies.history(policy_id)[0]
    assert isinstance(submitted, ProposalSubmitted)
    assert (submitted.applicant_name, submitted.applicant_phone) == (ERASED, ERASED)
    assert submitted.customer_id == customer_id
    lodged = system.complaints.history(complaint_id)[0]
    assert getattr(lodged, "complainant_name", None) == ERASED
    assert getattr(lodged, "facts", None) == "the seller did not explain the deductible"
    assert system.keys.key_for_reading(customer_id) is None


def test_hash_chains_still_verify_when_a_customer_was_erased(
    privacy_system: System, clock: ControlledClock
) -> None:
    system = privacy_system
    policy_id, customer_id = a_motor_policy(system)
    lodge_and_withdraw_complaint(system, clock, customer_id, policy_id)
    clock.advance(timedelta(days=370))
    system.policies.expire(policy_id, ExpirePolicy(), TIMERS)
    clock.advance(timedelta(days=5 * 366))

    system.privacy.erase(MANAGER, customer_id, reason="the customer asked (PIPL Art. 47)")

    # Erasure destroys the key and records an event; it rewrites no stored byte, so every chain holds.
    report = AuditTrail(system).verify()
    assert report.ok, report.broken
    assert report.cases >= 3  # the policy, the complaint and the data subject's erasure record
    assert system.keys.key_for_reading(customer_id) is None
