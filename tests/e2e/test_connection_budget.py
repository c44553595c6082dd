"""The documented deployment's connection budget, counted in ``pg_stat_activity`` by ``application_name``.

The six scale-out processes of the README (``api``, ``relay``, ``consume`` for each of the three groups,
``timers``) and a ``caseledger up`` beside them (its own API on another port; its children a relay, which is
a standby, one ``consume`` of every group and a scheduler, with pools of one), all as real processes on one
PostgreSQL database of the test's own and one Tansu broker, with the default pool settings: at idle they
hold at most ``IDLE_BUDGET`` connections in all; under load (``caseledger demo load`` writing, and HTTP
clients on both APIs) no process kind holds more than its pools' bound plus its dedicated sessions.
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from uuid import uuid4

import httpx
import psycopg
import pytest
from psycopg import sql

from api.auth import issue_token
from cli.children import CHILD_POOL_MAX_IDLE_S, CHILD_POOL_SIZE
from domain.base import Role
from infra.messaging.broker import EmbeddedBroker
from infra.settings import Settings
from tests.demo_process import REPO
from tests.kafka_fixtures import free_port

pytestmark = pytest.mark.e2e

IDLE_BUDGET = 36
"""27 once every start-up burst is closed (`up`'s family 9–10 of it since its pieces are children, each with
a pool of its own); the scale-out processes' start-up bursts linger up to their pools' 10-minute max idle,
which left up to 35 on the loaded two-core box (2026-12-06)."""
POOL = Settings.model_fields["db_pool_size"].default
OVERFLOW = Settings.model_fields["db_max_overflow"].default
DEDICATED = {
    "caseledger-api": 0,
    "caseledger-relay": 2,  # the advisory-lock session (a standby holds it too) and LISTEN
    "caseledger-consume": 1,  # LISTEN: the relay's NOTIFY wakes its asleep group
    "caseledger-timers": 1,  # LISTEN
    "caseledger-up": 0,  # the API and the demo only: the pieces that LISTEN are its children
}
PROCESSES: list[tuple[str, int]] = [
    # (process kind, its pool's size): the scale-out processes, ...
    ("caseledger-api", POOL),
    ("caseledger-relay", POOL),
    *[("caseledger-consume", POOL)] * 3,
    ("caseledger-timers", POOL),
    # ... and `up` with its three children.
    ("caseledger-up", POOL),
    ("caseledger-relay", CHILD_POOL_SIZE),
    ("caseledger-consume", CHILD_POOL_SIZE),
    ("caseledger-timers", CHILD_POOL_SIZE),
]
KINDS = {kind for kind, _ in PROCESSES}


def bound(kind: str, extra: int) -> int:
    """The most ``kind``'s processes may hold together: pools, dedicated sessions, and ``extra`` each."""
    return sum(pool + DEDICATED[kind] + extra for each, pool in PROCESSES if each == kind)


JWT_SECRET = secrets.token_urlsafe(32)

log = logging.getLogger(__name__)


@pytest.fixture
def own_database(database_url: str) -> Iterator[str]:
    """A database of the test's own: what ``pg_stat_activity`` shows in it is this deployment's alone."""
    name = f"cl_budget_{uuid4().hex[:12]}"
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield urlunsplit(urlsplit(database_url)._replace(path=f"/{name}"))
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def held(database_url: str, url: str) -> Counter[str]:
    """Connections to ``url``'s database right now, by ``application_name``."""
    with psycopg.connect(database_url, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT application_name, count(*) FROM pg_stat_activity WHERE datname = %s GROUP BY 1",
            (urlsplit(url).path.lstrip("/"),),
        ).fetchall()
    return Counter({str(name): int(count) for name, count in rows})


class Deployment:
    """The processes, started with ``caseledger`` sub-commands and the same ``CASELEDGER_*`` settings."""

    def __init__(self, url: str, bootstrap: str, cwd: Path) -> None:
        self.cwd = cwd
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CASELEDGER_")} | {
            "CASELEDGER_DATABASE_URL": url,
            "CASELEDGER_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "CASELEDGER_DB_SCHEMA": "budget",
            "CASELEDGER_TOPIC_PREFIX": f"budget{uuid4().hex[:8]}",
            "CASELEDGER_JWT_SECRET": JWT_SECRET,
            # One key for all: each process would otherwise race to create the key file.
            "CASELEDGER_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            "PYTHONPATH": str(REPO),
        }
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str, **env: str) -> None:
        self.processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "cli.main", *args],
                cwd=self.cwd,
                env=self.env | env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=(self.cwd / f"{'-'.join(args)}.log").open("wb"),
            )
        )

    def stop(self) -> None:
        started = time.monotonic()
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop within 30 s of SIGTERM: killed", process.args)
                process.kill()
                process.wait()
        log.info("deployment stopped in %.1f s", time.monotonic() - started)

    def running(self) -> bool:
        return all(process.poll() is None for process in self.processes)


def wait_for_api(base_url: str, deployment: Deployment, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert deployment.running(), f"a process ended; see the logs in {deployment.cwd}"
        try:
            if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{base_url} did not answer within {timeout} s")


QUIET_S = 2 * CHILD_POOL_MAX_IDLE_S + 2
"""Idle means the counts have not changed for this long: `up`'s children close what their start-up burst
opened above their pools of one, one connection per CHILD_POOL_MAX_IDLE_S, so a shorter quiet would catch
them between two closes."""


def settled(database_url: str, url: str, kinds: int, timeout: float = 180) -> Counter[str]:
    """The counts once every process kind shows up and nothing changed for ``QUIET_S``."""
    deadline = time.monotonic() + timeout
    last, since = Counter[str](), time.monotonic()
    while time.monotonic() < deadline:
        now = held(database_url, url)
        if now != last:
            last, since = now, time.monotonic()
        elif len(now) >= kinds and time.monotonic() - since >= QUIET_S:
            return now
        time.sleep(0.2)
    raise AssertionError(f"the connection counts did not settle: {last}")


def http_load(base_urls: list[str], stop: threading.Event) -> int:
    """Queries and commands on both APIs from 16 threads until ``stop``; the number of 5xx answers."""
    supervisor = issue_token(JWT_SECRET, "budget-load", Role.SUPERVISOR, timedelta(hours=1))
    headers = {"Authorization": f"Bearer {supervisor}"}
    failures = 0

    def client(index: int) -> int:
        errors = 0
        with httpx.Client(base_url=base_urls[index % len(base_urls)], headers=headers, timeout=30) as http:
            while not stop.is_set():
                for path in ("/worklist", "/statistics/complaints", f"/claims/{uuid4()}", "/timers"):
                    errors += http.get(path).status_code >= 500
        return errors

    with ThreadPoolExecutor(16) as pool:
        failures = sum(pool.map(client, range(16)))
    return failures


@pytest.mark.timeout(400)  # ten processes start and stop on two shared cores
def test_the_documented_deployment_stays_within_its_connection_budget_idle_and_under_load(
    own_database: str, database_url: str, tmp_path: Path
) -> None:
    api_port, up_port = free_port(), free_port()
    with ExitStack() as stack:
        broker = EmbeddedBroker(free_port(), tmp_path / "tansu.log")
        broker.start()
        stack.callback(broker.stop)
        deployment = Deployment(own_database, broker.bootstrap_servers, tmp_path)
        stack.callback(deployment.stop)
        # As the compose file does: the migrations, then the stores' tables, each by one command run to its
        # end before the processes start.
        for command in (["db", "upgrade"], ["relay", "--lag"]):
            subprocess.run(
                [sys.executable, "-m", "cli.main", *command],
                cwd=tmp_path,
                env=deployment.env,
                capture_output=True,
                timeout=120,
                check=True,
            )
        for group in ("projections", "timers", "callbacks"):
            deployment.start("consume", "--group", group)
        deployment.start("timers")
        deployment.start("relay")
        deployment.start("api", CASELEDGER_API_PORT=str(api_port))
        deployment.start("up", CASELEDGER_API_PORT=str(up_port))
        apis = [f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{up_port}"]
        for base_url in apis:
            wait_for_api(base_url, deployment)

        idle = settled(database_url, own_database, kinds=len(KINDS))
        assert idle.keys() == KINDS, idle  # every process named its connections after its kind
        log.info("idle, by application_name: %s, total %d", dict(sorted(idle.items())), sum(idle.values()))
        assert sum(idle.values()) <= IDLE_BUDGET, idle
        for kind in KINDS:
            # +2: a start-up check, and one connection a start-up burst may open above the pool (the pool
            # closes it after 10 idle minutes; `up`'s children soon); the total above stays within the budget.
            assert idle[kind] <= bound(kind, 2), (kind, idle)

        peak: Counter[str] = Counter()
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                peak |= held(database_url, own_database)  # per kind, the most seen at once
                time.sleep(0.05)

        with ThreadPoolExecutor(2) as pool:
            sampler = pool.submit(sample)
            clients = pool.submit(http_load, apis, stop)
            load = subprocess.run(
                [sys.executable, "-m", "cli.main", "demo", "load", "--cases", "40", "--rate", "100"],
                cwd=tmp_path,
                env=deployment.env,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            time.sleep(5)  # the relay, the consumers and the timers finish what the load wrote
            stop.set()
            sampler.result(timeout=30)
            server_errors = clients.result(timeout=120)
        assert load.returncode == 0, load.stderr
        log.info("load: %s", load.stdout.strip())
        log.info("peak under load, by application_name: %s", dict(sorted(peak.items())))
        assert server_errors == 0
        assert deployment.running()
        assert peak.keys() >= KINDS, peak  # every kind named itself (the load tool is -cli)
        for kind in KINDS:
            assert peak[kind] <= bound(kind, OVERFLOW), (kind, peak)
