"""A read model built in an older shape than the release declares is named, with the rebuild to run, until
it is rebuilt: by the projections group at start (in its log) and by `caseledger db status`."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from consumers.read_models import projection_handler
from consumers.rebuild import rebuild_projections, verify_projections
from infra.bootstrap import System
from projections.catalogue import ALL_PROJECTIONS
from projections.schema import read_schema
from projections.shapes import SHAPES_TABLE, stale_projections

pytestmark = [
    pytest.mark.integration,
    pytest.mark.isolated("records and alters the read models' shapes of its own read schema"),
]

ROOT = Path(__file__).resolve().parents[2]
REBUILD_COMPLAINTS = (
    "read model complaints: built in an older shape, run `caseledger projections rebuild complaints`"
)


def db_status(system: System, cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CASELEDGER_")}
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "db", "status"],
        cwd=cwd,
        env=clean
        | {
            "CASELEDGER_DATABASE_URL": system.database_url,
            "CASELEDGER_DB_SCHEMA": system.settings.db_schema,
            "CASELEDGER_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def built_in_an_older_shape(conn: psycopg.Connection[Any], system: System, projection: str) -> None:
    """As if the projection's rows had been built by a release that declared its tables otherwise."""
    conn.execute(
        sql.SQL("UPDATE {} SET shape = 'an-older-shape' WHERE projection = %s").format(
            sql.Identifier(read_schema(system.settings.db_schema), SHAPES_TABLE)
        ),
        (projection,),
    )


def test_read_models_created_by_the_group_are_in_this_releases_shape(system: System, tmp_path: Path) -> None:
    with system.database.connection() as conn:
        projection_handler(system, conn)
        assert stale_projections(conn, read_schema(system.settings.db_schema), ALL_PROJECTIONS) == []

    status = db_status(system, tmp_path)
    assert status.returncode == 0, status.stdout + status.stderr
    assert "read model" not in status.stdout


def test_a_read_model_built_in_an_older_shape_is_named_until_a_rebuild_records_the_new_one(
    system: System, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with system.database.connection() as conn:
        projection_handler(system, conn)
        built_in_an_older_shape(conn, system, "complaints")

        with caplog.at_level(logging.WARNING, logger="consumers.read_models"):
            projection_handler(system, conn)  # the group's next start
        assert [r.getMessage() for r in caplog.records if "older shape" in r.getMessage()] == [
            "read model complaints was built in an older shape than this release's: "
            "run `caseledger projections rebuild complaints`"
        ]
        status = db_status(system, tmp_path)
        assert status.returncode == 1
        assert REBUILD_COMPLAINTS in status.stdout.splitlines()

        verify_projections(system, ["complaints"], out=None)  # a verify swaps nothing in: still stale
        assert stale_projections(conn, read_schema(system.settings.db_schema), ALL_PROJECTIONS) == [
            "complaints"
        ]
        rebuild_projections(system, ["complaints"], out=None)

        assert stale_projections(conn, read_schema(system.settings.db_schema), ALL_PROJECTIONS) == []
    assert db_status(system, tmp_path).returncode == 0
