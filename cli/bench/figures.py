"""A benchmark figure: a measured rate and, where one was measured in the same run, its bare baseline."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
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


def nearest_rank_ms(ordered: Sequence[float], share: float, digits: int = 2) -> float:
    """The ``share`` percentile of sorted latencies in seconds, in ms: by nearest rank, a latency that some
    operation really had (0 when there is none)."""
    if not ordered:
        return 0.0
    return round(1000 * ordered[max(0, math.ceil(share * len(ordered)) - 1)], digits)


def figure_table(figures: Sequence[Figure], detail: Callable[[Figure], str | None]) -> str:
    """The figures as a table, a row each; ``detail`` may give a row a line of its own below it."""
    lines = [f"{'section':<12} {'measure':<46} {'ops':>8} {'ops/s':>10} {'ratio':>7}"]
    for f in figures:
        ratio = f"{f.ratio:.2f}x" if f.ratio is not None else "base"
        lines.append(f"{f.section:<12} {f.name:<46} {f.operations:>8} {f.per_second:>10.1f} {ratio:>7}")
        below = detail(f)
        if below is not None:
            lines.append(f"{'':<12}   {below}")
    return "\n".join(lines)
