"""`caseledger up --demo`, run as a person runs it: a real process, a real PostgreSQL server."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

pytestmark = pytest.mark.e2e

LIFECYCLES = {
    "life policy": [
        "ProposalSubmitted",
        "UnderwritingDecided",
        "PolicyIssued",
        "PolicyReceiptAcknowledged",
        "CoolingOffEnded",
        # 续期: a missed monthly premium to suspension and reinstatement; then 退保 with its refund.
        "PremiumScheduleAgreed",
        "RenewalPremiumBilled",
        "PremiumReminderSent",
        "PolicyLapsed",
        "PolicyReinstated",
        "SurrenderNoticeReceived",
        "PolicySurrendered",
        "SurrenderRefundPaid",
    ],
    "callback": ["CallbackTaskCreated", "CallbackAttempted", "CallbackCompleted"],
    "claim": [
        "ClaimReported",
        "ClaimApplicationReceived",
        "ClaimRegistered",
        "SurveyDone",
        "LossAssessed",
        "ClaimDocumentsRequested",
        "ClaimDocumentsRequestDelivered",
        "ClaimDocumentsCompleted",
        "ClaimAdjusted",
        "ClaimReviewed",
        "ClaimDecided",
        "SettlementAgreed",
        "PaymentIssued",
        "ClaimClosed",
    ],
    "complaint": [
        "ComplaintLodged",
        "ComplaintAcknowledged",
        "ComplaintAssigned",
        "ComplaintDeadlineExtended",
        "ComplaintResponded",
        "ComplaintClosed",
    ],
    "policy service": [
        "ServiceRequested",
        "ServiceRequestChecked",
        "ServiceRequestApproved",
        "ServiceRequestCompleted",
        "ServiceCustomerNotified",
    ],
    # 咨询 and 其他 (issue #14): an inquiry answered at once, one deferred and answered, a roadside rescue.
    "inquiry answered at once": ["InquiryLogged", "InquiryAnswered"],
    "inquiry deferred": ["InquiryLogged", "InquiryDeferred", "InquiryAnswered"],
    "service order": [
        "ServiceOrderRequested",
        "ServiceOrderDispatched",
        "ServiceProviderArrived",
        "ServiceOrderCompleted",
    ],
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def up_demo(env_overrides: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASELEDGER_")}
    env |= {
        "CASELEDGER_BROKER_PORT": str(free_port()),
        "CASELEDGER_API_PORT": str(free_port()),
    } | env_overrides
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "up", "--demo", "--once"],
        cwd=cwd,
        env=env | {"PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def sections(output: str) -> list[list[str]]:
    """The event names of each printed history, in print order."""
    blocks = output.split("\n== ")[1:]
    return [re.findall(r"^\s+v\d+\s+\S+ \S+\s+(\w+)", block, flags=re.MULTILINE) for block in blocks]


def assert_in_order(names: list[str], expected: list[str]) -> None:
    positions = [names.index(name) for name in expected]
    assert positions == sorted(positions), (names, expected)


def test_demo_prints_every_lifecycle_event_by_event_when_a_database_is_configured(
    database_url: str, schema: str, tmp_path: Path
) -> None:
    done = up_demo({"CASELEDGER_DATABASE_URL": database_url, "CASELEDGER_DB_SCHEMA": schema}, tmp_path)

    assert done.returncode == 0, done.stderr
    life, callback, motor, claim, complaint, address, beneficiary, inquiry, deferred, rescue = sections(
        done.stdout
    )
    assert_in_order(life, LIFECYCLES["life policy"])
    assert_in_order(callback, LIFECYCLES["callback"])
    assert motor[-1] == "PolicyIssued"
    assert_in_order(claim, LIFECYCLES["claim"])
    assert_in_order(complaint, LIFECYCLES["complaint"])
    assert address == beneficiary == LIFECYCLES["policy service"]
    assert life.count("EndorsementApplied") == 2
    assert inquiry == LIFECYCLES["inquiry answered at once"]
    assert deferred == LIFECYCLES["inquiry deferred"]
    assert rescue == LIFECYCLES["service order"]
    # Relayed through the embedded broker and applied by the projections consumer:
    assert re.search(
        r"Read models caught up: claim \S+ in the read model: status=closed, paid_fen=600000", done.stdout
    )


def test_embedded_postgres_keeps_the_cases_between_two_runs_when_no_database_is_configured(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    first = up_demo({"CASELEDGER_DATA_DIR": str(data_dir)}, tmp_path)
    second = up_demo({"CASELEDGER_DATA_DIR": str(data_dir)}, tmp_path)

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert "PostgreSQL (embedded)" in first.stdout
    assert (data_dir / "pg" / "PG_VERSION").exists()
    first_ids = set(re.findall(r"^== Claim (\S+)", first.stdout, flags=re.MULTILINE))
    assert len(first_ids) == 1
    # The second run's system still has the first run's claim in its store.
    claim_id = first_ids.pop()
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, uuid\n"
            "from infra.bootstrap import bootstrap\nfrom infra.settings import Settings\n"
            "s = bootstrap(Settings())\n"
            "print(len(s.claims.history(uuid.UUID(sys.argv[1]))))\ns.close()",
            claim_id,
        ],
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if not k.startswith("CASELEDGER_")}
        | {"CASELEDGER_DATA_DIR": str(data_dir), "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == "17"


def caseledger(args: list[str], env_overrides: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASELEDGER_")} | env_overrides
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        cwd=cwd,
        env=env | {"PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_projections_verify_exits_non_zero_only_when_a_live_row_differs(
    database_url: str, schema: str, tmp_path: Path
) -> None:
    env = {"CASELEDGER_DATABASE_URL": database_url, "CASELEDGER_DB_SCHEMA": schema}
    demo = up_demo(env, tmp_path)
    assert demo.returncode == 0
    claim = re.search(r"^== Claim (\S+)", demo.stdout, flags=re.MULTILINE)
    assert claim is not None, demo.stdout

    clean = caseledger(["projections", "verify", "--all"], env, tmp_path)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("UPDATE {} SET status = 'edited by hand' WHERE claim_id = %s").format(
                sql.Identifier(f"{schema}_read", "claims")
            ),
            (claim.group(1),),
        )
    tampered = caseledger(["projections", "verify", "claims"], env, tmp_path)
    rebuilt = caseledger(["projections", "rebuild", "claims"], env, tmp_path)
    after = caseledger(["projections", "verify", "--all"], env, tmp_path)

    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert clean.stdout.strip().endswith("consistent")
    assert tampered.returncode == 1
    assert re.search(r"^claims\.claims\s+1 rows missing, 1 rows extra", tampered.stdout, flags=re.MULTILINE)
    assert rebuilt.returncode == 0
    assert "events/s" in rebuilt.stdout
    assert after.returncode == 0
