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


def test_a_clock_that_told_a_past_story_tells_real_time_when_it_follows_real_time() -> None:
    clock = ControlledClock(datetime.now(UTC) - timedelta(days=52))
    clock.advance(timedelta(days=50))

    clock.follow_real_time()
    before = datetime.now(UTC)
    told = clock.now()

    assert before <= told <= datetime.now(UTC)


def test_a_clock_following_real_time_never_tells_an_instant_before_the_story_ended() -> None:
    ahead = datetime.now(UTC) + timedelta(hours=1)
    clock = ControlledClock(ahead)

    clock.follow_real_time()

    assert clock.now() == ahead


def test_a_clock_following_real_time_is_no_longer_moved_by_hand() -> None:
    clock = ControlledClock(START)
    clock.follow_real_time()

    with pytest.raises(ValueError, match="follows real time"):
        clock.advance(timedelta(days=1))
    with pytest.raises(ValueError, match="follows real time"):
        clock.run(60.0)
