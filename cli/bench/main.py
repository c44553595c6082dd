"""`caseledger bench`: every section measures its figures beside a bare baseline of the same run.

Machines here are noisy, so every figure is reported as a ratio to a bare baseline measured in the same run
on the same server. Each section lives in its own module; this one lists them and writes the results.

The command line reads ``SECTIONS`` to build its ``--only`` choices, so this module imports no section at its
top: each section's module (and its database, broker or HTTP client library) loads when the section runs.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cli.bench.figures import Figure
    from infra.settings import Settings


def bench_write(settings: Settings, quick: bool) -> list[Figure]:
    """1 and 8 writers of a one-event command, beside the bare INSERT, in rounds (``cli.bench.write``)."""
    from cli.bench.write import bench_write_path

    return bench_write_path(settings, quick)


def bench_pipeline(settings: Settings, quick: bool) -> list[Figure]:
    """Relay, projections, command-to-read-model latency and rebuild (``cli.bench.pipeline``)."""
    from cli.bench.pipeline import pipeline_table, run_pipeline_bench

    figures = run_pipeline_bench(settings, quick, out=sys.stderr)
    print(pipeline_table(figures))
    return figures


def bench_rebuild(settings: Settings, quick: bool) -> list[Figure]:
    """The pipeline section's rebuild rows alone, beside the bare SELECT (``cli.bench.pipeline``)."""
    from cli.bench.pipeline import pipeline_table, run_rebuild_bench

    figures = run_rebuild_bench(settings, quick, out=sys.stderr)
    print(pipeline_table(figures))
    return figures


def bench_projection_rows(settings: Settings, quick: bool) -> list[Figure]:
    """The pipeline section's projection rows alone, beside the raw upsert (``cli.bench.pipeline``)."""
    from cli.bench.pipeline import pipeline_table, run_projection_bench

    figures = run_projection_bench(settings, quick, out=sys.stderr)
    print(pipeline_table(figures))
    return figures


def bench_relay_rows(settings: Settings, quick: bool) -> list[Figure]:
    """The pipeline section's relay rows alone, beside the raw aiokafka produce (``cli.bench.pipeline``)."""
    from cli.bench.pipeline import pipeline_table, run_relay_bench

    figures = run_relay_bench(settings, quick, out=sys.stderr)
    print(pipeline_table(figures))
    return figures


def bench_latency_rows(settings: Settings, quick: bool) -> list[Figure]:
    """The pipeline section's command → read-model latency rows alone (``cli.bench.pipeline``)."""
    from cli.bench.pipeline import pipeline_table, run_latency_bench

    figures = run_latency_bench(settings, quick, out=sys.stderr)
    print(pipeline_table(figures))
    return figures


def bench_audit(settings: Settings, quick: bool) -> list[Figure]:
    """Audit export and chain verification over many events, beside a bare SELECT (``cli.bench.audit``)."""
    from cli.bench.audit import audit_table, run_audit_bench

    figures = run_audit_bench(settings, quick)
    print(audit_table(figures))
    return figures


def bench_api(settings: Settings, quick: bool) -> list[Figure]:
    """Commands over HTTP with 8 clients and query latency on 100,000 cases (``cli.bench.api``)."""
    # httpx, its client, is in the `bench` extra: a missing one is reported as such by cli.errors.
    from cli.bench.api import api_table, run_api_bench

    figures = run_api_bench(settings, quick)
    print(api_table(figures))
    return figures


def bench_timers(settings: Settings, quick: bool) -> list[Figure]:
    """The timer scheduler and due-row queries on many timers, with its own table (``cli.bench.timers``)."""
    from cli.bench.timers import bench_timers as run_timers_section

    return run_timers_section(settings, quick)


def bench_idle(settings: Settings, quick: bool) -> list[Figure]:
    """CPU share of an idle `up` and its broker, beside the bare broker alone (``cli.bench.idle``)."""
    from cli.bench.idle import bench_idle as run_idle_section

    return run_idle_section(settings, quick)


def bench_held(settings: Settings, quick: bool) -> list[Figure]:
    """Keyed commands over HTTP at rising rates against the scale-out processes (``cli.bench.held``)."""
    from cli.bench.held import held_table, run_held_bench

    figures = run_held_bench(settings, quick, out=sys.stderr)
    print(held_table(figures))
    return figures


SECTIONS: dict[str, Callable[[Settings, bool], list[Figure]]] = {
    "write": bench_write,
    "pipeline": bench_pipeline,
    "relay": bench_relay_rows,
    "projection": bench_projection_rows,
    "latency": bench_latency_rows,
    "rebuild": bench_rebuild,
    "api": bench_api,
    "audit": bench_audit,
    "timers": bench_timers,
    "idle": bench_idle,
    "held": bench_held,
}
"""Every section of `caseledger bench`, in the order they run; each measures its own bare baseline."""

PART_OF: dict[str, str] = {
    "relay": "pipeline",
    "projection": "pipeline",
    "latency": "pipeline",
    "rebuild": "pipeline",
}
"""Sections that only repeat part of another (to measure it alone): a run of every section leaves them out."""


def run_bench(
    settings: Settings, quick: bool, out: Path | None, only: Sequence[str] | None = None
) -> list[Figure]:
    """Run the chosen sections (all by default), print each one's table, and write every figure as JSON.

    Each section builds and drops its own system, one after the other: with no database configured, each
    starts the embedded server on the same data directory after the previous one stopped it.
    """
    chosen = list(only or (name for name in SECTIONS if name not in PART_OF))
    unknown = [name for name in chosen if name not in SECTIONS]
    if unknown:
        raise ValueError(f"unknown bench sections {unknown}; known: {', '.join(SECTIONS)}")
    from cli.bench.summary import issue17_rows, issue17_table

    started = time.monotonic()
    figures: list[Figure] = []
    for name in chosen:
        print(f"\n== {name}", flush=True)
        figures += SECTIONS[name](settings, quick)
    rows = issue17_rows(figures)
    elapsed = time.monotonic() - started
    print(f"\n{issue17_table(rows)}")
    print(f"\nbench{' --quick' if quick else ''}: {elapsed / 60:.1f} min ({elapsed:.0f} s)", flush=True)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "measured_at": datetime.now(UTC).isoformat(),
            "quick": quick,
            "sections": chosen,
            "figures": [asdict(f) | {"ratio": f.ratio} for f in figures],
            "issue17": [asdict(row) for row in rows],
            "elapsed_seconds": round(elapsed, 1),
        }
        out.write_text(json.dumps(document, indent=2))
        print(f"\nwritten: {out}")
    return figures
