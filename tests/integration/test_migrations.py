"""`caseledger db upgrade`: caseledger's own tables brought to this release's version, from nothing or from
an older release's tables with their rows, once however often (or however many at once) it runs; and what a
process does at start on a schema behind its release.

The older release is the one of 2026-12-04 (commit ``0f6bc36^``): its DDL below is what its processes ran at
start (``CREATE TABLE IF NOT EXISTS`` and ``ADD COLUMN IF NOT EXISTS``, from ``git show``), before
``sla_due.provisional``, the console's sessions and the personal-data access log, and before versioned
migrations: no ``schema_version``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from psycopg import sql
from psycopg.types.json import Jsonb

from api.idempotency import IdempotencyStore, IdempotentRequest, StoredAnswer
from infra.audit.access_log import AccessKind, AccessLog, AccessRecord
from infra.bootstrap import bootstrap
from infra.migrations import STEPS, TARGET_VERSION, SchemaAheadError, SchemaBehindError, status, upgrade
from infra.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.isolated("migrates a base schema of its own")]

ROOT = Path(__file__).resolve().parents[2]

RELEASE_2026_12_04 = [
    """CREATE TABLE {s}.seller_registrations (
        registration_no text PRIMARY KEY, seller_id text NOT NULL,
        valid_from date NOT NULL, valid_to date NOT NULL, authorised_products jsonb NOT NULL)""",
    """CREATE TABLE {s}.subject_keys (
        customer_id text PRIMARY KEY, wrapped_key bytea, master_key_id text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(), erased_at timestamptz, erased_by text, reason text,
        CHECK ((wrapped_key IS NULL) = (erased_at IS NOT NULL)))""",
    """CREATE TABLE {s}.consumer_applied (
        group_id text NOT NULL, context text NOT NULL, case_id uuid NOT NULL, last_version bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (group_id, context, case_id))""",
    """CREATE TABLE {s}.consumer_offsets (
        group_id text NOT NULL, topic text NOT NULL, partition integer NOT NULL, last_offset bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (group_id, topic, partition))""",
    """CREATE TABLE {s}.dead_letters (
        id bigserial PRIMARY KEY, group_id text NOT NULL, context text, case_id uuid, version bigint,
        topic text NOT NULL, partition integer NOT NULL, kafka_offset bigint NOT NULL, wire_name text,
        key bytea, headers jsonb NOT NULL, value bytea NOT NULL, error text,
        attempts integer NOT NULL DEFAULT 0,
        status text NOT NULL CHECK (status IN ('parked', 'held', 'retried', 'skipped')),
        parked_at timestamptz NOT NULL DEFAULT now(), resolved_at timestamptz, resolved_by text,
        resolution_reason text)""",
    """CREATE UNIQUE INDEX dead_letters_open_version ON {s}.dead_letters (group_id, context, case_id, version)
        WHERE status IN ('parked', 'held')""",
    """CREATE UNIQUE INDEX dead_letters_open_unreadable
        ON {s}.dead_letters (group_id, topic, partition, kafka_offset)
        WHERE case_id IS NULL AND status IN ('parked', 'held')""",
    "CREATE INDEX dead_letters_by_status ON {s}.dead_letters (group_id, status)",
    """CREATE TABLE {s}.relay_positions (
        context text PRIMARY KEY, position bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())""",
    "ALTER TABLE {s}.relay_positions ADD COLUMN topic_id text",
    """CREATE TABLE {s}.api_idempotency (
        key text NOT NULL, actor_id text NOT NULL, method text NOT NULL, path text NOT NULL,
        request_hash text NOT NULL, status integer, body jsonb, created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (actor_id, key))""",
    """ALTER TABLE {s}.api_idempotency ADD COLUMN hold_token uuid,
        ADD COLUMN held_since timestamptz NOT NULL DEFAULT now()""",
    """CREATE TABLE {s}.sla_due (
        timer_id uuid PRIMARY KEY, rule_id text NOT NULL, case_id uuid NOT NULL, case_context text NOT NULL,
        cycle bigint NOT NULL, state text NOT NULL, due_at timestamptz, warn_50_at timestamptz,
        warn_80_at timestamptz, next_fire_at timestamptz, next_action text, timer_version bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now())""",
    "ALTER TABLE {s}.sla_due ADD COLUMN source_case_id uuid, ADD COLUMN breached_at timestamptz",
    "CREATE INDEX sla_due_next_fire ON {s}.sla_due (next_fire_at) WHERE next_fire_at IS NOT NULL",
    "CREATE INDEX sla_due_by_rule_case ON {s}.sla_due (rule_id, case_id, cycle)",
]
"""The base schema's tables as the release of 2026-12-04 left them."""

TIMER = UUID("00000000-0000-4000-8000-000000000001")
CASE = UUID("00000000-0000-4000-8000-000000000002")
DUE = datetime(2026, 12, 20, 9, tzinfo=UTC)
OLD_ANSWER = StoredAnswer(201, {"claim_id": str(CASE)})
OLD_REQUEST = IdempotentRequest(
    actor_id="clerk-1", key="k-1", method="POST", path="/claims", request_hash="h-1"
)


def old_rows(conn: psycopg.Connection[Any], schema: str) -> None:
    """One row in each table of that release, as its processes wrote them."""
    s = sql.Identifier(schema)

    def run(query: str, params: tuple[Any, ...]) -> None:
        conn.execute(sql.SQL(query).format(s=s), params)

    run(
        "INSERT INTO {s}.seller_registrations VALUES (%s, %s, %s, %s, %s)",
        ("REG-OLD", "seller-9", date(2026, 1, 1), date(2027, 1, 1), Jsonb(["motor"])),
    )
    run(
        "INSERT INTO {s}.subject_keys (customer_id, wrapped_key, master_key_id) VALUES (%s, %s, %s)",
        ("cust-1", b"wrapped", "mk"),
    )
    run(
        "INSERT INTO {s}.consumer_applied (group_id, context, case_id, last_version) VALUES (%s, %s, %s, %s)",
        ("caseledger.projections", "claim", CASE, 4),
    )
    run(
        "INSERT INTO {s}.dead_letters (group_id, topic, partition, kafka_offset, headers, value, status)"
        " VALUES (%s, %s, 0, 7, '{{}}', %s, 'parked')",
        ("caseledger.projections", "caseledger.claim", b"\x00garbage"),
    )
    run("INSERT INTO {s}.relay_positions (context, position, topic_id) VALUES ('claim', 5, 'T1')", ())
    run(
        "INSERT INTO {s}.api_idempotency (key, actor_id, method, path, request_hash, status, body)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (
            OLD_REQUEST.key,
            OLD_REQUEST.actor_id,
            OLD_REQUEST.method,
            OLD_REQUEST.path,
            OLD_REQUEST.request_hash,
            OLD_ANSWER.status,
            Jsonb(OLD_ANSWER.body),
        ),
    )
    run(
        "INSERT INTO {s}.sla_due (timer_id, rule_id, case_id, case_context, cycle, state, due_at,"
        " next_fire_at, next_action, timer_version) VALUES (%s, 'IL23-DETERMINE-30D', %s, 'claim', 1,"
        " 'running', %s, %s, 'breach', 3)",
        (TIMER, CASE, DUE, DUE),
    )


def caseledger(
    args: list[str], url: str, schema: str, cwd: Path, **settings: str
) -> subprocess.CompletedProcess[str]:
    """The command line in a process of its own, on ``schema``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CASELEDGER_")}
    env = {
        "CASELEDGER_DATABASE_URL": url,
        "CASELEDGER_DB_SCHEMA": schema,
        "CASELEDGER_LOG_LEVEL": "WARNING",
        "CASELEDGER_DATA_DIR": str(cwd / ".caseledger"),
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        cwd=cwd,
        env=clean | env | {f"CASELEDGER_{k.upper()}": v for k, v in settings.items()},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def catalog(conn: psycopg.Connection[Any], schema: str) -> dict[str, set[tuple[Any, ...]]]:
    """What PostgreSQL holds of the schema's tables: columns, constraints, indexes and triggers."""
    columns = conn.execute(
        """SELECT table_name, column_name, data_type, is_nullable, replace(column_default, %s, 'S')
           FROM information_schema.columns WHERE table_schema = %s AND table_name <> 'schema_version'""",
        (schema, schema),
    ).fetchall()
    constraints = conn.execute(
        """SELECT rel.relname, con.contype, pg_get_constraintdef(con.oid) FROM pg_constraint con
           JOIN pg_class rel ON rel.oid = con.conrelid JOIN pg_namespace n ON n.oid = rel.relnamespace
           WHERE n.nspname = %s AND rel.relname <> 'schema_version'""",
        (schema,),
    ).fetchall()
    indexes = conn.execute(
        "SELECT indexname, replace(indexdef, %s, 'S') FROM pg_indexes WHERE schemaname = %s",
        (schema, schema),
    ).fetchall()
    triggers = conn.execute(
        """SELECT t.tgname, c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND NOT t.tgisinternal""",
        (schema,),
    ).fetchall()
    return {
        "columns": set(map(tuple, columns)),
        "constraints": set(map(tuple, constraints)),
        "indexes": {tuple(i) for i in indexes if i[0] != "schema_version_pkey"},
        "triggers": set(map(tuple, triggers)),
    }


def versions(conn: psycopg.Connection[Any], schema: str) -> list[tuple[Any, ...]]:
    return [
        tuple(row)
        for row in conn.execute(
            sql.SQL("SELECT version, name, applied_at, adopted FROM {} ORDER BY version").format(
                sql.Identifier(schema, "schema_version")
            )
        ).fetchall()
    ]


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


@pytest.fixture
def older(conn: psycopg.Connection[Any], schema: str) -> str:
    """The test's schema as the release of 2026-12-04 left it, with a row in each table."""
    conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    with conn.transaction():
        for statement in RELEASE_2026_12_04:
            conn.execute(sql.SQL(statement).format(s=sql.Identifier(schema)))
        old_rows(conn, schema)
    return schema


@pytest.fixture
def fresh(database_url: str) -> Iterator[str]:
    """A second schema, upgraded from nothing: what this release's tables look like."""
    name = f"t_{uuid4().hex[:12]}"
    with psycopg.connect(database_url, autocommit=True) as connection:
        upgrade(connection, name)
        yield name
        connection.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))


def test_an_empty_schema_is_upgraded_step_by_step_each_recorded_with_its_time(
    conn: psycopg.Connection[Any], schema: str, database_url: str, tmp_path: Path
) -> None:
    done = caseledger(["db", "upgrade"], database_url, schema, tmp_path)

    assert done.returncode == 0, done.stderr
    assert [line.split(":")[0] for line in done.stdout.splitlines()[:-1]] == [
        f"applied {step.version}" for step in STEPS
    ]
    recorded = versions(conn, schema)
    assert [(v, name, adopted) for v, name, _, adopted in recorded] == [
        (s.version, s.name, False) for s in STEPS
    ]
    times = [at for _, _, at, _ in recorded]
    assert times == sorted(times)
    assert {"sla_due", "console_sessions", "personal_data_access", "dead_letters"} <= {
        row[0] for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,))
    }


def test_an_older_release_is_upgraded_its_rows_kept_and_its_processes_then_run(
    older: str, fresh: str, conn: psycopg.Connection[Any], database_url: str, tmp_path: Path
) -> None:
    before = caseledger(["db", "status"], database_url, older, tmp_path)
    assert before.returncode == 1, before.stderr  # steps pending
    assert f"version 0, this release's {TARGET_VERSION}, {len(STEPS)} step(s) pending" in before.stdout

    done = caseledger(["db", "upgrade"], database_url, older, tmp_path)

    assert done.returncode == 0, done.stderr
    assert catalog(conn, older) == catalog(conn, fresh)  # the same tables as a release installed anew
    assert versions(conn, older)[0][3] is True  # step 1 adopted the tables that were there
    s = sql.Identifier(older)
    assert conn.execute(
        sql.SQL("SELECT state, due_at, provisional FROM {}.sla_due WHERE timer_id = %s").format(s), (TIMER,)
    ).fetchall() == [("running", DUE, False)]
    for table in ("subject_keys", "consumer_applied", "dead_letters", "seller_registrations"):
        count = conn.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(older, table))
        ).fetchone()
        assert count == (1,), table
    # A process of this release, refusing any schema behind, starts on it and reads the old rows.
    lag = caseledger(["relay", "--lag"], database_url, older, tmp_path, db_auto_upgrade="false")
    assert lag.returncode == 0, lag.stderr
    claim_line = next(line for line in lag.stdout.splitlines() if line.startswith("claim"))
    assert claim_line.split()[1:3] == ["0", "5"]  # nothing stored here yet; published up to 5 then
    settings = Settings(database_url=database_url, db_schema=older, db_pool_size=1, db_auto_upgrade=False)
    system = bootstrap(settings)
    try:
        assert system.sellers.lookup("REG-OLD").seller_id == "seller-9"
        assert IdempotencyStore(system.database, older).earlier(OLD_REQUEST) == OLD_ANSWER
        log = AccessLog(system.database, older)
        log.record([_access()], datetime.now(UTC))  # a table the older release did not have
        assert log.verify()[0] == 1
    finally:
        system.close()


def test_running_the_upgrade_again_changes_nothing(
    older: str, conn: psycopg.Connection[Any], database_url: str, tmp_path: Path
) -> None:
    first = caseledger(["db", "upgrade"], database_url, older, tmp_path)
    assert first.returncode == 0, first.stderr
    recorded, tables = versions(conn, older), catalog(conn, older)

    again = caseledger(["db", "upgrade"], database_url, older, tmp_path)

    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == f"schema {older}: version {TARGET_VERSION} already, nothing to do"
    assert versions(conn, older) == recorded
    assert catalog(conn, older) == tables
    up_to_date = caseledger(["db", "status"], database_url, older, tmp_path)
    assert up_to_date.returncode == 0, up_to_date.stderr
    assert up_to_date.stdout.rstrip().endswith("up to date")


def test_two_upgrades_at_once_apply_each_step_once(
    conn: psycopg.Connection[Any], schema: str, database_url: str, tmp_path: Path
) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CASELEDGER_")}
    env = clean | {
        "CASELEDGER_DATABASE_URL": database_url,
        "CASELEDGER_DB_SCHEMA": schema,
        "CASELEDGER_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    command = [sys.executable, "-m", "cli.main", "db", "upgrade"]
    runs = [
        subprocess.Popen(
            command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=120) for run in runs]

    assert [run.returncode for run in runs] == [0, 0], outputs
    applied = [out.count("applied ") for out, _ in outputs]
    assert sorted(applied) == [0, len(STEPS)]  # one did every step, the other waited and found none
    assert [v for v, *_ in versions(conn, schema)] == [step.version for step in STEPS]


def test_a_process_refuses_a_schema_behind_in_one_line_when_it_may_not_upgrade(
    older: str, conn: psycopg.Connection[Any], database_url: str, tmp_path: Path
) -> None:
    tables = catalog(conn, older)

    done = caseledger(["relay", "--lag"], database_url, older, tmp_path, db_auto_upgrade="false")

    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [
        f"caseledger: error: the database schema {older!r} is at version 0, this release needs "
        f"{TARGET_VERSION}: run `caseledger db upgrade` first (or set CASELEDGER_DB_AUTO_UPGRADE=true)"
    ]
    assert catalog(conn, older) == tables  # nothing altered
    settings = Settings(database_url=database_url, db_schema=older, db_pool_size=1, db_auto_upgrade=False)
    with pytest.raises(SchemaBehindError):
        bootstrap(settings)


def test_a_process_upgrades_a_schema_behind_itself_when_it_may(
    older: str, conn: psycopg.Connection[Any], database_url: str
) -> None:
    system = bootstrap(Settings(database_url=database_url, db_schema=older, db_pool_size=1))
    system.close()

    found = status(conn, older)
    assert (found.current, found.pending) == (TARGET_VERSION, ())
    assert conn.execute(
        sql.SQL("SELECT provisional FROM {}.sla_due WHERE timer_id = %s").format(sql.Identifier(older)),
        (TIMER,),
    ).fetchall() == [(False,)]


def test_a_schema_migrated_by_a_newer_release_is_refused_even_with_auto_upgrade(
    conn: psycopg.Connection[Any], schema: str, database_url: str, tmp_path: Path
) -> None:
    upgrade(conn, schema)
    conn.execute(
        sql.SQL("INSERT INTO {} (version, name) VALUES (%s, 'a later release')").format(
            sql.Identifier(schema, "schema_version")
        ),
        (TARGET_VERSION + 1,),
    )

    with pytest.raises(SchemaAheadError):
        bootstrap(Settings(database_url=database_url, db_schema=schema, db_pool_size=1))
    done = caseledger(["db", "upgrade"], database_url, schema, tmp_path)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"caseledger: error: the database schema {schema!r} is at version {TARGET_VERSION + 1}, newer than "
        f"this release's {TARGET_VERSION}: run the release that migrated it (or a newer one)"
    ]


def _access() -> AccessRecord:
    return AccessRecord(
        actor_id="u1",
        role="claims_handler",
        kind=AccessKind.REVEAL,
        subject_id="cust-1",
        case_id=CASE,
        field="claimant_id_number",
        purpose="checking the claimant",
        request_id="req-1",
    )
