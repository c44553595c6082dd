"""How often an idle consumer asks the broker for records: rarely when nothing comes, at once under load.

Two waits bound a consumer's latency. The fetch wait: Tansu answers a fetch only when it is over, records
or not, so under load it must be short (5 ms); real Kafka answers as soon as records are there and only
idle fetches wait. And FastStream's batch timeout: after an empty poll the subscriber sleeps that long.
Both short all the time made an idle ``caseledger up`` poll 200 times a second per group and burn about
half a core between caseledger and the broker. So each group paces itself: the short waits while batches
arrive, the long ones once none came for ``idle_after_s``; the first batch after a quiet spell switches
back at once, so only that first batch can wait up to the idle fetch wait.

aiokafka reads its fetch wait from ``Fetcher._fetch_max_wait_ms`` for every fetch request it builds and
offers no public setter: this module is the one place that writes it (aiokafka is pinned below 0.13).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Protocol


class PacedSubscriber(Protocol):
    """FastStream's batch subscriber as far as pacing needs it."""

    batch_timeout_ms: int

    @property
    def consumer(self) -> Any: ...


@dataclass(frozen=True)
class Pace:
    busy_fetch_wait_ms: int = 5
    busy_batch_timeout_ms: int = 5
    idle_fetch_wait_ms: int = 250
    idle_batch_timeout_ms: int = 250
    idle_after_s: float = 5.0


class Pacer:
    """Switches one subscriber between its busy and its idle waits as batches come and stop coming."""

    def __init__(self, subscriber: PacedSubscriber, pace: Pace | None = None, *, idle: bool = False) -> None:
        """``idle``: the subscriber was built with the idle waits (nothing has come yet)."""
        self.subscriber = subscriber
        self.pace = pace or Pace()
        self.idle = idle
        self._quiet: asyncio.TimerHandle | None = None

    def batch_arrived(self) -> None:
        """Call on every batch (in the event loop): busy waits now, idle ones after a quiet spell."""
        if self.idle:
            self._set(self.pace.busy_fetch_wait_ms, self.pace.busy_batch_timeout_ms, idle=False)
        if self._quiet is not None:
            self._quiet.cancel()
        self._quiet = asyncio.get_running_loop().call_later(self.pace.idle_after_s, self.went_quiet)

    def went_quiet(self) -> None:
        self._quiet = None
        self._set(self.pace.idle_fetch_wait_ms, self.pace.idle_batch_timeout_ms, idle=True)

    def stop(self) -> None:
        if self._quiet is not None:
            self._quiet.cancel()
            self._quiet = None

    def _set(self, fetch_wait_ms: int, batch_timeout_ms: int, *, idle: bool) -> None:
        self.idle = idle
        self.subscriber.batch_timeout_ms = batch_timeout_ms
        fetcher = getattr(self.subscriber.consumer, "_fetcher", None)
        if fetcher is not None:
            fetcher._fetch_max_wait_ms = fetch_wait_ms
