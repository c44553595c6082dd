"""The write-path section of `caseledger bench`: the service write path beside a bare psycopg INSERT.

Machines here are noisy, so every figure is reported as a ratio to a bare baseline measured in the same run
on the same server: one row per transaction into a table shaped like the event store's.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from uuid import UUID, uuid4

import psycopg
from psycopg import sql

from cli.bench.figures import Figure
from cli.scenarios import lodge_sample_complaint
from domain.base import Actor, Role
from infra.bootstrap import System, bootstrap
from infra.settings import Settings
from infra.store.eventstore import Caller, drop_schemas

BARE = "bare psycopg INSERT, 1 row/tx (autocommit)"
SERVICE = "Complaints: lodge a complaint, 1 event/tx"


def median(runs: list[Figure]) -> Figure:
    ordered = sorted(runs, key=lambda f: f.per_second)
    return ordered[len(ordered) // 2]


def _run_writers(writers: int, seconds: float, make_writer: Callable[[int], Callable[[], None]]) -> int:
    """Run ``writers`` threads, each repeating its operation until the time is up; return the count."""
    counts = [0] * writers
    stop = threading.Event()
    ready = threading.Barrier(writers + 1)

    def loop(index: int) -> None:
        operation = make_writer(index)
        ready.wait()
        while not stop.is_set():
            operation()
            counts[index] += 1

    threads = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(writers)]
    for thread in threads:
        thread.start()
    ready.wait()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    return sum(counts)


def measure(
    name: str, section: str, writers: int, seconds: float, make: Callable[[int], Callable[[], None]]
) -> Figure:
    started = time.perf_counter()
    count = _run_writers(writers, seconds, make)
    elapsed = time.perf_counter() - started
    return Figure(section, name, writers, count, round(elapsed, 3), round(count / elapsed, 1))


BARE_TABLE = "bench_bare_events"
POLICY_REF = UUID(int=1)  # the complaints' subject: any id will do, complaints do not load it


def bare_writer(database_url: str, schema: str, payload: bytes) -> Callable[[int], Callable[[], None]]:
    """One INSERT per transaction in autocommit: the fastest honest bare write, one round trip."""
    insert = sql.SQL(
        "INSERT INTO {}.{} (originator_id, originator_version, topic, state) VALUES (%s, 1, %s, %s)"
    ).format(sql.Identifier(schema), sql.Identifier(BARE_TABLE))

    def make(_: int) -> Callable[[], None]:
        conn = psycopg.connect(database_url, autocommit=True)

        def write() -> None:
            conn.execute(insert, (uuid4(), "bench.row.v1", payload))

        return write

    return make


def create_bare_table(database_url: str, schema: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {}.{} ("
                " notification_id bigserial PRIMARY KEY,"
                " originator_id uuid NOT NULL, originator_version integer NOT NULL,"
                " topic text NOT NULL, state bytea NOT NULL,"
                " UNIQUE (originator_id, originator_version))"
            ).format(sql.Identifier(schema), sql.Identifier(BARE_TABLE))
        )


def _service_writer(system: System) -> Callable[[int], Callable[[], None]]:
    """Each operation is one command through the application service: a complaint lodged (one event)."""

    def make(index: int) -> Callable[[], None]:
        caller = Caller(Actor(id=f"bench-officer-{index}", role=Role.COMPLAINTS_OFFICER), uuid4())

        def write() -> None:
            lodge_sample_complaint(system, caller, uuid4(), system.clock.now(), POLICY_REF)

        return write

    return make


def stored_payload(system: System) -> bytes:
    caller = Caller(Actor(id="bench-probe", role=Role.COMPLAINTS_OFFICER), uuid4())
    result = lodge_sample_complaint(system, caller, uuid4(), system.clock.now(), POLICY_REF)
    stored = system.complaints.recorder.select_events(result.case_id)
    return bytes(stored[0].state)


def bench_write_path(settings: Settings, quick: bool) -> list[Figure]:
    """The write path: 1 and 8 writers of a one-event command, beside the bare INSERT, in rounds."""
    seconds, rounds = (5.0, 3) if quick else (20.0, 5)
    schema = f"bench_{uuid4().hex[:8]}"
    system = bootstrap(settings.model_copy(update={"db_schema": schema, "db_pool_size": 10}))
    figures: list[Figure] = []
    try:
        create_bare_table(system.database_url, schema)
        payload = stored_payload(system)
        for writers in (1, 8):
            bare_runs: list[Figure] = []
            service_runs: list[Figure] = []
            for _ in range(rounds):
                bare_runs.append(
                    measure(
                        BARE,
                        "write path",
                        writers,
                        seconds,
                        bare_writer(system.database_url, schema, payload),
                    )
                )
                service_runs.append(measure(SERVICE, "write path", writers, seconds, _service_writer(system)))
            bare, service = median(bare_runs), median(service_runs)
            service.baseline_per_second = bare.per_second
            figures += [bare, service]
    finally:
        drop_schemas(system.database_url, schema)
        system.close()
    print_figures(figures)
    return figures


def print_figures(figures: list[Figure]) -> None:
    print(f"{'section':<12} {'measure':<46} {'writers':>7} {'ops':>8} {'ops/s':>10} {'ratio':>7}")
    for f in figures:
        ratio = f"{f.ratio:.2f}x" if f.ratio is not None else "base"
        print(
            f"{f.section:<12} {f.name:<46} {f.writers:>7} {f.operations:>8} {f.per_second:>10.1f} {ratio:>7}"
        )
