"""The scale-out processes (`api`, `relay`, `consume`, `timers`) under load: each is `kill -9`ed and started
again, then their PostgreSQL is `kill -9`ed and started again, then their broker is wiped (restarted empty:
no topics, no offsets). Every process survives the database's restart by itself (reconnects, LISTENs
again), clients see a quick 503 problem+json meanwhile and 2xx within seconds of its return, and every
accepted command is stored once, read back, and published again after the wipe in per-case order.

The PostgreSQL is a throwaway embedded server of the test's own, in a temporary directory; so is the broker.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from consumers.groups import default_groups
from infra.messaging.broker import EmbeddedBroker
from infra.store.embedded import EmbeddedPostgres
from tests.faults.harness import (
    OUTAGE_ANSWER_S,
    CommandLoad,
    all_readable,
    kill_postmaster,
    opened_complaints,
    out_of_order,
    report,
    restarted,
    wait_for,
)
from tests.kafka_fixtures import consume_all, free_port

REPO = Path(__file__).resolve().parents[2]
SECRET = "faults-secret-" + "y" * 32
SCHEMA = "faults"
RECOVERY_BOUND_S = 15.0
OUTAGE_S = 3.0
"""How long the database stays away."""
KINDS = ("relay", "consume", "timers", "api")
STALE_HOLD_S = 10
ROUNDS = int(os.environ.get("FAULTS_ROUNDS", "1"))
"""Kill rounds (each: every process, then PostgreSQL); `make faults` runs more than `make check`."""

pytestmark = [pytest.mark.e2e, pytest.mark.faults, pytest.mark.timeout(120 + 180 * ROUNDS)]


class Fleet:
    """The scale-out processes, each started, killed and started again on its own."""

    def __init__(self, data_dir: Path, database_url: str, bootstrap: str) -> None:
        self.data_dir = data_dir
        self.api_port = free_port()
        self.topic_prefix = f"faults-{uuid.uuid4().hex[:8]}"
        self.bootstrap = bootstrap
        self.environment = {k: v for k, v in os.environ.items() if not k.startswith("CASELEDGER_")} | {
            "CASELEDGER_DATABASE_URL": database_url,
            "CASELEDGER_DB_SCHEMA": SCHEMA,
            "CASELEDGER_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "CASELEDGER_TOPIC_PREFIX": self.topic_prefix,
            "CASELEDGER_TOPIC_PARTITIONS": "3",
            "CASELEDGER_API_PORT": str(self.api_port),
            "CASELEDGER_JWT_SECRET": SECRET,
            "CASELEDGER_DATA_DIR": str(data_dir),
            # One key for every process: each would otherwise race to create the key file.
            "CASELEDGER_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
            # A keyed request in flight when the API is killed holds its key until the hold goes stale
            # (60 s by default, the client meanwhile told 409 with Retry-After): shorter here, for time.
            "CASELEDGER_API_IDEMPOTENCY_STALE_SECONDS": str(STALE_HOLD_S),
            "PYTHONPATH": str(REPO),
        }
        self.commands = {
            "api": ["api"],
            "relay": ["relay"],
            "consume": ["consume", *(arg for name in default_groups() for arg in ("--group", name))],
            "timers": ["timers"],
        }
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def start(self, kind: str) -> None:
        log = open(self.data_dir / f"{kind}.log", "ab")  # noqa: SIM115 - the process writes it for its life
        self.processes[kind] = subprocess.Popen(
            [sys.executable, "-m", "cli.main", *self.commands[kind]],
            cwd=self.data_dir,
            env=self.environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        if kind == "api":
            wait_for(self._api_ready, 90, "the API answers: " + self.log("api"))

    def kill(self, kind: str) -> None:
        """``kill -9``: no clean-up of any kind."""
        process = self.processes[kind]
        process.kill()
        process.wait()

    def running(self) -> dict[str, bool]:
        return {kind: process.poll() is None for kind, process in self.processes.items()}

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def dead_logs(self) -> dict[str, str]:
        """What each process that is no longer running wrote last."""
        return {kind: self.log(kind) for kind, alive in self.running().items() if not alive}

    def log(self, kind: str) -> str:
        return (self.data_dir / f"{kind}.log").read_text(errors="replace")[-3000:]

    def _api_ready(self) -> bool:
        try:
            return httpx.get(self.base_url + "/readyz", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False


@pytest.fixture
def throwaway_postgres(fault_dir: Path) -> Iterator[tuple[EmbeddedPostgres, str]]:
    server = EmbeddedPostgres(fault_dir / "postgres")
    url = server.start()
    try:
        yield server, url
    finally:
        server.stop()


@pytest.fixture
def own_broker(fault_dir: Path) -> Iterator[EmbeddedBroker]:
    """A broker of the test's own, so that wiping it touches no other test's topics."""
    broker = EmbeddedBroker(free_port(), fault_dir / "tansu.log")
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def fleet(
    fault_dir: Path, throwaway_postgres: tuple[EmbeddedPostgres, str], own_broker: EmbeddedBroker
) -> Iterator[Fleet]:
    _, url = throwaway_postgres
    fleet = Fleet(fault_dir, url, own_broker.bootstrap_servers)
    try:
        for kind in ("relay", "consume", "timers", "api"):
            fleet.start(kind)
        yield fleet
    finally:
        fleet.stop()


def test_scale_out_processes_survive_kills_a_postgres_restart_and_a_broker_wipe_with_nothing_lost_or_doubled(
    fleet: Fleet, throwaway_postgres: tuple[EmbeddedPostgres, str], own_broker: EmbeddedBroker
) -> None:
    server, url = throwaway_postgres
    load = CommandLoad(fleet.base_url, SECRET).start()
    wait_for(lambda: len(load.accepted) >= 5, 60, "the load gets going")

    started: dict[str, list[float]] = {kind: [] for kind in KINDS}
    going_again: dict[str, list[float]] = {kind: [] for kind in KINDS}
    answered: dict[str, Counter[str]] = {kind: Counter() for kind in KINDS}
    outages: list[tuple[float, float, float]] = []  # killed, back, first 2xx
    wiped: list[float] = []
    for _ in range(ROUNDS):
        # Each process killed under load and started again: the others carry on, the restarted one resumes.
        for kind in KINDS:
            before = len(load.accepted)
            killed_at = time.monotonic()
            fleet.kill(kind)
            fleet.start(kind)
            started[kind].append(round(time.monotonic() - killed_at, 2))
            target = before + 3
            wait_for(lambda: len(load.accepted) >= target, 90, f"the load goes on after {kind}")  # noqa: B023
            going_again[kind].append(round(time.monotonic() - killed_at, 2))
            answered[kind].update(str(a.status) for a in load.after(killed_at))

        # Their PostgreSQL killed and, after a while, started again: nobody is restarted by hand.
        before = len(load.accepted)
        kill_postmaster(server.data_dir / "pg")
        killed_at = time.monotonic()
        time.sleep(OUTAGE_S)
        assert fleet.running() == dict.fromkeys(fleet.processes, True), fleet.dead_logs()
        wait_for(restarted(server), 60, "the throwaway PostgreSQL starts again")
        back_at = time.monotonic()
        wait_for(lambda: any(200 <= a.status < 300 for a in load.after(back_at)), 60, "2xx again")  # noqa: B023
        recovered_at = min(a.at + a.seconds for a in load.after(back_at) if 200 <= a.status < 300)
        outages.append((killed_at, back_at, recovered_at))
        target = before + 5
        wait_for(lambda: len(load.accepted) >= target, 60, "the load goes on after the restart")  # noqa: B023

        # Their broker wiped under load: restarted on its port with no topic and no offset.
        own_broker.stop()
        own_broker.start()
        wiped.append(time.monotonic())
        assert fleet.running() == dict.fromkeys(fleet.processes, True), fleet.dead_logs()
        target = len(load.accepted) + 3
        wait_for(lambda: len(load.accepted) >= target, 60, "the load goes on after the wipe")  # noqa: B023
    load.stop()

    # Asked while the database was away and answered by the first 2xx after its return: a request sent just
    # before the kill can be the one in flight for the whole outage and be answered only after it.
    in_outages = [a for k, _, r in outages for a in load.answered_between(k, r) if a.at < r]
    refused = [a for k, _, r in outages for a in load.answered_between(k, r) if not 200 <= a.status < 300]
    recoveries = [round(r - b, 2) for _, b, r in outages]
    accepted = set(load.accepted.values())
    stored = opened_complaints(url, SCHEMA)
    report(
        "scale-out: kill -9 of relay, consume, timers, api; then of PostgreSQL",
        rounds=ROUNDS,
        kills=(len(KINDS) + 1) * ROUNDS,
        started_again_after_kill_s=started,
        load_going_again_after_kill_s=going_again,
        statuses_until_going_again=answered,
        outages_s=[round(b - k, 2) for k, b, _ in outages],
        first_2xx_after_return_s=recoveries,
        refused_answers=len(refused),
        slowest_refusal_s=round(max((a.seconds for a in refused), default=0.0), 2),
        accepted=len(accepted),
        doubled=load.accepted_twice,
        lost=len(accepted - stored),
        stored_unasked=len(stored - accepted),
    )
    assert fleet.running() == dict.fromkeys(fleet.processes, True), fleet.dead_logs()
    assert in_outages, "requests sent while the database was away were answered"
    # While the database is away every refusal is a 503. Just after its return a repeat may still find its
    # key held by the attempt the outage cut off (the mark that frees it is written once the pool reaches
    # the server again): a 409 with Retry-After, answered at once; the next repeat gets the one answer.
    during = [a for k, b, _ in outages for a in load.answered_between(k, b) if not 200 <= a.status < 300]
    after = [a for _, b, r in outages for a in load.answered_between(b, r) if not 200 <= a.status < 300]
    assert all(a.status == 503 for a in during), sorted({a.status for a in during})
    assert all(a.status in (503, 409) for a in after), sorted({a.status for a in after})
    assert all(a.content_type.startswith("application/problem+json") for a in refused)
    assert all(a.retry_after is not None for a in refused)
    assert all(a.seconds <= OUTAGE_ANSWER_S for a in refused), max(a.seconds for a in refused)
    assert max(recoveries) <= RECOVERY_BOUND_S
    assert load.accepted_twice == 0
    assert accepted == stored, (len(accepted - stored), len(stored - accepted))
    wait_for(
        lambda: all_readable(fleet.base_url, SECRET, accepted),
        60,
        "every accepted complaint is in the read model",
    )
    # After the last wipe the relay published everything again: a subscriber from offset 0 sees every
    # accepted case, each case's versions in order.
    topic = f"{fleet.topic_prefix}.complaint"

    def on_the_topic() -> set[str]:
        return {r.key.decode() for r in consume_all(fleet.bootstrap, topic, timeout=10) if r.key}

    wait_for(lambda: on_the_topic() >= accepted, 90, "every accepted case on the topic after the wipe")
    republished_s = round(time.monotonic() - wiped[-1], 2)
    records = consume_all(fleet.bootstrap, topic, timeout=30)
    report("scale-out: broker wiped under load", wipes=len(wiped), on_the_topic_again_within_s=republished_s)
    assert out_of_order(records) == []
    # The relay and the scheduler LISTEN again on connections of their own.
    wait_for(lambda: {"caseledger-relay", "caseledger-timers"} <= _listening(url), 30, "LISTEN again")


def _listening(database_url: str) -> set[str]:
    """The application names of the sessions whose last statement was a LISTEN."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT DISTINCT application_name FROM pg_stat_activity WHERE query ILIKE 'LISTEN%%'"
        ).fetchall()
    return {name for (name,) in rows}
