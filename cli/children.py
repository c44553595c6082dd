"""`caseledger up`'s child processes: the relay, the consumer groups and the timer scheduler, each run by the
same command as in scale-out (`caseledger relay`, `consume`, `timers`), supervised by `up`.

One Python process cannot use a second core: with the relay, every group and the scheduler as tasks beside
the API, a command took seconds to reach the read model at 200 commands/s (issue #17). As three children
they meet the scale-out latency. All groups share ONE consumer child rather than one child per group: each
Python process costs idle wake-ups (issue #16) and a pool of connections.

Supervision: a child that ends while `up` runs is started again after a pause that doubles while it keeps
ending soon after its start (one log line each time); stopping `up` sends each child SIGTERM, then SIGKILL
after a grace period, and waits for it. A child also ends when `up` dies without a word (SIGKILL, a crash):
it asks the kernel for SIGTERM on its parent's death (Linux ``PR_SET_PDEATHSIG``) before it runs anything.

Run as ``python -m cli.children PARENT_PID COMMAND...``: the death signal, then ``cli.main`` with COMMAND.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from infra.settings import Settings

log = logging.getLogger(__name__)

STOP_GRACE_S = 10.0
"""How long a child has to end after SIGTERM before it is killed (it finishes its batch, commits offsets)."""
RESTART_PAUSE_S = 1.0
"""The first pause before a child that ended is started again; doubled while it keeps ending early."""
RESTART_PAUSE_MAX_S = 30.0
STABLE_AFTER_S = 30.0
"""A child that ran this long before it ended is started again after the first pause, not a longer one."""
CHILD_POOL_SIZE = 1
"""Connections each child keeps in its pool (with overflow under load as configured): the three children
would otherwise hold two each at idle, on top of their LISTEN and lock sessions."""
CHILD_POOL_MAX_IDLE_S = 10.0
"""How soon a child's pool closes what a burst (its start, a catch-up) opened above its size: the pool closes
one such connection per period in which it sat unused, so a start-up burst of three is gone in about 40 s
(with psycopg's default of 10 minutes it stayed for half an hour of idling)."""


@dataclass(frozen=True)
class Child:
    """One supervised child: its name in the log, and its `caseledger` command line."""

    name: str
    command: tuple[str, ...]
    groups: tuple[str, ...] = ()
    """The consumer groups it runs (for the gauges `up` exports on its behalf)."""


def up_children(groups: Sequence[str], *, scheduler: bool = True) -> tuple[Child, ...]:
    """The children of `up`: the relay, every group in one consumer process, and the scheduler."""
    children = [Child("relay", ("relay",))]
    if groups:
        command = ("consume", *(arg for group in groups for arg in ("--group", group)))
        children.append(Child("consume", command, tuple(groups)))
    if scheduler:
        children.append(Child("timers", ("timers",)))
    return tuple(children)


def child_environment(
    settings: Settings, database_url: str, bootstrap_servers: str, base: Mapping[str, str]
) -> dict[str, str]:
    """``base`` (the parent's environment) with what the children need to join the parent's servers.

    The database and broker are the ones `up` started or was given, the schema and topics the parent's;
    the data directory is absolute, so the children read the master key file the parent created; the
    metrics port is dropped: `up` serves every piece's gauges on the API's /metrics, and three children
    would fight over one port.
    """
    environment = {key: value for key, value in base.items() if key != "CASELEDGER_METRICS_PORT"}
    if settings.master_key is not None:  # given to the parent other than by its environment (the benchmarks)
        environment["CASELEDGER_MASTER_KEY"] = settings.master_key.get_secret_value()
    return environment | {
        "CASELEDGER_DATABASE_URL": database_url,
        "CASELEDGER_KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
        "CASELEDGER_DB_SCHEMA": settings.db_schema,
        "CASELEDGER_TOPIC_PREFIX": settings.topic_prefix,
        "CASELEDGER_DATA_DIR": str(settings.data_dir.resolve()),
        "CASELEDGER_DB_POOL_SIZE": str(CHILD_POOL_SIZE),
        "CASELEDGER_DB_POOL_MAX_IDLE_SECONDS": f"{CHILD_POOL_MAX_IDLE_S:g}",
    }


@dataclass
class Supervisor:
    """Keeps ``children`` running until ``stop``, then stops them; ``pids`` are the running ones."""

    children: Sequence[Child]
    environment: Mapping[str, str]
    grace_s: float = STOP_GRACE_S
    pids: dict[str, int] = field(default_factory=dict)
    starts: dict[str, int] = field(default_factory=dict)
    _all_started: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)

    @property
    def relay(self) -> bool:
        return any(child.command[0] == "relay" for child in self.children)

    @property
    def groups(self) -> tuple[str, ...]:
        return tuple(group for child in self.children for group in child.groups)

    @property
    def scheduler(self) -> bool:
        return any(child.command[0] == "timers" for child in self.children)

    async def started(self) -> None:
        """Return once every child has been started (not that it is ready: it connects by itself)."""
        await self._all_started.wait()

    async def run(self, stop: asyncio.Event) -> None:
        """Start every child, start again those that end, until ``stop``; then stop and wait for them."""
        await asyncio.gather(*(self._keep(child, stop) for child in self.children))

    async def _keep(self, child: Child, stop: asyncio.Event) -> None:
        pause = RESTART_PAUSE_S
        while not stop.is_set():
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "cli.children",
                str(os.getpid()),
                *child.command,
                env=dict(self.environment),
                stdin=subprocess.DEVNULL,
                # Its own process group: a Ctrl-C at the terminal reaches `up` alone, which then stops the
                # children in order, instead of each child ending (and being restarted) on its own. Not its
                # own session: Linux shares the CPU between sessions (autogroups), and in sessions of their
                # own the children took CPU from the writer's session on a busy box, unlike scale-out.
                process_group=0,
            )
            started = time.monotonic()
            self.pids[child.name] = process.pid
            self.starts[child.name] = self.starts.get(child.name, 0) + 1
            if len(self.starts) == len(self.children):
                self._all_started.set()
            ended = asyncio.create_task(process.wait())
            stopping = asyncio.create_task(stop.wait())
            try:
                await asyncio.wait((ended, stopping), return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopping.cancel()
                if not ended.done():
                    await self._stop(child, process)
                self.pids.pop(child.name, None)
            if stop.is_set():
                return
            ran = time.monotonic() - started
            delay = RESTART_PAUSE_S if ran >= STABLE_AFTER_S else pause
            pause = min(delay * 2, RESTART_PAUSE_MAX_S)
            log.warning(
                "%s (pid %d) ended with status %s after %.1f s: starting it again in %.0f s",
                child.name,
                process.pid,
                process.returncode,
                ran,
                delay,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)

    async def _stop(self, child: Child, process: asyncio.subprocess.Process) -> None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.shield(process.wait()), self.grace_s)
        except TimeoutError:
            log.warning(
                "%s (pid %d) did not end within %.0f s of SIGTERM: killed",
                child.name,
                process.pid,
                self.grace_s,
            )
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


def end_with_parent(parent: int) -> None:
    """Have the kernel send this process SIGTERM when the thread that started it dies (even by kill -9),
    so that no orphan keeps running; Linux only (elsewhere a child outlives a killed parent)."""
    if sys.platform == "linux":
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the request above was in place
        os.kill(os.getpid(), signal.SIGTERM)


def main(argv: Sequence[str]) -> int:
    """``PARENT_PID COMMAND...``: end with the parent, then run the `caseledger` COMMAND."""
    end_with_parent(int(argv[0]))
    from cli.main import main as caseledger

    return caseledger(list(argv[1:]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
