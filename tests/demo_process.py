"""`caseledger up --demo` as a real process for the e2e and browser tests: started on free ports, read up to
its "Ctrl-C stops" line, stopped with SIGTERM (then killed if it does not end)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from tests.kafka_fixtures import free_port

REPO = Path(__file__).resolve().parents[1]


def read_until(stream: IO[str], marker: str, wait_s: float) -> tuple[str, bool]:
    """The lines a process printed up to the one starting with ``marker`` (read within about ``wait_s``),
    and whether that line came (False: the process ended or the time ran out first)."""
    lines: list[str] = []
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith(marker):
            return "".join(lines), True
    return "".join(lines), False


def stop_process(process: subprocess.Popen[str], wait_s: float) -> None:
    """SIGTERM, as a service manager would send; killed if it has not ended within ``wait_s``."""
    process.terminate()
    try:
        process.wait(timeout=wait_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass(frozen=True)
class DemoProcess:
    """A running `up --demo`: where its API listens, and what it printed until it was ready."""

    base_url: str
    output: str

    def tokens(self) -> dict[str, str]:
        """The bearer token per role the demo printed."""
        return dict(re.findall(r"^  (\w+)\s+(eyJ\S+)$", self.output, flags=re.MULTILINE))


@contextmanager
def demo_process(
    database_url: str, schema: str, cwd: Path, *, wait_s: float = 150, **env: str
) -> Iterator[DemoProcess]:
    """Run `caseledger up --demo` in ``schema`` (``env``: more ``CASELEDGER_*`` settings) for the block."""
    api_port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CASELEDGER_")} | {
        "CASELEDGER_DATABASE_URL": database_url,
        "CASELEDGER_DB_SCHEMA": schema,
        "CASELEDGER_BROKER_PORT": str(free_port()),
        "CASELEDGER_API_PORT": str(api_port),
        "PYTHONPATH": str(REPO),
        **env,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "up", "--demo"],
        cwd=cwd,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        output, _ = read_until(process.stdout, "Ctrl-C stops", wait_s)
        yield DemoProcess(f"http://127.0.0.1:{api_port}", output)
    finally:
        stop_process(process, 30)
