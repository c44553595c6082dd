"""`caseledger`: the command line. Each subcommand builds what it needs through the composition root."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from datetime import timedelta
from pathlib import Path

from infra.bench import run_bench
from infra.bootstrap import bootstrap
from infra.clock import ControlledClock, SystemClock
from infra.demo import next_morning, print_demo, run_demo
from infra.load import run_load
from infra.schemas import export
from infra.settings import Settings

DEMO_STORY_DAYS = 60


def _up(args: argparse.Namespace) -> int:
    settings = Settings()
    if args.demo:
        # The demo story runs on a clock that starts weeks back, so a cooling-off period can run out.
        clock = ControlledClock(SystemClock().now() - timedelta(days=DEMO_STORY_DAYS))
        next_morning(clock)
        system = bootstrap(settings, clock)
    else:
        system = bootstrap(settings)
    try:
        where = "embedded" if system.embedded_postgres else "configured"
        print(f"caseledger is up. PostgreSQL ({where}): {system.database_url}  schema: {settings.db_schema}")
        if args.demo:
            assert isinstance(system.clock, ControlledClock)
            cases = run_demo(system, system.clock)
            print_demo(system, cases)
        if args.once:
            return 0
        print("\nRunning. Ctrl-C stops it (the data stays in the database).")
        stopped = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stopped.set())
        with contextlib.suppress(KeyboardInterrupt):
            stopped.wait()
        return 0
    finally:
        system.close()


def _bench(args: argparse.Namespace) -> int:
    run_bench(Settings(), quick=args.quick, out=args.out)
    return 0


def _demo_load(args: argparse.Namespace) -> int:
    system = bootstrap(Settings())
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


def _schema_export(args: argparse.Namespace) -> int:
    settings = Settings()
    servers = settings.kafka_bootstrap_servers or f"127.0.0.1:{settings.broker_port}"
    written = export(args.directory, settings.topic_prefix, bootstrap_servers=servers)
    print(f"{len(written)} files written to {args.directory} (asyncapi.json and one JSON Schema per event)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="caseledger", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="start the system (embedded PostgreSQL unless one is configured)")
    up.add_argument(
        "--demo", action="store_true", help="drive demo cases through their lifecycles and print them"
    )
    up.add_argument(
        "--once", action="store_true", help="exit after start-up (and the demo) instead of running"
    )
    up.set_defaults(run=_up)

    bench = commands.add_parser("bench", help="measure throughput beside bare baselines")
    bench.add_argument("--quick", action="store_true", help="short runs (about two minutes in all)")
    bench.add_argument("--out", type=Path, default=Path("bench-results/bench.json"), help="JSON results file")
    bench.set_defaults(run=_bench)
    schema = commands.add_parser("schema", help="event contracts").add_subparsers(
        dest="schema_command", required=True
    )
    schema_export = schema.add_parser(
        "export", help="write the AsyncAPI document and every event's JSON Schema"
    )
    schema_export.add_argument("directory", type=Path)
    schema_export.set_defaults(run=_schema_export)

    demo = commands.add_parser("demo", help="demo traffic").add_subparsers(dest="demo_command", required=True)
    load = demo.add_parser("load", help="drive realistic lifecycles at a steady rate")
    load.add_argument("--cases", type=int, default=100, help="how many cases to drive")
    load.add_argument("--rate", type=float, default=50.0, help="commands per second (0: as fast as possible)")
    load.add_argument("--seed", type=int, default=7, help="seed of the traffic mix")
    load.set_defaults(run=_demo_load)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
