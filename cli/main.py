"""`caseledger`: the command line. Each subcommand builds what it needs through the composition root."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import secrets
import signal
import sys
import threading
from datetime import timedelta
from pathlib import Path
from uuid import UUID

from pydantic import SecretStr

from api.auth import demo_tokens
from api.serve import run_api
from cli.audit import add_audit_commands
from cli.bench.main import SECTIONS as BENCH_SECTIONS
from cli.bench.main import run_bench
from cli.demo import next_morning, open_complaint, print_demo, run_demo
from cli.load import run_load
from cli.operations import ConsumerOperations
from cli.privacy import add_privacy_commands
from cli.runtime import (
    BrokerHandle,
    all_groups,
    broker_address,
    caught_up,
    describe_claim_view,
    serve,
    start_broker,
    stop_on_signals,
    watch_timers,
)
from cli.timers import add_timer_view_commands
from consumers.dlq import dlq_list, dlq_retry, dlq_skip
from consumers.groups import default_groups
from consumers.rebuild import rebuild_projections, verify_projections
from consumers.scheduler import run_scheduler
from infra.bootstrap import System, bootstrap
from infra.clock import ControlledClock, SystemClock
from infra.messaging.relay import relay_lag, run_relay
from infra.schemas import export
from infra.services.explain import explain
from infra.settings import Settings

DEMO_STORY_DAYS = 70


def _up(args: argparse.Namespace) -> int:
    settings = Settings()
    if settings.jwt_secret is None:
        # No configured secret: sign this run's tokens with a fresh one (they die with the process).
        settings = settings.model_copy(update={"jwt_secret": SecretStr(secrets.token_urlsafe(32))})
    clock: ControlledClock | None = None
    if args.demo:
        # The demo story runs on a clock that starts weeks back, so a cooling-off period can run out.
        clock = ControlledClock(SystemClock().now() - timedelta(days=DEMO_STORY_DAYS))
        next_morning(clock)
    system = bootstrap(settings, clock)
    broker: BrokerHandle | None = None
    try:
        where = "embedded" if system.embedded_postgres else "configured"
        print(f"PostgreSQL ({where}): {system.database_url}  schema prefix: {settings.db_schema}")
        broker = start_broker(settings)
        kind = "embedded Tansu" if broker.embedded else "configured"
        print(f"Kafka ({kind}): {broker.bootstrap_servers}  topics: {settings.topic_prefix}.<context>")
        print(
            f"HTTP API: http://{settings.api_host}:{settings.api_port}  (OpenAPI at /docs and /openapi.json)"
        )
        asyncio.run(
            _serve_up(
                system, broker.bootstrap_servers, demo=args.demo, once=args.once, time_scale=args.time_scale
            )
        )
        return 0
    finally:
        system.close()
        if broker is not None:
            broker.stop()


async def _serve_up(
    system: System, bootstrap_servers: str, *, demo: bool, once: bool, time_scale: float | None
) -> None:
    stop = asyncio.Event()
    stop_on_signals(stop)

    async def then() -> None:
        if demo:
            assert isinstance(system.clock, ControlledClock)
            cases = await asyncio.to_thread(run_demo, system, system.clock)
            print_demo(system, cases)
            if await caught_up(system):
                line = await asyncio.to_thread(describe_claim_view, system, cases.claim_id)
                print("\nRead models caught up: " + line)
            else:
                print(
                    "\nRead models did not catch up within 30 s: see `caseledger relay --lag` and `dlq list`"
                )
            secret = system.settings.jwt_secret
            assert secret is not None
            print("\nBearer tokens for this run (Authorization: Bearer <token>):")
            for role, token in demo_tokens(secret, timedelta(hours=8)).items():
                print(f"  {role.value:<19} {token}")
            if time_scale:
                assert isinstance(system.clock, ControlledClock)
                complaint_id = await asyncio.to_thread(open_complaint, system, system.clock)
                system.clock.run(time_scale)
                print(
                    f"\nThe clock now runs {time_scale:g} times faster. Complaint {complaint_id} is open: "
                    "watch its 15-day clock warn at 50 % and 80 % and then breach "
                    f"(caseledger timers explain {complaint_id})."
                )
        if once:
            stop.set()
            return
        print("\nRunning: API, relay, timer scheduler, consumer groups " + ", ".join(all_groups()) + ".")
        print("Ctrl-C stops.", flush=True)
        if demo and time_scale:
            await watch_timers(system, stop)

    await serve(
        system, bootstrap_servers, stop, relay=True, groups=all_groups(), api=True, scheduler=True, then=then
    )


def _relay(args: argparse.Namespace) -> int:
    settings = Settings()
    system = bootstrap(settings)
    try:
        if args.lag:
            for lag in asyncio.run(relay_lag(system)):
                print(
                    f"{lag.context:<10} store {lag.store_position:>9}  "
                    f"published {lag.published_position:>9}  "
                    f"behind {lag.positions_behind:>7} positions, {lag.seconds_behind:,.1f} s"
                )
            return 0

        async def main() -> None:
            stop = asyncio.Event()
            stop_on_signals(stop)
            await run_relay(system, broker_address(settings), stop, republish_from=args.from_position)

        asyncio.run(main())
        return 0
    finally:
        system.close()


def _consume(args: argparse.Namespace) -> int:
    settings = Settings()
    system = bootstrap(settings)
    try:

        async def main() -> None:
            stop = asyncio.Event()
            stop_on_signals(stop)
            await serve(system, broker_address(settings), stop, relay=False, groups=tuple(args.group))

        asyncio.run(main())
        return 0
    finally:
        system.close()


def _timers(args: argparse.Namespace) -> int:
    system = bootstrap(Settings())
    try:
        if args.timers_command == "explain":
            print(explain(system, args.case_id))
            return 0
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        run_scheduler(system, system.clock, stop)
        return 0
    finally:
        system.close()


def _api(args: argparse.Namespace) -> int:
    system = bootstrap(Settings())
    try:
        run_api(system, operations=ConsumerOperations(system))
        return 0
    finally:
        system.close()


def _dlq(args: argparse.Namespace) -> int:
    system = bootstrap(Settings())
    try:
        if args.dlq_command == "list":
            letters = dlq_list(system, args.group, include_resolved=args.all)
            for d in letters:
                error = (d.error or "").splitlines()[0][:80] if d.error else ""
                print(
                    f"#{d.id:<6} {d.status:<8} {d.group_id}  {d.context}/{d.case_id} v{d.version} "
                    f"{d.wire_name}  {d.topic}[{d.partition}]@{d.kafka_offset}  {error}"
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


def _projections(args: argparse.Namespace) -> int:
    names = [] if args.all else [args.name]
    if not args.all and not args.name:
        raise SystemExit("name a projection or pass --all")
    system = bootstrap(Settings())
    try:
        if args.projections_command == "rebuild":
            report = rebuild_projections(system, names)
            print(
                f"rebuilt {', '.join(report.projections)}: {report.events} events, {report.rows} rows, "
                f"{report.events_per_second:,.0f} events/s"
            )
            return 0
        report = verify_projections(system, names)
        for projection, tables in report.differences.items():
            for table, (missing, extra) in tables.items():
                state = "same" if not (missing or extra) else f"{missing} rows missing, {extra} rows extra"
                print(f"{projection}.{table}: {state}")
        print("consistent" if report.consistent else "DIFFERENT: the live read models do not match the store")
        return 0 if report.consistent else 1
    finally:
        system.close()


def _bench(args: argparse.Namespace) -> int:
    run_bench(Settings(), quick=args.quick, out=args.out, only=args.only)
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

    up = commands.add_parser("up", help="run everything: PostgreSQL, broker, relay and consumers")
    up.add_argument(
        "--demo", action="store_true", help="drive demo cases through their lifecycles and print them"
    )
    up.add_argument("--once", action="store_true", help="exit once started (and the demo caught up)")
    up.add_argument(
        "--time-scale",
        type=float,
        metavar="N",
        help="with --demo: then let the clock run N times faster (3600: an hour a second) and print timers",
    )
    up.set_defaults(run=_up)

    relay = commands.add_parser("relay", help="publish committed events to Kafka (one active per system)")
    relay.add_argument("--from", dest="from_position", type=int, help="republish from this store position")
    relay.add_argument("--lag", action="store_true", help="print how far the relay is behind, then exit")
    relay.set_defaults(run=_relay)

    timers = commands.add_parser("timers", help="run the SLA timer scheduler (several are safe)")
    timers.set_defaults(run=_timers, timers_command=None)
    timers_commands = timers.add_subparsers(dest="timers_command")
    timers_explain = timers_commands.add_parser(
        "explain", help="every timer of a case and how it was computed"
    )
    timers_explain.add_argument("case_id", type=UUID)
    add_timer_view_commands(timers_commands)

    api = commands.add_parser(
        "api", help="serve the HTTP API alone (several behind a load balancer are safe)"
    )
    api.set_defaults(run=_api)

    consume = commands.add_parser("consume", help="run consumer groups (one process per partition share)")
    consume.add_argument("--group", action="append", required=True, choices=sorted(default_groups()))
    consume.set_defaults(run=_consume)

    dlq = commands.add_parser("dlq", help="dead letters of the consumer groups").add_subparsers(
        dest="dlq_command", required=True
    )
    dlq_list_cmd = dlq.add_parser("list", help="parked and held messages")
    dlq_list_cmd.add_argument("--group")
    dlq_list_cmd.add_argument("--all", action="store_true", help="also the retried and skipped ones")
    dlq_retry_cmd = dlq.add_parser("retry", help="apply a case's parked messages again (after a fix)")
    dlq_retry_cmd.add_argument("--group", required=True)
    target = dlq_retry_cmd.add_mutually_exclusive_group(required=True)
    target.add_argument("--case", type=UUID)
    target.add_argument("--id", type=int)
    dlq_retry_cmd.add_argument("--by", default=getpass.getuser())
    dlq_skip_cmd = dlq.add_parser("skip", help="pass over a parked message, recording who and why")
    dlq_skip_cmd.add_argument("--id", type=int, required=True)
    dlq_skip_cmd.add_argument("--reason", required=True)
    dlq_skip_cmd.add_argument("--by", default=getpass.getuser())
    dlq.required = True
    for sub in (dlq_list_cmd, dlq_retry_cmd, dlq_skip_cmd):
        sub.set_defaults(run=_dlq)

    projections = commands.add_parser("projections", help="read models").add_subparsers(
        dest="projections_command", required=True
    )
    for name, text in (
        ("rebuild", "replay the store into shadow tables and swap"),
        ("verify", "rebuild in shadow and compare with the live tables"),
    ):
        sub = projections.add_parser(name, help=text)
        sub.add_argument("name", nargs="?", help="a projection name")
        sub.add_argument("--all", action="store_true")
        sub.set_defaults(run=_projections)

    bench = commands.add_parser("bench", help="measure throughput beside bare baselines")
    bench.add_argument("--quick", action="store_true", help="small sizes, short runs")
    bench.add_argument("--out", type=Path, default=Path("bench-results/bench.json"), help="JSON results file")
    bench.add_argument(
        "--only",
        type=lambda text: [name for name in text.split(",") if name],
        default=None,
        metavar="SECTION[,SECTION]",
        help=f"run only these sections ({', '.join(BENCH_SECTIONS)})",
    )
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
    add_audit_commands(commands)
    add_privacy_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
