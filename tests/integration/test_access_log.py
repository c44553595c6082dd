"""The personal-data access log on real PostgreSQL: append-only, hash-chained, and queried by the CLI."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import psycopg
import pytest
from psycopg import sql

from cli.main import main
from infra.audit.access_log import TABLE, AccessKind, AccessLog, AccessRecord
from infra.migrations import upgrade
from infra.store.database import Database

pytestmark = pytest.mark.integration

AT = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)


def _record(subject: str, field: str, actor: str = "he.ping.underwriting") -> AccessRecord:
    return AccessRecord(
        actor_id=actor,
        role="underwriter",
        kind=AccessKind.REVEAL,
        subject_id=subject,
        case_id=uuid4(),
        field=field,
        purpose="underwriting the proposal",
        request_id=f"req-{field}",
    )


@pytest.fixture
def log(database: Database, schema: str) -> AccessLog:
    with database.connection() as conn:
        upgrade(conn, schema)
    return AccessLog(database, schema)


def test_the_access_log_refuses_update_delete_and_truncate(
    log: AccessLog, database: Database, schema: str
) -> None:
    log.record([_record("CUST-1", "applicant_id_number")], AT)
    table = sql.Identifier(schema, TABLE)

    for statement in (
        sql.SQL("UPDATE {} SET purpose = 'nothing'").format(table),
        sql.SQL("DELETE FROM {}").format(table),
        sql.SQL("TRUNCATE {}").format(table),
    ):
        with database.connection() as conn, pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute(statement)

    assert len(log.entries()) == 1


def test_the_chain_breaks_where_a_row_was_altered_behind_the_trigger(
    log: AccessLog, database: Database, schema: str
) -> None:
    log.record([_record("CUST-1", "applicant_phone"), _record("CUST-2", "applicant_name")], AT)
    log.record([_record("CUST-1", "applicant_id_number")], AT)
    intact = log.verify()
    table = sql.Identifier(schema, TABLE)
    with database.transaction() as conn:
        # Someone with the owner's rights can lift the trigger: the chain still tells.
        conn.execute(sql.SQL("ALTER TABLE {} DISABLE TRIGGER USER").format(table))
        conn.execute(sql.SQL("UPDATE {} SET purpose = 'nothing' WHERE id = 2").format(table))
        conn.execute(sql.SQL("ALTER TABLE {} ENABLE TRIGGER USER").format(table))

    assert intact == (3, None)
    assert log.verify() == (3, 2)


def test_a_data_subjects_history_holds_only_their_rows(log: AccessLog) -> None:
    log.record([_record("CUST-1", "applicant_phone"), _record("CUST-2", "applicant_name")], AT)

    assert [e.field for e in log.entries(subject="CUST-1")] == ["applicant_phone"]
    assert [e.subject_id for e in log.entries(actor="he.ping.underwriting")] == ["CUST-1", "CUST-2"]


def test_the_cli_lists_a_subjects_accesses_and_verifies_the_chain(
    log: AccessLog,
    database_url: str,
    schema: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    log.record([_record("CUST-1", "applicant_phone"), _record("CUST-2", "applicant_name")], AT)
    monkeypatch.setenv("CASELEDGER_DATABASE_URL", database_url)
    monkeypatch.setenv("CASELEDGER_DB_SCHEMA", schema)

    listed = main(["audit", "access-log", "--subject", "CUST-1"])
    listing = capsys.readouterr().out
    verified = main(["audit", "access-log", "--verify"])
    verdict = capsys.readouterr().out

    assert listed == 0
    assert "applicant_phone" in listing
    assert "underwriting the proposal" in listing
    assert "req-applicant_phone" in listing
    assert "CUST-2" not in listing
    assert "1 accesses" in listing
    assert verified == 0
    assert "2 access-log rows checked: the chain holds" in verdict


def test_audit_verify_checks_the_access_logs_chain_too(
    log: AccessLog,
    database: Database,
    database_url: str,
    schema: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    log.record([_record("CUST-1", "applicant_phone")], AT)
    monkeypatch.setenv("CASELEDGER_DATABASE_URL", database_url)
    monkeypatch.setenv("CASELEDGER_DB_SCHEMA", schema)
    intact = main(["audit", "verify"])
    before = capsys.readouterr().out
    table = sql.Identifier(schema, TABLE)
    with database.transaction() as conn:
        conn.execute(sql.SQL("ALTER TABLE {} DISABLE TRIGGER USER").format(table))
        conn.execute(sql.SQL("UPDATE {} SET field = 'applicant_name'").format(table))
        conn.execute(sql.SQL("ALTER TABLE {} ENABLE TRIGGER USER").format(table))

    broken = main(["audit", "verify"])
    after = capsys.readouterr().out

    assert intact == 0
    assert "access log: 1 rows, its chain holds" in before
    assert broken == 1
    assert "access log: 1 rows, BROKEN at row 1" in after
