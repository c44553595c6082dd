"""The recorder every command's events go through (``CaseRecorder``: one prepared statement with binary
parameters) on real PostgreSQL: it keeps the library's semantics (conflicts at the unique version, the
NOTIFY the relay listens to, notification ids, snapshots) and ours (the hash chain, sealed personal
fields)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent
from psycopg import sql

from cli.scenarios import OFFICER, SELLER, by, lodge_sample_complaint, register_demo_seller
from domain.base import SHANGHAI, CaseAggregate
from domain.complaint import Complaint, ComplaintCategory, ComplaintChannel, Complexity, SubjectKind
from infra.audit.history import AuditTrail
from infra.bootstrap import System, bootstrap
from infra.clock import ControlledClock
from infra.services.complaints import (
    AcknowledgeComplaint,
    AssignComplaint,
    ClassifyComplaint,
    LodgeComplaint,
    SubjectRefBody,
)
from infra.settings import Settings
from infra.store.eventstore import ConcurrencyConflictError

pytestmark = pytest.mark.integration

ABOUT_THE_SELLER = SubjectRefBody(kind=SubjectKind.SELLER, ref=SELLER[1])


def lodge_command(system: System) -> LodgeComplaint:
    return LodgeComplaint(
        received_at=system.clock.now(),
        category=ComplaintCategory.CLAIMS,
        channel=ComplaintChannel.HOTLINE,
        subject_ref=ABOUT_THE_SELLER,
        customer_id=f"CUST-{uuid4().hex[:8]}",
        complainant_name="张伟",
        complainant_phone="13800138000",
        facts="the repair estimate left out the paint work",
        demands="pay the paint work",
    )


def a_lodged_complaint(system: System, complaint_id: UUID) -> Complaint:
    """A complaint as its creating command leaves it, events pending (nothing stored yet)."""
    ctx = system.complaints.context(by(OFFICER))
    return Complaint.lodge(ctx, complaint_id=complaint_id, **lodge_command(system).arguments())


def stored_rows(system: System, case_id: UUID) -> list[dict[str, Any]]:
    return system.complaints.read_events(
        sql.SQL(
            "SELECT originator_version, topic, state, notification_id FROM {} WHERE originator_id = %s "
            "ORDER BY originator_version"
        ).format(system.complaints.events_table()),
        (case_id,),
    )


def state(aggregate: CaseAggregate) -> dict[str, Any]:
    return {k: v for k, v in aggregate.__dict__.items() if k != "_pending_events"}


def test_a_second_lodging_of_the_same_case_id_is_a_conflict_and_stores_nothing(system: System) -> None:
    complaint_id = uuid4()
    system.complaints.save_new(a_lodged_complaint(system, complaint_id))
    first = stored_rows(system, complaint_id)

    with pytest.raises(ConcurrencyConflictError) as refusal:
        system.complaints.save_new(a_lodged_complaint(system, complaint_id))

    assert refusal.value.current_version == 1
    assert stored_rows(system, complaint_id) == first


def test_events_meeting_a_stored_version_are_refused_with_the_librarys_integrity_error_and_none_stored(
    system: System,
) -> None:
    case_id = uuid4()
    recorder = system.complaints.recorder
    recorder.insert_events([StoredEvent(case_id, 1, "test.step.v1", b'{"n":1}')])

    with pytest.raises(IntegrityError):
        recorder.insert_events(
            [StoredEvent(case_id, v, "test.step.v1", b'{"n":%d,"late":true}' % v) for v in (1, 2, 3)]
        )

    assert [(r["originator_version"], bytes(r["state"])) for r in stored_rows(system, case_id)] == [
        (1, b'{"n":1}')
    ]


def test_the_notification_ids_returned_are_the_stored_ones_in_version_order_when_several_events_are_stored(
    system: System,
) -> None:
    case_id = uuid4()
    events = [StoredEvent(case_id, v, "test.step.v1", b'{"n":%d}' % v) for v in (1, 2, 3)]

    ids = system.complaints.recorder.insert_events(events)

    assert ids == [r["notification_id"] for r in stored_rows(system, case_id)]
    assert ids == sorted(ids)


@pytest.fixture
def listening(system: System) -> Iterator[psycopg.Connection[Any]]:
    """A connection LISTENing on the complaints' channel, as the relay's is."""
    with psycopg.connect(system.database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(system.complaints.notification_channel)))
        yield conn


@pytest.mark.parametrize("events", [1, 3])
def test_storing_events_notifies_the_channel_the_relay_listens_on_once_per_insert(
    system: System, listening: psycopg.Connection[Any], events: int
) -> None:
    case_id = uuid4()
    stored = [StoredEvent(case_id, v, "test.step.v1", b"{}") for v in range(1, events + 1)]

    system.complaints.recorder.insert_events(stored)

    channels = [n.channel for n in listening.notifies(timeout=2.0, stop_after=2)]
    assert channels == [system.complaints.notification_channel]


def test_the_hash_chain_verifies_over_events_stored_by_commands(system: System) -> None:
    register_demo_seller(system, system.clock.now().astimezone(SHANGHAI).date())
    complaint_id = uuid4()
    lodge_sample_complaint(system, by(OFFICER), complaint_id, system.clock.now(), ABOUT_THE_SELLER)
    system.complaints.acknowledge(complaint_id, AcknowledgeComplaint(channel="sms"), by(OFFICER))
    system.complaints.assign(complaint_id, AssignComplaint(handler_id="zheng.qiang.complaints"), by(OFFICER))

    report = AuditTrail(system).verify(complaint_id)

    assert (report.events, report.broken) == (3, [])


def test_events_read_back_through_the_library_as_they_were_recorded_with_personal_fields_sealed_in_the_store(
    system: System,
) -> None:
    complaint = a_lodged_complaint(system, uuid4())
    recorded = list(complaint.pending_events)

    system.complaints.save_new(complaint)

    assert list(system.complaints.events.get(complaint.id)) == recorded
    assert state(system.complaints.repository.get(complaint.id)) == state(complaint)
    (row,) = stored_rows(system, complaint.id)
    assert "张伟".encode() not in bytes(row["state"])
    assert b'"complainant_name":"pii:v1:' in bytes(row["state"])


@pytest.fixture
def snapshotting_system(database_url: str, schema: str, clock: ControlledClock) -> Iterator[System]:
    settings = Settings(database_url=database_url, db_schema=schema, snapshot_interval=2, db_pool_size=2)
    built = bootstrap(settings, clock)
    yield built
    built.close()


def test_a_snapshot_is_taken_at_each_interval_and_loads_as_the_full_history_does(
    snapshotting_system: System,
) -> None:
    system = snapshotting_system
    register_demo_seller(system, system.clock.now().astimezone(SHANGHAI).date())
    complaint_id = uuid4()
    lodge_sample_complaint(system, by(OFFICER), complaint_id, system.clock.now(), ABOUT_THE_SELLER)
    system.complaints.acknowledge(complaint_id, AcknowledgeComplaint(channel="sms"), by(OFFICER))
    system.complaints.assign(complaint_id, AssignComplaint(handler_id="zheng.qiang.complaints"), by(OFFICER))
    system.complaints.classify(complaint_id, ClassifyComplaint(complexity=Complexity.COMPLEX), by(OFFICER))

    assert system.complaints.snapshots is not None
    snapshots = [s.originator_version for s in system.complaints.snapshots.get(complaint_id)]
    replayed: Any = None
    for event in system.complaints.history(complaint_id):
        replayed = event.mutate(replayed)

    assert snapshots == [2, 4]
    assert state(system.complaints.load(complaint_id)) == state(replayed)
