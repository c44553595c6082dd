"""The audit trail: a case's full history, the case as it stood at a version or an instant, chain
verification against the store, and the signed export for auditors.

Everything is read from the event store itself (not from the read models): the history an auditor sees is
the stored events, decoded by the application that wrote them, with the chain hash each one carries.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Protocol
from uuid import UUID

import orjson
from eventsourcing.persistence import StoredEvent
from psycopg import sql
from pydantic import BaseModel, ConfigDict, TypeAdapter

from domain.base import DomainEvent, Role
from domain.legal_basis import TIMER_EVENTS, Citation, legal_basis
from domain.timer import SlaTimer, TimerStarted
from infra.audit.chain import ChainedTable, chained_table
from infra.audit.verify import (
    CHAIN_ALGORITHM,
    EXPORT_FORMAT,
    EXPORT_VERSION,
    SIGNATURE_ALGORITHM,
    BrokenLink,
    ChainCheck,
)
from infra.clock import Clock
from infra.store.database import Database
from infra.store.eventstore import CaseApplication, CaseNotFoundError

_ENVELOPE = {
    "originator_id",
    "originator_version",
    "timestamp",
    "actor",
    "correlation_id",
    "causation_id",
    "occurred_at",
    "traceparent",
    "tracestate",
}
_STATE: TypeAdapter[dict[str, Any]] = TypeAdapter(dict[str, Any])
_BATCH = 10_000


class VersionNotRecordedError(LookupError):
    """The case has no such version, or did not exist yet at the instant asked for."""


class AuditEvent(BaseModel):
    """One stored event as an auditor reads it: who, when, why (legal basis), what, and its chain link."""

    model_config = ConfigDict(frozen=True)

    version: int
    event_id: UUID
    wire_name: str
    event_type: str
    recorded_at: datetime
    occurred_at: datetime | None
    actor_id: str
    actor_role: Role
    correlation_id: UUID
    causation_id: UUID | None
    legal_basis: Citation | None
    chain_hash: str | None
    payload: dict[str, Any]


class CaseHistory(BaseModel):
    """Every event of a case, oldest first."""

    case_id: UUID
    context: str
    version: int
    events: list[AuditEvent]


class TimerAsOf(BaseModel):
    """One SLA timer of the case, rebuilt from its events recorded up to the instant asked for."""

    timer_id: UUID
    rule_id: str
    rule_title: str
    legal_basis: Citation
    cycle: int
    version: int
    state: str
    start_at: datetime
    due_at: datetime | None
    calendar: str
    warned: list[float]
    pauses: int
    breached_at: datetime | None


class CaseAsOf(BaseModel):
    """The case as it stood at ``version`` (recorded at ``recorded_at``) and its timers as they stood then."""

    case_id: UUID
    context: str
    version: int
    as_of: datetime
    recorded_at: datetime
    state: dict[str, Any]
    timers: list[TimerAsOf]


@dataclass(frozen=True)
class VerifyReport:
    """The result of recomputing the chains in the store: counts and each broken case's first bad link."""

    events: int
    cases: int
    broken: list[BrokenLink]
    tables: list[ChainedTable] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.broken


@dataclass(frozen=True)
class ExportReport:
    """What an export wrote."""

    path: Path
    events: int
    cases: int


class AuditedSystem(Protocol):
    """What the audit trail reads: every store, the timers' store (timers as computed then), the clock."""

    @property
    def database(self) -> Database: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def timers(self) -> CaseApplication[SlaTimer]: ...

    def applications(self) -> list[CaseApplication[Any]]: ...


class AuditTrail:
    """Read-only audit operations on a system's event store."""

    def __init__(self, system: AuditedSystem) -> None:
        self.system = system

    # ------------------------------------------------------------------------------------------ history

    def history(self, case_id: UUID) -> CaseHistory:
        """Every event of the case with actor, role, times, legal basis, correlation, causation and hash."""
        app, table = self._locate(case_id)
        events = self._events(app, table, case_id)
        rule_id = _timer_rule(events)
        entries = [_entry(event, chain, rule_id) for event, chain in events]
        return CaseHistory(
            case_id=case_id, context=table.context, version=entries[-1].version, events=entries
        )

    def as_of(self, case_id: UUID, *, at: datetime | None = None, version: int | None = None) -> CaseAsOf:
        """The case at ``version``, or at its last version recorded at or before ``at``; now when neither."""
        app, table = self._locate(case_id)
        events = [event for event, _ in self._events(app, table, case_id)]
        if version is not None:
            if not 1 <= version <= events[-1].originator_version:
                raise VersionNotRecordedError(
                    f"case {case_id} has versions 1 to {events[-1].originator_version}, not {version}"
                )
            chosen = events[version - 1]
        elif at is not None:
            earlier = [event for event in events if event.recorded_at <= at]
            if not earlier:
                raise VersionNotRecordedError(f"case {case_id} was first recorded after {at.isoformat()}")
            chosen = earlier[-1]
        else:
            chosen = events[-1]
        instant = at if at is not None else chosen.recorded_at
        aggregate = app.load(case_id, chosen.originator_version)
        return CaseAsOf(
            case_id=case_id,
            context=table.context,
            version=chosen.originator_version,
            as_of=instant,
            recorded_at=chosen.recorded_at,
            state=aggregate_state(aggregate),
            timers=self._timers_as_of(case_id, instant),
        )

    def _timers_as_of(self, case_id: UUID, at: datetime) -> list[TimerAsOf]:
        timers = []
        for timer_id in self.timer_ids(case_id):
            recorded = [e for e in self.system.timers.history(timer_id) if e.recorded_at <= at]
            if not recorded:
                continue
            timer = self.system.timers.load(timer_id, recorded[-1].originator_version)
            timers.append(_timer_view(timer))
        return sorted(timers, key=lambda t: (t.start_at, t.rule_id, t.cycle))

    def timer_ids(self, case_id: UUID) -> list[UUID]:
        """The SLA timers ever started on a case, found in the timers' own store (not a read model)."""
        table = chained_table(self.system.timers)
        # The stored payload is orjson's compact JSON: the case id appears exactly like this in it.
        needle = f'"subject_id":"{case_id}"'.encode()
        with self.system.database.connection() as conn:
            rows = conn.execute(
                sql.SQL(
                    "SELECT originator_id, state FROM {} WHERE originator_version = 1 AND topic = %s"
                    " AND position(%s::bytea IN state) > 0"
                ).format(table.identifier),
                (TimerStarted.TOPIC, needle),
            ).fetchall()
        return [row[0] for row in rows if orjson.loads(bytes(row[1])).get("subject_id") == str(case_id)]

    def _locate(self, case_id: UUID) -> tuple[CaseApplication[Any], ChainedTable]:
        with self.system.database.connection() as conn:
            for app in self.system.applications():
                table = chained_table(app)
                found = conn.execute(
                    sql.SQL("SELECT 1 FROM {} WHERE originator_id = %s AND originator_version = 1").format(
                        table.identifier
                    ),
                    (case_id,),
                ).fetchone()
                if found is not None:
                    return app, table
        raise CaseNotFoundError("case", case_id)

    def _events(
        self, app: CaseApplication[Any], table: ChainedTable, case_id: UUID
    ) -> list[tuple[DomainEvent, bytes | None]]:
        with self.system.database.connection() as conn:
            rows = conn.execute(
                sql.SQL(
                    "SELECT originator_version, topic, state, chain_hash FROM {}"
                    " WHERE originator_id = %s ORDER BY originator_version"
                ).format(table.identifier),
                (case_id,),
            ).fetchall()
        events = []
        for version, topic, state, chain in rows:
            stored = StoredEvent(
                originator_id=case_id, originator_version=version, topic=topic, state=bytes(state)
            )
            event = app.mapper.to_domain_event(stored)
            if isinstance(event, DomainEvent):
                events.append((event, None if chain is None else bytes(chain)))
        if not events:
            raise CaseNotFoundError(app.kind, case_id)
        return events

    # ------------------------------------------------------------------------------------------ verify

    def verify(self, case_id: UUID | None = None) -> VerifyReport:
        """Recompute every chain (or one case's) from the stored bytes; name each broken case's first link."""
        check = ChainCheck()
        tables = self.tables()
        for table, row in self._rows(tables, case_id):
            case, version, topic, state, stored = row
            check.feed(table.context, case, version, topic, state, stored)
        if case_id is not None and check.events == 0:
            raise CaseNotFoundError("case", case_id)
        return VerifyReport(check.events, check.cases, check.broken(), tables)

    def tables(self) -> list[ChainedTable]:
        """The chained events table of every application."""
        return [chained_table(app) for app in self.system.applications()]

    def _rows(
        self, tables: Sequence[ChainedTable], case_id: UUID | None
    ) -> Iterator[tuple[ChainedTable, tuple[UUID, int, str, bytes, bytes | None]]]:
        with self.system.database.connection() as conn:
            for table in tables:
                query = sql.SQL(
                    "SELECT originator_id, originator_version, topic, state, chain_hash FROM {}"
                ).format(table.identifier)
                params: tuple[Any, ...] = ()
                if case_id is not None:
                    query += sql.SQL(" WHERE originator_id = %s")
                    params = (case_id,)
                query += sql.SQL(" ORDER BY originator_id, originator_version")
                # A named (server-side) cursor streams the rows: a full pass never holds the store in memory.
                with conn.transaction(), conn.cursor(name="audit_rows", binary=True) as cursor:
                    cursor.itersize = _BATCH
                    cursor.execute(query, params)
                    for case, version, topic, state, chain in cursor:
                        yield table, (case, version, topic, state, chain)

    # ------------------------------------------------------------------------------------------ export

    def export(self, out: Path, key: bytes, case_id: UUID | None = None) -> ExportReport:
        """Write the signed JSON Lines export of every case (or one): events, heads, signature."""
        tables = self.tables()
        heads: dict[tuple[str, UUID], tuple[int, bytes | None]] = {}
        events = 0
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("wb") as file:
            writer = _SignedWriter(file, key)
            writer.line(
                {
                    "type": "header",
                    "format": EXPORT_FORMAT,
                    "version": EXPORT_VERSION,
                    "chain": CHAIN_ALGORITHM,
                    "signature": SIGNATURE_ALGORITHM,
                    "exported_at": self.system.clock.now().isoformat(),
                    "scope": "all" if case_id is None else str(case_id),
                    "contexts": [t.context for t in tables],
                }
            )
            timer_rules: dict[UUID, str] = {}
            for table, (case, version, topic, state, chain) in self._rows(tables, case_id):
                writer.line(_export_line(table.context, case, version, topic, state, chain, timer_rules))
                heads[(table.context, case)] = (version, chain)
                events += 1
            for (context, case), (version, chain) in heads.items():
                writer.line(
                    {
                        "type": "head",
                        "context": context,
                        "case_id": str(case),
                        "version": version,
                        "chain_hash": None if chain is None else chain.hex(),
                    }
                )
            if case_id is not None and events == 0:
                raise CaseNotFoundError("case", case_id)
            writer.sign(events, len(heads))
        return ExportReport(out, events, len(heads))


class _SignedWriter:
    def __init__(self, file: IO[bytes], key: bytes) -> None:
        self._file = file
        self._mac = hmac.new(key, digestmod=hashlib.sha256)
        self._buffer: list[bytes] = []

    def line(self, content: dict[str, Any]) -> None:
        data = orjson.dumps(content) + b"\n"
        self._mac.update(data)
        self._buffer.append(data)
        if len(self._buffer) >= 1_000:
            self._flush()

    def sign(self, events: int, cases: int) -> None:
        signature = {
            "type": "signature",
            "algorithm": SIGNATURE_ALGORITHM,
            "events": events,
            "cases": cases,
            "mac": self._mac.hexdigest(),
        }
        self._buffer.append(orjson.dumps(signature) + b"\n")
        self._flush()

    def _flush(self) -> None:
        self._file.write(b"".join(self._buffer))
        self._buffer.clear()


def _export_line(
    context: str,
    case: UUID,
    version: int,
    topic: str,
    state: bytes,
    chain: bytes | None,
    timer_rules: dict[UUID, str],
) -> dict[str, Any]:
    line: dict[str, Any] = {
        "type": "event",
        "context": context,
        "case_id": str(case),
        "version": version,
        "topic": topic,
        "state": base64.b64encode(state).decode("ascii"),
        "chain_hash": None if chain is None else chain.hex(),
    }
    # The readable metadata is a convenience for the reader; the verifier checks only the bytes above.
    try:
        payload = orjson.loads(state)
    except orjson.JSONDecodeError:
        payload = None
    if isinstance(payload, dict):
        actor = payload.get("actor") or {}
        if topic == TimerStarted.TOPIC and isinstance(payload.get("rule_id"), str):
            timer_rules[case] = payload["rule_id"]
        basis = legal_basis(topic, timer_rules.get(case) if topic in TIMER_EVENTS else None)
        line |= {
            "recorded_at": payload.get("timestamp"),
            "occurred_at": payload.get("occurred_at"),
            "actor_id": actor.get("id"),
            "actor_role": actor.get("role"),
            "correlation_id": payload.get("correlation_id"),
            "causation_id": payload.get("causation_id"),
            "legal_basis": None if basis is None else str(basis),
        }
    return line


def _timer_rule(events: list[tuple[DomainEvent, bytes | None]]) -> str | None:
    first = events[0][0]
    return first.rule_id if isinstance(first, TimerStarted) else None


def _entry(event: DomainEvent, chain: bytes | None, timer_rule: str | None) -> AuditEvent:
    wire_name = type(event).TOPIC
    return AuditEvent(
        version=event.originator_version,
        event_id=event.event_id,
        wire_name=wire_name,
        event_type=type(event).__name__,
        recorded_at=event.recorded_at,
        occurred_at=event.occurred_at,
        actor_id=event.actor.id,
        actor_role=event.actor.role,
        correlation_id=event.correlation_id,
        causation_id=event.causation_id,
        legal_basis=legal_basis(wire_name, timer_rule),
        chain_hash=None if chain is None else chain.hex(),
        payload=event.model_dump(mode="json", exclude=_ENVELOPE),
    )


def aggregate_state(aggregate: object) -> dict[str, Any]:
    """An aggregate's attributes as JSON-ready values (the library's own bookkeeping left out)."""
    state = {name: value for name, value in vars(aggregate).items() if not name.startswith("_")}
    dumped: dict[str, Any] = _STATE.dump_python(state, mode="json")
    return dumped


def _timer_view(timer: SlaTimer) -> TimerAsOf:
    rule = timer.rule
    return TimerAsOf(
        timer_id=timer.id,
        rule_id=timer.rule_id,
        rule_title=rule.title,
        legal_basis=legal_basis(TimerStarted.TOPIC, timer.rule_id) or Citation(instrument=rule.rule_id),
        cycle=timer.cycle,
        version=timer.version,
        state=timer.state.value,
        start_at=timer.start_at,
        due_at=timer.due_at,
        calendar=f"{timer.calendar_id} {timer.calendar_version}",
        warned=list(timer.warned),
        pauses=len(timer.pauses),
        breached_at=timer.breached_at,
    )
