"""`caseledger bench` held load: the highest rate of keyed commands over HTTP the scale-out layout holds.

The layout is the scale-out one, as real processes on a database schema and an embedded broker of their own:
``caseledger api --workers <cores>``, ``caseledger relay`` and ``caseledger consume --group projections``.
Client threads in this process send the fault tests' request (``POST /complaints`` with a fresh
``Idempotency-Key``) **open-loop** at a ladder of offered rates: request *i* of a step is due at
``start + i / rate`` whatever became of the earlier ones, and its latency is counted from that instant, so a
server that falls behind shows as latency (and a lower achieved rate), never as a client that politely waited.

A step is **held** when the achieved rate is at least 95 % of the offered one, the p99 latency is under 1 s,
no request failed (a non-2xx answer or a transport error), and every accepted complaint reached the read
model (``<schema>_read.complaints``) within the drain time after the step's last answer. The figure is the
highest offered rate held; the ladder stops at the first step that is not (a higher rate would not be
either, and the time goes to the other sections). Baseline in the same run: the bare INSERT of
``cli.bench.write`` with 8 writers, on the same server, before the ladder.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO
from uuid import UUID, uuid4

import httpx
import psycopg
from psycopg import sql
from pydantic import SecretStr

from api.auth import issue_token
from cli.bench.figures import Figure, figure_table, nearest_rank_ms
from cli.bench.pipeline import _broker, _database, _delete_topics
from cli.bench.ports import free_port
from cli.bench.write import BARE, bare_writer, create_bare_table, measure, stored_payload
from domain.base import Role
from infra.bootstrap import bootstrap
from infra.messaging.relay import topics_for
from infra.settings import Settings
from infra.store.eventstore import drop_schemas
from projections.schema import PROJECTIONS_GROUP, read_schema

SECTION = "held"
HELD = "held load over HTTP: keyed POST /complaints"
GOAL_PER_SECOND = 500.0
"""Issue #17: the scale-out layout holds at least this many keyed commands a second over HTTP."""
MIN_ACHIEVED_SHARE = 0.95
MAX_P99_MS = 1000.0
BARE_WRITERS = 8
API_WORKERS = os.cpu_count() or 1
"""The API runs as deployed on this machine: one worker process per core (``caseledger api --workers``)."""
REPO = Path(__file__).resolve().parents[2]

COMPLAINT = {
    "received_at": "2026-01-05T09:00:00+08:00",
    "category": "claims",
    "channel": "hotline",
    "subject_ref": {"kind": "policy", "ref": "P-faults"},
    "customer_id": "CUST-faults",
    "complainant_name": "张伟",
    "complainant_phone": "13800138000",
    "facts": "the repair estimate left out the paint work",
    "demands": "pay the paint work",
}
"""The fault tests' command (``tests/faults/harness.py``): the load this section holds is theirs."""


@dataclass(frozen=True)
class HeldSizes:
    """How much work the section does."""

    rates: tuple[float, ...]
    step_seconds: float
    clients: int
    """Client threads, each with one keep-alive connection: the most requests in flight at once."""
    drain_seconds: float
    """How long a step may take, after its last answer, for every accepted command to reach the read model."""
    baseline_seconds: float
    answer_timeout_s: float = 10.0
    """A request unanswered after this long is a transport error (and its step is not held)."""

    def planned_seconds(self) -> float:
        """The timed part at most: the baseline, and every step with its answer and drain allowances."""
        steps = len(self.rates) * (self.step_seconds + self.answer_timeout_s + self.drain_seconds)
        return self.baseline_seconds + steps


QUICK = HeldSizes(
    rates=(50, 100, 200, 400, 500, 600, 800),
    step_seconds=6.0,
    clients=64,
    drain_seconds=12.0,
    baseline_seconds=5.0,
)
"""About 2.5 minutes when the ladder stops at 400/s; 500/s (the goal) is a step of its own. With the other
sections `bench --quick` took 7.2–8.6 min on this 2-core box; each step further adds about 20 s."""
FULL = HeldSizes(
    rates=(50, 100, 200, 300, 400, 500, 600, 800, 1000),
    step_seconds=30.0,
    clients=128,
    drain_seconds=30.0,
    baseline_seconds=15.0,
)


@dataclass
class HeldStep(Figure):
    """One offered rate: what was achieved, the answers' latencies (from each request's due instant)."""

    offered_per_second: float = 0.0
    sent: int = 0
    errors: int = 0
    """Non-2xx answers and transport errors (timeouts included)."""
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    unapplied: int = 0
    """Accepted complaints not in the read model when the drain time ran out."""
    drain_s: float = 0.0
    """From the step's last answer until every accepted complaint was in the read model (or gave up)."""
    client_cpu_s: float = 0.0
    """CPU the load generator (this process) used in the step: near a core's worth, the client limits it."""
    commit_p99_ms: float = 0.0
    commit_max_ms: float = 0.0
    """A bare one-row commit, every 20 ms on a connection of its own while the step's requests ran: when
    the server's disk stalls its WAL flush, every command of the step waits as long (seen here: 0.6 s
    on an idle box), and a p99 near the 1 s bound is the disk's, not caseledger's."""
    held: bool = False


@dataclass
class HeldFigure(Figure):
    """The highest offered rate held, beside the bare INSERT; with every step's verdict."""

    goal_per_second: float = GOAL_PER_SECOND
    steps: list[str] = field(default_factory=list)

    @property
    def met(self) -> bool:
        return self.per_second >= self.goal_per_second


def is_held(step: HeldStep) -> bool:
    """The criteria: ≥ 95 % of the offered rate achieved, p99 < 1 s, no error, everything applied."""
    return (
        step.sent > 0
        and step.per_second >= MIN_ACHIEVED_SHARE * step.offered_per_second
        and step.p99_ms < MAX_P99_MS
        and step.errors == 0
        and step.unapplied == 0
    )


def held_rate(steps: Sequence[HeldStep]) -> float:
    """The highest offered rate among the steps that held (0 when none did)."""
    return max((s.offered_per_second for s in steps if is_held(s)), default=0.0)


def run_held_bench(settings: Settings, quick: bool, out: TextIO | None = sys.stderr) -> list[Figure]:
    """The section at the issue's sizes (or quick ones): the bare baseline, the steps, the held figure."""
    return bench_held(settings, QUICK if quick else FULL, out=out)


def bench_held(
    settings: Settings, size: HeldSizes, bootstrap_servers: str | None = None, out: TextIO | None = None
) -> list[Figure]:
    """The section at ``size``, on a schema (and topics) of its own and the given or an embedded broker."""
    with _database(settings) as ready, _broker(bootstrap_servers) as kafka:
        schema = f"bench_held_{uuid4().hex[:8]}"
        secret = uuid4().hex + uuid4().hex
        system = bootstrap(
            ready.model_copy(
                update={
                    "db_schema": schema,
                    "topic_prefix": schema,
                    # This process only runs the bare writers (their own connections) and counts rows.
                    "db_pool_size": 1,
                    "db_max_overflow": 2,
                    "jwt_secret": SecretStr(secret),
                }
            )
        )
        try:
            create_bare_table(system.database_url, schema)
            payload = stored_payload(system)
            _say(out, f"{SECTION}: bare INSERT, {BARE_WRITERS} writers, {size.baseline_seconds:.0f} s")
            bare = measure(
                BARE,
                SECTION,
                BARE_WRITERS,
                size.baseline_seconds,
                bare_writer(system.database_url, schema, payload),
            )
            env = _environment(system.database_url, schema, kafka, secret, size.clients)
            try:
                with _processes(env) as base_url:
                    steps = _ladder(base_url, secret, system.database_url, schema, size, out)
            finally:
                # A broker shared with other runs (the tests') keeps every record in memory.
                asyncio.run(_delete_topics(kafka, topics_for(system)))
        finally:
            system.close()
            drop_schemas(system.database_url, schema)
    for step in steps:
        step.baseline_per_second = bare.per_second
    rate = held_rate(steps)
    figure = HeldFigure(
        SECTION,
        HELD,
        size.clients,
        sum(s.sent for s in steps),
        round(sum(s.seconds for s in steps), 3),
        rate,
        baseline_per_second=bare.per_second,
        steps=[_verdict(s) for s in steps],
    )
    return [bare, *steps, figure]


def held_table(figures: Sequence[Figure]) -> str:
    """The figures as a table; each step says why it held or not, the held row states the goal."""

    def detail(f: Figure) -> str | None:
        if isinstance(f, HeldStep):
            return _verdict(f)
        if isinstance(f, HeldFigure):
            verdict = "met" if f.met else "missed"
            return f"highest offered rate held; goal ≥ {f.goal_per_second:.0f}/s: {verdict}"
        return None

    return figure_table(figures, detail)


def _verdict(step: HeldStep) -> str:
    return (
        f"offered {step.offered_per_second:g}/s: achieved {step.per_second:.1f}/s, "
        f"p50 {step.p50_ms:.1f} / p99 {step.p99_ms:.1f} ms (max {step.max_ms:.0f}), "
        f"{step.errors} errors, {step.unapplied} not in the read model after {step.drain_s:.1f} s "
        f"(client CPU {step.client_cpu_s:.1f} s; a bare commit beside it: p99 {step.commit_p99_ms:.1f} / "
        f"max {step.commit_max_ms:.0f} ms): " + ("held" if step.held else "not held")
    )


# ------------------------------------------------------------------------------------------- processes


def _environment(database_url: str, schema: str, kafka: str, secret: str, clients: int) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("CASELEDGER_")} | {
        "CASELEDGER_DATABASE_URL": database_url,
        "CASELEDGER_DB_SCHEMA": schema,
        "CASELEDGER_TOPIC_PREFIX": schema,
        "CASELEDGER_KAFKA_BOOTSTRAP_SERVERS": kafka,
        "CASELEDGER_JWT_SECRET": secret,
        # Requests run at once up to each worker's thread pool: its one pool opens connections up to the
        # overflow under load (the clients' share of a worker, bounded for the server's max_connections).
        "CASELEDGER_DB_POOL_SIZE": "2",
        "CASELEDGER_DB_MAX_OVERFLOW": str(min(16, max(4, clients // API_WORKERS))),
        # Warnings and errors only: the log files are read back if a process dies.
        "CASELEDGER_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(REPO),
    }


@contextlib.contextmanager
def _processes(env: dict[str, str]) -> Iterator[str]:
    """The API, the relay and the projections group as processes of their own; the API's base URL."""
    port = free_port()
    commands = {
        "api": ["api", "--workers", str(API_WORKERS)],
        "relay": ["relay"],
        "consume": ["consume", "--group", PROJECTIONS_GROUP],
    }
    # Logs go to files, never to pipes: an unread pipe fills and blocks a process mid-run.
    with tempfile.TemporaryDirectory(prefix="caseledger-bench-held-") as logs:
        running: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
        try:
            for name, args in commands.items():
                log = Path(logs) / f"{name}.log"
                with log.open("wb") as log_file:
                    running[name] = (
                        subprocess.Popen(  # noqa: S603 (our own command line, fixed arguments)
                            [sys.executable, "-m", "cli.main", *args],
                            env=env | {"CASELEDGER_API_PORT": str(port)},
                            stdout=subprocess.DEVNULL,
                            stderr=log_file,
                        ),
                        log,
                    )
            base_url = f"http://127.0.0.1:{port}"
            _wait_until_ready(running, base_url)
            yield base_url
            _check_alive(running)
        finally:
            for process, _ in running.values():
                process.send_signal(signal.SIGTERM)
            for process, _ in running.values():
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def _check_alive(running: dict[str, tuple[subprocess.Popen[bytes], Path]]) -> None:
    for name, (process, log) in running.items():
        if process.poll() is not None:
            error = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"caseledger {name} exited with {process.returncode} in the bench: {error}")


def _wait_until_ready(
    running: dict[str, tuple[subprocess.Popen[bytes], Path]], base_url: str, timeout: float = 60.0
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _check_alive(running)
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base_url}/readyz", timeout=1.0).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"caseledger api did not become ready at {base_url} within {timeout:.0f} s")


# ------------------------------------------------------------------------------------------- the load


@dataclass
class _Answers:
    """What one step's requests got: latency from each request's due instant, status, accepted case ids."""

    latencies_s: list[float] = field(default_factory=list)
    errors: int = 0
    accepted: list[UUID] = field(default_factory=list)
    first_due: float = 0.0
    client_cpu_s: float = 0.0
    last_answer: float = 0.0
    commit_latencies_s: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _ladder(
    base_url: str, secret: str, database_url: str, schema: str, size: HeldSizes, out: TextIO | None
) -> list[HeldStep]:
    token = issue_token(secret, "bench.held.officer", Role.COMPLAINTS_OFFICER, timedelta(hours=2))
    headers = {"Authorization": f"Bearer {token}"}
    # httpx logs every request at INFO: hundreds of log lines a second would be the load generator's work.
    quiet = logging.getLogger("httpx")
    level = quiet.level
    quiet.setLevel(logging.WARNING)
    try:
        with contextlib.ExitStack() as stack:
            # The clients are made once, before anything is timed: making one (its SSL context, even for
            # plain HTTP) takes tens of milliseconds of CPU, which would delay a step's first requests.
            clients = [
                stack.enter_context(
                    httpx.Client(base_url=base_url, headers=headers, timeout=size.answer_timeout_s)
                )
                for _ in range(size.clients)
            ]
            return _climb(clients, database_url, schema, size, out)
    finally:
        quiet.setLevel(level)


def _climb(
    clients: Sequence[httpx.Client], database_url: str, schema: str, size: HeldSizes, out: TextIO | None
) -> list[HeldStep]:
    # Warm-up: every client's connection, the workers' pools, the relay's and group's start.
    warm = _offer(clients, len(clients), 1.0)
    _drain(database_url, schema, warm.accepted, size.drain_seconds)
    steps: list[HeldStep] = []
    for rate in size.rates:
        _say(out, f"{SECTION}: offering {rate:g}/s for {size.step_seconds:.0f} s")
        cpu_before = time.process_time()
        with _commit_probe(database_url, schema) as commits:
            answers = _offer(clients, rate, size.step_seconds)
        answers.client_cpu_s = time.process_time() - cpu_before
        answers.commit_latencies_s = commits
        # A server that falls behind answers the last requests late: the step lasts until then.
        elapsed = max(size.step_seconds, answers.last_answer - answers.first_due)
        unapplied, drain_s = _drain(database_url, schema, answers.accepted, size.drain_seconds)
        step = _step(rate, size, answers, elapsed, unapplied, drain_s)
        _say(out, f"{SECTION}: {_verdict(step)}")
        steps.append(step)
        if not step.held:
            break
    return steps


def _step(
    rate: float, size: HeldSizes, answers: _Answers, elapsed: float, unapplied: int, drain_s: float
) -> HeldStep:
    ordered = sorted(answers.latencies_s)
    commits = sorted(answers.commit_latencies_s)

    def percentile(q: float, of: Sequence[float] = ordered) -> float:
        return nearest_rank_ms(of, q, digits=1)

    step = HeldStep(
        SECTION,
        f"offered {rate:g}/s, {size.clients} clients",
        size.clients,
        len(answers.accepted),
        round(elapsed, 3),
        round(len(answers.accepted) / elapsed, 1),
        offered_per_second=rate,
        sent=len(ordered),
        errors=answers.errors,
        p50_ms=percentile(0.50),
        p99_ms=percentile(0.99),
        max_ms=percentile(1.0),
        unapplied=unapplied,
        drain_s=round(drain_s, 2),
        client_cpu_s=round(answers.client_cpu_s, 2),
        commit_p99_ms=percentile(0.99, commits),
        commit_max_ms=percentile(1.0, commits),
    )
    step.held = is_held(step)
    return step


def _offer(clients: Sequence[httpx.Client], rate: float, seconds: float) -> _Answers:
    """Send ``rate × seconds`` requests, each at its due instant (open-loop), and wait for every answer."""
    total = max(1, round(rate * seconds))
    answers = _Answers()
    next_index = iter(range(total))
    take = threading.Lock()
    start = time.perf_counter() + 0.2  # every client thread is up before the first instant
    answers.first_due = start

    def client(http: httpx.Client) -> None:
        while True:
            with take:
                index = next(next_index, None)
            if index is None:
                return
            due = start + index / rate
            time.sleep(max(0.0, due - time.perf_counter()))
            case_id = _lodge(http)
            answered = time.perf_counter()
            with answers.lock:
                answers.latencies_s.append(answered - due)
                answers.last_answer = max(answers.last_answer, answered)
                if case_id is None:
                    answers.errors += 1
                else:
                    answers.accepted.append(case_id)

    threads = [threading.Thread(target=client, args=(http,), daemon=True) for http in clients[:total]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def _lodge(http: httpx.Client) -> UUID | None:
    """One keyed command: the case id of a 2xx answer, None for anything else (a transport error too)."""
    try:
        response = http.post("/complaints", json=COMPLAINT, headers={"Idempotency-Key": str(uuid4())})
    except httpx.HTTPError:
        return None
    if not 200 <= response.status_code < 300:
        return None
    body: dict[str, Any] = response.json()
    return UUID(str(body["case_id"]))


PROBE_EVERY_S = 0.02


@contextlib.contextmanager
def _commit_probe(database_url: str, schema: str) -> Iterator[list[float]]:
    """Time a bare one-row commit every ``PROBE_EVERY_S`` until the block ends; the list fills meanwhile."""
    latencies: list[float] = []
    done = threading.Event()
    table = sql.Identifier(schema, "bench_commit_probe")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (at timestamptz NOT NULL)").format(table))
        insert = sql.SQL("INSERT INTO {} VALUES (now())").format(table).as_bytes(conn)

        def probe() -> None:
            while not done.wait(PROBE_EVERY_S):
                started = time.perf_counter()
                conn.execute(insert)
                latencies.append(time.perf_counter() - started)

        thread = threading.Thread(target=probe, name="commit-probe", daemon=True)
        thread.start()
        try:
            yield latencies
        finally:
            done.set()
            thread.join()


def _drain(database_url: str, schema: str, accepted: Sequence[UUID], timeout: float) -> tuple[int, float]:
    """Wait until every accepted complaint is in the read model: how many are not, and how long it took."""
    query = sql.SQL("SELECT count(*) FROM {} WHERE complaint_id = ANY(%s)").format(
        sql.Identifier(read_schema(schema), "complaints")
    )
    started = time.perf_counter()
    deadline = started + timeout
    with psycopg.connect(database_url, autocommit=True) as conn:
        while True:
            try:
                row = conn.execute(query, (list(accepted),)).fetchone()
            except psycopg.errors.UndefinedTable:
                row = None  # the projections group has not created its tables yet
            missing = len(accepted) - (int(row[0]) if row else 0)
            if missing == 0 or time.perf_counter() >= deadline:
                return missing, time.perf_counter() - started
            time.sleep(0.05)


def _say(out: TextIO | None, line: str) -> None:
    if out is not None:
        out.write(line + "\n")
        out.flush()
