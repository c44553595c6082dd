"""The one-shot commands of an operator: dead letters, read-model rebuilds, event contracts, demo traffic,
benchmarks and one case's timer computation. Each builds what it needs, does one thing and exits.
"""

from __future__ import annotations

import argparse

from cli.bench.main import run_bench
from cli.errors import UsageError
from cli.load import run_load
from cli.system import open_system
from cli.tables import print_table, progress_bar
from consumers.dlq import dlq_list, dlq_retry, dlq_skip
from consumers.rebuild import rebuild_projections, verify_projections
from infra.schemas import export
from infra.services.explain import explain
from infra.settings import Settings


def dlq(args: argparse.Namespace) -> int:
    """`caseledger dlq list | retry | skip`."""
    system = open_system(Settings())
    try:
        if args.dlq_command == "list":
            letters = dlq_list(system, args.group, include_resolved=args.all)
            print_table(
                ("id", "status", "group", "case", "version", "event", "where", "error"),
                (
                    (
                        f"#{d.id}",
                        d.status,
                        d.group_id,
                        f"{d.context}/{d.case_id}",
                        f"v{d.version}",
                        d.wire_name,
                        f"{d.topic}[{d.partition}]@{d.kafka_offset}",
                        (d.error or "").splitlines()[0][:80] if d.error else "",
                    )
                    for d in letters
                ),
            )
            print(f"{len(letters)} dead letters")
            return 0
        if args.dlq_command == "retry":
            result = dlq_retry(system, args.group, case_id=args.case, dead_letter_id=args.id, by=args.by)
        else:
            result = dlq_skip(system, args.id, by=args.by, reason=args.reason)
        resolved = ", ".join(f"#{i}" for i in result.resolved) or "none"
        print(f"resolved: {resolved}")
        if result.still_parked is not None:
            print(f"still parked: #{result.still_parked}: {result.error}")
        return 0 if result.ok else 1
    finally:
        system.close()


def projections(args: argparse.Namespace) -> int:
    """`caseledger projections rebuild | verify`, with a progress bar on stderr."""
    if args.all == bool(args.name):
        raise UsageError("name one projection or pass --all")
    names = [] if args.all else [args.name]
    system = open_system(Settings())
    try:
        if args.projections_command == "rebuild":
            with progress_bar("rebuild", "events") as update:
                report = rebuild_projections(system, names, out=None, progress=update)
            print(
                f"rebuilt {', '.join(report.projections)}: {report.events} events, {report.rows} rows, "
                f"{report.events_per_second:,.0f} events/s"
            )
            return 0
        with progress_bar("verify", "events") as update:
            report = verify_projections(system, names, out=None, progress=update)
        print_table(
            ("read model", "state"),
            (
                (
                    f"{projection}.{table}",
                    "same" if not (missing or extra) else f"{missing} rows missing, {extra} rows extra",
                )
                for projection, tables in report.differences.items()
                for table, (missing, extra) in tables.items()
            ),
        )
        print("consistent" if report.consistent else "DIFFERENT: the live read models do not match the store")
        return 0 if report.consistent else 1
    finally:
        system.close()


def bench(args: argparse.Namespace) -> int:
    """`caseledger bench`: every section (or those of --only) beside its bare baseline."""
    run_bench(Settings(), quick=args.quick, out=args.out, only=args.only)
    return 0


def demo_load(args: argparse.Namespace) -> int:
    """`caseledger demo load`: realistic lifecycles at a steady rate."""
    system = open_system(Settings())
    try:
        report = run_load(system, cases=args.cases, rate=args.rate, seed=args.seed)
    finally:
        system.close()
    rate = report.commands / report.seconds if report.seconds else 0.0
    print(
        f"{report.commands} commands in {report.seconds:.1f} s ({rate:.0f}/s): "
        f"{len(report.policies)} policies, {len(report.claims)} claims, {len(report.complaints)} complaints"
    )
    for name, count in sorted(report.refusals.items()):
        print(f"  refused: {name} x{count}")
    return 0


def schema_export(args: argparse.Namespace) -> int:
    """`caseledger schema export DIRECTORY`: the AsyncAPI document and every event's JSON Schema."""
    settings = Settings()
    servers = settings.kafka_bootstrap_servers or f"127.0.0.1:{settings.broker_port}"
    written = export(args.directory, settings.topic_prefix, bootstrap_servers=servers)
    print(f"{len(written)} files written to {args.directory} (asyncapi.json and one JSON Schema per event)")
    return 0


def timers_explain(args: argparse.Namespace) -> int:
    """`caseledger timers explain CASE_ID`: every timer of a case and how it was computed."""
    system = open_system(Settings())
    try:
        print(explain(system, args.case_id))
        return 0
    finally:
        system.close()
