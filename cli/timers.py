"""`caseledger timers list|due|breached|callbacks|recompute`: the SLA timer views on the command line, and
the step that moves open timers to a newly published holiday calendar version.

They read ``sla_due`` (what the timers consumer and the scheduler keep), never the timers themselves, so
they answer at once on a million timers; `caseledger timers explain CASE_ID` tells one case's computation.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any
from uuid import UUID

# The parser is built on every `caseledger` call: the handlers import psycopg and the domain themselves.
if TYPE_CHECKING:
    from domain.timer import TimerState
    from infra.services.timers import TimerView

NOT_YET = "no timers yet: sla_due is created when the timers consumer or the scheduler first starts"

TIMER_STATES = ("running", "paused", "satisfied", "breached", "cancelled", "window_closed")
"""The values of ``domain.timer.TimerState``, spelled here so that building the parser loads no domain."""


def add_timer_view_commands(timers_commands: argparse._SubParsersAction[Any]) -> None:
    """Add ``list``, ``due``, ``breached`` and ``callbacks`` under ``caseledger timers``."""
    listing = timers_commands.add_parser("list", help="timers by case, rule and state, soonest due first")
    listing.add_argument("--case", dest="case_id", type=UUID, help="a case: its timers and its tasks'")
    listing.add_argument("--rule", dest="rule_id", help="a rule id, e.g. CMP-DECIDE-15D")
    listing.add_argument("--state", choices=TIMER_STATES, help="timers in this state only")
    listing.add_argument("--limit", type=int, default=100, help="at most this many rows (%(default)s)")
    listing.set_defaults(run="cli.timers:list_timers")
    due = timers_commands.add_parser("due", help="running timers due within the next hours")
    due.add_argument("--within", type=int, default=24, help="hours (%(default)s)")
    due.add_argument("--limit", type=int, default=100, help="at most this many rows (%(default)s)")
    due.set_defaults(run="cli.timers:due_timers")
    breached = timers_commands.add_parser("breached", help="timers whose deadline was breached")
    breached.add_argument("--rule", dest="rule_id", help="a rule id, e.g. CMP-DECIDE-15D")
    breached.add_argument("--limit", type=int, default=100, help="at most this many rows (%(default)s)")
    breached.set_defaults(run="cli.timers:breached_timers")
    callbacks = timers_commands.add_parser("callbacks", help="callback completion rate per rule")
    callbacks.set_defaults(run="cli.timers:callback_rates")
    recompute = timers_commands.add_parser(
        "recompute",
        help="after a new holiday calendar version: move the open timers whose deadline it changes to it",
    )
    recompute.set_defaults(run="cli.timers:recompute")


def _at(view: TimerView) -> str:
    from domain.base import SHANGHAI

    return "-" if view.due_at is None else view.due_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _print(views: list[TimerView]) -> None:
    from cli.tables import print_table

    print_table(
        ("due (Asia/Shanghai)", "colour", "state", "rule", "case"),
        ((_at(view), view.colour, view.state, view.rule_id, view.case_id) for view in views),
    )
    print(f"{len(views)} timer(s)")


def _views(
    args: argparse.Namespace,
    *,
    case_id: UUID | None = None,
    rule_id: str | None = None,
    states: tuple[TimerState, ...] = (),
    within_hours: int | None = None,
    breached: bool = False,
) -> int:
    from datetime import timedelta

    from cli.system import open_system
    from infra.settings import Settings
    from projections.due import due_table_exists, timer_views

    system = open_system(Settings())
    try:
        now = system.clock.now()
        with system.database.connection() as conn:
            if not due_table_exists(conn, system.settings.db_schema):
                print(NOT_YET)
                return 0
            views = timer_views(
                conn,
                system.settings.db_schema,
                now,
                case_id=case_id,
                rule_id=rule_id,
                states=states,
                due_before=None if within_hours is None else now + timedelta(hours=within_hours),
                breached=breached,
                limit=args.limit,
            )
        _print(views)
        return 0
    finally:
        system.close()


def list_timers(args: argparse.Namespace) -> int:
    """`caseledger timers list`: by case, rule and state, soonest due first."""
    from domain.timer import TimerState

    states = () if args.state is None else (TimerState(args.state),)
    return _views(args, case_id=args.case_id, rule_id=args.rule_id, states=states)


def due_timers(args: argparse.Namespace) -> int:
    """`caseledger timers due`: running timers due within the next hours."""
    return _views(args, within_hours=args.within)


def breached_timers(args: argparse.Namespace) -> int:
    """`caseledger timers breached`: timers whose deadline was breached."""
    return _views(args, rule_id=args.rule_id, breached=True)


def callback_rates(args: argparse.Namespace) -> int:
    """`caseledger timers callbacks`: callback completion rate per rule."""

    from cli.system import open_system
    from cli.tables import print_table
    from infra.settings import Settings
    from projections.due import callback_completion, due_table_exists

    system = open_system(Settings())
    try:
        with system.database.connection() as conn:
            if not due_table_exists(conn, system.settings.db_schema):
                print(NOT_YET)
                return 0
            rows = callback_completion(conn, system.settings.db_schema)
        print_table(
            ("rule", "on time", "late", "missed", "open", "cancelled", "rate"),
            (
                (
                    row.rule_id,
                    row.on_time,
                    row.late,
                    row.missed,
                    row.open,
                    row.cancelled,
                    "-" if row.completion_rate is None else f"{row.completion_rate:.1%}",
                )
                for row in rows
            ),
            right=("on time", "late", "missed", "open", "cancelled", "rate"),
        )
        return 0
    finally:
        system.close()


def recompute(args: argparse.Namespace) -> int:
    """`caseledger timers recompute`: move open timers to the newest calendar where it changes them."""
    from cli.system import open_system
    from infra.settings import Settings

    system = open_system(Settings())
    try:
        with system.database.transaction() as conn:
            report = system.timers.recompute_deadlines(conn, system.settings.db_schema)
        print(
            f"calendar {report.calendar}: {report.examined} open timer(s) looked at, "
            f"{len(report.recomputed)} recomputed (TimerDeadlineRecomputed)"
        )
        for timer_id in report.recomputed:
            print(f"  {timer_id}")
        return 0
    finally:
        system.close()
