"""Tamper evidence on real PostgreSQL: the trigger chains each case's events, and verify finds the first
broken link after rows are edited, deleted or reordered directly in the database."""

from __future__ import annotations

from uuid import UUID, uuid4

import psycopg
import pytest
from eventsourcing.persistence import StoredEvent
from psycopg import sql

from cli.scenarios import OFFICER, SELLER, by, lodge_sample_complaint, register_demo_seller
from domain.base import SHANGHAI
from domain.complaint import Complexity, SubjectKind
from infra.audit.chain import chained_table, install_chains
from infra.audit.history import AuditTrail
from infra.audit.verify import GENESIS, chain_hash
from infra.bootstrap import System
from infra.services.complaints import (
    AcknowledgeComplaint,
    AssignComplaint,
    ClassifyComplaint,
    SubjectRefBody,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.isolated("tampers with stored events, and verifies every case the store holds"),
]

ABOUT_THE_SELLER = SubjectRefBody(kind=SubjectKind.SELLER, ref=SELLER[1])


def a_complaint(system: System) -> UUID:
    """A complaint lodged, acknowledged and assigned: three events, stored by three commands."""
    complaint_id = uuid4()
    # About the registered seller: a complaint is assigned only about a subject on record (回避).
    register_demo_seller(system, system.clock.now().astimezone(SHANGHAI).date())
    lodge_sample_complaint(system, by(OFFICER), complaint_id, system.clock.now(), ABOUT_THE_SELLER)
    system.complaints.acknowledge(complaint_id, AcknowledgeComplaint(channel="sms"), by(OFFICER))
    system.complaints.assign(
        complaint_id,
        AssignComplaint(handler_id="zheng.qiang.complaints"),
        by(OFFICER),
    )
    return complaint_id


def tamper(system: System, statement: str, *params: object) -> None:
    """Run SQL on the complaints' events table as someone with direct database access would."""
    table = chained_table(system.complaints)
    with psycopg.connect(system.database_url, autocommit=True) as conn:
        conn.execute(sql.SQL(statement).format(t=table.identifier), params)


def stored_hashes(system: System, case_id: UUID) -> list[tuple[int, str, bytes, bytes]]:
    table = chained_table(system.complaints)
    with psycopg.connect(system.database_url) as conn:
        rows = conn.execute(
            sql.SQL(
                "SELECT originator_version, topic, state, chain_hash FROM {} WHERE originator_id = %s"
                " ORDER BY originator_version"
            ).format(table.identifier),
            (case_id,),
        ).fetchall()
    return [(v, t, bytes(s), bytes(h)) for v, t, s, h in rows]


def test_the_trigger_stores_the_chain_hash_that_python_recomputes_when_commands_store_events(
    system: System,
) -> None:
    case_id = a_complaint(system)

    rows = stored_hashes(system, case_id)

    previous = GENESIS
    for version, topic, state, stored in rows:
        previous = chain_hash(previous, case_id, version, topic, state)
        assert stored == previous
    assert len(rows) == 3


def test_events_stored_in_one_insert_are_chained_in_version_order_when_a_command_records_several(
    system: System,
) -> None:
    case_id = uuid4()
    events = [
        StoredEvent(originator_id=case_id, originator_version=v, topic="test.step.v1", state=b'{"n":%d}' % v)
        for v in (1, 2, 3)
    ]
    system.complaints.recorder.insert_events(events)

    report = AuditTrail(system).verify(case_id)

    assert (report.events, report.broken) == (3, [])


def test_verify_holds_when_nothing_was_touched(system: System) -> None:
    a_complaint(system)
    a_complaint(system)

    report = AuditTrail(system).verify()

    assert report.ok
    assert (report.events, report.cases) == (6, 2)


def test_verify_names_the_edited_version_when_a_payload_is_changed_in_postgresql(system: System) -> None:
    untouched, case_id = a_complaint(system), a_complaint(system)
    tamper(
        system,
        "UPDATE {t} SET state = convert_to(replace(convert_from(state, 'UTF8'), 'sms', 'letter'), 'UTF8')"
        " WHERE originator_id = %s AND originator_version = 2",
        case_id,
    )

    report = AuditTrail(system).verify()

    assert [(b.case_id, b.version, b.problem) for b in report.broken] == [(case_id, 2, "chain hash mismatch")]
    assert untouched not in {b.case_id for b in report.broken}


def test_verify_names_the_missing_version_when_an_event_is_deleted(system: System) -> None:
    case_id = a_complaint(system)
    tamper(system, "DELETE FROM {t} WHERE originator_id = %s AND originator_version = 2", case_id)

    report = AuditTrail(system).verify(case_id)

    assert [(b.version, b.problem) for b in report.broken] == [(2, "missing event")]


def test_verify_finds_the_first_swapped_version_when_versions_are_reordered(system: System) -> None:
    case_id = a_complaint(system)
    # Three steps, because the primary key refuses a swap in one statement.
    for old, new in ((2, -2), (3, 2), (-2, 3)):
        tamper(
            system,
            "UPDATE {t} SET originator_version = %s WHERE originator_id = %s AND originator_version = %s",
            new,
            case_id,
            old,
        )

    report = AuditTrail(system).verify(case_id)

    assert [(b.version, b.problem) for b in report.broken] == [(2, "chain hash mismatch")]


def test_a_recomputed_hash_on_the_edited_row_alone_still_breaks_at_the_next_version(system: System) -> None:
    case_id = a_complaint(system)
    tamper(
        system,
        "UPDATE {t} SET state = convert_to(replace(convert_from(state, 'UTF8'), 'sms', 'letter'), 'UTF8')"
        " WHERE originator_id = %s AND originator_version = 2",
        case_id,
    )
    rows = stored_hashes(system, case_id)
    forged = chain_hash(rows[0][3], case_id, 2, rows[1][1], rows[1][2])
    tamper(
        system,
        "UPDATE {t} SET chain_hash = %s WHERE originator_id = %s AND originator_version = 2",
        forged,
        case_id,
    )

    report = AuditTrail(system).verify(case_id)

    assert [(b.version, b.problem) for b in report.broken] == [(3, "chain hash mismatch")]


def test_installing_again_chains_rows_stored_before_the_chain_existed_and_later_events_continue_it(
    system: System,
) -> None:
    case_id = a_complaint(system)
    tamper(system, "DROP TRIGGER caseledger_chain_hash ON {t}")
    tamper(system, "UPDATE {t} SET chain_hash = NULL WHERE originator_id = %s", case_id)

    install_chains(system.database, [system.complaints])
    install_chains(system.database, [system.complaints])
    system.complaints.classify(case_id, ClassifyComplaint(complexity=Complexity.SIMPLE), by(OFFICER))

    report = AuditTrail(system).verify(case_id)
    assert (report.events, report.broken) == (4, [])


def a_fourth_row(system: System, case_id: UUID, chain: bytes) -> None:
    """Version 4 of a case (version 3 again), stored directly with ``chain`` as its hash, as the SLA
    scheduler stores its own."""
    tamper(
        system,
        "INSERT INTO {t} (originator_id, originator_version, topic, state, chain_hash)"
        " SELECT originator_id, 4, topic, state, %s FROM {t}"
        " WHERE originator_id = %s AND originator_version = 3",
        chain,
        case_id,
    )


def the_right_fourth_hash(system: System, case_id: UUID) -> bytes:
    *_, (_, topic, state, third) = stored_hashes(system, case_id)
    return chain_hash(third, case_id, 4, topic, state)


def test_a_writer_s_own_chain_hash_is_stored_as_given_and_verify_holds_when_it_is_the_right_one(
    system: System,
) -> None:
    case_id = a_complaint(system)
    right = the_right_fourth_hash(system, case_id)

    a_fourth_row(system, case_id, right)

    assert stored_hashes(system, case_id)[-1][3] == right
    assert AuditTrail(system).verify(case_id).broken == []


def test_a_wrong_chain_hash_given_by_a_writer_is_a_broken_link_that_verify_names(system: System) -> None:
    case_id = a_complaint(system)

    a_fourth_row(system, case_id, bytes(32))

    assert stored_hashes(system, case_id)[-1][3] == bytes(32)
    report = AuditTrail(system).verify(case_id)
    assert [(b.version, b.problem) for b in report.broken] == [(4, "chain hash mismatch")]


def test_installing_replaces_an_earlier_release_s_trigger_so_that_a_writer_s_own_hash_stands(
    system: System,
) -> None:
    # The trigger as releases before this one created it: for every row, whatever the row carried.
    table = chained_table(system.complaints)
    tamper(system, "DROP TRIGGER caseledger_chain_hash ON {t}")
    tamper(
        system,
        "CREATE TRIGGER caseledger_chain_hash BEFORE INSERT ON {t} FOR EACH ROW EXECUTE FUNCTION "
        + f'"{table.schema}".caseledger_chain_hash()',
    )
    case_id = a_complaint(system)
    right = the_right_fourth_hash(system, case_id)

    install_chains(system.database, [system.complaints])
    a_fourth_row(system, case_id, bytes(32))

    # Left as given: the old trigger would have overwritten it with the right one.
    assert stored_hashes(system, case_id)[-1][3] == bytes(32) != right
    assert [(b.version, b.problem) for b in AuditTrail(system).verify(case_id).broken] == [
        (4, "chain hash mismatch")
    ]
