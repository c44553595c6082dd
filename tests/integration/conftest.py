"""Fixtures the integration modules share."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing

import pytest

from consumers.timers import TIMERS_GROUP, timers_handler
from infra.bootstrap import System
from tests.feed import Group


@pytest.fixture
def timers_group(system: System) -> Iterator[Group]:
    """The ``timers`` group on ``system.timers``, fed every case context's events (no broker)."""
    cases = (system.policies, system.claims, system.complaints, system.callbacks)
    with closing(Group(system, TIMERS_GROUP, timers_handler, cases)) as group:
        yield group
