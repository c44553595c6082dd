"""The numbered steps of caseledger's own tables in the base schema (``<prefix>``), oldest first.

Each step is the DDL of one change, named for why it was made, and is never edited once released: a change
to a table is a new step at the end. ``{s}`` stands for the base schema. The event stores' tables are not
here (the ``eventsourcing`` library creates them, and ``infra.audit.chain`` adds their hash chain), nor are
the read models (``<prefix>_read``: disposable, rebuilt from the events by ``projections rebuild``).

Steps 1 to 7 replay what the releases before versioned migrations created at start with ``CREATE … IF NOT
EXISTS`` and ``ADD COLUMN IF NOT EXISTS``: they are written to be harmless on such a database (whatever
release made it), so that the first ``db upgrade`` adopts it. Later steps need not be: they only ever run
after step 7, in order, once.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    """One migration: its number, why it was made, and its statements (one transaction)."""

    version: int
    name: str
    statements: tuple[str, ...]


BASELINE_TABLES = (
    "seller_registrations",
    "subject_keys",
    "consumer_applied",
    "consumer_offsets",
    "dead_letters",
    "relay_positions",
    "api_idempotency",
    "sla_due",
)
"""The tables step 1 creates: finding any of them before it ran means the database predates migrations."""

STEPS: tuple[Step, ...] = (
    Step(
        1,
        "baseline: the tables of the first releases",
        (
            # Sellers' practice registrations (执业登记), the reference data a proposal is checked against.
            """CREATE TABLE IF NOT EXISTS {s}.seller_registrations (
                registration_no text PRIMARY KEY, seller_id text NOT NULL,
                valid_from date NOT NULL, valid_to date NOT NULL, authorised_products jsonb NOT NULL)""",
            # Each customer's data key, wrapped by the master key; erasing a customer destroys it.
            """CREATE TABLE IF NOT EXISTS {s}.subject_keys (
                customer_id text PRIMARY KEY,
                wrapped_key bytea,
                master_key_id text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                erased_at timestamptz, erased_by text, reason text,
                CHECK ((wrapped_key IS NULL) = (erased_at IS NOT NULL)))""",
            # The consumer groups' tracking: the last version applied per case, the last offset per partition.
            """CREATE TABLE IF NOT EXISTS {s}.consumer_applied (
                group_id text NOT NULL,
                context text NOT NULL,
                case_id uuid NOT NULL,
                last_version bigint NOT NULL,
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (group_id, context, case_id))""",
            """CREATE TABLE IF NOT EXISTS {s}.consumer_offsets (
                group_id text NOT NULL,
                topic text NOT NULL,
                partition integer NOT NULL,
                last_offset bigint NOT NULL,
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (group_id, topic, partition))""",
            """CREATE TABLE IF NOT EXISTS {s}.dead_letters (
                id bigserial PRIMARY KEY,
                group_id text NOT NULL,
                context text,
                case_id uuid,
                version bigint,
                topic text NOT NULL,
                partition integer NOT NULL,
                kafka_offset bigint NOT NULL,
                wire_name text,
                key bytea,
                headers jsonb NOT NULL,
                value bytea NOT NULL,
                error text,
                attempts integer NOT NULL DEFAULT 0,
                status text NOT NULL CHECK (status IN ('parked', 'held', 'retried', 'skipped')),
                parked_at timestamptz NOT NULL DEFAULT now(),
                resolved_at timestamptz,
                resolved_by text,
                resolution_reason text)""",
            # One open letter per case version: a redelivered message that is already held is not held twice.
            """CREATE UNIQUE INDEX IF NOT EXISTS dead_letters_open_version
                ON {s}.dead_letters (group_id, context, case_id, version)
                WHERE status IN ('parked', 'held')""",
            """CREATE UNIQUE INDEX IF NOT EXISTS dead_letters_open_unreadable
                ON {s}.dead_letters (group_id, topic, partition, kafka_offset)
                WHERE case_id IS NULL AND status IN ('parked', 'held')""",
            "CREATE INDEX IF NOT EXISTS dead_letters_by_status ON {s}.dead_letters (group_id, status)",
            # The relay's position in each context's notification log.
            """CREATE TABLE IF NOT EXISTS {s}.relay_positions (
                context text PRIMARY KEY,
                position bigint NOT NULL,
                updated_at timestamptz NOT NULL DEFAULT now())""",
            # The API's idempotency keys: the first answer to a key, given again to its repeats.
            """CREATE TABLE IF NOT EXISTS {s}.api_idempotency (
                key text NOT NULL,
                actor_id text NOT NULL,
                method text NOT NULL,
                path text NOT NULL,
                request_hash text NOT NULL,
                status integer,
                body jsonb,
                created_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (actor_id, key))""",
            # The SLA timers' due rows, which the scheduler acts on.
            """CREATE TABLE IF NOT EXISTS {s}.sla_due (
                timer_id uuid PRIMARY KEY,
                rule_id text NOT NULL,
                case_id uuid NOT NULL,
                case_context text NOT NULL,
                cycle bigint NOT NULL,
                state text NOT NULL,
                due_at timestamptz,
                warn_50_at timestamptz,
                warn_80_at timestamptz,
                next_fire_at timestamptz,
                next_action text,
                timer_version bigint NOT NULL,
                updated_at timestamptz NOT NULL DEFAULT now())""",
            """CREATE INDEX IF NOT EXISTS sla_due_next_fire
                ON {s}.sla_due (next_fire_at) WHERE next_fire_at IS NOT NULL""",
            "CREATE INDEX IF NOT EXISTS sla_due_by_rule_case ON {s}.sla_due (rule_id, case_id, cycle)",
        ),
    ),
    Step(
        2,
        "relay positions name the topic instance they belong to (a recreated topic is filled again)",
        ("ALTER TABLE {s}.relay_positions ADD COLUMN IF NOT EXISTS topic_id text",),
    ),
    Step(
        3,
        "idempotency keys are held by the request running them (a repeat waits; a dead one's is taken over)",
        (
            """ALTER TABLE {s}.api_idempotency ADD COLUMN IF NOT EXISTS hold_token uuid,
                ADD COLUMN IF NOT EXISTS held_since timestamptz NOT NULL DEFAULT now()""",
        ),
    ),
    Step(
        4,
        "sla_due keeps the case a callback's clock serves and when a breach was recorded (on-time rate)",
        (
            """ALTER TABLE {s}.sla_due ADD COLUMN IF NOT EXISTS source_case_id uuid,
                ADD COLUMN IF NOT EXISTS breached_at timestamptz""",
        ),
    ),
    Step(
        5,
        "sla_due marks a deadline resting on a year whose holiday notice is not out yet (provisional)",
        ("ALTER TABLE {s}.sla_due ADD COLUMN IF NOT EXISTS provisional boolean NOT NULL DEFAULT false",),
    ),
    Step(
        6,
        "the staff console's server-side sessions",
        (
            """CREATE TABLE IF NOT EXISTS {s}.console_sessions (
                id_digest bytea PRIMARY KEY,
                actor_id text NOT NULL,
                actor_role text NOT NULL,
                csrf_token text NOT NULL,
                opened_at timestamptz NOT NULL,
                expires_at timestamptz NOT NULL,
                ended_at timestamptz)""",
        ),
    ),
    Step(
        7,
        "the personal-data access log, chained and append-only",
        (
            """CREATE TABLE IF NOT EXISTS {s}.personal_data_access (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                at timestamptz NOT NULL,
                actor_id text NOT NULL,
                role text NOT NULL,
                kind text NOT NULL,
                subject_id text NOT NULL,
                case_id uuid,
                field text NOT NULL,
                purpose text NOT NULL,
                request_id text NOT NULL,
                chain_hash bytea NOT NULL)""",
            """CREATE INDEX IF NOT EXISTS personal_data_access_subject
                ON {s}.personal_data_access (subject_id, id)""",
            """CREATE OR REPLACE FUNCTION {s}.personal_data_access_append_only() RETURNS trigger
                LANGUAGE plpgsql AS $$ BEGIN
                RAISE EXCEPTION 'the personal-data access log is append-only'; END $$""",
            "DROP TRIGGER IF EXISTS personal_data_access_no_change ON {s}.personal_data_access",
            """CREATE TRIGGER personal_data_access_no_change BEFORE UPDATE OR DELETE
                ON {s}.personal_data_access FOR EACH ROW
                EXECUTE FUNCTION {s}.personal_data_access_append_only()""",
            "DROP TRIGGER IF EXISTS personal_data_access_no_truncate ON {s}.personal_data_access",
            """CREATE TRIGGER personal_data_access_no_truncate BEFORE TRUNCATE
                ON {s}.personal_data_access FOR EACH STATEMENT
                EXECUTE FUNCTION {s}.personal_data_access_append_only()""",
        ),
    ),
)
