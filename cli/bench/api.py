"""`caseledger bench` API sections: command throughput over HTTP and query latency, beside bare baselines.

- **api write**: 8 client threads (httpx, one keep-alive connection each) post ``POST /complaints`` (lodge a
  complaint: one event) with a fresh ``Idempotency-Key`` each, as a well-behaved client does, against
  ``caseledger api --workers <cores>`` (a worker process per core; the clients in this process, apart from
  the API's). Beside it, in alternating rounds of the same length, 8 writers of the bare INSERT of
  ``cli.bench.write`` (one row per autocommit transaction into a table shaped like the event store's).
  Medians of the rounds.
- **api query**: the read models are filled with N complaints (100,000; quick: 10,000) through the
  projection code path in bulk: the complaints' events are made by the domain (``Complaint.lodge``, then
  ``acknowledge`` and ``assign`` for two thirds of them), folded in memory by every projection of the
  catalogue (``projections.base.fold``) and written with COPY (``projections.store.write_folded``), as a
  rebuild writes them. The events are not stored: the queries read the projections only. Then one client
  times sequential GETs over HTTP: a single complaint by id (``GET /complaints/{id}``) and a filtered list
  (``GET /worklist?role=…&assignee=…``, an assignee that has items), p50/p95/p99; the baseline is a bare
  psycopg ``SELECT`` of the same complaint row by key on one connection.
"""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import psycopg
from psycopg import sql
from pydantic import SecretStr

from api.auth import issue_token
from cli.bench.figures import Figure, figure_table, nearest_rank_ms
from cli.bench.ports import free_port
from cli.bench.write import BARE, bare_writer, create_bare_table, measure, median, stored_payload
from consumers.read_models import ProjectionHandler
from domain.base import Actor, Context, DomainEvent, Role
from domain.complaint import Complaint, ComplaintCategory, ComplaintChannel, SubjectKind, SubjectRef
from infra.bootstrap import System, bootstrap
from infra.settings import Settings
from infra.store.eventstore import drop_schemas
from projections import store
from projections.base import fold
from projections.catalogue import ALL_PROJECTIONS
from projections.schema import read_schema

WRITE = "api write"
QUERY = "api query"
HTTP_LODGE = "HTTP POST /complaints + Idempotency-Key, 1 event"
HTTP_CASE = "HTTP GET /complaints/{id}"
HTTP_LIST = "HTTP GET /worklist?role&assignee (up to 50 rows)"
BARE_SELECT = "bare psycopg SELECT complaint row by key"
WRITERS = 8
API_WORKERS = os.cpu_count() or 1
"""The API runs as deployed on this machine: one worker process per core (``caseledger api --workers``)."""
HANDLERS = 200
"""Complaint handlers the filled complaints are assigned to: the worklist filter picks one of them."""
REPO = Path(__file__).resolve().parents[2]


@dataclass
class QueryLatency(Figure):
    """Sequential queries: their rate and latency percentiles, beside the bare baseline's rate."""

    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    cases: int = 0
    """How many cases the read models held."""


@dataclass(frozen=True)
class ApiSizes:
    """How much work the sections do."""

    seconds: float
    rounds: int
    cases: int
    samples: int


def sizes(quick: bool) -> ApiSizes:
    """The issue's sizes (100,000 cases), or a quick run's."""
    if quick:
        return ApiSizes(seconds=5.0, rounds=1, cases=10_000, samples=500)
    return ApiSizes(seconds=15.0, rounds=3, cases=100_000, samples=3_000)


def run_api_bench(settings: Settings, quick: bool) -> list[Figure]:
    """Both API sections at the issue's sizes (or quick ones) on a schema of their own, dropped after."""
    return bench_api(settings, sizes(quick))


def bench_api(settings: Settings, size: ApiSizes, out: Any = sys.stderr) -> list[Figure]:
    """The write and query sections at ``size``."""
    schema = f"bench_api_{uuid4().hex[:8]}"
    secret = secrets.token_urlsafe(32)
    system = bootstrap(
        settings.model_copy(
            update={
                "db_schema": schema,
                # This process only fills the read models and runs the bare writers (their own
                # connections): six applications keeping ten connections each would crowd a server with
                # the default max_connections (100) together with the API process.
                "db_pool_size": 1,
                "db_max_overflow": 2,
                "jwt_secret": SecretStr(secret),
            }
        )
    )
    figures: list[Figure] = []
    try:
        with _api_process(system, secret) as base_url:
            _say(out, f"{WRITE}: {size.rounds} round(s) of {size.seconds:.0f} s, {WRITERS} clients")
            figures += _write_section(system, base_url, secret, size)
            _say(out, f"{QUERY}: filling the read models with {size.cases:,} complaints")
            _fill_read_models(system, size.cases)
            _say(out, f"{QUERY}: {size.samples} sequential queries of each kind")
            figures += _query_section(system, base_url, secret, size)
    finally:
        system.close()
        drop_schemas(system.database_url, schema)
    return figures


def api_table(figures: Sequence[Figure]) -> str:
    """The figures as a table; query rows add their percentiles on a line of their own."""

    def percentiles(f: Figure) -> str | None:
        if not isinstance(f, QueryLatency):
            return None
        return (
            f"{f.cases:,} cases: p50 {f.p50_ms:.2f} / p95 {f.p95_ms:.2f} / "
            f"p99 {f.p99_ms:.2f} ms (max {f.max_ms:.1f})"
        )

    return figure_table(figures, percentiles)


# ------------------------------------------------------------------------------------------- the server


@contextlib.contextmanager
def _api_process(system: System, secret: str) -> Iterator[str]:
    """``caseledger api`` in a process of its own on the system's database and schema; its base URL."""
    port = free_port()
    settings = system.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASELEDGER_")} | {
        "CASELEDGER_DATABASE_URL": system.database_url,
        "CASELEDGER_DB_SCHEMA": settings.db_schema,
        "CASELEDGER_DATA_DIR": str(settings.data_dir.resolve()),
        "CASELEDGER_JWT_SECRET": secret,
        "CASELEDGER_API_PORT": str(port),
        # The 8 clients' requests must run at once: each worker's one pool (event store, idempotency keys,
        # queries) opens connections up to its overflow under load; two are kept open when idle.
        "CASELEDGER_DB_POOL_SIZE": "2",
        "CASELEDGER_DB_MAX_OVERFLOW": str(WRITERS + 2),
        # Warnings and errors only: the log file is read back if the API dies at start.
        "CASELEDGER_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(REPO),
    }
    if settings.master_key is not None:
        env["CASELEDGER_MASTER_KEY"] = settings.master_key.get_secret_value()
    # Its log goes to a file, never to a pipe: an unread pipe fills and blocks the server mid-run.
    with tempfile.TemporaryDirectory(prefix="caseledger-bench-api-") as logs:
        log = Path(logs) / "api.log"
        with log.open("w") as log_file:
            process = subprocess.Popen(  # noqa: S603 (our own command line, no user input)
                [sys.executable, "-m", "cli.main", "api", "--workers", str(API_WORKERS)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log_file,
                text=True,
            )
        base_url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(process, base_url, log)
            yield base_url
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_up(process: subprocess.Popen[str], base_url: str, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            error = log.read_text(errors="replace")
            raise RuntimeError(f"caseledger api exited with {process.returncode}: {error[-2000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base_url}/readyz", timeout=1.0).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"caseledger api did not become ready at {base_url} within {timeout:.0f} s")


def _headers(secret: str, role: Role, actor_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(secret, actor_id, role, timedelta(hours=2))}"}


# ------------------------------------------------------------------------------------------- write


def _lodge_body(received_at: datetime) -> dict[str, Any]:
    return {
        "received_at": received_at.isoformat(),
        "category": "claims",
        "channel": "hotline",
        "subject_ref": {"kind": "policy", "ref": "P-bench"},
        "customer_id": "CUST-bench",
        "complainant_name": "张伟",
        "complainant_phone": "13800138000",
        "facts": "the repair estimate left out the paint work",
        "demands": "pay the paint work",
    }


def _http_writer(base_url: str, secret: str) -> Callable[[int], Callable[[], None]]:
    """Each operation is one ``POST /complaints`` with a fresh Idempotency-Key; anything but 201 fails."""

    def make(index: int) -> Callable[[], None]:
        client = httpx.Client(
            base_url=base_url,
            headers=_headers(secret, Role.COMPLAINTS_OFFICER, f"bench-officer-{index}"),
            timeout=30.0,
        )
        body = _lodge_body(datetime.now(UTC) - timedelta(minutes=5))

        def write() -> None:
            response = client.post("/complaints", json=body, headers={"Idempotency-Key": str(uuid4())})
            if response.status_code != 201:
                raise RuntimeError(f"POST /complaints answered {response.status_code}: {response.text[:300]}")

        return write

    return make


def _write_section(system: System, base_url: str, secret: str, size: ApiSizes) -> list[Figure]:
    create_bare_table(system.database_url, system.settings.db_schema)
    payload = stored_payload(system)
    bare_runs: list[Figure] = []
    http_runs: list[Figure] = []
    for _ in range(size.rounds):
        bare = bare_writer(system.database_url, system.settings.db_schema, payload)
        bare_runs.append(measure(BARE, WRITE, WRITERS, size.seconds, bare))
        http_runs.append(measure(HTTP_LODGE, WRITE, WRITERS, size.seconds, _http_writer(base_url, secret)))
    baseline, measured = median(bare_runs), median(http_runs)
    measured.baseline_per_second = baseline.per_second
    return [baseline, measured]


# ------------------------------------------------------------------------------------------- query


def _complaint_events(index: int, at: datetime, handlers: Sequence[str]) -> list[DomainEvent]:
    """One complaint's events as the domain records them: lodged; two in three acknowledged and assigned."""
    officer = Actor(id="bench-officer", role=Role.COMPLAINTS_OFFICER)
    ctx = Context(actor=officer, recorded_at=at, correlation_id=uuid4())
    complaint = Complaint.lodge(
        ctx,
        complaint_id=uuid4(),
        received_at=at - timedelta(minutes=5),
        category=list(ComplaintCategory)[index % len(ComplaintCategory)],
        channel=list(ComplaintChannel)[index % len(ComplaintChannel)],
        subject_ref=SubjectRef(kind=SubjectKind.POLICY, ref=f"P-{index}"),
        customer_id=f"CUST-bench-{index}",
        complainant_name="张伟",
        complainant_phone="13800138000",
        facts="the repair estimate left out the paint work",
        demands="pay the paint work",
    )
    if index % 3:
        later = Context(actor=officer, recorded_at=at + timedelta(hours=1), correlation_id=uuid4())
        complaint.acknowledge(later, channel="sms")
        complaint.assign(later, handler_id=handlers[index % len(handlers)], involved_staff=frozenset())
    return [e for e in complaint.collect_events() if isinstance(e, DomainEvent)]


def _fill_read_models(system: System, cases: int) -> None:
    """Fill every projection with ``cases`` complaints (folded in memory, written with COPY)."""
    schema = read_schema(system.settings.db_schema)
    handlers = [f"bench-handler-{i}" for i in range(HANDLERS)]
    # Spread over the last 60 days, in time order: the statistics and deadlines see a realistic spread.
    start = datetime.now(UTC) - timedelta(days=60)
    step = timedelta(days=59) / cases

    def events() -> Iterator[DomainEvent]:
        for index in range(cases):
            yield from _complaint_events(index, start + index * step, handlers)

    folded = fold([view for p in ALL_PROJECTIONS for view in p.views], events())
    handler = ProjectionHandler(schema, ALL_PROJECTIONS)
    with psycopg.connect(system.database_url, autocommit=True) as conn:
        handler.create_tables(conn)
        with conn.transaction():
            for projection in ALL_PROJECTIONS:
                store.write_folded(conn, schema, projection, folded, "")
        for table in ("complaints", "worklist"):
            conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(schema, table)))


def _complaint_ids(system: System, count: int, seed: int) -> list[UUID]:
    schema = read_schema(system.settings.db_schema)
    with psycopg.connect(system.database_url) as conn:
        rows = conn.execute(
            sql.SQL("SELECT complaint_id FROM {}").format(sql.Identifier(schema, "complaints"))
        ).fetchall()
    ids = [UUID(str(row[0])) for row in rows]
    return random.Random(seed).choices(ids, k=count)


def _worklist_filters(system: System, count: int, seed: int) -> list[tuple[str, str]]:
    """``count`` (role, assignee) filters of the filled worklist, each one matching some items."""
    schema = read_schema(system.settings.db_schema)
    with psycopg.connect(system.database_url) as conn:
        rows = conn.execute(
            sql.SQL("SELECT DISTINCT role, assignee FROM {} WHERE assignee IS NOT NULL").format(
                sql.Identifier(schema, "worklist")
            )
        ).fetchall()
    if not rows:
        raise RuntimeError("the filled worklist has no assigned items to filter on")
    return random.Random(seed).choices([(str(r), str(a)) for r, a in rows], k=count)


def _timed(name: str, operations: Sequence[Callable[[], None]], cases: int) -> QueryLatency:
    latencies: list[float] = []
    started = time.perf_counter()
    for operation in operations:
        before = time.perf_counter()
        operation()
        latencies.append(time.perf_counter() - before)
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return QueryLatency(
        QUERY,
        name,
        1,
        len(ordered),
        round(elapsed, 3),
        round(len(ordered) / elapsed, 1),
        p50_ms=nearest_rank_ms(ordered, 0.50, digits=3),
        p95_ms=nearest_rank_ms(ordered, 0.95, digits=3),
        p99_ms=nearest_rank_ms(ordered, 0.99, digits=3),
        max_ms=round(ordered[-1] * 1000, 3),
        cases=cases,
    )


def _query_section(system: System, base_url: str, secret: str, size: ApiSizes) -> list[Figure]:
    ids = _complaint_ids(system, size.samples, seed=7)
    table = sql.Identifier(read_schema(system.settings.db_schema), "complaints")
    bare_select = sql.SQL("SELECT * FROM {} WHERE complaint_id = %s").format(table)
    filters = _worklist_filters(system, size.samples, seed=11)
    with (
        psycopg.connect(system.database_url, autocommit=True) as conn,
        httpx.Client(
            base_url=base_url, headers=_headers(secret, Role.SUPERVISOR, "bench-supervisor"), timeout=30.0
        ) as client,
    ):

        def bare(complaint_id: UUID) -> Callable[[], None]:
            def run() -> None:
                if conn.execute(bare_select, (complaint_id,)).fetchone() is None:
                    raise RuntimeError(f"complaint {complaint_id} is not in the read model")

            return run

        def case(complaint_id: UUID) -> Callable[[], None]:
            def run() -> None:
                response = client.get(f"/complaints/{complaint_id}")
                if response.status_code != 200:
                    raise RuntimeError(f"GET /complaints answered {response.status_code}")

            return run

        def worklist(role: str, assignee: str) -> Callable[[], None]:
            def run() -> None:
                response = client.get("/worklist", params={"role": role, "assignee": assignee, "limit": 50})
                if response.status_code != 200 or not response.json():
                    raise RuntimeError(f"GET /worklist answered {response.status_code} or nothing")

            return run

        # Warm both paths (connections, plans, the server's pools) before anything is timed.
        for complaint_id in ids[:50]:
            bare(complaint_id)()
            case(complaint_id)()
        baseline = _timed(BARE_SELECT, [bare(i) for i in ids], size.cases)
        single = _timed(HTTP_CASE, [case(i) for i in ids], size.cases)
        listed = _timed(HTTP_LIST, [worklist(r, a) for r, a in filters], size.cases)
    for measured in (single, listed):
        measured.baseline_per_second = baseline.per_second
    return [baseline, single, listed]


def _say(out: Any, line: str) -> None:
    if out is not None:
        out.write(line + "\n")
        out.flush()
