"""How often an idle consumer asks the broker for records: never while asleep, at once under load.

Two waits bound a consumer's latency. The fetch wait: Tansu answers a fetch only when it is over, records
or not, so under load it must be short (5 ms); real Kafka answers as soon as records are there and only
idle fetches wait. And FastStream's batch timeout: after an empty poll the subscriber sleeps that long.
Both short all the time made an idle ``caseledger up`` poll 200 times a second per group and burn about
half a core between caseledger and the broker; long waits while idle still kept the broker answering six
fetches a second. So each group paces itself:

- **busy** while batches arrive: the short waits.
- **asleep** once none came for ``idle_after_s``: its partitions are paused (aiokafka then sends no fetch
  at all) and FastStream's loop waits in one long ``getmany`` that returns only with records (below).
- **woken** by ``wake()``: the relay NOTIFYs after each batch the broker acknowledged (consumers/wakeup.py),
  so the group resumes with the short waits and normally gets its batch within milliseconds; if none
  comes within ``woken_for_s`` (another instance of the group owns those partitions) it sleeps again.
- **probing** every ``safety_poll_s`` while asleep: resumed with the long fetch wait for ``probe_s``, so a
  record that came without a wake (another producer, a NOTIFY lost while the database was away, a
  partition newly assigned while asleep) is read within about that period.

Pausing drops the records aiokafka fetched but did not hand out yet; their position did not move, so they
are fetched again on resume (nothing is lost). A wake while busy keeps the group awake at least
``woken_for_s`` more, so a batch whose NOTIFY came just before the group fell asleep is not left behind.

aiokafka reads its fetch wait from ``Fetcher._fetch_max_wait_ms`` for every fetch request it builds and
offers no public setter: this module is the one place that writes it (and the one that asks aiokafka's client
for a metadata refresh, ``rewind``). Pause and resume are public. Its
fetch routine's longest wait with nothing to do (``consumer_timeout_ms``, 200 ms) stays as it is: 2 s while
asleep would spare five wake-ups a second per group, but made the command → read model latency at 200
commands/s two to three times longer (p50 126 against 56 ms, measured back to back). Probably because the
routine sees a resume at once only if that partition was already paused when it began its wait (it waits on
the resume futures it collected then); a wake that resumes partitions paused during the wait is seen when
the wait times out.

FastStream's batch loop calls ``consumer.getmany(timeout_ms=batch_timeout_ms)`` and, when that comes back
empty, sleeps ``batch_timeout_ms`` before the next call. Asleep, a short timeout woke every group ten times
a second for an empty buffer, and a long one would leave the group deaf to a wake for that long whenever
the wake fell in the sleep. So the pacer wraps the consumer's ``getmany`` (``hold_idle_polls``): while
the group is not busy, one call waits up to ``idle_poll_ms`` and starts again instead of returning empty;
records (after a wake or a probe) end it at once, as aiokafka wakes a waiting ``getmany`` when a fetch
brings records. FastStream never gets an empty answer while asleep, so it never sleeps then.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)


class PacedSubscriber(Protocol):
    """FastStream's batch subscriber as far as pacing needs it."""

    batch_timeout_ms: int

    @property
    def consumer(self) -> Any: ...


@dataclass(frozen=True)
class Pace:
    busy_fetch_wait_ms: int = 5
    busy_batch_timeout_ms: int = 5
    idle_fetch_wait_ms: int = 500
    """The fetch wait of a probe (and before the first batch)."""
    idle_batch_timeout_ms: int = 100
    """How long FastStream's loop sleeps after an empty poll while asleep: a wake waits up to this."""
    idle_after_s: float = 5.0
    woken_for_s: float = 0.5
    safety_poll_s: float = 10.0
    probe_s: float = 0.75
    idle_poll_ms: int = 30_000
    """How long one ``getmany`` waits while the group is not busy, before it waits again."""


class State(enum.Enum):
    BUSY = "busy"
    ASLEEP = "asleep"
    WOKEN = "woken"
    PROBING = "probing"


class Pacer:
    """Switches one subscriber between fetching with short waits, sleeping, and being woken."""

    def __init__(self, subscriber: PacedSubscriber, pace: Pace | None = None) -> None:
        """The subscriber is built with the idle waits; it fetches with them until ``start`` or a batch."""
        self.subscriber = subscriber
        self.pace = pace or Pace()
        self.state = State.PROBING
        self._quiet: asyncio.TimerHandle | None = None
        self._probe: asyncio.TimerHandle | None = None
        self._rewinds: set[asyncio.Task[Any]] = set()

    @property
    def idle(self) -> bool:
        """Not fetching with the short waits."""
        return self.state in (State.ASLEEP, State.PROBING)

    def start(self) -> None:
        """Call once the consumer runs (in the event loop): it falls asleep after ``idle_after_s`` without
        a batch (a group catching up from the start of its topics gets its first batch long before)."""
        consumer = self.subscriber.consumer
        if consumer is not None:
            self.hold_idle_polls(consumer)
        self._quiet_in(self.pace.idle_after_s)

    def hold_idle_polls(self, consumer: Any) -> None:
        """Make ``consumer.getmany`` return only with records while the group is not busy."""
        getmany = consumer.getmany

        async def paced_getmany(*partitions: Any, timeout_ms: int = 0, max_records: int | None = None) -> Any:
            while True:
                idle = self.idle
                wait_ms = self.pace.idle_poll_ms if idle else timeout_ms
                records = await getmany(*partitions, timeout_ms=wait_ms, max_records=max_records)
                if records or not (idle and self.idle):
                    return records

        consumer.getmany = paced_getmany

    def batch_arrived(self) -> None:
        """Call on every batch (in the event loop): short waits now, asleep after a quiet spell."""
        self._cancel_probe()
        if self.state is not State.BUSY:
            self._awake(State.BUSY)
        self._quiet_in(self.pace.idle_after_s)

    def batch_recorded(self) -> None:
        """Call when a batch is recorded (in the event loop): the quiet spell counts from now. A batch that
        took longer than ``idle_after_s`` put the group to sleep while it ran, with records still to come."""
        self.batch_arrived()

    def wake(self) -> None:
        """Records were published for this group (in the event loop): fetch with the short waits now."""
        if self.state is State.BUSY:
            self._quiet_in(self.pace.woken_for_s, sooner=False)
            return
        self._cancel_probe()
        self._awake(State.WOKEN)
        self._quiet_in(self.pace.woken_for_s, sooner=False)

    def rewind(self, topic: str) -> None:
        """``topic`` was deleted and created again empty; the relay republishes it from the start.

        The broker dropped the group's committed offsets with the old topic, but this consumer still holds
        its positions in memory, and they mean nothing in the new topic: read from there, the first records
        of the republished history would be skipped. Its metadata may also still show the old topic's
        partitions, or none if it looked while the topic was gone, and aiokafka looks again only every
        ``metadata_max_age_ms`` (30 s here, 5 min by default): a refresh now makes it rejoin with the new
        partitions, whose positions start from the reset policy (earliest). Records read twice are
        duplicates to the groups.
        """
        consumer = self.subscriber.consumer
        if consumer is None:
            return
        # aiokafka's public API has no call that refreshes metadata now; ``topics()`` fetches a copy only.
        consumer._client.force_metadata_update()
        partitions = [tp for tp in consumer.assignment() if tp.topic == topic]
        if partitions:
            task = asyncio.get_running_loop().create_task(consumer.seek_to_beginning(*partitions))
            self._rewinds.add(task)
            task.add_done_callback(self._rewound)
        self.wake()

    def _rewound(self, task: asyncio.Task[Any]) -> None:
        self._rewinds.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # A rebalance took the partitions meanwhile: their new owner starts from the committed offsets,
            # which the broker dropped with the old topic, so it reads from the start anyway.
            log.info("rewind of a recreated topic skipped: %s", task.exception())

    def went_quiet(self) -> None:
        """No batch for a while: pause every assigned partition, and probe after ``safety_poll_s``."""
        self._quiet = None
        self.state = State.ASLEEP
        self._set(self.pace.idle_fetch_wait_ms, self.pace.idle_batch_timeout_ms)
        consumer = self.subscriber.consumer
        if consumer is not None:
            consumer.pause(*consumer.assignment())
        self._cancel_probe()
        self._probe = asyncio.get_running_loop().call_later(self.pace.safety_poll_s, self.probe)

    def probe(self) -> None:
        """Fetch once with the long wait: for records that came without a wake."""
        self._probe = None
        if self.state is not State.ASLEEP:
            return
        self.state = State.PROBING
        self._resume()
        self._quiet_in(self.pace.probe_s)

    def stop(self) -> None:
        for handle in (self._quiet, self._probe):
            if handle is not None:
                handle.cancel()
        self._quiet = self._probe = None

    def _awake(self, state: State) -> None:
        self.state = state
        self._set(self.pace.busy_fetch_wait_ms, self.pace.busy_batch_timeout_ms)
        self._resume()

    def _resume(self) -> None:
        consumer = self.subscriber.consumer
        if consumer is not None:
            consumer.resume(*consumer.paused())

    def _quiet_in(self, seconds: float, *, sooner: bool = True) -> None:
        """Fall asleep ``seconds`` from now (``sooner=False``: not before it would have anyway)."""
        loop = asyncio.get_running_loop()
        if self._quiet is not None:
            if not sooner and self._quiet.when() >= loop.time() + seconds:
                return
            self._quiet.cancel()
        self._quiet = loop.call_later(seconds, self.went_quiet)

    def _cancel_probe(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
            self._probe = None

    def _set(self, fetch_wait_ms: int, batch_timeout_ms: int) -> None:
        self.subscriber.batch_timeout_ms = batch_timeout_ms
        fetcher = getattr(self.subscriber.consumer, "_fetcher", None)
        if fetcher is not None:
            fetcher._fetch_max_wait_ms = fetch_wait_ms
