"""The signed export for auditors, and its offline verifier: a forged export is rejected."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from pathlib import Path
from uuid import UUID, uuid4

import psycopg
import pytest
from psycopg import sql

import infra.audit.verify
from cli.scenarios import OFFICER, by, lodge_sample_complaint
from infra.audit.chain import chained_table
from infra.audit.history import AuditTrail
from infra.audit.verify import chain_hash, sign, verify_export
from infra.bootstrap import System
from infra.services.complaints import AcknowledgeComplaint

pytestmark = [
    pytest.mark.integration,
    pytest.mark.isolated("exports every case the store holds and tampers with stored events"),
]

KEY = b"the auditors' export key"


def a_complaint(system: System) -> UUID:
    complaint_id = uuid4()
    lodge_sample_complaint(system, by(OFFICER), complaint_id, system.clock.now(), uuid4())
    system.complaints.acknowledge(complaint_id, AcknowledgeComplaint(channel="sms"), by(OFFICER))
    return complaint_id


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def write(path: Path, content: list[dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(line) + "\n" for line in content))


@pytest.fixture
def exported(system: System, tmp_path: Path) -> Path:
    a_complaint(system)
    a_complaint(system)
    out = tmp_path / "audit.jsonl"
    AuditTrail(system).export(out, KEY)
    return out


def test_an_export_of_every_case_verifies_offline_with_its_key(exported: Path) -> None:
    verdict = verify_export(exported, KEY)

    assert verdict.problems == ()
    assert (verdict.events, verdict.cases) == (4, 2)
    kinds = [line["type"] for line in lines(exported)]
    assert kinds == ["header", "event", "event", "event", "event", "head", "head", "signature"]


def test_event_lines_carry_the_readable_metadata_and_the_legal_basis(system: System, tmp_path: Path) -> None:
    case_id = a_complaint(system)
    out = tmp_path / "one.jsonl"

    report = AuditTrail(system).export(out, KEY, case_id)

    event = lines(out)[1]
    assert (report.events, report.cases) == (2, 1)
    assert event["case_id"] == str(case_id)
    assert event["actor_id"] == OFFICER[1]
    assert event["actor_role"] == OFFICER[0].value
    assert event["topic"] == "complaint.lodged.v1"
    assert "CBIRC Order 2020 No. 3" in str(event["legal_basis"])
    assert event["recorded_at"] is not None


def test_the_verifier_rejects_an_export_whose_payload_was_edited_and_rechained_without_the_key(
    exported: Path,
) -> None:
    content = lines(exported)
    event = content[1]
    state = base64.b64decode(str(event["state"])).replace(b"sms", b"letter")
    # A careful forger recomputes the chain and the head too: only the signature is beyond reach.
    event["state"] = base64.b64encode(state).decode()
    rechained = chain_hash(bytes(32), UUID(str(event["case_id"])), 1, str(event["topic"]), state)
    event["chain_hash"] = rechained.hex()
    write(exported, content)

    verdict = verify_export(exported, KEY)

    assert not verdict.ok
    assert any("signature does not match" in p for p in verdict.problems)


def test_the_verifier_rejects_an_export_signed_with_another_key(exported: Path) -> None:
    content = exported.read_bytes().splitlines(keepends=True)
    body = b"".join(content[:-1])
    signature = json.loads(content[-1])
    signature["mac"] = sign(b"someone else's key", body)
    exported.write_bytes(body + json.dumps(signature).encode() + b"\n")

    verdict = verify_export(exported, KEY)

    assert verdict.problems == (
        "signature does not match: the file was changed or the key is not the exporter's",
    )


def test_the_verifier_names_the_broken_link_of_an_export_taken_after_the_store_was_tampered_with(
    system: System, tmp_path: Path
) -> None:
    case_id = a_complaint(system)
    table = chained_table(system.complaints)
    with psycopg.connect(system.database_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DELETE FROM {} WHERE originator_id = %s AND originator_version = 1").format(
                table.identifier
            ),
            (case_id,),
        )
    out = tmp_path / "after.jsonl"
    AuditTrail(system).export(out, KEY)

    verdict = verify_export(out, KEY)

    assert verdict.problems == (f"complaint {case_id}: missing event at version 1",)


def test_the_verifier_runs_alone_as_a_copied_file_with_only_the_standard_library(
    exported: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "auditor" / "audit_verify.py"
    copy.parent.mkdir()
    shutil.copy(infra.audit.verify.__file__, copy)

    # -I -S: isolated and without site-packages, so neither caseledger nor any installed package imports.
    good = subprocess.run(
        [sys.executable, "-I", "-S", str(copy), str(exported), "--key", KEY.decode()],
        capture_output=True,
        text=True,
        check=False,
        cwd=copy.parent,
    )
    bad = subprocess.run(
        [sys.executable, "-I", "-S", str(copy), str(exported), "--key", "wrong"],
        capture_output=True,
        text=True,
        check=False,
        cwd=copy.parent,
    )

    assert good.returncode == 0, good.stderr
    assert "VERIFIED" in good.stdout
    assert bad.returncode == 1
    assert "NOT VERIFIED" in bad.stdout
