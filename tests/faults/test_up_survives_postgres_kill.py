"""`caseledger up` under load keeps running through a `kill -9` of its embedded PostgreSQL: it starts the
server again itself, clients meanwhile get a quick 503 problem+json (never a hang or a dropped connection),
and 2xx again within seconds; every accepted command is stored once, read back, and published in order.

The PostgreSQL is `up`'s own embedded one, in a temporary data directory: never the machine's server.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.demo_process import read_until, stop_process
from tests.faults.harness import (
    OUTAGE_ANSWER_S,
    CommandLoad,
    all_readable,
    kill_postmaster,
    opened_complaints,
    out_of_order,
    postmaster_pid,
    report,
    wait_for,
)
from tests.kafka_fixtures import consume_all, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.faults, pytest.mark.timeout(300)]

REPO = Path(__file__).resolve().parents[2]
SECRET = "faults-secret-" + "x" * 32
RECOVERY_BOUND_S = 15.0
"""The promise: 2xx again within this long of the server's return."""


class UpProcess:
    """A running `caseledger up` (no demo) on embedded servers in a temporary directory."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.api_port = free_port()
        self.broker_port = free_port()
        environment = {k: v for k, v in os.environ.items() if not k.startswith("CASELEDGER_")} | {
            "CASELEDGER_DATA_DIR": str(data_dir),
            "CASELEDGER_BROKER_PORT": str(self.broker_port),
            "CASELEDGER_API_PORT": str(self.api_port),
            "CASELEDGER_JWT_SECRET": SECRET,
            "PYTHONPATH": str(REPO),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "up"],
            cwd=data_dir,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=open(data_dir / "up.log", "w"),  # noqa: SIM115 - kept open for the process's life
            text=True,
        )
        self.output = self._read_until("Ctrl-C stops", wait_s=120)
        url_line = next(line for line in self.output.splitlines() if line.startswith("PostgreSQL (embedded)"))
        self.database_url = url_line.split(": ", 1)[1].split("  schema prefix")[0]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.broker_port}"

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pg"

    def _read_until(self, marker: str, wait_s: float) -> str:
        assert self.process.stdout is not None
        output, found = read_until(self.process.stdout, marker, wait_s)
        if not found:
            log = (self.data_dir / "up.log").read_text()[-3000:]
            raise AssertionError(f"`up` did not start: {output}\n{log}")
        return output

    def stop(self) -> None:
        stop_process(self.process, 30)


@pytest.fixture
def up(fault_dir: Path) -> Iterator[UpProcess]:
    running = UpProcess(fault_dir)
    try:
        yield running
    finally:
        running.stop()


def test_up_keeps_running_through_a_kill_of_its_postgres_answering_503_then_2xx(up: UpProcess) -> None:
    load = CommandLoad(up.base_url, SECRET).start()
    wait_for(lambda: len(load.accepted) >= 5, 60, "the load gets going")

    killed_pid = kill_postmaster(up.pgdata)
    killed_at = time.monotonic()
    wait_for(lambda: _server_back(up.pgdata, killed_pid), 60, "`up` starts its PostgreSQL again")
    back_at = time.monotonic()
    accepted_before = len(load.accepted)
    wait_for(lambda: _accepted_since(load, back_at) > 0, 60, "a command is accepted again")
    recovered_at = min(a.at + a.seconds for a in load.after(back_at) if 200 <= a.status < 300)
    wait_for(lambda: len(load.accepted) >= accepted_before + 5, 60, "the load goes on")
    load.stop()

    assert up.process.poll() is None, "`up` is still running"
    during = load.answered_between(killed_at, back_at)
    refused = [a for a in load.answered_between(killed_at, recovered_at) if not 200 <= a.status < 300]
    stored = opened_complaints(up.database_url, "caseledger")
    accepted = set(load.accepted.values())
    report(
        "up: kill -9 of its embedded PostgreSQL",
        kills=1,
        restarted_after_s=round(back_at - killed_at, 2),
        first_2xx_after_return_s=round(recovered_at - back_at, 2),
        refused_answers=len(refused),
        slowest_refusal_s=round(max((a.seconds for a in refused), default=0.0), 2),
        accepted=len(load.accepted),
        doubled=load.accepted_twice,
        lost=len(accepted - stored),
        stored_unasked=len(stored - accepted),
    )
    assert during, "some requests were answered while the database was away"
    assert all(a.status == 503 for a in refused), sorted({a.status for a in refused})
    assert all(a.content_type.startswith("application/problem+json") for a in refused)
    assert all(a.retry_after is not None for a in refused)
    assert all(a.seconds <= OUTAGE_ANSWER_S for a in refused), max(a.seconds for a in refused)
    assert recovered_at - back_at <= RECOVERY_BOUND_S
    assert load.accepted_twice == 0

    # Every accepted command is stored exactly once, is in the read model, and is published in order.
    assert accepted <= stored, f"{len(accepted - stored)} accepted complaint(s) not stored"
    assert len(stored) == len(accepted), f"{len(stored) - len(accepted)} complaint(s) stored unasked"
    wait_for(
        lambda: all_readable(up.base_url, SECRET, accepted),
        60,
        "every accepted complaint is in the read model",
    )
    records = consume_all(up.bootstrap, "caseledger.complaint", timeout=30)
    assert {record.key.decode() for record in records if record.key} >= accepted
    assert out_of_order(records) == []


def _server_back(pgdata: Path, killed_pid: int) -> bool:
    try:
        return postmaster_pid(pgdata) != killed_pid
    except (FileNotFoundError, ValueError, IndexError):
        return False


def _accepted_since(load: CommandLoad, instant: float) -> int:
    return sum(1 for a in load.after(instant) if 200 <= a.status < 300)
