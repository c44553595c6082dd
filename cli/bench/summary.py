"""Issue #17's table at the end of a `caseledger bench` run: each row's figure beside its baseline of the run.

The rows are the issue's, in its order. Each reads the figures its section produced (by section and name, as
the sections export them); a row whose section did not run (``--only``) or produced no such figure says
"not run". A quick run's sizes are smaller than the issue's (fewer timers due at once, fewer events): its
verdicts show the trend, the full run's are the issue's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cli.bench.figures import Figure

# The sections' names of their figures. Written out rather than imported: importing a section's module loads
# its database, broker and HTTP libraries, and the sections' tests pin these same names.
WRITE_SECTION, SERVICE = "write path", "Complaints: lodge a complaint, 1 event/tx"
API_WRITE, HTTP_LODGE = "api write", "HTTP POST /complaints + Idempotency-Key, 1 event"
API_QUERY, HTTP_CASE = "api query", "HTTP GET /complaints/{id}"
BARE_SELECT = "bare psycopg SELECT complaint row by key"
LATENCY, ONE_PROCESS_200 = "latency", "commands at 200/s, relay + projections as `up`'s children"
SCALE_OUT_200 = "commands at 200/s, relay + consumer processes"
TIMERS, ONE_SCHEDULER = "timers", "scheduler process: TimerBreached via Timers, 200/tx"
RELAY, RELAY_PUBLISH = "relay", "relay: store → Kafka, from position 0"
REBUILD, REBUILD_ALL = "rebuild", "rebuild_projections (all projections)"
HELD, HELD_LOAD = "held", "held load over HTTP: keyed POST /complaints"

NOT_RUN = "not run"


@dataclass(frozen=True)
class SummaryRow:
    """One row of issue #17's table as measured in this run."""

    path: str
    measured: str
    baseline: str
    ratio: str
    goal: str
    verdict: str
    """``met``, ``missed`` or ``not run``."""


@dataclass(frozen=True)
class _Row:
    path: str
    goal: str
    read: Callable[[Sequence[Figure]], SummaryRow | None]


def _find(figures: Sequence[Figure], section: str, name: str, writers: int | None = None) -> Figure | None:
    return next(
        (
            f
            for f in figures
            if f.section == section and f.name == name and (writers is None or f.writers == writers)
        ),
        None,
    )


def _number(value: float, unit: str) -> str:
    space = "" if unit.startswith("/") else " "
    return f"{value:,.0f}{space}{unit}" if value >= 100 else f"{value:,.2f}{space}{unit}"


def _verdict(met: bool) -> str:
    return "met" if met else "missed"


def _extra(figure: Figure, name: str) -> Any:
    """A field of a section's own figure type (percentiles): None on a plain figure."""
    return getattr(figure, name, None)


def _rate_ratio(path: str, goal: str, section: str, name: str, writers: int | None, least: float) -> _Row:
    """A rate beside its baseline rate; the goal is a least ratio."""

    def read(figures: Sequence[Figure]) -> SummaryRow | None:
        f = _find(figures, section, name, writers)
        if f is None or f.ratio is None or f.baseline_per_second is None:
            return None
        return SummaryRow(
            path,
            _number(f.per_second, "/s"),
            _number(f.baseline_per_second, "/s"),
            f"{f.ratio:.2f}x",
            goal,
            _verdict(f.ratio >= least),
        )

    return _Row(path, goal, read)


def _query_p50(figures: Sequence[Figure]) -> SummaryRow | None:
    measured, bare = _find(figures, API_QUERY, HTTP_CASE), _find(figures, API_QUERY, BARE_SELECT)
    if measured is None or bare is None:
        return None
    p50, bare_p50 = _extra(measured, "p50_ms"), _extra(bare, "p50_ms")
    if p50 is None or not bare_p50:
        return None
    return SummaryRow(
        ROWS_BY_PATH["get"],
        f"p50 {p50:.2f} ms",
        f"SELECT p50 {bare_p50:.2f} ms",
        f"{p50 / bare_p50:.1f}x slower",
        "≤ 1 ms p50",
        _verdict(p50 <= 1.0),
    )


def _latency_p99(figures: Sequence[Figure]) -> SummaryRow | None:
    one, scale_out = _find(figures, LATENCY, ONE_PROCESS_200), _find(figures, LATENCY, SCALE_OUT_200)
    if one is None:
        return None
    p99 = _extra(one, "p99_ms")
    if p99 is None:
        return None
    unapplied = _extra(one, "unresolved") or 0
    base_p99 = _extra(scale_out, "p99_ms") if scale_out is not None else None
    return SummaryRow(
        ROWS_BY_PATH["up"],
        f"p99 {p99:,.0f} ms" + (f" ({unapplied} never applied)" if unapplied else ""),
        f"scale-out p99 {base_p99:,.0f} ms" if base_p99 is not None else NOT_RUN,
        f"{p99 / base_p99:.1f}x" if base_p99 else "-",
        "≤ 100 ms",
        _verdict(p99 <= 100.0 and not unapplied),
    )


def _timers_p99(figures: Sequence[Figure]) -> SummaryRow | None:
    f = _find(figures, TIMERS, ONE_SCHEDULER)
    p99 = _extra(f, "p99_ms") if f is not None else None
    if f is None or p99 is None:
        return None
    # Beside the least time the burst's CPU (the scheduler's and the server's) takes on the machine's cores.
    cpu = _extra(f, "burst_cpu")
    floor_s = getattr(cpu, "floor_s", None)
    return SummaryRow(
        ROWS_BY_PATH["timers"],
        f"p99 {p99:,.0f} ms ({f.operations:,} due)",
        f"CPU floor {floor_s * 1000:,.0f} ms" if floor_s else "-",
        f"{p99 / (floor_s * 1000):.1f}x" if floor_s else "-",
        "< 0.5 s",
        _verdict(p99 < 500.0),
    )


def _rebuild(figures: Sequence[Figure]) -> SummaryRow | None:
    f = _find(figures, REBUILD, REBUILD_ALL)
    if f is None or f.ratio is None or f.baseline_per_second is None:
        return None
    return SummaryRow(
        ROWS_BY_PATH["rebuild"],
        _number(f.per_second, "events/s"),
        f"SELECT {_number(f.baseline_per_second, '/s')}",
        f"{f.ratio:.2f}x",
        "≥ 50k events/s",
        _verdict(f.per_second >= 50_000),
    )


def _held(figures: Sequence[Figure]) -> SummaryRow | None:
    f = _find(figures, HELD, HELD_LOAD)
    if f is None or f.ratio is None or f.baseline_per_second is None:
        return None
    return SummaryRow(
        ROWS_BY_PATH["held"],
        _number(f.per_second, "commands/s"),
        f"INSERT {_number(f.baseline_per_second, '/s')}",
        f"{f.ratio:.2f}x",
        "≥ 500 commands/s",
        _verdict(f.per_second >= 500.0),
    )


ROWS_BY_PATH = {
    "get": "HTTP GET /complaints/{id}, p50",
    "up": "up (relay and consumers as its children), 200 commands/s, command → read model p99",
    "timers": "timers, 1 scheduler, due at once, breach lateness p99",
    "rebuild": "rebuild",
    "held": "held load over HTTP (p99 < 1 s, no errors)",
}

ROWS: tuple[_Row, ...] = (
    _rate_ratio("service write, 1 writer", "≥ 0.9x", WRITE_SECTION, SERVICE, 1, 0.9),
    _rate_ratio("service write, 8 writers", "≥ 0.7x", WRITE_SECTION, SERVICE, 8, 0.7),
    _rate_ratio(
        "HTTP POST /complaints + Idempotency-Key, 8 clients", "≥ 0.25x", API_WRITE, HTTP_LODGE, None, 0.25
    ),
    _Row(ROWS_BY_PATH["get"], "≤ 1 ms p50", _query_p50),
    _Row(ROWS_BY_PATH["up"], "≤ 100 ms", _latency_p99),
    _Row(ROWS_BY_PATH["timers"], "< 0.5 s", _timers_p99),
    _rate_ratio("relay", "≥ 0.8x", RELAY, RELAY_PUBLISH, None, 0.8),
    _Row(ROWS_BY_PATH["rebuild"], "≥ 50k events/s", _rebuild),
    _Row(ROWS_BY_PATH["held"], "≥ 500 commands/s", _held),
)
"""Issue #17's rows, in its order."""


def issue17_rows(figures: Sequence[Figure]) -> list[SummaryRow]:
    """Every row of issue #17's table from this run's figures; "not run" where a row's figures are missing."""
    return [row.read(figures) or SummaryRow(row.path, NOT_RUN, "-", "-", row.goal, NOT_RUN) for row in ROWS]


def issue17_table(rows: Sequence[SummaryRow]) -> str:
    """The rows as a text table headed "issue #17"."""
    widths = [62, 30, 24, 14, 18, 7]
    header = ("path", "measured", "baseline (same run)", "ratio", "goal", "")
    lines = ["issue #17", _line(header, widths)]
    lines += [_line((r.path, r.measured, r.baseline, r.ratio, r.goal, r.verdict), widths) for r in rows]
    return "\n".join(lines)


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    return " ".join(f"{cell:<{width}}" for cell, width in zip(cells, widths, strict=True)).rstrip()
