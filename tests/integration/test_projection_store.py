"""The read models on a real PostgreSQL server: events applied one at a time give the rows a rebuild gives,
a verify finds an edited row, a swap puts a rebuild live, and the queries answer from what was applied."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from psycopg import sql

from cli.load import run_load
from cli.scenarios import (
    HANDLER,
    OFFICER,
    a_policy,
    by,
    claim_story,
    complaint_story,
    life_policy_story,
    lodge_sample_complaint,
    register_demo_seller,
)
from consumers.read_models import ProjectionHandler
from consumers.timers import TIMERS_GROUP, timers_handler
from domain.base import SHANGHAI, DomainEvent, Role
from infra.bootstrap import System
from infra.clock import ControlledClock
from infra.messaging.contract import ReceivedEvent
from infra.services.claims import (
    ReceiveClaimApplication,
    RecordRequestDelivery,
    RegisterClaim,
    ReportClaim,
    RequestDocuments,
)
from infra.store.eventstore import CaseApplication
from projections import queries, store
from projections.base import Projection, fold
from projections.catalogue import ALL_PROJECTIONS, projection_by_name
from projections.complaints import COMPLAINTS, complaint_needed_by
from projections.policies import POLICIES
from tests.feed import Group

pytestmark = [pytest.mark.integration, pytest.mark.isolated("rebuilds, swaps and drops whole read models")]

SHADOW = "_shadow"


@dataclass
class Cases:
    """The demo's cases plus work left open, and all their events in recorded-time order."""

    life_policy_id: UUID
    motor_policy_id: UUID
    closed_claim_id: UUID
    reported_claim_id: UUID
    waiting_claim_id: UUID
    closed_complaint_id: UUID
    open_complaint_id: UUID
    events: list[DomainEvent]


@pytest.fixture
def read_schema(schema: str) -> str:
    # Named after the test's schema, so the fixture's drop_schemas removes it too.
    return f"{schema}_read"


@pytest.fixture
def conn(database_url: str, read_schema: str) -> Iterator[psycopg.Connection[Any]]:
    # Depends on the schema so that it closes first: an open transaction would block the schema's drop.
    with psycopg.connect(database_url) as connection:
        yield connection


def history(system: System, cases: Sequence[UUID]) -> list[DomainEvent]:
    apps = (system.policies, system.claims, system.complaints, system.callbacks)
    events: list[DomainEvent] = []
    for case_id in cases:
        for app in apps:
            found = list(app.events.get(case_id))
            events.extend(e for e in found if isinstance(e, DomainEvent))
    return sorted(events, key=lambda e: (e.recorded_at, str(e.originator_id), e.originator_version))


def report_claim(system: System, policy_id: UUID) -> UUID:
    claim_id = uuid4()
    system.claims.report(
        ReportClaim(
            policy_id=policy_id,
            loss_at=system.clock.now() - timedelta(hours=2),
            reporter_name="张伟",
            reporter_phone="13800138000",
            cause="hail",
            description="dents on the roof",
            channel="app",
        ),
        by(HANDLER),
        claim_id=claim_id,
    )
    return claim_id


@pytest.fixture
def cases(system: System, clock: ControlledClock) -> Cases:
    register_demo_seller(system, clock.now().astimezone(SHANGHAI).date())
    life_policy_id, task_id = life_policy_story(system, clock)
    motor_policy_id = a_policy(system)
    clock.advance(timedelta(days=5, hours=2))
    closed_claim_id = claim_story(system, clock, motor_policy_id)
    closed_complaint_id = complaint_story(system, clock, motor_policy_id)
    reported_claim_id = report_claim(system, motor_policy_id)
    clock.advance(timedelta(days=20))
    waiting_claim_id = report_claim(system, motor_policy_id)
    system.claims.register(
        waiting_claim_id, RegisterClaim(claim_no="LP-W", coverages=["hail"], reserve_fen=1), by(HANDLER)
    )
    system.claims.receive_application(
        waiting_claim_id, ReceiveClaimApplication(received_at=clock.now()), by(HANDLER)
    )
    system.claims.request_documents(
        waiting_claim_id,
        RequestDocuments(required_docs=["photos", "repair invoice"], notice_ref="NOTICE-22-02"),
        by(HANDLER),
    )
    system.claims.record_request_delivery(
        waiting_claim_id,
        RecordRequestDelivery(delivered_at=clock.now(), notice_ref="NOTICE-22-02"),
        by(HANDLER),
    )
    open_complaint_id = uuid4()
    lodge_sample_complaint(system, by(OFFICER), open_complaint_id, clock.now(), motor_policy_id)
    ids = [
        life_policy_id,
        task_id,
        motor_policy_id,
        closed_claim_id,
        reported_claim_id,
        waiting_claim_id,
        closed_complaint_id,
        open_complaint_id,
    ]
    # The timers' outcomes too: a complaint is on time when its decision timer says so.
    with closing(Group(system, TIMERS_GROUP, timers_handler, case_stores(system))) as timers_group:
        timers_group.consume()
    return Cases(
        life_policy_id,
        motor_policy_id,
        closed_claim_id,
        reported_claim_id,
        waiting_claim_id,
        closed_complaint_id,
        open_complaint_id,
        [*history(system, ids), *timer_events(system)],
    )


def case_stores(system: System) -> tuple[CaseApplication[Any], ...]:
    return (system.policies, system.claims, system.complaints, system.callbacks)


def timer_events(system: System) -> list[DomainEvent]:
    """Every timer event, in store order (a rebuild reads the timer store after the cases')."""
    notifications = system.timers.recorder.select_notifications(start=None, limit=100_000)
    events = (system.timers.mapper.to_domain_event(n) for n in notifications)
    return [e for e in events if isinstance(e, DomainEvent)]


def apply_live(conn: psycopg.Connection[Any], schema: str, events: Sequence[DomainEvent]) -> None:
    """What the consumer does: one transaction per event, every projection."""
    for projection in ALL_PROJECTIONS:
        store.create_tables(conn, schema, projection)
    conn.commit()
    for event in events:
        with conn.transaction():
            for projection in ALL_PROJECTIONS:
                store.apply(conn, schema, projection, event)


def apply_in_batches(
    conn: psycopg.Connection[Any], schema: str, events: Sequence[DomainEvent], size: int
) -> None:
    """What the consumer does with a batch: one transaction per ``size`` events, each row written once."""
    for projection in ALL_PROJECTIONS:
        store.create_tables(conn, schema, projection)
    conn.commit()
    for first in range(0, len(events), size):
        with conn.transaction():
            store.apply_many(conn, schema, ALL_PROJECTIONS, events[first : first + size])


def rebuild_shadow(conn: psycopg.Connection[Any], schema: str, events: Sequence[DomainEvent]) -> None:
    """What a rebuild does: fold everything in memory, then COPY into the shadow tables."""
    with conn.transaction():
        for projection in ALL_PROJECTIONS:
            store.create_tables(conn, schema, projection, SHADOW)
            store.write_folded(conn, schema, projection, fold(projection.views, events), SHADOW)


def differences(conn: psycopg.Connection[Any], schema: str, projection: Projection) -> dict[str, Any]:
    return {name: d for name, d in store.diff(conn, schema, projection, SHADOW).items() if not d.empty}


# -------------------------------------------------------------------------------------------- round trip


def test_rows_applied_one_event_at_a_time_equal_the_rebuilt_rows(
    conn: psycopg.Connection[Any], read_schema: str, cases: Cases
) -> None:
    apply_live(conn, read_schema, cases.events)
    rebuild_shadow(conn, read_schema, cases.events)

    for projection in ALL_PROJECTIONS:
        assert differences(conn, read_schema, projection) == {}, projection.name
        folded = fold(projection.views, cases.events)
        for table in projection.tables():
            assert store.read_rows(conn, read_schema, table) == folded[table.name], table.name


def test_rows_applied_one_event_at_a_time_equal_the_rebuilt_rows_when_a_realistic_load_ran(
    conn: psycopg.Connection[Any], read_schema: str, system: System
) -> None:
    report = run_load(system, cases=40, rate=0, seed=7)
    events = history(system, [*report.policies, *report.claims, *report.complaints])

    apply_live(conn, read_schema, events)
    rebuild_shadow(conn, read_schema, events)

    assert len(events) > 200
    for projection in ALL_PROJECTIONS:
        assert differences(conn, read_schema, projection) == {}, projection.name


@pytest.mark.parametrize("size", [1, 7, 200])
def test_rows_applied_in_batches_equal_the_rebuilt_rows(
    conn: psycopg.Connection[Any], read_schema: str, cases: Cases, size: int
) -> None:
    apply_in_batches(conn, read_schema, cases.events, size)
    rebuild_shadow(conn, read_schema, cases.events)

    assert len(cases.events) > 7
    for projection in ALL_PROJECTIONS:
        assert differences(conn, read_schema, projection) == {}, projection.name


def test_rows_applied_in_batches_equal_the_rebuilt_rows_when_a_realistic_load_ran(
    conn: psycopg.Connection[Any], read_schema: str, system: System
) -> None:
    report = run_load(system, cases=40, rate=0, seed=7)
    events = history(system, [*report.policies, *report.claims, *report.complaints])

    apply_in_batches(conn, read_schema, events, 50)
    rebuild_shadow(conn, read_schema, events)

    assert len(events) > 200
    for projection in ALL_PROJECTIONS:
        assert differences(conn, read_schema, projection) == {}, projection.name


def test_diff_names_the_row_when_a_live_row_was_edited(
    conn: psycopg.Connection[Any], read_schema: str, cases: Cases
) -> None:
    apply_live(conn, read_schema, cases.events)
    rebuild_shadow(conn, read_schema, cases.events)
    conn.execute(
        sql.SQL("UPDATE {} SET handler = 'someone.else' WHERE claim_id = %s").format(
            sql.Identifier(read_schema, "claims")
        ),
        (cases.closed_claim_id,),
    )

    found = store.diff(conn, read_schema, projection_by_name("claims"), SHADOW)["claims"]

    assert (found.missing.count, found.extra.count) == (1, 1)
    assert found.missing.keys == found.extra.keys == ((cases.closed_claim_id,),)
    assert differences(conn, read_schema, projection_by_name("policies")) == {}


def test_diff_counts_rows_only_one_side_has(
    conn: psycopg.Connection[Any], read_schema: str, cases: Cases
) -> None:
    apply_live(conn, read_schema, cases.events)
    rebuild_shadow(conn, read_schema, cases.events)
    conn.execute(
        sql.SQL("DELETE FROM {} WHERE policy_id = %s").format(sql.Identifier(read_schema, "policies")),
        (cases.life_policy_id,),
    )

    found = store.diff(conn, read_schema, projection_by_name("policies"), SHADOW)["policies"]

    assert (found.missing.count, found.extra.count) == (1, 0)
    assert found.missing.keys == ((cases.life_policy_id,),)


def test_swap_puts_the_rebuilt_tables_live_when_the_live_ones_drifted(
    conn: psycopg.Connection[Any], read_schema: str, cases: Cases
) -> None:
    apply_live(conn, read_schema, cases.events)
    conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(read_schema, "policies")))
    conn.commit()
    rebuild_shadow(conn, read_schema, cases.events)
    policies = projection_by_name("policies")

    store.swap(conn, read_schema, policies, SHADOW)

    assert len(store.read_rows(conn, read_schema, POLICIES)) == 2
    assert conn.execute("SELECT to_regclass(%s)", (f"{read_schema}.policies{SHADOW}",)).fetchone() == (None,)
    # The index names went with the swap, so the next rebuild can create its shadow again.
    store.create_tables(conn, read_schema, policies, SHADOW)
    store.write_folded(conn, read_schema, policies, fold(policies.views, cases.events), SHADOW)
    assert differences(conn, read_schema, policies) == {}


def test_swap_changes_nothing_when_it_fails_part_way(
    conn: psycopg.Connection[Any], read_schema: str, cases: Cases
) -> None:
    apply_live(conn, read_schema, cases.events)
    rebuild_shadow(conn, read_schema, cases.events)
    complaints = projection_by_name("complaints")
    conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(read_schema, f"complaint_stats{SHADOW}")))
    conn.commit()

    with pytest.raises(psycopg.errors.UndefinedTable):
        store.swap(conn, read_schema, complaints, SHADOW)
    conn.rollback()

    shadow = conn.execute("SELECT to_regclass(%s)", (f"{read_schema}.complaints{SHADOW}",)).fetchone()
    assert shadow is not None
    assert shadow[0] is not None  # the first table's swap was undone with the rest
    assert store.read_rows(conn, read_schema, complaints.views[0].table) != {}


Apply = Callable[[psycopg.Connection[Any], str, Projection, DomainEvent], None]


def apply_one(conn: psycopg.Connection[Any], schema: str, projection: Projection, event: DomainEvent) -> None:
    store.apply(conn, schema, projection, event)


def apply_as_batch(
    conn: psycopg.Connection[Any], schema: str, projection: Projection, event: DomainEvent
) -> None:
    store.apply_many(conn, schema, [projection], [event])


@pytest.mark.parametrize(
    ("first_apply", "second_apply"),
    [
        (apply_one, apply_one),
        (apply_as_batch, apply_one),
        (apply_one, apply_as_batch),
        (apply_as_batch, apply_as_batch),
    ],
    ids=["event-event", "batch-event", "event-batch", "batch-batch"],
)
def test_a_shared_row_keeps_both_cases_when_two_transactions_create_it_at_once(
    database_url: str,
    conn: psycopg.Connection[Any],
    read_schema: str,
    system: System,
    clock: ControlledClock,
    first_apply: Apply,
    second_apply: Apply,
) -> None:
    register_demo_seller(system, clock.now().astimezone(SHANGHAI).date())
    policy_id = a_policy(system)
    first, second = uuid4(), uuid4()
    for complaint_id in (first, second):  # the sample complaints share one customer
        lodge_sample_complaint(system, by(OFFICER), complaint_id, clock.now(), policy_id)
    [lodged_first] = system.complaints.history(first)
    [lodged_second] = system.complaints.history(second)
    customers = projection_by_name("customers")
    store.create_tables(conn, read_schema, customers)
    conn.commit()

    first_apply(conn, read_schema, customers, lodged_first)  # its insert is not committed yet
    other = threading.Thread(
        target=apply_in_own_transaction, args=(database_url, read_schema, lodged_second, second_apply)
    )
    other.start()
    other.join(timeout=0.5)
    assert other.is_alive()  # waiting for the first transaction's claim on the new row
    conn.commit()
    other.join(timeout=10)

    [row] = store.read_rows(conn, read_schema, customers.views[0].table).values()
    assert sorted(row["complaint_ids"]) == sorted([str(first), str(second)])


def apply_in_own_transaction(database_url: str, schema: str, event: DomainEvent, apply: Apply) -> None:
    with psycopg.connect(database_url) as other, other.transaction():
        apply(other, schema, projection_by_name("customers"), event)


# -------------------------------------------------------------------------------------------- queries


def test_queries_return_the_cases_as_applied(
    conn: psycopg.Connection[Any], read_schema: str, cases: Cases
) -> None:
    apply_live(conn, read_schema, cases.events)

    claim = queries.get_claim(conn, read_schema, cases.closed_claim_id)
    waiting = queries.get_claim(conn, read_schema, cases.waiting_claim_id)
    policy = queries.get_policy(conn, read_schema, cases.life_policy_id)
    complaint = queries.get_complaint(conn, read_schema, cases.closed_complaint_id)
    customer = queries.get_customer(conn, read_schema, "CUST-demo")

    assert claim is not None
    assert (claim.status, claim.paid_fen, claim.next_deadline, claim.deadlines) == (
        "closed",
        600_000,
        None,
        [],
    )
    assert [e.event for e in claim.timeline][:3] == [
        "ClaimReported",
        "ClaimApplicationReceived",
        "ClaimRegistered",
    ]
    assert waiting is not None
    assert waiting.outstanding_docs == ["photos", "repair invoice"]
    assert [(d.rule_id, d.paused, d.due_at) for d in waiting.deadlines] == [
        ("IL23-DETERMINE-30D", True, None)
    ]
    assert policy is not None
    assert (policy.status, policy.exclusions_proven) == ("in_force", True)
    assert complaint is not None
    assert (complaint.on_time, complaint.deadline_days) == (True, 30)
    assert customer is not None
    assert customer.complaint_ids == [cases.closed_complaint_id, cases.open_complaint_id]
    assert queries.get_claim(conn, read_schema, uuid4()) is None


def test_worklist_is_sorted_by_deadline_with_undated_items_last(
    conn: psycopg.Connection[Any], read_schema: str, cases: Cases
) -> None:
    apply_live(conn, read_schema, cases.events)

    items = queries.worklist(conn, read_schema, limit=100)

    dated = [i.due_at for i in items if i.due_at is not None]
    assert dated == sorted(dated)
    assert [i.due_at is None for i in items] == sorted(i.due_at is None for i in items)
    assert {(i.case_id, i.item) for i in items} >= {
        (cases.reported_claim_id, "register claim"),
        (cases.waiting_claim_id, "collect documents"),
        (cases.open_complaint_id, "acknowledge complaint"),
        (cases.open_complaint_id, "respond to complaint"),
    }


def test_worklist_filters_by_role_assignee_and_due_date(
    conn: psycopg.Connection[Any], read_schema: str, cases: Cases, clock: ControlledClock
) -> None:
    apply_live(conn, read_schema, cases.events)

    handlers = queries.worklist(conn, read_schema, role=Role.CLAIMS_HANDLER)
    mine = queries.worklist(conn, read_schema, assignee=HANDLER[1])
    soon = queries.worklist(conn, read_schema, due_before=clock.now() + timedelta(days=3))
    page = queries.worklist(conn, read_schema, limit=2, offset=1)
    everything = queries.worklist(conn, read_schema, limit=100)

    assert {i.role for i in handlers} == {"claims_handler"}
    assert {i.assignee for i in mine} == {HANDLER[1]}
    assert soon
    assert all(i.due_at is not None and i.due_at < clock.now() + timedelta(days=3) for i in soon)
    assert page == everything[1:3]
    waiting = [i for i in everything if i.case_id == cases.waiting_claim_id and i.item == "decide claim"]
    assert [(i.paused, i.due_at, i.colour(clock.now())) for i in waiting] == [(True, None, "none")]


def test_claims_ageing_counts_open_claims_by_days_since_report_at_a_given_instant(
    conn: psycopg.Connection[Any], read_schema: str, cases: Cases, clock: ControlledClock
) -> None:
    apply_live(conn, read_schema, cases.events)
    as_of = clock.now() + timedelta(days=15)  # the waiting claim is 15 days old, the reported one 35

    buckets = queries.claims_ageing(conn, read_schema, as_of)

    assert [(b.label, b.count) for b in buckets] == [("0-7", 0), ("8-30", 1), ("31-60", 1), (">60", 0)]
    assert [b.count for b in queries.claims_ageing(conn, read_schema, as_of + timedelta(days=30))] == [
        0,
        0,
        1,
        1,
    ]


def test_complaint_statistics_give_the_on_time_rate_by_category_channel_and_month(
    conn: psycopg.Connection[Any], read_schema: str, cases: Cases
) -> None:
    apply_live(conn, read_schema, cases.events)

    stats = queries.complaint_statistics(conn, read_schema, category="claims")

    assert sum(s.lodged for s in stats) == 2
    assert sum(s.responded for s in stats) == 1
    answered = [s for s in stats if s.responded]
    assert [(s.channel, s.on_time_rate) for s in answered] == [("hotline", 1.0)]
    assert queries.complaint_statistics(conn, read_schema, category="sales") == []


@pytest.mark.parametrize("batch", [1, 50], ids=["one-at-a-time", "in-batches"])
def test_a_decision_timers_outcome_arriving_before_its_complaint_is_kept_and_the_rows_equal_a_rebuild(
    system: System, cases: Cases, conn: psycopg.Connection[Any], read_schema: str, batch: int
) -> None:
    # After a broker wipe the topics are republished side by side: the timer's outcome can come first.
    outcome_first = sorted(cases.events, key=lambda e: 0 if complaint_needed_by(e) is not None else 1)
    assert complaint_needed_by(outcome_first[0]) == cases.closed_complaint_id
    handler = ProjectionHandler(read_schema, ALL_PROJECTIONS, system.complaints.history)
    handler.create_tables(conn)
    conn.commit()
    received = ReceivedEvent.__new__(ReceivedEvent)  # the handler does not read the message's envelope

    for first in range(0, len(outcome_first), batch):
        with conn.transaction():
            handler.handle_many(conn, [(e, received) for e in outcome_first[first : first + batch]])
    rebuild_shadow(conn, read_schema, cases.events)

    row = store.read_key(conn, read_schema, COMPLAINTS, (cases.closed_complaint_id,))
    assert row is not None
    assert (row["decide_timer_outcome"], row["on_time"]) == ("met", True)
    assert all(differences(conn, read_schema, projection) == {} for projection in ALL_PROJECTIONS)
