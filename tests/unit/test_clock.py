"""The controlled clock: still unless told, or running at a rate for the demo."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from infra.clock import ControlledClock

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def test_controlled_clock_stands_still_until_it_is_advanced() -> None:
    clock = ControlledClock(START)

    time.sleep(0.01)

    assert clock.now() == START
    assert clock.advance(timedelta(days=1)) == START + timedelta(days=1)


def test_controlled_clock_refuses_to_go_backwards() -> None:
    clock = ControlledClock(START)

    with pytest.raises(ValueError, match="never goes backwards"):
        clock.set(START - timedelta(seconds=1))


def test_running_clock_moves_at_its_rate_and_can_still_be_advanced() -> None:
    clock = ControlledClock(START)
    clock.run(3600.0)  # one real second is an hour

    time.sleep(0.05)
    moved = clock.now() - START
    clock.advance(timedelta(days=1))

    assert timedelta(minutes=2) < moved < timedelta(hours=1)
    assert clock.now() - START >= timedelta(days=1) + moved
