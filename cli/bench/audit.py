"""`caseledger bench` audit section: export and verify throughput beside a bare SELECT of the same rows.

The events are real: one complaint worked through the application service gives the template rows (payloads
with sealed personal fields, as stored); the template is then stored again under many case ids by one
INSERT … SELECT per batch, through the chain trigger, so every row carries a real chain hash. Each figure is
a rate in events per second with its ratio to a baseline measured in the same run:

- bulk write: the same INSERT … SELECT into a copy of the table without the trigger (the trigger's cost);
- one command per transaction: complaints lodged through the service with the chain, and without it
  (alternating rounds, medians);
- export, verify (from the store) and verify-export (offline, from the file): a bare streamed SELECT of the
  same rows in the same order.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from uuid import UUID, uuid4

import psycopg
from psycopg import sql

from cli.bench.figures import Figure
from cli.scenarios import SELLER, lodge_sample_complaint, register_demo_seller
from domain.base import SHANGHAI, Actor, Role
from domain.complaint import Complexity, SubjectKind
from infra.audit.chain import TRIGGER, ChainedTable, chained_table, install_chains
from infra.audit.history import AuditTrail
from infra.audit.verify import verify_export
from infra.bootstrap import System, bootstrap
from infra.services.complaints import (
    AcknowledgeComplaint,
    AssignComplaint,
    ClassifyComplaint,
    SubjectRefBody,
)
from infra.settings import Settings
from infra.store.eventstore import Caller, drop_schemas

SECTION = "audit"
QUICK_EVENTS = 50_000
FULL_EVENTS = 1_000_000
_BATCH_CASES = 25_000
_KEY = b"bench-audit-key"
_POLICY = UUID(int=1)
_SELLER = SubjectRefBody(kind=SubjectKind.SELLER, ref=SELLER[1])


def run_audit_bench(settings: Settings, quick: bool) -> list[Figure]:
    """The audit section: 50,000 events with ``quick``, else 1,000,000."""
    if quick:
        return bench_audit(settings, QUICK_EVENTS, command_seconds=2.0)
    return bench_audit(settings, FULL_EVENTS, command_seconds=5.0)


def bench_audit(settings: Settings, events: int, command_seconds: float) -> list[Figure]:
    """Store ``events`` chained events, then measure; the schemas are dropped afterwards."""
    schema = f"{settings.db_schema}_bench_audit_{uuid4().hex[:6]}"
    system = bootstrap(settings.model_copy(update={"db_schema": schema, "db_pool_size": 2}))
    try:
        figures = _commands(system, command_seconds)
        template = _template(system)
        table = chained_table(system.complaints)
        figures += _bulk_write(system, table, template, events)
        figures += _read_paths(system, table, events)
        return figures
    finally:
        system.close()
        drop_schemas(system.database_url, schema)


def _caller() -> Caller:
    return Caller(Actor(id="bench-audit", role=Role.COMPLAINTS_OFFICER), uuid4())


def _template(system: System) -> list[tuple[str, bytes]]:
    """The stored rows of one worked complaint: lodged, acknowledged, assigned, classified."""
    case_id = uuid4()
    # A complaint is assigned only about a subject on record (回避): the template's is a registered seller.
    register_demo_seller(system, system.clock.now().astimezone(SHANGHAI).date())
    lodge_sample_complaint(system, _caller(), case_id, system.clock.now(), _SELLER)
    complaints = system.complaints
    complaints.acknowledge(case_id, AcknowledgeComplaint(channel="sms"), _caller())
    complaints.assign(case_id, AssignComplaint(handler_id="bench-handler"), _caller())
    complaints.classify(case_id, ClassifyComplaint(complexity=Complexity.SIMPLE), _caller())
    rows = system.complaints.recorder.select_events(case_id)
    return [(row.topic, bytes(row.state)) for row in rows]


def _timed(section_name: str, operations: int, action: Callable[[], object]) -> Figure:
    started = time.perf_counter()
    action()
    seconds = time.perf_counter() - started
    return Figure(SECTION, section_name, 1, operations, round(seconds, 3), round(operations / seconds, 1))


def _commands(system: System, seconds: float, rounds: int = 3) -> list[Figure]:
    """One complaint lodged per transaction, one writer: with the chain trigger and without it, alternating
    ``rounds`` times (medians reported), so a burst of noise on a shared machine skews a round, not both."""

    def lodge_for(name: str) -> Figure:
        count = 0
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            lodge_sample_complaint(system, _caller(), uuid4(), system.clock.now(), _POLICY)
            count += 1
        elapsed = time.perf_counter() - started
        return Figure(SECTION, name, 1, count, round(elapsed, 3), round(count / elapsed, 1))

    table = chained_table(system.complaints)
    chained_runs: list[Figure] = []
    bare_runs: list[Figure] = []
    for _ in range(rounds):
        chained_runs.append(lodge_for("Complaints: lodge, 1 event/tx, hash-chained"))
        with psycopg.connect(system.database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP TRIGGER {} ON {}").format(sql.Identifier(TRIGGER), table.identifier))
        bare_runs.append(lodge_for("Complaints: lodge, 1 event/tx, no chain trigger"))
        # Unchained rows would fail verification: empty the table and put the trigger back.
        with psycopg.connect(system.database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("TRUNCATE {}").format(table.identifier))
        install_chains(system.database, [system.complaints])
    chained, bare = _median(chained_runs), _median(bare_runs)
    chained.baseline_per_second = bare.per_second
    return [bare, chained]


def _median(runs: list[Figure]) -> Figure:
    return sorted(runs, key=lambda f: f.per_second)[len(runs) // 2]


def _bulk_write(
    system: System, table: ChainedTable, template: list[tuple[str, bytes]], events: int
) -> list[Figure]:
    """Store the template under ``events // len(template)`` new case ids: bare copy first, then chained."""
    cases = events // len(template)
    bare = ChainedTable(table.context, table.schema, "bench_bare_events")
    with psycopg.connect(system.database_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING INDEXES)").format(
                bare.identifier, table.identifier
            )
        )
        conn.execute("CREATE TEMP TABLE bench_template (v bigint, topic text, state bytea)")
        with conn.cursor().copy("COPY bench_template (v, topic, state) FROM STDIN") as copy:
            for version, (topic, state) in enumerate(template, start=1):
                copy.write_row((version, topic, state))

        def insert_into(target: ChainedTable) -> Callable[[], None]:
            def run() -> None:
                for first in range(0, cases, _BATCH_CASES):
                    last = min(first + _BATCH_CASES, cases)
                    # Ordered by case and version: the trigger of each row finds its predecessor stored.
                    conn.execute(
                        sql.SQL(
                            "INSERT INTO {} (originator_id, originator_version, topic, state)"
                            " SELECT md5(%s || c::text)::uuid, t.v, t.topic, t.state"
                            " FROM generate_series(%s::bigint, %s::bigint) AS c"
                            " CROSS JOIN bench_template AS t"
                            " ORDER BY c, t.v"
                        ).format(target.identifier),
                        (target.table, first, last - 1),
                    )

            return run

        stored = cases * len(template)
        without = _timed("bulk INSERT…SELECT, no trigger", stored, insert_into(bare))
        chained = _timed("bulk INSERT…SELECT through the chain trigger", stored, insert_into(table))
        conn.execute(sql.SQL("DROP TABLE {}").format(bare.identifier))
        conn.execute(sql.SQL("VACUUM ANALYZE {}").format(table.identifier))
    chained.baseline_per_second = without.per_second
    return [without, chained]


def _read_paths(system: System, table: ChainedTable, events: int) -> list[Figure]:
    trail = AuditTrail(system)
    with psycopg.connect(system.database_url) as conn:
        row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(table.identifier)).fetchone()
    total = int(row[0]) if row else 0

    def bare_select() -> None:
        with (
            psycopg.connect(system.database_url) as conn,
            conn.transaction(),
            conn.cursor(name="bench_bare", binary=True) as cursor,
        ):
            cursor.itersize = 10_000
            cursor.execute(
                sql.SQL(
                    "SELECT originator_id, originator_version, topic, state, chain_hash FROM {}"
                    " ORDER BY originator_id, originator_version"
                ).format(table.identifier)
            )
            seen = sum(1 for _ in cursor)
        if seen != total:
            raise AssertionError(f"the bare SELECT read {seen} rows of {total}")

    with tempfile.TemporaryDirectory(prefix="caseledger-bench-audit-") as directory:
        out = Path(directory) / "export.jsonl"
        baseline = _timed("bare SELECT of the same rows (streamed)", total, bare_select)
        exported = _timed("audit export --all (signed JSONL)", total, lambda: _export(trail, out, total))
        verified = _timed("audit verify (recompute every chain)", total, lambda: _verify(trail, total))
        offline = _timed("audit verify-export (offline, the file)", total, lambda: _offline(out, total))
    for figure in (exported, verified, offline):
        figure.baseline_per_second = baseline.per_second
    return [baseline, exported, verified, offline]


def _export(trail: AuditTrail, out: Path, total: int) -> None:
    report = trail.export(out, _KEY)
    if report.events != total:
        raise AssertionError(f"exported {report.events} events of {total}")


def _verify(trail: AuditTrail, total: int) -> None:
    report = trail.verify()
    if report.events != total or not report.ok:
        raise AssertionError(f"verify checked {report.events} of {total}: {report.broken[:3]}")


def _offline(out: Path, total: int) -> None:
    verdict = verify_export(out, _KEY)
    if verdict.events != total or not verdict.ok:
        raise AssertionError(f"verify-export checked {verdict.events} of {total}: {verdict.problems[:3]}")


def audit_table(figures: list[Figure]) -> str:
    """The section as a text table."""
    lines = [f"{'measure':<50} {'events':>9} {'seconds':>8} {'events/s':>10} {'ratio':>7}"]
    for f in figures:
        ratio = f"{f.ratio:.2f}x" if f.ratio is not None else "base"
        lines.append(f"{f.name:<50} {f.operations:>9} {f.seconds:>8.1f} {f.per_second:>10.1f} {ratio:>7}")
    return "\n".join(lines)
