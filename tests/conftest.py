"""Fixtures shared by the tiers: a real PostgreSQL server, and the system the tests run their cases on.

Every test gets ``system`` and ``clock``. In the integration and API tiers that system is by default the
session's one, bootstrapped once on one schema (``shared_system``): a test creates its cases under fresh
ids (``uuid4``; business numbers are derived from them) and reads back only its own cases, so tests never
see each other's, and the suite does not pay a bootstrap per test. Its clock is the running test's: each
test gets a ``ControlledClock`` of its own at ``START``, and the shared system tells that one's time
(``SharedClock``), so time may go back between tests but never inside one (each test's aggregates are
new).

A test that needs a store of its own (it counts whole tables, rebuilds or drops read models, runs the
processes or a broker's consumers over everything stored, changes settings, counts connections …) says so
with ``@pytest.mark.isolated("why")``: it then gets a schema and a system of its own, dropped afterwards, as
every test did before, and so does a test of the other tiers or one that takes ``schema`` without
``system`` (it builds what runs there itself). ``pytest -m isolated --collect-only -q`` lists the marked.
"""

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
from tests import feed
from tests.kafka_fixtures import kafka_bootstrap  # noqa: F401 - a fixture, found by name

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """An isolated test states why: the reason is what tells the next reader it may not share."""
    for item in items:
        marker = item.get_closest_marker("isolated")
        if marker is not None and not (marker.args and isinstance(marker.args[0], str) and marker.args[0]):
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.isolated needs its reason, as a string")


SHARING_TIERS = ("integration", "api")
"""The tiers whose tests run on the shared system; the others (e2e, browser) start processes of their own."""


def is_isolated(request: pytest.FixtureRequest) -> bool:
    """Whether the test gets a schema (and a system) of its own rather than the shared one."""
    if request.node.get_closest_marker("isolated") is not None:
        return True
    tier = Path(str(request.node.path)).parent.name
    # A test that takes a schema but no system builds what runs in it itself: it gets a fresh one.
    return tier not in SHARING_TIERS or "system" not in request.fixturenames


class SharedClock:
    """The shared system's clock: it tells the time of the running test's own ``ControlledClock``."""

    def __init__(self) -> None:
        self.current = ControlledClock(START)

    def now(self) -> datetime:
        return self.current.now()


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


@pytest.fixture(scope="session")
def shared_clock() -> SharedClock:
    return SharedClock()


@pytest.fixture(scope="session")
def shared_system(database_url: str, shared_clock: SharedClock) -> Iterator[System]:
    """The application services on a real PostgreSQL server, bootstrapped once for the session's tests."""
    name = f"t_{uuid4().hex[:12]}"
    settings = Settings(database_url=database_url, db_schema=name, db_pool_size=2, db_max_overflow=4)
    built = bootstrap(settings, shared_clock)
    yield built
    built.close()
    drop_schemas(database_url, name)


@pytest.fixture
def schema(request: pytest.FixtureRequest, database_url: str) -> Iterator[str]:
    """The schema the test's system lives in: the shared one, or for an isolated test one of its own,
    dropped afterwards."""
    if not is_isolated(request):
        shared: System = request.getfixturevalue("shared_system")
        yield shared.settings.db_schema
        return
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
def clock(request: pytest.FixtureRequest) -> ControlledClock:
    """The test's own clock at ``START``; a shared system tells its time while the test runs."""
    own = ControlledClock(START)
    if not is_isolated(request):
        shared: SharedClock = request.getfixturevalue("shared_clock")
        shared.current = own
    return own


@pytest.fixture
def system(
    request: pytest.FixtureRequest, database_url: str, schema: str, clock: ControlledClock
) -> Iterator[System]:
    """The application services on a real PostgreSQL server, with the test's controlled clock."""
    if not is_isolated(request):
        shared: System = request.getfixturevalue("shared_system")
        # What the test feeds its consumer groups without a broker starts at its own first event.
        feed.begin(shared)
        yield shared
        return
    settings = Settings(database_url=database_url, db_schema=schema, db_pool_size=2, db_max_overflow=4)
    built = bootstrap(settings, clock)
    yield built
    built.close()
