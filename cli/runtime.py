"""The long-running processes: `caseledger up` (everything in one process), `relay` and `consume` alone.

`up` is the embedded default: PostgreSQL (embedded unless configured), the Kafka-protocol broker (the
embedded Tansu unless configured), the relay and every consumer group, as asyncio tasks of one process.
For scale-out, each piece runs alone against a real PostgreSQL and Kafka: `caseledger relay` (one active,
others wait on its advisory lock) and `caseledger consume --group NAME` (as many as partitions).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from psycopg import sql

from api.serve import api_server
from consumers.app import run_consumers
from consumers.groups import default_groups
from consumers.scheduler import run_scheduler
from domain.base import SHANGHAI
from domain.timer import TimerBreached, TimerStarted, TimerWarningRaised
from infra.bootstrap import System
from infra.messaging.broker import EmbeddedBroker, ensure_topics
from infra.messaging.contract import topic_name
from infra.messaging.relay import relay_lag, run_relay
from infra.settings import Settings
from infra.store.database import ProcessKind
from projections.queries import get_claim
from projections.schema import projections_group_id, read_schema
from projections.watermarks import applied_table

CONTEXTS = ("policy", "claim", "complaint", "callback", "timer", "privacy")


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
    ensure_topics(handle.bootstrap_servers, topics, settings.topic_partitions)
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
    then: Callable[[], Coroutine[Any, Any, None]] | None = None,
) -> None:
    """Run the relay, consumer groups, API and scheduler until ``stop``; ``then`` runs alongside them."""
    system.database.name_process(process_kind(relay=relay, groups=groups, api=api, scheduler=scheduler))
    tasks = []
    if api:
        server = api_server(system)
        tasks.append(asyncio.create_task(server.serve(), name="api"))

        async def stop_api() -> None:
            await stop.wait()
            server.should_exit = True

        tasks.append(asyncio.create_task(stop_api(), name="api-stopper"))
    if scheduler:
        halt = threading.Event()
        tasks.append(
            asyncio.create_task(asyncio.to_thread(run_scheduler, system, system.clock, halt), name="timers")
        )

        async def stop_scheduler() -> None:
            await stop.wait()
            halt.set()

        tasks.append(asyncio.create_task(stop_scheduler(), name="timers-stopper"))
    if relay:
        tasks.append(asyncio.create_task(run_relay(system, bootstrap_servers, stop), name="relay"))
    if groups:
        tasks.append(
            asyncio.create_task(
                run_consumers(system, system.settings, bootstrap_servers, list(groups), stop),
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
        page = await asyncio.to_thread(system.timers.recorder.select_notifications, position + 1, 500)
        for notification in page:
            position = notification.id
            event = system.timers.mapper.to_domain_event(notification)
            if isinstance(event, TimerWarningRaised | TimerBreached):
                start = next(iter(system.timers.history(event.originator_id)))
                rule = start.rule_id if isinstance(start, TimerStarted) else "?"
                at = event.recorded_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
                what = (
                    f"warning at {event.threshold:.0%}"
                    if isinstance(event, TimerWarningRaised)
                    else f"BREACH, {event.lateness_seconds} s late, escalated to "
                    f"{event.escalate_to.value if event.escalate_to else 'nobody'}"
                )
                print(f"[{at} story time] {rule}: {what}", flush=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
