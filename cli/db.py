"""`caseledger db status | upgrade`: the version of caseledger's own tables and the steps that bring it up.

Neither command builds the system (the composition root would upgrade or refuse on its own): each opens one
connection to the configured PostgreSQL (checked first, as every command does) or starts the embedded one.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from cli.system import CONNECT_TIMEOUT_S, check_database
from cli.tables import print_table
from infra.migrations import SchemaAheadError, status, upgrade
from infra.settings import Settings
from infra.store.database import ProcessKind
from infra.store.embedded import EmbeddedPostgres
from projections.catalogue import ALL_PROJECTIONS
from projections.schema import read_schema
from projections.shapes import stale_projections


def db_status(_: argparse.Namespace) -> int:
    """`caseledger db status`: exit 0 when up to date, 1 when steps are pending or a read model needs a
    rebuild (for scripts)."""
    settings = Settings()
    with _connection(settings) as conn:
        found = status(conn, settings.db_schema)
        stale = _stale_read_models(conn, settings)
    print_table(
        ("version", "step", "applied at"),
        [
            (
                str(s.version),
                s.name + (" (adopted)" if s.adopted else ""),
                f"{s.applied_at:%Y-%m-%d %H:%M:%S %Z}",
            )
            for s in found.applied
        ]
        + [(str(s.version), s.name, "pending") for s in found.pending],
    )
    if found.current > found.target:
        raise SchemaAheadError(found.schema, found.current, found.target)
    print(
        f"schema {found.schema}: version {found.current}, this release's {found.target}, "
        + (
            f"{len(found.pending)} step(s) pending: run `caseledger db upgrade`"
            if found.pending
            else "up to date"
        )
    )
    _print_stale(stale)
    return 1 if found.pending or stale else 0


def db_upgrade(_: argparse.Namespace) -> int:
    """`caseledger db upgrade`: apply the pending steps, each in its own transaction."""
    settings = Settings()
    with _connection(settings) as conn:
        applied = upgrade(conn, settings.db_schema)
        now = status(conn, settings.db_schema)
        stale = _stale_read_models(conn, settings)
    for step in applied:
        print(f"applied {step.version}: {step.name}")
    print(f"schema {now.schema}: version {now.current}" + ("" if applied else " already, nothing to do"))
    _print_stale(stale)
    return 0


def _stale_read_models(conn: psycopg.Connection[Any], settings: Settings) -> list[str]:
    return stale_projections(conn, read_schema(settings.db_schema), ALL_PROJECTIONS)


def _print_stale(stale: list[str]) -> None:
    for name in stale:
        print(f"read model {name}: built in an older shape, run `caseledger projections rebuild {name}`")


@contextmanager
def _connection(settings: Settings) -> Iterator[psycopg.Connection[Any]]:
    embedded: EmbeddedPostgres | None = None
    url = settings.database_url
    if url is None:
        embedded = EmbeddedPostgres(settings.data_dir)
        url = embedded.start()
    else:
        check_database(url)
    try:
        with psycopg.connect(
            url, autocommit=True, application_name=ProcessKind.CLI.value, connect_timeout=CONNECT_TIMEOUT_S
        ) as conn:
            yield conn
    finally:
        if embedded is not None:
            embedded.stop()
