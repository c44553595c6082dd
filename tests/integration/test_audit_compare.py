"""Comparing two signed exports: a later export must extend the earlier one, so a case cut short or
recomputed in PostgreSQL shows even though each export verifies on its own."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from uuid import UUID, uuid4

import psycopg
import pytest
from psycopg import sql

import infra.audit.verify
from cli import main as cli
from cli.scenarios import OFFICER, SELLER, by, lodge_sample_complaint, register_demo_seller
from domain.base import SHANGHAI
from domain.complaint import SubjectKind
from infra.audit.chain import chained_table
from infra.audit.history import AuditTrail
from infra.audit.verify import chain_hash, compare_exports, verify_export
from infra.bootstrap import System
from infra.services.complaints import AcknowledgeComplaint, AssignComplaint, SubjectRefBody

pytestmark = [
    pytest.mark.integration,
    pytest.mark.isolated("exports every case the store holds and tampers with stored events"),
]

ABOUT_THE_SELLER = SubjectRefBody(kind=SubjectKind.SELLER, ref=SELLER[1])

KEY = b"the auditors' export key"


def a_complaint(system: System) -> UUID:
    """A complaint lodged and acknowledged: versions 1 and 2."""
    complaint_id = uuid4()
    # About the registered seller: a complaint is assigned only about a subject on record (回避).
    register_demo_seller(system, system.clock.now().astimezone(SHANGHAI).date())
    lodge_sample_complaint(system, by(OFFICER), complaint_id, system.clock.now(), ABOUT_THE_SELLER)
    system.complaints.acknowledge(complaint_id, AcknowledgeComplaint(channel="sms"), by(OFFICER))
    return complaint_id


def assign(system: System, complaint_id: UUID) -> None:
    system.complaints.assign(
        complaint_id,
        AssignComplaint(handler_id="zheng.qiang.complaints"),
        by(OFFICER),
    )


def tamper(system: System, statement: str, *params: object) -> None:
    """Run SQL on the complaints' events table as someone with direct database access would."""
    table = chained_table(system.complaints)
    with psycopg.connect(system.database_url, autocommit=True) as conn:
        conn.execute(sql.SQL(statement).format(t=table.identifier), params)


def export(system: System, path: Path, case_id: UUID | None = None) -> Path:
    AuditTrail(system).export(path, KEY, case_id)
    return path


def test_a_later_export_extends_an_earlier_one_when_commands_only_added_events_and_cases(
    system: System, tmp_path: Path
) -> None:
    first = a_complaint(system)
    a_complaint(system)
    older = export(system, tmp_path / "older.jsonl")
    assign(system, first)
    a_complaint(system)
    newer = export(system, tmp_path / "newer.jsonl")

    comparison = compare_exports(older, newer, KEY)

    assert comparison.ok, comparison
    assert (comparison.older.events, comparison.newer.events) == (4, 7)
    assert comparison.changes == ()


def test_compare_names_the_case_as_shortened_when_its_latest_event_was_deleted_in_postgresql(
    system: System, tmp_path: Path
) -> None:
    untouched, case_id = a_complaint(system), a_complaint(system)
    older = export(system, tmp_path / "older.jsonl")
    # Deleting the latest event leaves every remaining link intact: the store alone cannot tell.
    tamper(system, "DELETE FROM {t} WHERE originator_id = %s AND originator_version = 2", case_id)
    newer = export(system, tmp_path / "newer.jsonl")

    comparison = compare_exports(older, newer, KEY)

    assert verify_export(newer, KEY).ok
    assert not comparison.ok
    assert [(c.case_id, c.version, str(c)) for c in comparison.changes] == [
        (
            case_id,
            2,
            f"complaint {case_id}: shortened: the newer export ends at version 1, the older holds version 2",
        )
    ]
    assert untouched not in {c.case_id for c in comparison.changes}


def test_compare_names_a_case_missing_from_the_newer_export_as_shortened(
    system: System, tmp_path: Path
) -> None:
    case_id = a_complaint(system)
    a_complaint(system)
    older = export(system, tmp_path / "older.jsonl")
    tamper(system, "DELETE FROM {t} WHERE originator_id = %s", case_id)
    newer = export(system, tmp_path / "newer.jsonl")

    comparison = compare_exports(older, newer, KEY)

    assert [(c.case_id, str(c)) for c in comparison.changes] == [
        (
            case_id,
            f"complaint {case_id}: shortened: missing from the newer export (the older holds version 2)",
        )
    ]


def test_compare_names_the_case_as_rewritten_when_a_forger_recomputed_its_chain_in_postgresql(
    system: System, tmp_path: Path
) -> None:
    case_id = a_complaint(system)
    older = export(system, tmp_path / "older.jsonl")
    table = chained_table(system.complaints)
    with psycopg.connect(system.database_url, autocommit=True) as conn:
        rows = conn.execute(
            sql.SQL(
                "SELECT topic, state, chain_hash FROM {} WHERE originator_id = %s ORDER BY originator_version"
            ).format(table.identifier),
            (case_id,),
        ).fetchall()
        # The forger edits the latest payload and recomputes its chain hash: the chain has no key.
        state = bytes(rows[1][1]).replace(b"sms", b"letter")
        forged = chain_hash(bytes(rows[0][2]), case_id, 2, rows[1][0], state)
        conn.execute(
            sql.SQL(
                "UPDATE {} SET state = %s, chain_hash = %s"
                " WHERE originator_id = %s AND originator_version = 2"
            ).format(table.identifier),
            (state, forged, case_id),
        )
    newer = export(system, tmp_path / "newer.jsonl")

    comparison = compare_exports(older, newer, KEY)

    assert verify_export(newer, KEY).ok
    assert [(c.case_id, c.version, str(c)) for c in comparison.changes] == [
        (
            case_id,
            2,
            f"complaint {case_id}: rewritten: chain hash at version 2 differs from the older export's head",
        )
    ]


def test_compare_covers_only_the_cases_of_an_older_export_of_one_case(system: System, tmp_path: Path) -> None:
    case_id, other = a_complaint(system), a_complaint(system)
    older = export(system, tmp_path / "older.jsonl", case_id)
    assign(system, case_id)
    tamper(system, "DELETE FROM {t} WHERE originator_id = %s", other)
    newer = export(system, tmp_path / "newer.jsonl", case_id)

    assert compare_exports(older, newer, KEY).ok


def test_compare_does_not_compare_when_an_export_does_not_verify_on_its_own(
    system: System, tmp_path: Path
) -> None:
    a_complaint(system)
    older = export(system, tmp_path / "older.jsonl")
    newer = tmp_path / "newer.jsonl"
    AuditTrail(system).export(newer, b"someone else's key")

    comparison = compare_exports(older, newer, KEY)

    assert not comparison.ok
    assert comparison.older.ok
    assert not comparison.newer.ok
    assert comparison.changes == ()
    assert "NOT COMPARED" in "\n".join(infra.audit.verify.describe_comparison(comparison))


def test_the_compare_command_exits_1_and_names_the_shortened_case(
    system: System, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case_id = a_complaint(system)
    older = export(system, tmp_path / "older.jsonl")
    tamper(system, "DELETE FROM {t} WHERE originator_id = %s AND originator_version = 2", case_id)
    newer = export(system, tmp_path / "newer.jsonl")

    same = cli.main(["audit", "compare-exports", str(older), str(older), "--key", KEY.decode()])
    cut = cli.main(["audit", "compare-exports", str(older), str(newer), "--key", KEY.decode()])

    out = capsys.readouterr().out
    assert (same, cut) == (0, 1)
    assert "EXTENDS" in out
    assert f"DOES NOT EXTEND: 1 cases shortened or rewritten\n  complaint {case_id}: shortened" in out


def test_the_copied_verifier_compares_two_exports_with_only_the_standard_library(
    system: System, tmp_path: Path
) -> None:
    case_id = a_complaint(system)
    older = export(system, tmp_path / "older.jsonl")
    tamper(system, "DELETE FROM {t} WHERE originator_id = %s AND originator_version = 2", case_id)
    newer = export(system, tmp_path / "newer.jsonl")
    copy = tmp_path / "auditor" / "audit_verify.py"
    copy.parent.mkdir()
    shutil.copy(infra.audit.verify.__file__, copy)

    def compare(first: Path, second: Path) -> subprocess.CompletedProcess[str]:
        # -I -S: isolated and without site-packages, so neither caseledger nor any installed package imports.
        command = [sys.executable, "-I", "-S", str(copy), "--compare", str(first), str(second)]
        return subprocess.run(
            [*command, "--key", KEY.decode()],
            capture_output=True,
            text=True,
            check=False,
            cwd=copy.parent,
        )

    good, bad = compare(older, older), compare(older, newer)

    assert good.returncode == 0, good.stderr
    assert "EXTENDS" in good.stdout
    assert bad.returncode == 1, bad.stderr
    assert f"complaint {case_id}: shortened" in bad.stdout
