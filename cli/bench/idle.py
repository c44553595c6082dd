"""Idle means idle: the CPU an idle `caseledger up` (and its broker) burns, beside the bare broker alone.

`caseledger up` is started as an operator would, on the configured PostgreSQL (or its embedded one) and its
embedded broker; once it says "Ctrl-C stops" and has settled, the CPU seconds of the process and all its
children are counted over a window. The baseline is the same broker binary started alone with no client,
counted over the same window in the same run: what no caseledger code can remove. The figure is the share
of one core; the ratio says how many times the bare broker's share. Two more figures split it: the
caseledger process alone, and its children (the broker, the relay, consumer and scheduler processes, an
embedded PostgreSQL: where each CPU millisecond goes).

With a configured PostgreSQL its backends are not counted (they are not children). Run it on a database of
its own: the event store NOTIFYs on channels named after the events table only, so other deployments or test
runs writing to the same database wake this relay (several CPU seconds in 30 s on a busy shared server).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory
from uuid import uuid4

import psutil

from cli.bench.figures import Figure, figure_table
from cli.bench.ports import free_port
from infra.messaging.broker import EmbeddedBroker
from infra.settings import Settings
from infra.store.eventstore import drop_schemas

SECTION = "idle"
GOAL_SHARE = 0.02  # issue 16: an idle `up` uses under 2 % of a core, caseledger and broker together


def bench_idle(settings: Settings, quick: bool) -> list[Figure]:
    """The CPU share of one core of an idle `up` (and its children), beside a bare idle broker."""
    # 20 s to settle even when quick: `up`'s three children take over 10 s of this box's two cores to import,
    # bootstrap and join their groups, and a shorter settle counted that start (40 % of a core) as idle.
    settle_s, window_s = (20.0, 15.0) if quick else (20.0, 30.0)
    with TemporaryDirectory(prefix="caseledger-bench-idle-") as work:
        bare = _bare_broker_share(Path(work), window_s)
        own, children = _up_shares(settings, Path(work), settle_s, window_s)
    up = own + children
    figures = [
        Figure(SECTION, "bare broker alone, share of a core", 1, 1, window_s, bare),
        Figure(
            SECTION,
            "idle `up` and its children, share of a core",
            1,
            1,
            window_s,
            up,
            baseline_per_second=bare,
        ),
        Figure(SECTION, "of which the caseledger process", 1, 1, window_s, own),
        Figure(
            SECTION,
            "of which its children (broker, relay, consume, timers, embedded PG)",
            1,
            1,
            window_s,
            children,
        ),
    ]
    print(figure_table(figures, _detail))
    return figures


def _detail(figure: Figure) -> str | None:
    if figure.name.startswith("of which"):
        return f"{figure.per_second:.2%} of a core, {figure.per_second * figure.seconds:.2f} CPU s"
    if figure.baseline_per_second is None:
        return None
    verdict = "meets" if figure.per_second < GOAL_SHARE else "misses"
    bare = f"the bare broker {figure.baseline_per_second:.2%}"
    share = f"{figure.per_second:.1%} of a core over {figure.seconds:.0f} s"
    return f"{share}, {bare} ({verdict} the {GOAL_SHARE:.0%} goal)"


def _cpu_by_process(process: psutil.Process) -> dict[int, float]:
    """CPU seconds (user + system) of ``process`` and of each child it has now, by pid."""
    seconds = {}
    for each in [process, *process.children(recursive=True)]:
        try:
            times = each.cpu_times()
        except psutil.NoSuchProcess:
            continue
        seconds[each.pid] = times.user + times.system
    return seconds


def share_over(process: psutil.Process, window_s: float) -> float:
    """The share of one core ``process`` (with its children) used over the next ``window_s`` seconds."""
    return sum(shares_over(process, window_s))


def shares_over(process: psutil.Process, window_s: float) -> tuple[float, float]:
    """The shares of one core used over the next ``window_s`` seconds by ``process``, and by its children."""
    before = _cpu_by_process(process)
    started = time.monotonic()
    time.sleep(window_s)
    after = _cpu_by_process(process)
    elapsed = time.monotonic() - started
    used = {pid: seconds - before.get(pid, 0.0) for pid, seconds in after.items()}
    own = used.pop(process.pid, 0.0)
    return own / elapsed, sum(used.values()) / elapsed


def _bare_broker_share(work: Path, window_s: float) -> float:
    with EmbeddedBroker(free_port(), work / "bare-tansu.log") as broker:
        assert broker.pid is not None
        time.sleep(2.0)  # past its start
        return share_over(psutil.Process(broker.pid), window_s)


def _up_shares(settings: Settings, work: Path, settle_s: float, window_s: float) -> tuple[float, float]:
    schema = f"bench_idle_{uuid4().hex[:10]}"
    try:
        with _running_up(settings, schema, work) as process:
            time.sleep(settle_s)
            return shares_over(process, window_s)
    finally:
        if settings.database_url is not None:
            drop_schemas(settings.database_url, schema)


@contextmanager
def _running_up(settings: Settings, schema: str, work: Path) -> Iterator[psutil.Process]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CASELEDGER_")} | {
        "CASELEDGER_DB_SCHEMA": schema,
        "CASELEDGER_DATA_DIR": str(work / "data"),
        "CASELEDGER_BROKER_PORT": str(free_port()),
        "CASELEDGER_API_PORT": str(free_port()),
        "CASELEDGER_LOG_LEVEL": "WARNING",
    }
    if settings.database_url is not None:
        environment["CASELEDGER_DATABASE_URL"] = settings.database_url
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "up"],
        cwd=work,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("Ctrl-C stops"):
                break
        else:
            raise RuntimeError(f"`caseledger up` ended before it was ready (exit code {process.wait()})")
        yield psutil.Process(process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
