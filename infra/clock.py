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
    """A clock that moves only when told to (tests, replays, the demo story), or runs at a chosen rate;
    once told to follow real time (the story is over), it is the machine's clock."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self._now = start
        self._rate = 0.0
        self._anchor = time.monotonic()
        self._lock = Lock()
        self._real = False

    def _current(self) -> datetime:
        if self._real:
            # Never behind what it told last: a story that ran ahead of today waits for today.
            return max(datetime.now(UTC), self._now)
        if not self._rate:
            return self._now
        return self._now + timedelta(seconds=(time.monotonic() - self._anchor) * self._rate)

    def _require_controlled(self) -> None:
        if self._real:
            raise ValueError("the clock follows real time: it is no longer moved by hand")

    def follow_real_time(self) -> None:
        """From now on tell the machine's time, never earlier than the instant told last.

        Why: the demo tells its story on a clock started weeks back; what the running system records after
        it happens now, so that a command's "now" is not refused as in the future, and a deadline is
        breached when it really passes, not frozen at the story's end.
        """
        with self._lock:
            self._now = self._current()
            self._real = True

    def now(self) -> datetime:
        with self._lock:
            return self._current()

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by ``delta``."""
        with self._lock:
            self._require_controlled()
            self._now = self._current() + delta
            self._anchor = time.monotonic()
            return self._now

    def set(self, when: datetime) -> None:
        """Jump to ``when`` (never backwards: recorded times only grow)."""
        with self._lock:
            self._require_controlled()
            if when < self._current():
                raise ValueError("the clock never goes backwards")
            self._now = when
            self._anchor = time.monotonic()

    def run(self, rate: float) -> None:
        """From now on move by itself, ``rate`` times faster than real time (``up --demo --time-scale``)."""
        if rate < 0:
            raise ValueError("time does not run backwards")
        with self._lock:
            self._require_controlled()
            self._now = self._current()
            self._anchor = time.monotonic()
            self._rate = rate
