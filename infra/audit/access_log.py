"""The personal-data access log (PIPL Arts. 45, 51): every full reveal and every export of a personal field.

One append-only table, ``<prefix>.personal_data_access``: who (actor and role), when (the server's time),
which data subject (customer id) and case, which field, the stated purpose and the request id. A trigger
refuses UPDATE, DELETE and TRUNCATE, and each row carries a hash chained to the previous row's (SHA-256
over the previous hash and the row's canonical JSON), so a row removed or altered by someone who can
bypass the trigger breaks ``verify``. Rows are written under an advisory transaction lock, so the chain is
one line however many API processes write.

A data subject's access history (PIPL Art. 45) is ``entries(subject=customer_id)``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
import psycopg
from psycopg import sql
from pydantic import BaseModel, ConfigDict, Field

from infra.store.database import Database

TABLE = "personal_data_access"
GENESIS = bytes(32)
_LOCK = "caseledger.audit.personal_data_access"


class AccessKind:
    REVEAL = "reveal"
    EXPORT = "export"


class AccessEntry(BaseModel):
    """One recorded access to a personal field."""

    model_config = ConfigDict(frozen=True)

    id: int
    at: datetime
    actor_id: str
    role: str
    kind: str = Field(description="reveal (shown in full to a reader) or export (written out in full)")
    subject_id: str = Field(description="The data subject: the customer id")
    case_id: UUID | None
    field: str
    purpose: str
    request_id: str
    chain_hash: str


class AccessRecord(BaseModel):
    """What is recorded of one access (the id, time and hash are the log's)."""

    model_config = ConfigDict(frozen=True)

    actor_id: str
    role: str
    kind: str
    subject_id: str
    case_id: UUID | None
    field: str
    purpose: str
    request_id: str


class AccessLog:
    """The personal-data access log of one deployment (base schema)."""

    def __init__(self, database: Database, base_schema: str) -> None:
        self._database = database
        self._schema = base_schema
        self._table = sql.Identifier(base_schema, TABLE)

    def record(self, records: Iterable[AccessRecord], at: datetime) -> list[int]:
        """Append ``records`` (one transaction, chained in order); their ids."""
        ids: list[int] = []
        with self._database.transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (_LOCK,))
            last = conn.execute(
                sql.SQL("SELECT chain_hash FROM {} ORDER BY id DESC LIMIT 1").format(self._table)
            ).fetchone()
            previous = bytes(last[0]) if last else GENESIS
            for record in records:
                chain = row_hash(previous, record, at)
                row = conn.execute(
                    sql.SQL(
                        "INSERT INTO {} (at, actor_id, role, kind, subject_id, case_id, field, purpose, "
                        "request_id, chain_hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id"
                    ).format(self._table),
                    (
                        at,
                        record.actor_id,
                        record.role,
                        record.kind,
                        record.subject_id,
                        record.case_id,
                        record.field,
                        record.purpose,
                        record.request_id,
                        chain,
                    ),
                ).fetchone()
                assert row is not None
                ids.append(int(row[0]))
                previous = chain
        return ids

    def entries(
        self,
        *,
        subject: str | None = None,
        actor: str | None = None,
        case_id: UUID | None = None,
        since: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[AccessEntry]:
        """Recorded accesses, oldest first, by data subject, actor, case and time."""
        conditions: list[sql.Composable] = []
        params: list[Any] = []
        for column, value, operator in (
            ("subject_id", subject, "="),
            ("actor_id", actor, "="),
            ("case_id", case_id, "="),
            ("at", since, ">="),
        ):
            if value is not None:
                conditions.append(sql.SQL("{} {} %s").format(sql.Identifier(column), sql.SQL(operator)))
                params.append(value)
        where = sql.SQL("WHERE ") + sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("")
        names = list(AccessEntry.model_fields)
        query = sql.SQL("SELECT {} FROM {} {} ORDER BY id LIMIT %s OFFSET %s").format(
            sql.SQL(", ").join(sql.Identifier(n) for n in names), self._table, where
        )
        try:
            with self._database.connection() as conn:
                rows = conn.execute(query, [*params, limit, offset]).fetchall()
        except psycopg.errors.UndefinedTable:
            return []
        return [
            AccessEntry.model_validate(
                {**dict(zip(names, row, strict=True)), "chain_hash": bytes(row[-1]).hex()}
            )
            for row in rows
        ]

    def verify(self) -> tuple[int, int | None]:
        """Recompute the chain: (rows checked, id of the first row whose hash does not match or None)."""
        try:
            with self._database.connection() as conn:
                rows = conn.execute(
                    sql.SQL(
                        "SELECT id, at, actor_id, role, kind, subject_id, case_id, field, purpose, "
                        "request_id, chain_hash FROM {} ORDER BY id"
                    ).format(self._table)
                ).fetchall()
        except psycopg.errors.UndefinedTable:
            return 0, None
        previous = GENESIS
        for row in rows:
            record = AccessRecord(
                actor_id=row[2],
                role=row[3],
                kind=row[4],
                subject_id=row[5],
                case_id=row[6],
                field=row[7],
                purpose=row[8],
                request_id=row[9],
            )
            if row_hash(previous, record, row[1]) != bytes(row[10]):
                return len(rows), int(row[0])
            previous = bytes(row[10])
        return len(rows), None


def row_hash(previous: bytes, record: AccessRecord, at: datetime) -> bytes:
    """SHA-256 of the previous row's hash and this row's canonical JSON (time to the microsecond, UTC)."""
    content = orjson.dumps(
        {**record.model_dump(mode="json"), "at": at.timestamp()}, option=orjson.OPT_SORT_KEYS
    )
    return hashlib.sha256(previous + content).digest()
