"""How many PostgreSQL connections a caseledger process holds, counted in ``pg_stat_activity``.

One pool per process, shared by the six event-sourced applications and everything else: an idle process
holds the pool's ``db_pool_size`` connections (plus the relay's lock and LISTEN sessions, the scheduler's
LISTEN and the consumer groups' LISTEN, where those run), a busy one never more than ``db_pool_size +
db_max_overflow`` (plus the same dedicated ones). Every connection is named after its process
(``application_name``). Each test runs in a database of its own, so that the counts are this process's and
nothing else's.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID, uuid4

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql
from pydantic import SecretStr

from api.app import create_app
from cli.runtime import all_groups, serve
from cli.scenarios import OFFICER, SELLER, SYSTEM, by, lodge_sample_complaint
from domain.base import Actor, Role
from domain.callback import CallbackType
from domain.privacy import HoldGround
from domain.service_request import Requester, ServiceChannel, ServiceItem
from infra.bootstrap import System, bootstrap
from infra.clock import ControlledClock
from infra.services.callbacks import CreateCallbackTask
from infra.services.service_requests import RequestPolicyService
from infra.settings import Settings
from infra.store.database import ProcessKind
from infra.store.eventstore import Caller, CaseApplication
from tests.api.claim_driver import report_claim
from tests.api.conftest import SECRET
from tests.cases import a_motor_policy, report_hail_claim

pytestmark = [
    pytest.mark.integration,
    pytest.mark.isolated("counts the connections of the processes it runs on its schema"),
]

POOL_SIZE = 2
MAX_OVERFLOW = 3
DEDICATED_IN_UP = 4
"""The relay's advisory-lock session and its LISTEN, the scheduler's LISTEN, and the consumer groups' LISTEN
(the relay's NOTIFY wakes them, consumers/wakeup.py)."""


@pytest.fixture
def own_database(database_url: str) -> Iterator[str]:
    """The URL of a database created for this test (dropped afterwards, connections and all)."""
    name = f"cl_conn_{uuid4().hex[:12]}"
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    parts = urlsplit(database_url)
    yield urlunsplit(parts._replace(path=f"/{name}"))
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def held(database_url: str, url: str, process: ProcessKind) -> int:
    """How many connections to ``url``'s database carry ``process``'s name right now."""
    with psycopg.connect(database_url, autocommit=True) as admin:
        row = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name = %s",
            (urlsplit(url).path.lstrip("/"), process.value),
        ).fetchone()
    assert row is not None
    return int(row[0])


class Peak:
    """The most connections a process held while the block ran, sampled every few milliseconds."""

    def __init__(self, count: Callable[[], int]) -> None:
        self.count = count
        self.most = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.most = max(self.most, self.count())
            time.sleep(0.005)

    def __enter__(self) -> Peak:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def settings_for(url: str) -> Settings:
    return Settings(
        database_url=url,
        db_schema=f"t_{uuid4().hex[:12]}",
        topic_prefix=f"t{uuid4().hex[:8]}",
        db_pool_size=POOL_SIZE,
        db_max_overflow=MAX_OVERFLOW,
        jwt_secret=SecretStr(SECRET),
    )


@pytest.fixture
def built(own_database: str, clock: ControlledClock) -> Iterator[System]:
    system = bootstrap(settings_for(own_database), clock, process=ProcessKind.CONSUME)
    yield system
    system.close()


def lodge_complaints(system: System, clock: ControlledClock, count: int, threads: int) -> None:
    policy_id = a_motor_policy(system, clock)

    def lodge(_: int) -> None:
        lodge_sample_complaint(system, by(OFFICER), uuid4(), clock.now(), policy_id)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lodge, range(count)))


def test_every_application_writes_into_its_own_schema_over_one_shared_connection(
    database_url: str, schema: str, clock: ControlledClock
) -> None:
    # One connection for all seven applications: each must still adapt its own schema's composite type (the
    # library's insert function takes this schema's stored_event_uuid[], not another's).
    settings = Settings(database_url=database_url, db_schema=schema, db_pool_size=1, db_max_overflow=0)
    system = bootstrap(settings, clock)
    try:
        policy_id = a_motor_policy(system, clock)
        claim_id = report_hail_claim(system, clock, policy_id)
        complaint = lodge_sample_complaint(system, by(OFFICER), uuid4(), clock.now(), policy_id)
        task = system.callbacks.create_task(
            CreateCallbackTask(
                task_type=CallbackType.NEW_POLICY,
                source_event_id=uuid4(),
                source_case_id=policy_id,
                customer_id="CUST-demo",
                due_by=clock.now() + timedelta(days=16),
            ),
            Caller(Actor(id=SYSTEM[1], role=Role.SYSTEM), uuid4()),
        )
        hold = system.privacy.place_hold(
            Caller(Actor(id="mgr", role=Role.SENIOR_MANAGER), uuid4()),
            "CUST-demo",
            hold_id="H-1",
            ground=HoldGround.LEGAL,
            reason="a regulator asked",
        )
        service = system.service_requests.request(
            RequestPolicyService(
                policy_id=policy_id,
                item=ServiceItem.ADDRESS_CHANGE,
                channel=ServiceChannel.COUNTER,
                requested_by=Requester.APPLICANT,
                requester_name="张伟",
                received_at=clock.now(),
                new_address="上海市浦东新区世纪大道 100 号",
            ),
            Caller(Actor(id=SELLER[1], role=Role.SELLER), uuid4()),
        )
        written: dict[CaseApplication[Any], UUID] = {
            system.policies: policy_id,
            system.claims: claim_id,
            system.complaints: complaint.case_id,
            system.callbacks: task.case_id,
            system.privacy: hold.case_id,
            system.service_requests: service.case_id,
        }
        for app, case_id in written.items():
            rows = app.read_events(
                sql.SQL("SELECT count(*) AS n FROM {} WHERE originator_id = %s").format(app.events_table()),
                (case_id,),
            )
            assert rows[0]["n"] == len(app.history(case_id)) > 0, app.bounded_context
        assert system.database.pool.get_stats()["pool_size"] == 1
    finally:
        system.close()


def test_an_idle_process_holds_its_pool_size_and_a_busy_one_never_more_than_its_bound(
    built: System, own_database: str, database_url: str, clock: ControlledClock
) -> None:
    def count() -> int:
        return held(database_url, own_database, ProcessKind.CONSUME)

    assert count() <= POOL_SIZE

    with Peak(count) as peak:
        lodge_complaints(built, clock, count=120, threads=16)

    assert POOL_SIZE < peak.most <= POOL_SIZE + MAX_OVERFLOW
    # The bound held because requests waited for a connection rather than opening one more.
    assert built.database.pool.get_stats().get("requests_queued", 0) > 0


def test_the_api_serves_concurrent_requests_within_the_process_pool(
    own_database: str, database_url: str, clock: ControlledClock
) -> None:
    system = bootstrap(settings_for(own_database), clock, process=ProcessKind.API)
    try:
        policy_id = a_motor_policy(system, clock)
        clock.advance(timedelta(days=2))

        def count() -> int:
            return held(database_url, own_database, ProcessKind.API)

        with TestClient(create_app(system)) as client:
            assert count() <= POOL_SIZE

            def report(_: int) -> int:
                answer = report_claim(
                    client, policy_id, clock.now() - timedelta(hours=2), Idempotency_Key=str(uuid4())
                )
                return int(answer["version"])

            with Peak(count) as peak, ThreadPoolExecutor(12) as pool:
                versions = list(pool.map(report, range(48)))

        assert versions == [1] * 48
        assert peak.most <= POOL_SIZE + MAX_OVERFLOW
    finally:
        system.close()


def test_everything_in_one_process_holds_the_pool_and_three_dedicated_sessions(
    own_database: str, database_url: str, clock: ControlledClock, kafka_bootstrap: str
) -> None:
    system = bootstrap(settings_for(own_database), clock)

    def count() -> int:
        return held(database_url, own_database, ProcessKind.UP)

    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    try:
        with ThreadPoolExecutor(max_workers=1) as executor:
            running = executor.submit(
                loop.run_until_complete,
                serve(system, kafka_bootstrap, stop, relay=True, groups=all_groups(), scheduler=True),
            )
            try:
                with Peak(count) as peak:
                    deadline = time.monotonic() + 30
                    while count() < POOL_SIZE + DEDICATED_IN_UP and time.monotonic() < deadline:
                        time.sleep(0.1)
                    started = count()
                    # Traffic through every part: commands, the relay, three groups, the timers they start.
                    lodge_complaints(system, clock, count=40, threads=8)
                    time.sleep(3)
            finally:
                loop.call_soon_threadsafe(stop.set)
                running.result(timeout=60)
    finally:
        loop.close()
        system.close()

    assert POOL_SIZE + DEDICATED_IN_UP <= started <= POOL_SIZE + MAX_OVERFLOW + DEDICATED_IN_UP
    assert peak.most <= POOL_SIZE + MAX_OVERFLOW + DEDICATED_IN_UP
