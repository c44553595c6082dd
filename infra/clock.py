"""The one clock: the server's time for every recorded event. Tests and demos control it."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from threading import Lock
from typing import Protocol


class Clock(Protocol):
    """Tells the server's time, always timezone-aware."""

    def now(self) -> datetime: ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ControlledClock:
    """A clock that moves only when told to (tests, replays, the demo story), or runs at a chosen rate."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self._now = start
        self._rate = 0.0
        self._anchor = time.monotonic()
        self._lock = Lock()

    def _current(self) -> datetime:
        if not self._rate:
            return self._now
        return self._now + timedelta(seconds=(time.monotonic() - self._anchor) * self._rate)

    def now(self) -> datetime:
        with self._lock:
            return self._current()

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by ``delta``."""
        with self._lock:
            self._now = self._current() + delta
            self._anchor = time.monotonic()
            return self._now

    def set(self, when: datetime) -> None:
        """Jump to ``when`` (never backwards: recorded times only grow)."""
        with self._lock:
            if when < self._current():
                raise ValueError("the clock never goes backwards")
            self._now = when
            self._anchor = time.monotonic()

    def run(self, rate: float) -> None:
        """From now on move by itself, ``rate`` times faster than real time (``up --demo --time-scale``)."""
        if rate < 0:
            raise ValueError("time does not run backwards")
        with self._lock:
            self._now = self._current()
            self._anchor = time.monotonic()
            self._rate = rate
