"""A consumer group polls often only while batches arrive, sleeps (no fetch) when quiet, and is woken."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import IllegalStateError

from consumers.pacing import Pace, Pacer, State
from consumers.wakeup import Pacers

PACE = Pace(
    busy_fetch_wait_ms=5,
    busy_batch_timeout_ms=5,
    idle_fetch_wait_ms=500,
    idle_batch_timeout_ms=100,
    idle_after_s=0.05,
    woken_for_s=0.03,
    safety_poll_s=0.1,
    probe_s=0.03,
    idle_poll_ms=20,
)


@dataclass
class Fetcher:
    _fetch_max_wait_ms: int


@dataclass
class Consumer:
    """aiokafka's consumer as far as pacing uses it: the fetch wait, and pausing its partitions."""

    _fetcher: Fetcher = field(default_factory=lambda: Fetcher(PACE.idle_fetch_wait_ms))
    assigned: set[str] = field(default_factory=lambda: {"t-0", "t-1"})
    paused_now: set[str] = field(default_factory=set)
    records: dict[str, list[int]] = field(default_factory=dict)
    polls: list[int] = field(default_factory=list)

    async def getmany(self, *partitions: str, timeout_ms: int = 0, max_records: int | None = None) -> Any:
        """Like aiokafka: what the fetches brought, else nothing once ``timeout_ms`` has passed."""
        self.polls.append(timeout_ms)
        deadline = asyncio.get_running_loop().time() + timeout_ms / 1000
        while not self.records and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.002)
        records, self.records = self.records, {}
        return records

    def assignment(self) -> set[str]:
        return set(self.assigned)

    def paused(self) -> set[str]:
        return set(self.paused_now)

    def pause(self, *partitions: str) -> None:
        self.paused_now |= set(partitions)

    def resume(self, *partitions: str) -> None:
        self.paused_now -= set(partitions)


@dataclass
class Subscriber:
    """The two attributes FastStream's batch subscriber and aiokafka's consumer read on every poll."""

    batch_timeout_ms: int = PACE.idle_batch_timeout_ms
    consumer: Consumer = field(default_factory=Consumer)


def waits(subscriber: Subscriber) -> tuple[int, int]:
    return subscriber.consumer._fetcher._fetch_max_wait_ms, subscriber.batch_timeout_ms


def fetching(subscriber: Subscriber) -> bool:
    return not subscriber.consumer.paused_now


def test_a_batch_switches_an_idle_group_to_the_short_waits_and_quiet_puts_it_to_sleep() -> None:
    async def scenario() -> list[tuple[int, int, bool]]:
        subscriber = Subscriber()
        pacer = Pacer(subscriber, Pace(idle_fetch_wait_ms=500, idle_after_s=0.2, safety_poll_s=5.0))
        seen = [(*waits(subscriber), fetching(subscriber))]
        pacer.batch_arrived()
        seen.append((*waits(subscriber), fetching(subscriber)))
        await asyncio.sleep(0.08)
        pacer.batch_arrived()  # still busy: the quiet spell starts again from here, to end at 0.28 s
        await asyncio.sleep(0.08)
        seen.append((*waits(subscriber), fetching(subscriber)))
        await asyncio.sleep(0.2)
        seen.append((*waits(subscriber), fetching(subscriber)))
        pacer.stop()
        return seen

    assert asyncio.run(scenario()) == [(500, 100, True), (5, 5, True), (5, 5, True), (500, 100, False)]


def test_an_asleep_group_fetches_nothing_until_woken_then_fetches_with_the_short_waits_at_once() -> None:
    async def scenario() -> tuple[State, bool, State, bool, tuple[int, int]]:
        subscriber = Subscriber()
        pacer = Pacer(subscriber, PACE)
        pacer.start()
        await asyncio.sleep(0.07)
        asleep = (pacer.state, fetching(subscriber))
        pacer.wake()
        woken = (pacer.state, fetching(subscriber), waits(subscriber))
        pacer.stop()
        return (*asleep, *woken)

    assert asyncio.run(scenario()) == (State.ASLEEP, False, State.WOKEN, True, (5, 5))


def test_a_wake_that_brings_no_batch_lets_the_group_sleep_again_soon() -> None:
    async def scenario() -> tuple[State, bool]:
        subscriber = Subscriber()
        pacer = Pacer(subscriber, PACE)
        pacer.went_quiet()
        pacer.wake()
        await asyncio.sleep(0.05)  # woken_for_s is 0.03: no batch came
        pacer.stop()
        return pacer.state, fetching(subscriber)

    assert asyncio.run(scenario()) == (State.ASLEEP, False)


def test_a_wake_just_before_the_group_falls_asleep_keeps_it_fetching_for_the_records_it_announced() -> None:
    async def scenario() -> list[bool]:
        subscriber = Subscriber()
        pacer = Pacer(subscriber, Pace(idle_after_s=0.12, woken_for_s=0.2, safety_poll_s=5.0))
        pacer.batch_arrived()
        await asyncio.sleep(0.08)
        pacer.wake()  # the quiet spell would end at 0.12 s; the wake keeps it busy until 0.28 s
        await asyncio.sleep(0.08)
        still = fetching(subscriber)
        await asyncio.sleep(0.2)
        pacer.stop()
        return [still, fetching(subscriber)]

    assert asyncio.run(scenario()) == [True, False]


def test_an_asleep_group_probes_the_broker_every_safety_poll_with_the_long_wait() -> None:
    async def scenario() -> list[tuple[State, bool, int]]:
        subscriber = Subscriber()
        pacer = Pacer(subscriber, Pace(safety_poll_s=0.2, probe_s=0.2))
        pacer.went_quiet()
        seen = [(pacer.state, fetching(subscriber), waits(subscriber)[0])]
        await asyncio.sleep(0.3)  # probing from 0.2 s to 0.4 s
        seen.append((pacer.state, fetching(subscriber), waits(subscriber)[0]))
        await asyncio.sleep(0.2)  # asleep again from 0.4 s to the next probe at 0.6 s
        seen.append((pacer.state, fetching(subscriber), waits(subscriber)[0]))
        pacer.stop()
        return seen

    assert asyncio.run(scenario()) == [
        (State.ASLEEP, False, 500),
        (State.PROBING, True, 500),
        (State.ASLEEP, False, 500),
    ]


def test_partitions_assigned_while_asleep_are_paused_when_the_probe_ends() -> None:
    async def scenario() -> tuple[set[str], set[str]]:
        subscriber = Subscriber()
        pacer = Pacer(subscriber, PACE)
        pacer.went_quiet()
        subscriber.consumer.assigned = {"t-2", "t-3"}  # a rebalance: new partitions are not paused
        subscriber.consumer.paused_now = set()
        before = subscriber.consumer.paused()
        pacer.probe()
        pacer.went_quiet()  # the probe brought no batch
        pacer.stop()
        return before, subscriber.consumer.paused()

    assert asyncio.run(scenario()) == (set(), {"t-2", "t-3"})


def test_a_group_that_is_stopped_leaves_no_timer_behind() -> None:
    async def scenario() -> tuple[int, int]:
        subscriber = Subscriber()
        pacer = Pacer(subscriber, PACE)
        pacer.batch_arrived()
        pacer.stop()
        await asyncio.sleep(0.08)
        return waits(subscriber)

    assert asyncio.run(scenario()) == (5, 5)


def test_a_subscriber_not_started_yet_only_gets_its_batch_timeout() -> None:
    async def scenario() -> int:
        subscriber = Subscriber(consumer=None)  # type: ignore[arg-type]
        pacer = Pacer(subscriber, PACE)
        pacer.batch_arrived()
        pacer.went_quiet()
        pacer.wake()
        pacer.stop()
        return subscriber.batch_timeout_ms

    assert asyncio.run(scenario()) == 5


def test_a_publish_wakes_only_the_groups_that_read_its_topic() -> None:
    async def scenario() -> tuple[State, State]:
        reads_claims, reads_policies = Pacer(Subscriber(), PACE), Pacer(Subscriber(), PACE)
        pacers = Pacers()
        pacers.add(reads_claims, ["cl.claim", "cl.complaint"])
        pacers.add(reads_policies, ["cl.policy"])
        for pacer in (reads_claims, reads_policies):
            pacer.went_quiet()
        pacers.published("cl.claim")
        states = reads_claims.state, reads_policies.state
        pacers.stop()
        return states

    assert asyncio.run(scenario()) == (State.WOKEN, State.ASLEEP)


def test_an_asleep_groups_poll_returns_only_with_records_so_faststream_never_sleeps_through_a_wake() -> None:
    async def scenario() -> tuple[bool, list[int], dict[str, list[int]]]:
        subscriber = Subscriber()
        pacer = Pacer(subscriber, PACE)
        pacer.start()
        pacer.went_quiet()
        poll = asyncio.create_task(subscriber.consumer.getmany(timeout_ms=5))
        await asyncio.sleep(0.1)  # five idle polls of 20 ms came back empty: none reached the caller
        still_waiting = not poll.done()
        pacer.wake()
        subscriber.consumer.records = {"t-0": [7]}
        got = await asyncio.wait_for(poll, 1.0)
        pacer.stop()
        return still_waiting, subscriber.consumer.polls, got

    still_waiting, polls, got = asyncio.run(scenario())
    assert still_waiting
    assert len(polls) >= 3
    assert set(polls) == {PACE.idle_poll_ms}
    assert got == {"t-0": [7]}


def test_a_busy_groups_poll_comes_back_empty_after_its_short_timeout() -> None:
    async def scenario() -> tuple[dict[str, list[int]], list[int]]:
        subscriber = Subscriber()
        pacer = Pacer(subscriber, PACE)
        pacer.start()
        pacer.batch_arrived()
        got = await asyncio.wait_for(subscriber.consumer.getmany(timeout_ms=5), 1.0)
        pacer.stop()
        return got, subscriber.consumer.polls

    assert asyncio.run(scenario()) == ({}, [5])


def test_a_batch_recorded_after_the_group_fell_asleep_during_it_wakes_the_group_again() -> None:
    async def scenario() -> tuple[State, bool, State, bool]:
        subscriber = Subscriber()
        pacer = Pacer(subscriber, PACE)
        pacer.batch_arrived()
        await asyncio.sleep(0.07)  # the batch runs past idle_after_s (0.05): asleep while it runs
        during = (pacer.state, fetching(subscriber))
        pacer.batch_recorded()
        after = (pacer.state, fetching(subscriber))
        pacer.stop()
        return (*during, *after)

    assert asyncio.run(scenario()) == (State.ASLEEP, False, State.BUSY, True)


@dataclass
class Client:
    refreshes: int = 0

    def force_metadata_update(self) -> None:
        self.refreshes += 1


@dataclass
class RebalancingConsumer(Consumer):
    """A consumer whose partitions a rebalance takes between the rewind's call and its seek."""

    _client: Client = field(default_factory=Client)

    def assignment(self) -> set[Any]:
        return {TopicPartition("t", 0)}

    async def seek_to_beginning(self, *partitions: Any) -> None:
        raise IllegalStateError("No partition assigned")  # what aiokafka raises for a revoked partition


def test_a_rewind_whose_partitions_a_rebalance_took_meanwhile_is_skipped_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    consumer = RebalancingConsumer()
    pacer = Pacer(Subscriber(consumer=consumer), PACE)

    async def scenario() -> None:
        pacer.rewind("t")
        await asyncio.sleep(0.01)
        pacer.stop()

    with caplog.at_level(logging.INFO, logger="consumers.pacing"):
        asyncio.run(scenario())

    assert consumer._client.refreshes == 1
    assert pacer.state is State.WOKEN
    assert not pacer._rewinds
    assert "rewind of a recreated topic skipped" in caplog.text
