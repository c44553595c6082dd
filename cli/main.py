"""`caseledger`: the command line. Each subcommand builds what it needs through the composition root.

This module only builds the parser: every handler is named as ``module:function`` and imported when its
command runs, so ``caseledger --help`` loads no web, broker or database library. Expected failures end as
one line on stderr (cli.errors); ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import getpass
import importlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn, cast
from uuid import UUID

from cli.audit import add_audit_commands
from cli.bench.main import SECTIONS as BENCH_SECTIONS
from cli.contacts import add_contact_commands
from cli.errors import PROG, UsageError, report, run_command
from cli.privacy import add_privacy_commands
from cli.timers import add_timer_view_commands
from consumers.names import GROUP_NAMES

Handler = Callable[[argparse.Namespace], int]


class Parser(argparse.ArgumentParser):
    """argparse, with a usage error raised as one line for cli.errors instead of usage text and exit."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def build_parser() -> Parser:
    """The whole command line; each subcommand's ``run`` names its handler as ``module:function``."""
    parser = Parser(
        prog=PROG,
        description=(
            "Event-sourced case management: policies, claims, complaints, callbacks, inquiries, 保全 service "
            "requests and value-added service orders, their timers."
        ),
    )
    parser.add_argument(
        "--debug", action="store_true", help="on an error, show the full traceback instead of one line"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", title="commands")

    up = commands.add_parser("up", help="run everything: PostgreSQL, broker, relay, consumers, timers, API")
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
    up.add_argument(
        "--single-process",
        action="store_true",
        help="run the relay, consumers and timers in this process, not as child processes (debugging, "
        "small machines; --demo always does)",
    )
    up.set_defaults(run="cli.runtime:up")

    relay = commands.add_parser("relay", help="publish committed events to Kafka (one active per system)")
    relay.add_argument(
        "--from",
        dest="from_position",
        type=int,
        metavar="POSITION",
        help="republish from this store position",
    )
    relay.add_argument("--lag", action="store_true", help="print how far the relay is behind, then exit")
    relay.set_defaults(run="cli.runtime:relay")

    timers = commands.add_parser(
        "timers", help="run the SLA timer scheduler (several are safe), or read the timers"
    )
    timers.set_defaults(run="cli.runtime:timers", timers_command=None)
    timers_commands = timers.add_subparsers(
        dest="timers_command", metavar="VIEW", title="views (without one: run the scheduler)"
    )
    timers_explain = timers_commands.add_parser(
        "explain", help="every timer of a case and how it was computed"
    )
    timers_explain.add_argument(
        "case_id",
        type=UUID,
        help="the case (policy, claim, complaint, inquiry, service order or 保全 service request) id",
    )
    timers_explain.set_defaults(run="cli.operations:timers_explain")
    add_timer_view_commands(timers_commands)

    api = commands.add_parser(
        "api", help="serve the HTTP API alone (several behind a load balancer are safe)"
    )
    api.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="worker processes sharing the port, each with its own pool (default: CASELEDGER_API_WORKERS, 1)",
    )
    api.set_defaults(run="cli.runtime:api")

    consume = commands.add_parser("consume", help="run consumer groups (one process per partition share)")
    consume.add_argument(
        "--group",
        action="append",
        required=True,
        choices=GROUP_NAMES,
        help="a consumer group to run (repeat for several)",
    )
    consume.set_defaults(run="cli.runtime:consume")

    _add_db_commands(commands)
    _add_dlq_commands(commands)
    _add_projections_commands(commands)

    bench = commands.add_parser("bench", help="measure throughput beside bare baselines")
    bench.add_argument("--quick", action="store_true", help="small sizes, short runs")
    bench.add_argument(
        "--out", type=Path, default=Path("bench-results/bench.json"), help="JSON results file (%(default)s)"
    )
    bench.add_argument(
        "--only",
        type=_bench_sections,
        default=None,
        metavar="SECTION[,SECTION]",
        help=f"run only these sections ({', '.join(BENCH_SECTIONS)})",
    )
    bench.set_defaults(run="cli.operations:bench")

    schema = commands.add_parser("schema", help="event contracts").add_subparsers(
        dest="schema_command", required=True, metavar="ACTION"
    )
    schema_export = schema.add_parser(
        "export", help="write the AsyncAPI document and every event's JSON Schema"
    )
    schema_export.add_argument("directory", type=Path, help="where to write the files (created if missing)")
    schema_export.set_defaults(run="cli.operations:schema_export")

    demo = commands.add_parser("demo", help="demo traffic").add_subparsers(
        dest="demo_command", required=True, metavar="ACTION"
    )
    load = demo.add_parser("load", help="drive realistic lifecycles at a steady rate")
    load.add_argument("--cases", type=int, default=100, help="how many cases to drive (%(default)s)")
    load.add_argument(
        "--rate", type=float, default=50.0, help="commands per second, 0: as fast as possible (%(default)s)"
    )
    load.add_argument("--seed", type=int, default=7, help="seed of the traffic mix (%(default)s)")
    load.set_defaults(run="cli.operations:demo_load")

    add_audit_commands(commands)
    add_privacy_commands(commands)
    add_contact_commands(commands)  # 咨询 inquiries and the contact history (issue #14)
    return parser


def _add_db_commands(commands: argparse._SubParsersAction[Parser]) -> None:
    db = commands.add_parser("db", help="the database schema: its version, and the upgrade to this release's")
    actions = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    actions.add_parser(
        "status", help="the schema's version, this release's, and the steps pending"
    ).set_defaults(run="cli.db:db_status")
    actions.add_parser(
        "upgrade", help="apply the pending steps in order (safe to repeat, and to run twice at once)"
    ).set_defaults(run="cli.db:db_upgrade")


def _add_dlq_commands(commands: argparse._SubParsersAction[Parser]) -> None:
    dlq = commands.add_parser("dlq", help="dead letters of the consumer groups").add_subparsers(
        dest="dlq_command", required=True, metavar="ACTION"
    )
    listing = dlq.add_parser("list", help="parked and held messages")
    listing.add_argument("--group", help="one consumer group's only (its Kafka group id)")
    listing.add_argument("--all", action="store_true", help="also the retried and skipped ones")
    retry = dlq.add_parser("retry", help="apply a case's parked messages again (after a fix)")
    retry.add_argument("--group", required=True, help="the consumer group (its Kafka group id)")
    target = retry.add_mutually_exclusive_group(required=True)
    target.add_argument("--case", type=UUID, help="every parked message of this case")
    target.add_argument("--id", type=int, help="one dead letter, by the number `dlq list` shows")
    retry.add_argument("--by", default=getpass.getuser(), help="who retries (default: the OS user)")
    skip = dlq.add_parser("skip", help="pass over a parked message, recording who and why")
    skip.add_argument("--id", type=int, required=True, help="the dead letter, by the number `dlq list` shows")
    skip.add_argument("--reason", required=True, help="why it may be passed over (kept with it)")
    skip.add_argument("--by", default=getpass.getuser(), help="who skips (default: the OS user)")
    for sub in (listing, retry, skip):
        sub.set_defaults(run="cli.operations:dlq")


def _add_projections_commands(commands: argparse._SubParsersAction[Parser]) -> None:
    projections = commands.add_parser("projections", help="read models").add_subparsers(
        dest="projections_command", required=True, metavar="ACTION"
    )
    for name, text in (
        ("rebuild", "replay the store into shadow tables and swap"),
        ("verify", "rebuild in shadow and compare with the live tables"),
    ):
        sub = projections.add_parser(name, help=text)
        sub.add_argument("name", nargs="?", help="a projection name (or --all)")
        sub.add_argument("--all", action="store_true", help="every projection")
        sub.set_defaults(run="cli.operations:projections")


def _bench_sections(text: str) -> list[str]:
    names = [name for name in text.split(",") if name]
    unknown = [name for name in names if name not in BENCH_SECTIONS]
    if unknown or not names:
        given = ", ".join(unknown) or repr(text)
        raise argparse.ArgumentTypeError(
            f"unknown section(s) {given}; the sections are {', '.join(BENCH_SECTIONS)}"
        )
    return names


def handler(spec: str) -> Handler:
    """The function that ``module:function`` names, importing its module now."""
    module, _, name = spec.partition(":")
    return cast(Handler, getattr(importlib.import_module(module), name))


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, run the chosen command and return its exit code."""
    try:
        args = build_parser().parse_args(argv)
    except UsageError as usage:
        return report(usage)
    return run_command(lambda: _run(args), debug=args.debug)


def _run(args: argparse.Namespace) -> int:
    """Configure logging from the settings, then run the command's handler."""
    from cli.logs import LogFormat, configure_logging
    from infra.settings import Settings

    settings = Settings()
    run = handler(args.run)  # imported first: logging then takes over the loggers its libraries made
    configure_logging(settings.log_level, LogFormat(settings.log_format))
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
