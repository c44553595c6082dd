"""`caseledger api --workers N`: N processes forked from one serve its port, each with its own pool; a worker
that dies is replaced, and SIGTERM stops them all."""

from __future__ import annotations

import base64
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from uuid import uuid4

import httpx
import pytest

from api.auth import issue_token
from domain.base import Role
from infra.settings import Settings
from tests.demo_process import REPO
from tests.e2e.test_connection_budget import held, own_database  # noqa: F401 (a fixture)
from tests.kafka_fixtures import free_port

pytestmark = pytest.mark.e2e

WORKERS = 2
POOL = Settings.model_fields["db_pool_size"].default
JWT_SECRET = secrets.token_urlsafe(32)


@dataclass
class Workers:
    process: subprocess.Popen[bytes]
    base_url: str
    database_url: str
    log: Path

    def children(self) -> set[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return {int(pid) for pid in path.read_text().split()}


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {seconds:.0f} s: {what}")


def ready(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def workers(own_database: str, tmp_path: Path) -> Iterator[Workers]:  # noqa: F811 (the fixture imported)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASELEDGER_")} | {
        "CASELEDGER_DATABASE_URL": own_database,
        "CASELEDGER_DB_SCHEMA": f"workers_{uuid4().hex[:8]}",
        "CASELEDGER_JWT_SECRET": JWT_SECRET,
        "CASELEDGER_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "CASELEDGER_API_PORT": str(port),
        "CASELEDGER_API_WORKERS": str(WORKERS),
        "CASELEDGER_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(REPO),
    }
    log = tmp_path / "api.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "api"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    running = Workers(process, f"http://127.0.0.1:{port}", own_database, log)
    try:
        wait_for(lambda: ready(running.base_url), 90, f"the API answers; log: {log.read_text()[-2000:]}")
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def lodge(base_url: str) -> httpx.Response:
    token = issue_token(JWT_SECRET, "officer-w", Role.COMPLAINTS_OFFICER, timedelta(hours=1))
    return httpx.post(
        f"{base_url}/complaints",
        json={
            "received_at": "2026-03-02T09:00:00+08:00",
            "category": "claims",
            "channel": "hotline",
            "subject_ref": {"kind": "policy", "ref": "P-w"},
            "customer_id": "CUST-w",
            "complainant_name": "张伟",
            "complainant_phone": "13800138000",
            "facts": "f",
            "demands": "d",
        },
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid4())},
        timeout=10,
    )


def test_every_worker_serves_the_port_with_a_pool_of_its_own(workers: Workers, database_url: str) -> None:
    answers = [lodge(workers.base_url).status_code for _ in range(20)]

    assert answers == [201] * 20
    assert len(workers.children()) == WORKERS
    wait_for(
        lambda: held(database_url, workers.database_url)["caseledger-api"] >= WORKERS * POOL,
        30,
        "each worker holds its pool's connections",
    )


def test_a_killed_worker_is_replaced_and_the_port_keeps_answering(workers: Workers) -> None:
    victim = min(workers.children())

    os.kill(victim, signal.SIGKILL)
    wait_for(
        lambda: victim not in workers.children() and len(workers.children()) == WORKERS,
        60,
        "a new worker replaces the killed one",
    )

    wait_for(lambda: lodge(workers.base_url).status_code == 201, 60, "the port answers commands")
    assert workers.process.poll() is None


def test_sigterm_stops_every_worker(workers: Workers) -> None:
    started = workers.children()

    workers.process.send_signal(signal.SIGTERM)

    assert workers.process.wait(timeout=30) == 0
    assert all(not Path(f"/proc/{pid}").exists() for pid in started)


def test_workers_that_cannot_start_end_the_command_with_one_line(tmp_path: Path) -> None:
    closed = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASELEDGER_")} | {
        "CASELEDGER_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{closed}/nothing",
        "CASELEDGER_JWT_SECRET": JWT_SECRET,
        "CASELEDGER_API_PORT": str(free_port()),
        "CASELEDGER_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(REPO),
    }

    ended = subprocess.run(
        [sys.executable, "-m", "cli.main", "api", "--workers", str(WORKERS)],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert ended.returncode == 1
    assert "Traceback" not in ended.stderr
    assert "API workers in a row ended" in ended.stderr.splitlines()[-1]


def test_workers_end_when_their_parent_is_killed(workers: Workers) -> None:
    started = workers.children()

    workers.process.kill()
    workers.process.wait(timeout=10)

    wait_for(
        lambda: all(not Path(f"/proc/{pid}").exists() or _zombie(pid) for pid in started),
        30,
        "no worker outlives its parent",
    )


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
    except (OSError, IndexError):
        return True
