"""`caseledger up` runs the relay, the consumer groups and the scheduler as child processes it supervises
(issue #17): a command reaches the read model through them, a child killed is started again, and no child
outlives `up`, whether it is stopped or killed. `up --single-process` runs them in its own process.

Real processes on the test PostgreSQL (a schema of each test's own) and `up`'s own embedded Tansu broker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from uuid import uuid4

import httpx
import psutil
import pytest

from api.auth import issue_token
from domain.base import Role
from infra.store.eventstore import drop_schemas
from tests.demo_process import read_until, stop_process
from tests.faults.harness import COMPLAINT, hours, wait_for
from tests.kafka_fixtures import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

REPO = Path(__file__).resolve().parents[2]
SECRET = "children-secret-" + "x" * 32
CHILD_COMMANDS = {"relay", "consume", "timers"}


class Up:
    """A running `caseledger up` (no demo): its API, and the child processes it runs now."""

    def __init__(self, database_url: str, schema: str, work: Path, *args: str) -> None:
        self.api_port = free_port()
        environment = {k: v for k, v in os.environ.items() if not k.startswith("CASELEDGER_")} | {
            "CASELEDGER_DATABASE_URL": database_url,
            "CASELEDGER_DB_SCHEMA": schema,
            "CASELEDGER_TOPIC_PREFIX": schema,
            "CASELEDGER_DATA_DIR": str(work / "data"),
            "CASELEDGER_BROKER_PORT": str(free_port()),
            "CASELEDGER_API_PORT": str(self.api_port),
            "CASELEDGER_JWT_SECRET": SECRET,
            "PYTHONPATH": str(REPO),
        }
        self.log = work / "up.log"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "up", *args],
            cwd=work,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.log.open("w"),
            text=True,
        )
        self.descendants: set[psutil.Process] = set()
        self.output = self._read_until("Ctrl-C stops", wait_s=120)

    def _read_until(self, marker: str, wait_s: float) -> str:
        assert self.process.stdout is not None
        output, found = read_until(self.process.stdout, marker, wait_s)
        if not found:
            raise AssertionError(f"`up` did not start: {output}\n{self.log.read_text()[-3000:]}")
        return output

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def children(self) -> dict[str, psutil.Process]:
        """The supervised children running now, by command (`relay`, `consume`, `timers`)."""
        found = {}
        for child in psutil.Process(self.process.pid).children():
            try:
                command = child.cmdline()
            except psutil.NoSuchProcess:
                continue
            self.descendants.add(child)
            if "cli.children" in command:
                found[command[command.index("cli.children") + 2]] = child
        return found

    def stop(self) -> None:
        stop_process(self.process, 60)

    def reap(self) -> None:
        """Kill whatever the test left running (the embedded broker after a kill -9 of `up`)."""
        for process in self.descendants:
            if alive(process):
                process.kill()


@pytest.fixture
def start_up(database_url: str, tmp_path: Path) -> Iterator[Callable[..., Up]]:
    started: list[Up] = []
    schemas: list[str] = []

    def start(*args: str) -> Up:
        schema = f"kids_{uuid4().hex[:10]}"
        schemas.append(schema)
        work = tmp_path / schema
        work.mkdir()
        up = Up(database_url, schema, work, *args)
        started.append(up)
        return up

    yield start
    for up in started:
        up.stop()
        up.reap()
    for schema in schemas:
        drop_schemas(database_url, schema)


def alive(process: psutil.Process) -> bool:
    """Running, and not a zombie waiting for whoever adopted it to read its status."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def lodge_complaint(base_url: str) -> str:
    token = issue_token(SECRET, "kids.officer", Role.COMPLAINTS_OFFICER, hours(1))
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid4())}
    response = httpx.post(f"{base_url}/complaints", json=COMPLAINT, headers=headers, timeout=30)
    assert response.status_code < 300, response.text
    return str(response.json()["case_id"])


def readable(base_url: str, complaint_id: str) -> bool:
    token = issue_token(SECRET, "kids.reader", Role.COMPLAINTS_OFFICER, hours(1))
    response = httpx.get(
        f"{base_url}/complaints/{complaint_id}", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    return response.status_code == 200


def assert_pipeline_works(up: Up) -> None:
    complaint_id = lodge_complaint(up.base_url)
    wait_for(lambda: readable(up.base_url, complaint_id), 90, "the complaint reaches the read model")


def test_up_runs_relay_consumers_and_scheduler_as_children_and_a_command_reaches_the_read_model(
    start_up: Callable[..., Up],
) -> None:
    up = start_up()

    assert up.children().keys() == CHILD_COMMANDS
    assert "as child processes" in up.output
    assert_pipeline_works(up)


def test_a_child_killed_with_sigkill_is_started_again_and_the_pipeline_works_again(
    start_up: Callable[..., Up],
) -> None:
    up = start_up()
    killed = up.children()
    for child in killed.values():
        child.send_signal(signal.SIGKILL)

    wait_for(
        lambda: (
            up.children().keys() == CHILD_COMMANDS
            and not {c.pid for c in up.children().values()} & {c.pid for c in killed.values()}
        ),
        60,
        "`up` starts every killed child again",
    )
    assert up.process.poll() is None
    assert_pipeline_works(up)
    assert "starting it again" in up.log.read_text()


def test_stopping_up_stops_every_child_and_waits_for_them(start_up: Callable[..., Up]) -> None:
    up = start_up()
    children = list(up.children().values())
    assert len(children) == len(CHILD_COMMANDS)

    up.process.send_signal(signal.SIGTERM)
    assert up.process.wait(timeout=60) == 0

    assert [child.pid for child in children if alive(child)] == []


def test_killing_up_with_sigkill_leaves_no_child_alive(start_up: Callable[..., Up]) -> None:
    up = start_up()
    children = list(up.children().values())
    assert len(children) == len(CHILD_COMMANDS)

    up.process.kill()
    up.process.wait(timeout=10)

    wait_for(lambda: not any(alive(child) for child in children), 30, "the children end with `up`")


def test_up_single_process_runs_no_child_and_the_pipeline_works(start_up: Callable[..., Up]) -> None:
    up = start_up("--single-process")

    assert up.children() == {}
    assert "Running in one process" in up.output
    assert_pipeline_works(up)
