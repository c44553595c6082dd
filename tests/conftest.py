"""Fixtures shared by the tiers: a real PostgreSQL server and a system built on a schema of its own."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest

from infra.bootstrap import System, bootstrap
from infra.clock import ControlledClock
from infra.settings import Settings
from infra.store.database import Database
from infra.store.embedded import EmbeddedPostgres
from infra.store.eventstore import drop_schemas
from tests.kafka_fixtures import kafka_bootstrap  # noqa: F401 - a fixture, found by name

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """The configured PostgreSQL (CI: the machine's server) or, when none is configured, an embedded one."""
    configured = Settings().database_url
    if configured is not None:
        yield configured
        return
    server = EmbeddedPostgres(Path(".caseledger/test"))
    url = server.start()
    yield url
    server.stop()


@pytest.fixture
def schema(database_url: str) -> Iterator[str]:
    """A schema of this test's own, dropped afterwards, so tests never see each other's cases."""
    name = f"t_{uuid4().hex[:12]}"
    yield name
    drop_schemas(database_url, name)


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """A small pool of the test's own, for parts built without the whole system (a key store, say)."""
    built = Database(database_url, min_size=1, max_size=4)
    built.open()
    yield built
    built.close()


@pytest.fixture
def clock() -> ControlledClock:
    return ControlledClock(START)


@pytest.fixture
def system(database_url: str, schema: str, clock: ControlledClock) -> Iterator[System]:
    """The application services on a real PostgreSQL server, with a controlled clock."""
    settings = Settings(database_url=database_url, db_schema=schema, db_pool_size=2, db_max_overflow=4)
    built = bootstrap(settings, clock)
    yield built
    built.close()
