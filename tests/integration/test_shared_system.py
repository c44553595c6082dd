"""The session's shared system: each test runs on its own clock and feeds its groups only its own events."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from cli.scenarios import a_policy, register_demo_seller, today
from infra.bootstrap import System
from infra.clock import ControlledClock
from infra.migrations import STEPS, status
from tests import feed
from tests.conftest import START

pytestmark = pytest.mark.integration


def test_the_shared_system_tells_the_time_of_the_tests_own_clock(
    system: System, clock: ControlledClock
) -> None:
    assert system.clock.now() == START
    clock.advance(timedelta(days=3))

    assert system.clock.now() == START + timedelta(days=3)


def test_the_shared_system_was_bootstrapped_through_the_migrations(system: System) -> None:
    with system.database.connection() as conn:
        found = status(conn, system.settings.db_schema)

    assert [step.version for step in found.applied] == [step.version for step in STEPS]
    assert found.pending == ()


def test_a_test_is_fed_only_the_events_stored_since_it_began(system: System, clock: ControlledClock) -> None:
    register_demo_seller(system, today(system))
    earlier = a_policy(system)
    feed.begin(system)  # as if the next policy were the first case of a test that begins now
    own = a_policy(system)

    fed = {UUID(str(n.originator_id)) for n in feed.stored_since_begin(system, system.policies)}

    assert fed == {own}
    assert earlier not in fed


@pytest.mark.isolated("proves that an isolated test's system is not the shared one")
def test_an_isolated_test_gets_a_schema_and_a_clock_of_its_own(
    system: System, clock: ControlledClock, shared_system: System
) -> None:
    assert system.settings.db_schema != shared_system.settings.db_schema
    assert system.clock is clock
