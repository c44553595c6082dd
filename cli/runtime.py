"""The long-running processes: `caseledger up` (everything, with one command), `relay`, `consume`, `api`
and `timers` alone.

`up` is the embedded default: PostgreSQL (embedded unless configured), the Kafka-protocol broker (the
embedded Tansu unless configured) and the API in its own process, and the relay, the consumer groups and the
timer scheduler as supervised child processes running the scale-out commands (cli/children.py), so that they
use the other cores. `up --single-process` (and the demo story, whose clock is this process's) runs them as
asyncio tasks of its own process instead.
For scale-out, each piece runs alone against a real PostgreSQL and Kafka: `caseledger relay` (one active,
others wait on its advisory lock) and `caseledger consume --group NAME` (as many as partitions).

Each process checks what it listens on and what it connects to before it starts anything, so a taken port
or a wrong address ends it at once with one line (cli.errors) instead of a retry loop or a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import logging
import os
import secrets
import signal
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from psycopg import sql
from pydantic import SecretStr

from api.auth import demo_tokens
from api.serve import api_server
from cli.children import (
    CHILD_POOL_MAX_IDLE_S,
    Supervisor,
    child_environment,
    end_with_parent,
    up_children,
)
from cli.demo import next_morning, open_complaint, print_demo, run_demo
from cli.errors import CliError
from cli.metrics import expose_metrics
from cli.operations_page import ConsumerOperations
from cli.scenarios import SELLER
from cli.system import open_system, settle_heap
from cli.tables import print_table
from consumers.app import run_consumers
from consumers.groups import default_groups
from consumers.scheduler import run_scheduler
from domain.base import SHANGHAI
from domain.timer import TimerBreached, TimerStarted, TimerWarningRaised
from infra.bootstrap import System
from infra.clock import ControlledClock, SystemClock
from infra.messaging.broker import EmbeddedBroker, ensure_topics, tansu_binary
from infra.messaging.contract import topic_name
from infra.messaging.relay import relay_lag, run_relay
from infra.messaging.security import KafkaSecurity
from infra.settings import Settings
from infra.store.database import DATABASE_UNAVAILABLE, ProcessKind, database_unavailable
from infra.store.embedded import EmbeddedPostgres, require_embedded_postgres
from infra.tracing import configure_tracing
from projections.queries import get_claim
from projections.schema import projections_group_id, read_schema
from projections.watermarks import applied_table

CONTEXTS = (
    "policy",
    "claim",
    "complaint",
    "callback",
    "timer",
    "privacy",
    "service_request",
    "inquiry",
    "service_order",
)
DEMO_STORY_DAYS = 100
"""How far back the demo story starts: its closed cases take about two months, then its open cases are told
on the 15 days before now (cli/demo.py), and the clock follows real time from the story's end on."""
KAFKA_CONNECT_TIMEOUT_S = 3.0
RESTART_PAUSE_S = 1.0
"""The pause before a piece that the database's absence ended is started again (see ``serve``)."""
POSTGRES_WATCH_S = 1.0
"""How often `up` checks that its embedded PostgreSQL is still running."""

log = logging.getLogger(__name__)


class PortTakenError(CliError):
    """Something else already listens on the address a process was configured to serve on."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(
            f"{host}:{port} is already in use: stop what listens there, or set CASELEDGER_API_PORT"
        )


class KafkaUnreachableError(CliError):
    """No bootstrap server of the configured Kafka accepts a connection."""

    def __init__(self, servers: str, reason: str) -> None:
        super().__init__(
            f"cannot connect to Kafka at {servers}: {reason} (check CASELEDGER_KAFKA_BOOTSTRAP_SERVERS)"
        )


def up(args: argparse.Namespace) -> int:
    """`caseledger up`: PostgreSQL, broker and API; the relay, consumers and timers as child processes
    (``--single-process``: as tasks of this one)."""
    settings = Settings()
    if settings.jwt_secret is None:
        # No configured secret: sign this run's tokens with a fresh one (they die with the process).
        settings = settings.model_copy(update={"jwt_secret": SecretStr(secrets.token_urlsafe(32))})
    # Everything that can be missing is checked before anything starts: no server is left half started.
    if settings.database_url is None:
        require_embedded_postgres()
    if settings.kafka_bootstrap_servers is None:
        tansu_binary()
    else:
        require_kafka(settings.kafka_bootstrap_servers)
    # The demo story tells its cases on a clock of this process (weeks back, then perhaps sped up): the
    # consumers and the scheduler that record what follows must read that clock, so they run here.
    in_process = args.single_process or args.demo
    if not in_process and "db_pool_max_idle_seconds" not in settings.model_fields_set:
        # This process now serves the API alone: what its start opened above the pool closes soon, as in
        # its children, rather than sitting beside theirs for ten minutes.
        settings = settings.model_copy(update={"db_pool_max_idle_seconds": CHILD_POOL_MAX_IDLE_S})
    clock: ControlledClock | None = None
    configure_tracing(settings, "caseledger")
    if args.demo:
        # The demo story runs on a clock that starts weeks back, so a cooling-off period can run out.
        clock = ControlledClock(SystemClock().now() - timedelta(days=DEMO_STORY_DAYS))
        next_morning(clock)
    with contextlib.ExitStack() as running:
        api_socket = running.enter_context(api_listener(settings))
        system = open_system(settings, clock)
        running.callback(system.close)
        where = "embedded" if system.embedded_postgres else "configured"
        print(f"PostgreSQL ({where}): {system.database_url}  schema prefix: {settings.db_schema}")
        broker = start_broker(settings)
        running.callback(broker.stop)
        kind = "embedded Tansu" if broker.embedded else "configured"
        print(f"Kafka ({kind}): {broker.bootstrap_servers}  topics: {settings.topic_prefix}.<context>")
        print(
            f"HTTP API: http://{settings.api_host}:{settings.api_port}  (OpenAPI at /docs and /openapi.json)"
        )
        children = None
        if not in_process:
            environment = child_environment(
                settings, system.database_url, broker.bootstrap_servers, os.environ
            )
            children = Supervisor(up_children(all_groups()), environment)
        asyncio.run(
            _serve_up(
                system,
                broker.bootstrap_servers,
                api_socket,
                demo=args.demo,
                once=args.once,
                time_scale=args.time_scale,
                children=children,
            )
        )
    return 0


async def _serve_up(
    system: System,
    bootstrap_servers: str,
    api_socket: socket.socket,
    *,
    demo: bool,
    once: bool,
    time_scale: float | None,
    children: Supervisor | None = None,
) -> None:
    stop = asyncio.Event()
    stop_on_signals(stop)

    async def then() -> None:
        if demo:
            assert isinstance(system.clock, ControlledClock)
            cases = await asyncio.to_thread(run_demo, system, system.clock)
            told_until = system.clock.now().astimezone(SHANGHAI)
            if not time_scale:
                # The story is told on a past clock; what the system records after it happens now.
                system.clock.follow_real_time()
            print_demo(system, cases)
            print(f"\nThe story was told on a past clock up to {told_until:%Y-%m-%d %H:%M} (Asia/Shanghai).")
            if await caught_up(system):
                line = await asyncio.to_thread(describe_claim_view, system, cases.claim_id)
                print("\nRead models caught up: " + line)
            else:
                print(
                    "\nRead models did not catch up within 30 s: see `caseledger relay --lag` and `dlq list`"
                )
            secret = system.settings.jwt_secret
            assert secret is not None
            print("\nBearer tokens for this run (Authorization: Bearer <token>):")
            # The seller's token is the story's seller: a seller reads only the policies they sold.
            for role, token in demo_tokens(secret, timedelta(hours=8), dict([SELLER])).items():
                print(f"  {role.value:<19} {token}")
            if time_scale:
                assert isinstance(system.clock, ControlledClock)
                complaint_id = await asyncio.to_thread(
                    open_complaint, system, system.clock, cases.motor_policy_id
                )
                system.clock.run(time_scale)
                print(
                    f"\nThe clock now runs {time_scale:g} times faster. Complaint {complaint_id} is open: "
                    "watch its 15-day clock warn at 50 % and 80 % and then breach "
                    f"(caseledger timers explain {complaint_id})."
                )
        if once:
            stop.set()
            return
        pieces = "relay, timer scheduler, consumer groups " + ", ".join(all_groups())
        if children is None:
            print(f"\nRunning in one process: API, {pieces}.")
        else:
            await children.started()
            pids = ", ".join(f"{name} {pid}" for name, pid in children.pids.items())
            print(f"\nRunning: API; as child processes ({pids}): {pieces}.")
        print("Ctrl-C stops.", flush=True)
        if demo and time_scale:
            await watch_timers(system, stop)

    if children is not None:
        # Named before serve() would name it by what runs in this process (the API alone).
        system.database.name_process(ProcessKind.UP)
    await serve(
        system,
        bootstrap_servers,
        stop,
        relay=children is None,
        groups=all_groups() if children is None else (),
        api=True,
        api_socket=api_socket,
        scheduler=children is None,
        then=then,
        children=children,
    )


def relay(args: argparse.Namespace) -> int:
    """`caseledger relay`: publish committed events to Kafka; or `--lag`: how far behind it is."""
    settings = Settings()
    if not args.lag:
        require_kafka(broker_address(settings))
        configure_tracing(settings, "caseledger-relay")
    system = open_system(settings)
    try:
        if args.lag:
            lags = asyncio.run(relay_lag(system))
            print_table(
                ("context", "store position", "published position", "positions behind", "seconds behind"),
                (
                    (
                        lag.context,
                        lag.store_position,
                        lag.published_position,
                        lag.positions_behind,
                        f"{lag.seconds_behind:,.1f}",
                    )
                    for lag in lags
                ),
                right=("store position", "published position", "positions behind", "seconds behind"),
            )
            return 0

        settle_heap()

        async def main() -> None:
            stop = asyncio.Event()
            stop_on_signals(stop)
            expose_metrics(system, relay=True, groups=(), scheduler=False, serve=True)
            await run_relay(system, broker_address(settings), stop, republish_from=args.from_position)

        asyncio.run(main())
        return 0
    finally:
        system.close()


def consume(args: argparse.Namespace) -> int:
    """`caseledger consume --group NAME`: run consumer groups until stopped."""
    settings = Settings()
    require_kafka(broker_address(settings))
    configure_tracing(settings, "caseledger-consumers")
    system = open_system(settings)
    try:

        async def main() -> None:
            stop = asyncio.Event()
            stop_on_signals(stop)
            await serve(system, broker_address(settings), stop, relay=False, groups=tuple(args.group))

        asyncio.run(main())
        return 0
    finally:
        system.close()


def api(args: argparse.Namespace) -> int:
    """`caseledger api`: the HTTP API alone, until stopped; with ``--workers N``, N processes on its port."""
    settings = Settings()
    if settings.jwt_secret is None:
        raise CliError(
            "CASELEDGER_JWT_SECRET is not set: the API signs and checks bearer tokens with it "
            "(at least 32 characters)"
        )
    workers = settings.api_workers if getattr(args, "workers", None) is None else args.workers
    if workers < 1:
        raise CliError(f"--workers {workers}: the API needs at least one worker process")
    with api_listener(settings) as api_socket:
        if workers == 1:
            _serve_api(settings, api_socket, announce=True)
        else:
            _serve_api_workers(settings, api_socket, workers)
    return 0


def _serve_api(settings: Settings, api_socket: socket.socket, announce: bool) -> None:
    with contextlib.ExitStack() as running:
        configure_tracing(settings, "caseledger-api")  # in each worker: span exporters do not outlive a fork
        system = open_system(settings)
        running.callback(system.close)
        if announce:
            print(
                f"HTTP API: http://{settings.api_host}:{settings.api_port}  "
                "(OpenAPI at /docs and /openapi.json)",
                flush=True,
            )
        running.callback(expose_metrics(system, relay=False, groups=(), scheduler=False, serve=False))
        api_server(system, operations=ConsumerOperations(system)).run(sockets=[api_socket])


WORKER_START_GRACE_S = 10.0
"""A worker that ends sooner than this after its start failed at start (a setting, the database)."""
WORKER_START_FAILURES = 3
"""After this many such failures in a row, `caseledger api --workers` stops and says so."""


class ApiWorkersFailingError(CliError):
    """The API's worker processes keep ending right after they start."""

    def __init__(self, failures: int) -> None:
        super().__init__(
            f"{failures} API workers in a row ended within {WORKER_START_GRACE_S:.0f} s of their start: "
            "see the log lines above (a setting, or the database?)"
        )


def _serve_api_workers(settings: Settings, api_socket: socket.socket, workers: int) -> None:
    """``workers`` processes forked from this one serve the socket it bound (the kernel spreads the
    connections); each opens its own system and pool. A worker that dies is replaced; SIGTERM or SIGINT
    stops them all; workers that keep failing at start end the command. This process opens nothing but the
    socket, so forking is safe: no thread, no connection.
    """
    children: dict[int, tuple[int, float]] = {}
    stopping = False
    parent = os.getpid()

    def start(index: int) -> None:
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    signal.signal(sig, signal.SIG_DFL)
                end_with_parent(parent)
                _serve_api(settings, api_socket, announce=False)
                code = 0
            except BaseException as error:  # noqa: BLE001 (a worker's last word, then its exit status)
                log.error("API worker %d ended: %s", index, error or type(error).__name__)
            finally:
                os._exit(code)
        children[pid] = (index, time.monotonic())

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    for index in range(workers):
        start(index)
    print(
        f"HTTP API: http://{settings.api_host}:{settings.api_port}  (OpenAPI at /docs and /openapi.json), "
        f"{workers} worker processes",
        flush=True,
    )
    failed_at_start = 0
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        if pid not in children or stopping:
            children.pop(pid, None)
            continue
        index, started = children.pop(pid)
        code = os.waitstatus_to_exitcode(status)
        failed_at_start = failed_at_start + 1 if time.monotonic() - started < WORKER_START_GRACE_S else 0
        if failed_at_start >= WORKER_START_FAILURES:
            stop()
            for other in list(children):
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(other, 0)
            raise ApiWorkersFailingError(failed_at_start)
        log.warning("API worker %d (pid %d) ended with status %d: starting another", index, pid, code)
        time.sleep(RESTART_PAUSE_S)
        if not stopping:
            start(index)


def timers(args: argparse.Namespace) -> int:
    """`caseledger timers`: the SLA timer scheduler, until stopped (several may run)."""
    settings = Settings()
    configure_tracing(settings, "caseledger-timers")
    system = open_system(settings)
    try:
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        expose_metrics(system, relay=False, groups=(), scheduler=True, serve=True)
        run_scheduler(system, system.clock, stop)
        return 0
    finally:
        system.close()


@contextlib.contextmanager
def api_listener(settings: Settings) -> Iterator[socket.socket]:
    """The API's listening socket, bound before anything else starts (uvicorn serves on it)."""
    host, port = settings.api_host, settings.api_port
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        sock = socket.create_server((host, port), family=family)
    except OSError as taken:
        if taken.errno == errno.EADDRINUSE:
            raise PortTakenError(host, port) from taken
        raise
    with sock:
        yield sock


def require_kafka(servers: str) -> None:
    """Return once one bootstrap server accepts a connection; else raise naming the configured address.

    The relay and the consumers reconnect to a lost broker for ever, as they must when Kafka restarts; at
    start a wrong address would make them wait in silence instead.
    """
    reason = "no bootstrap server given"
    for address in (part.strip() for part in servers.split(",")):
        host, _, port = address.rpartition(":")
        try:
            with socket.create_connection(
                (host.strip("[]") or "localhost", int(port)), timeout=KAFKA_CONNECT_TIMEOUT_S
            ):
                return
        except ValueError:
            reason = f"{address!r} is not host:port"
        except OSError as refused:
            reason = refused.strerror or type(refused).__name__
    raise KafkaUnreachableError(servers, reason)


@dataclass
class BrokerHandle:
    """Where Kafka is, and the embedded broker if this process started it."""

    bootstrap_servers: str
    embedded: EmbeddedBroker | None = None

    def stop(self) -> None:
        if self.embedded is not None:
            self.embedded.stop()


def broker_address(settings: Settings) -> str:
    """The configured Kafka, or the embedded broker's address (started by `caseledger up`)."""
    return settings.kafka_bootstrap_servers or f"127.0.0.1:{settings.broker_port}"


def start_broker(settings: Settings) -> BrokerHandle:
    """Use the configured Kafka, or start the embedded Tansu broker; create the topics either way."""
    if settings.kafka_bootstrap_servers:
        handle = BrokerHandle(settings.kafka_bootstrap_servers)
    else:
        embedded = EmbeddedBroker(settings.broker_port, log_path=settings.data_dir / "tansu.log")
        handle = BrokerHandle(embedded.start(), embedded)
    topics = [topic_name(settings.topic_prefix, context) for context in CONTEXTS]
    ensure_topics(
        handle.bootstrap_servers, topics, settings.topic_partitions, KafkaSecurity.from_settings(settings)
    )
    return handle


def stop_on_signals(stop: asyncio.Event) -> None:
    """SIGINT and SIGTERM end the process cleanly: tasks finish their batch, offsets and positions kept."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)


async def caught_up(system: System, timeout: float = 30.0) -> bool:
    """Wait until the relay has published everything in the store and the projections applied it."""
    deadline = time.monotonic() + timeout
    group_id = projections_group_id(system.settings.topic_prefix)
    while time.monotonic() < deadline:
        lags = await relay_lag(system)
        if all(lag.positions_behind == 0 for lag in lags) and await _projections_applied(system, group_id):
            return True
        await asyncio.sleep(0.1)
    return False


async def _projections_applied(system: System, group_id: str) -> bool:
    """Whether the projections group has applied the last version of every case in the store."""

    def check() -> bool:
        base_schema = system.settings.db_schema
        with system.database.connection() as conn:
            if conn.execute("SELECT to_regclass(%s)", (f"{base_schema}.consumer_applied",)).fetchone() == (
                None,
            ):
                return False
            applied = conn.execute(
                sql.SQL("SELECT count(*), coalesce(sum(last_version), 0) FROM {} WHERE group_id = %s").format(
                    applied_table(base_schema)
                ),
                (group_id,),
            ).fetchone()
            stored = 0
            cases = 0
            for app in system.applications():
                row = conn.execute(
                    sql.SQL("SELECT count(DISTINCT originator_id), count(*) FROM {}").format(
                        app.events_table()
                    )
                ).fetchone()
                assert row is not None
                cases += int(row[0])
                stored += int(row[1])
            return applied is not None and (int(applied[0]), int(applied[1])) == (cases, stored)

    return await asyncio.to_thread(check)


async def serve(
    system: System,
    bootstrap_servers: str,
    stop: asyncio.Event,
    *,
    relay: bool = True,
    groups: tuple[str, ...] = (),
    api: bool = False,
    scheduler: bool = False,
    api_socket: socket.socket | None = None,
    then: Callable[[], Coroutine[Any, Any, None]] | None = None,
    children: Supervisor | None = None,
) -> None:
    """Run the relay, consumer groups, API and scheduler until ``stop``; ``then`` runs alongside them, and
    ``children`` (other pieces, as supervised processes) until ``stop`` too.

    The API serves on ``api_socket`` when given (bound by the caller, so a taken port is found before
    anything starts), else it binds the configured host and port itself.
    """
    system.database.name_process(process_kind(relay=relay, groups=groups, api=api, scheduler=scheduler))
    # The API serves /metrics itself; a process without it serves them on CASELEDGER_METRICS_PORT (first:
    # a taken port starts nothing). The gauges are read from the database at scrape time, so this process
    # exports those of the pieces its children run as well.
    unexpose = expose_metrics(
        system,
        relay=relay or (children is not None and children.relay),
        groups=groups + (children.groups if children is not None else ()),
        scheduler=scheduler or (children is not None and children.scheduler),
        serve=not api,
    )
    tasks = []
    if children is not None:
        tasks.append(asyncio.create_task(children.run(stop), name="children"))
    if api:
        server = api_server(system, operations=ConsumerOperations(system))
        sockets = None if api_socket is None else [api_socket]
        tasks.append(asyncio.create_task(server.serve(sockets=sockets), name="api"))

        async def stop_api() -> None:
            await stop.wait()
            server.should_exit = True

        tasks.append(asyncio.create_task(stop_api(), name="api-stopper"))
    if system.embedded_postgres is not None:
        tasks.append(asyncio.create_task(watch_postgres(system.embedded_postgres, stop), name="postgres"))
    if scheduler:
        halt = threading.Event()
        tasks.append(
            asyncio.create_task(
                restarting(
                    "timers", lambda: asyncio.to_thread(run_scheduler, system, system.clock, halt), stop
                ),
                name="timers",
            )
        )

        async def stop_scheduler() -> None:
            await stop.wait()
            halt.set()

        tasks.append(asyncio.create_task(stop_scheduler(), name="timers-stopper"))
    if relay:
        tasks.append(
            asyncio.create_task(
                restarting("relay", lambda: run_relay(system, bootstrap_servers, stop), stop), name="relay"
            )
        )
    if groups:
        tasks.append(
            asyncio.create_task(
                restarting(
                    "consumers",
                    lambda: run_consumers(system, system.settings, bootstrap_servers, list(groups), stop),
                    stop,
                ),
                name="consumers",
            )
        )
    if then is not None:
        tasks.append(asyncio.create_task(then(), name="then"))
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            if task.exception() is not None:
                stop.set()
                raise task.exception()  # type: ignore[misc]
        await asyncio.gather(*tasks)
    finally:
        stop.set()
        for task in tasks:
            if not task.done():
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(task, timeout=15)
        unexpose()


async def restarting(name: str, run: Callable[[], Awaitable[None]], stop: asyncio.Event) -> None:
    """Run ``run()``; start it again when the database being away ended it, until ``stop``.

    Each piece reconnects by itself (the relay's sessions, the consumers' retries, the scheduler's
    sessions); this is the backstop, so that no outage the piece did not foresee ends the whole process
    (and, in `up`, the broker and the other pieces with it). Any other error still ends the process.
    """
    while True:
        try:
            await run()
            return
        except Exception as exc:
            if not database_unavailable(exc):
                raise
            if stop.is_set():
                # Stopping anyway: an outage met on the way out is no reason to exit with an error.
                log.warning("%s ended while stopping: the database is away (%s)", name, exc)
                return
            log.warning("%s ended: the database is away (%s); starting it again", name, exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), RESTART_PAUSE_S)
        if stop.is_set():
            return


async def watch_postgres(embedded: EmbeddedPostgres, stop: asyncio.Event) -> None:
    """Start the embedded PostgreSQL again whenever it is found dead, until ``stop``.

    `up` owns that server and nothing else supervises it; the pools and sessions of every piece reconnect
    to the same socket once it is back.
    """
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), POSTGRES_WATCH_S)
        if stop.is_set():
            return
        try:
            if await asyncio.to_thread(embedded.restart_if_down):
                print("PostgreSQL (embedded) had stopped: started it again", flush=True)
        except Exception as failed:  # noqa: BLE001 - e.g. old backends still hold its memory: try again
            log.warning("could not start the embedded PostgreSQL again yet: %s", failed)


def process_kind(*, relay: bool, groups: tuple[str, ...], api: bool, scheduler: bool) -> ProcessKind:
    """What ``pg_stat_activity`` calls a process that runs these pieces."""
    running = [
        kind
        for kind, on in (
            (ProcessKind.RELAY, relay),
            (ProcessKind.CONSUME, bool(groups)),
            (ProcessKind.API, api),
            (ProcessKind.TIMERS, scheduler),
        )
        if on
    ]
    return running[0] if len(running) == 1 else ProcessKind.UP


def all_groups() -> tuple[str, ...]:
    """Every consumer group caseledger runs in `up`."""
    return tuple(default_groups())


def describe_claim_view(system: System, claim_id: Any) -> str:
    """A line from the claim read model, as the API will serve it."""
    with system.database.connection() as conn:
        view = get_claim(conn, read_schema(system.settings.db_schema), claim_id)
    if view is None:
        return f"claim {claim_id}: not in the read model"
    return f"claim {claim_id} in the read model: status={view.status}, paid_fen={view.paid_fen}"


async def watch_timers(system: System, stop: asyncio.Event, every: float = 1.0) -> None:
    """Print each timer warning and breach as the scheduler records it (the demo's time-scale view)."""
    position = await asyncio.to_thread(system.timers.recorder.max_notification_id) or 0
    while not stop.is_set():
        # The database may be away (up restarts its embedded one): the next round reads on from the last
        # event printed.
        with contextlib.suppress(*DATABASE_UNAVAILABLE):
            page = await asyncio.to_thread(system.timers.recorder.select_notifications, position + 1, 500)
            for notification in page:
                event = system.timers.mapper.to_domain_event(notification)
                if isinstance(event, TimerWarningRaised | TimerBreached):
                    start = next(iter(system.timers.history(event.originator_id)))
                    rule = start.rule_id if isinstance(start, TimerStarted) else "?"
                    case = start.subject_id if isinstance(start, TimerStarted) else "?"
                    at = event.recorded_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
                    what = (
                        f"warning at {event.threshold:.0%}"
                        if isinstance(event, TimerWarningRaised)
                        else f"BREACH, {event.lateness_seconds} s late, escalated to "
                        f"{event.escalate_to.value if event.escalate_to else 'nobody'}"
                    )
                    print(f"[{at} story time] {rule}: {what} (case {case})", flush=True)
                position = notification.id
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
