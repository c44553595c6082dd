"""A benchmark figure: a measured rate and, where one was measured in the same run, its bare baseline."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Figure:
    """One measured rate and its ratio to the bare baseline of the same run."""

    section: str
    name: str
    writers: int
    operations: int
    seconds: float
    per_second: float
    baseline_per_second: float | None = None

    @property
    def ratio(self) -> float | None:
        if not self.baseline_per_second:
            return None
        return self.per_second / self.baseline_per_second
