"""`caseledger timers list|due|breached|callbacks`: the SLA timer views on the command line.

They read ``sla_due`` (what the timers consumer and the scheduler keep), never the timers themselves, so
they answer at once on a million timers; `caseledger timers explain CASE_ID` tells one case's computation.
"""

from __future__ import annotations

import argparse
from datetime import timedelta
from uuid import UUID

from domain.base import SHANGHAI
from domain.timer import TimerState
from infra.bootstrap import bootstrap
from infra.settings import Settings
from projections.due import TimerView, callback_completion, due_table_exists, timer_views

NOT_YET = "no timers yet: sla_due is created when the timers consumer or the scheduler first starts"


def add_timer_view_commands(timers_commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``list``, ``due``, ``breached`` and ``callbacks`` under ``caseledger timers``."""
    listing = timers_commands.add_parser("list", help="timers by case, rule and state, soonest due first")
    listing.add_argument("--case", dest="case_id", type=UUID, help="a case: its timers and its tasks'")
    listing.add_argument("--rule", dest="rule_id", help="a rule id, e.g. CMP-DECIDE-15D")
    listing.add_argument("--state", choices=[state.value for state in TimerState])
    listing.add_argument("--limit", type=int, default=100)
    listing.set_defaults(run=_list)
    due = timers_commands.add_parser("due", help="running timers due within the next hours")
    due.add_argument("--within", type=int, default=24, help="hours (default 24)")
    due.add_argument("--limit", type=int, default=100)
    due.set_defaults(run=_due)
    breached = timers_commands.add_parser("breached", help="timers whose deadline was breached")
    breached.add_argument("--rule", dest="rule_id")
    breached.add_argument("--limit", type=int, default=100)
    breached.set_defaults(run=_breached)
    callbacks = timers_commands.add_parser("callbacks", help="callback completion rate per rule")
    callbacks.set_defaults(run=_callbacks)


def _at(view: TimerView) -> str:
    return "-" if view.due_at is None else view.due_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _print(views: list[TimerView]) -> None:
    print(f"{'due (Asia/Shanghai)':<17}  {'colour':<8}  {'state':<13}  {'rule':<26}  case")
    for view in views:
        print(f"{_at(view):<17}  {view.colour:<8}  {view.state:<13}  {view.rule_id:<26}  {view.case_id}")
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
    system = bootstrap(Settings())
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


def _list(args: argparse.Namespace) -> int:
    states = () if args.state is None else (TimerState(args.state),)
    return _views(args, case_id=args.case_id, rule_id=args.rule_id, states=states)


def _due(args: argparse.Namespace) -> int:
    return _views(args, within_hours=args.within)


def _breached(args: argparse.Namespace) -> int:
    return _views(args, rule_id=args.rule_id, breached=True)


def _callbacks(args: argparse.Namespace) -> int:
    system = bootstrap(Settings())
    try:
        with system.database.connection() as conn:
            if not due_table_exists(conn, system.settings.db_schema):
                print(NOT_YET)
                return 0
            rows = callback_completion(conn, system.settings.db_schema)
        print(f"{'rule':<26}  on time  late  missed  open  cancelled  rate")
        for row in rows:
            rate = "-" if row.completion_rate is None else f"{row.completion_rate:.1%}"
            print(
                f"{row.rule_id:<26}  {row.on_time:>7}  {row.late:>4}  {row.missed:>6}  {row.open:>4}"
                f"  {row.cancelled:>9}  {rate}"
            )
        return 0
    finally:
        system.close()
