"""A consumer group polls often only while batches arrive, and goes back to the long waits when quiet."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from consumers.pacing import Pace, Pacer

PACE = Pace(
    busy_fetch_wait_ms=5,
    busy_batch_timeout_ms=5,
    idle_fetch_wait_ms=500,
    idle_batch_timeout_ms=250,
    idle_after_s=0.05,
)


@dataclass
class Fetcher:
    _fetch_max_wait_ms: int


@dataclass
class Consumer:
    _fetcher: Fetcher = field(default_factory=lambda: Fetcher(PACE.idle_fetch_wait_ms))


@dataclass
class Subscriber:
    """The two attributes FastStream's batch subscriber and aiokafka's consumer read on every poll."""

    batch_timeout_ms: int = PACE.idle_batch_timeout_ms
    consumer: Consumer = field(default_factory=Consumer)


def waits(subscriber: Subscriber) -> tuple[int, int]:
    return subscriber.consumer._fetcher._fetch_max_wait_ms, subscriber.batch_timeout_ms


def test_a_batch_switches_an_idle_group_to_the_short_waits_and_quiet_switches_it_back() -> None:
    async def scenario() -> list[tuple[int, int]]:
        subscriber = Subscriber()
        pacer = Pacer(subscriber, PACE, idle=True)
        seen = [waits(subscriber)]
        pacer.batch_arrived()
        seen.append(waits(subscriber))
        await asyncio.sleep(0.02)
        pacer.batch_arrived()  # still busy: the quiet spell starts again from here
        await asyncio.sleep(0.04)
        seen.append(waits(subscriber))
        await asyncio.sleep(0.05)
        seen.append(waits(subscriber))
        return seen

    assert asyncio.run(scenario()) == [(500, 250), (5, 5), (5, 5), (500, 250)]


def test_a_group_that_is_stopped_leaves_no_timer_behind() -> None:
    async def scenario() -> tuple[int, int]:
        subscriber = Subscriber()
        pacer = Pacer(subscriber, PACE, idle=True)
        pacer.batch_arrived()
        pacer.stop()
        await asyncio.sleep(0.08)
        return waits(subscriber)

    assert asyncio.run(scenario()) == (5, 5)


def test_a_subscriber_not_started_yet_only_gets_its_batch_timeout() -> None:
    async def scenario() -> int:
        subscriber = Subscriber(consumer=None)  # type: ignore[arg-type]
        Pacer(subscriber, PACE, idle=True).batch_arrived()
        return subscriber.batch_timeout_ms

    assert asyncio.run(scenario()) == 5
