"""Which scrape-time gauges a process exports, and the metrics server of the processes without HTTP.

A process exports the gauges of the pieces it runs (``infra/metrics.py`` defines them): its pool always,
the relay's lag where the relay runs, the groups' lag and open dead letters where they run, the timers where
the scheduler runs. ``relay``, ``consume`` and ``timers`` serve them on ``CASELEDGER_METRICS_PORT`` (when
set); the API and ``up`` serve them on the API's ``/metrics``.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
from collections.abc import Callable, Mapping
from datetime import timedelta
from functools import partial

import prometheus_client
from psycopg import sql

from cli.errors import CliError
from cli.operations_page import ConsumerOperations
from consumers.groups import default_groups
from infra import metrics
from infra.bootstrap import System
from infra.messaging.relay import relay_lag
from infra.store.database import Database
from projections.due import due_table

DUE_SOON = timedelta(hours=1)


class MetricsPortTakenError(CliError):
    """Something else already listens on the configured metrics port."""

    def __init__(self, port: int) -> None:
        super().__init__(
            f"port {port} is already in use: stop what listens there, or set CASELEDGER_METRICS_PORT"
        )


def expose_metrics(
    system: System, *, relay: bool, groups: tuple[str, ...], scheduler: bool, serve: bool
) -> Callable[[], None]:
    """Register the gauges of the pieces this process runs; with ``serve``, start the metrics server on
    ``CASELEDGER_METRICS_PORT`` if it is set. Returns the call that undoes both."""
    undo = [
        metrics.watch(
            (metrics.POOL_CONNECTIONS, metrics.POOL_WAITING), partial(pool_readings, system.database)
        )
    ]
    try:
        if relay:
            undo.append(watch_relay(system))
        if groups:
            undo.append(
                metrics.watch(
                    (metrics.CONSUMER_LAG, metrics.DEAD_LETTERS_OPEN), partial(group_readings, system, groups)
                )
            )
        if scheduler:
            undo.append(
                metrics.watch(
                    (metrics.TIMERS_PENDING, metrics.TIMERS_DUE_SOON), partial(timer_readings, system)
                )
            )
        port = system.settings.metrics_port
        if serve and port is not None:
            try:
                server, _ = prometheus_client.start_http_server(port)
            except OSError as taken:
                if taken.errno == errno.EADDRINUSE:
                    raise MetricsPortTakenError(port) from taken
                raise
            undo.extend((server.server_close, server.shutdown))  # undone in reverse: stop, then close
    except BaseException:
        _run_all(undo)
        raise
    return partial(_run_all, undo)


def watch_relay(system: System) -> Callable[[], None]:
    """Export the relay's lag per context (where the relay runs); returns the call that stops it."""
    return metrics.watch(
        (metrics.RELAY_LAG_POSITIONS, metrics.RELAY_LAG_SECONDS), partial(relay_readings, system)
    )


def _run_all(undo: list[Callable[[], None]]) -> None:
    for step in reversed(undo):
        with contextlib.suppress(Exception):
            step()


def pool_readings(database: Database) -> Mapping[str, metrics.Samples]:
    stats = database.pool_stats()
    size, available = stats.get("pool_size", 0), stats.get("pool_available", 0)
    return {
        metrics.POOL_CONNECTIONS.name: {
            ("size",): size,
            ("available",): available,
            ("in_use",): max(0, size - available),
            ("min",): stats.get("pool_min", 0),
            ("max",): stats.get("pool_max", 0),
        },
        metrics.POOL_WAITING.name: {(): stats.get("requests_waiting", 0)},
    }


def relay_readings(system: System) -> Mapping[str, metrics.Samples]:
    # A scrape runs in a thread of its own (the metrics server's, or the API's thread pool): no loop runs
    # there, so the relay's own lag reading runs on a short-lived one.
    lags = asyncio.run(relay_lag(system))
    return {
        metrics.RELAY_LAG_POSITIONS.name: {(lag.context,): lag.positions_behind for lag in lags},
        metrics.RELAY_LAG_SECONDS.name: {(lag.context,): lag.seconds_behind for lag in lags},
    }


def group_readings(system: System, groups: tuple[str, ...]) -> Mapping[str, metrics.Samples]:
    prefix = system.settings.topic_prefix
    ids = {name: group.group_id(prefix) for name, group in default_groups().items() if name in groups}
    lag: dict[tuple[str, ...], float] = {
        (ids[row.group], row.context): row.behind
        for row in ConsumerOperations(system).group_lag()
        if row.group in ids
    }
    schema = system.settings.db_schema
    open_letters: dict[tuple[str, ...], float] = {}
    with system.database.connection() as conn:
        exists = conn.execute("SELECT to_regclass(%s)", (f"{schema}.dead_letters",)).fetchone()
        if exists is not None and exists[0] is not None:
            rows = conn.execute(
                sql.SQL(
                    """SELECT group_id, status, count(*) FROM {} WHERE status IN ('parked', 'held')
                       AND group_id = ANY(%s) GROUP BY group_id, status"""
                ).format(sql.Identifier(schema, "dead_letters")),
                (list(ids.values()),),
            ).fetchall()
            open_letters = {(group_id, status): count for group_id, status, count in rows}
    return {metrics.CONSUMER_LAG.name: lag, metrics.DEAD_LETTERS_OPEN.name: open_letters}


def timer_readings(system: System) -> Mapping[str, metrics.Samples]:
    schema = system.settings.db_schema
    soon = system.clock.now() + DUE_SOON
    with system.database.connection() as conn:
        exists = conn.execute("SELECT to_regclass(%s)", (f"{schema}.sla_due",)).fetchone()
        if exists is None or exists[0] is None:
            return {}
        rows = conn.execute(
            sql.SQL(
                """SELECT state, count(*), count(*) FILTER (WHERE state = 'running' AND due_at <= %s)
                   FROM {} WHERE state IN ('running', 'paused') GROUP BY state"""
            ).format(due_table(schema)),
            (soon,),
        ).fetchall()
    pending: dict[tuple[str, ...], float] = {("running",): 0, ("paused",): 0}
    pending.update({(state,): count for state, count, _ in rows})
    return {
        metrics.TIMERS_PENDING.name: pending,
        metrics.TIMERS_DUE_SOON.name: {(): sum(due for _, _, due in rows)},
    }
