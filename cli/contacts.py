"""`caseledger inquiries stats` and `caseledger contacts CUSTOMER_ID`: the counter's read models on the
command line (issue #14 points 1 and 6): inquiry volume by category and channel with the first-contact
resolution rate, and one customer's contact history across inquiries, service orders and cases."""

from __future__ import annotations

import argparse
from typing import Any

NOT_YET = "no read models yet: they are created when the projections consumer first starts"


def add_contact_commands(commands: argparse._SubParsersAction[Any]) -> None:
    """Add ``inquiries stats`` and ``contacts``."""
    inquiries = commands.add_parser("inquiries", help="inquiries (咨询)").add_subparsers(
        dest="inquiries_command", required=True, metavar="VIEW"
    )
    stats = inquiries.add_parser(
        "stats", help="volume by category, channel and month, with the first-contact resolution rate"
    )
    stats.add_argument("--from", dest="month_from", metavar="YYYY-MM", help="from this month")
    stats.add_argument("--to", dest="month_to", metavar="YYYY-MM", help="to this month (inclusive)")
    stats.set_defaults(run="cli.contacts:inquiry_stats")
    contacts = commands.add_parser(
        "contacts",
        help="a customer's contact history: inquiries, service orders, 保全 requests, complaints, claims",
    )
    contacts.add_argument("customer_id", help="the customer id, e.g. CUST-0b8a4f2e")
    contacts.set_defaults(run="cli.contacts:contact_history")


def inquiry_stats(args: argparse.Namespace) -> int:
    """`caseledger inquiries stats`: inquiry volume and the first-contact resolution rate."""
    from cli.system import open_system
    from cli.tables import print_table
    from infra.settings import Settings
    from projections.contact_queries import inquiry_statistics
    from projections.inquiries import INQUIRY_STATS
    from projections.schema import read_schema

    system = open_system(Settings())
    try:
        schema = read_schema(system.settings.db_schema)
        with system.database.connection() as conn:
            if not _exists(conn, schema, INQUIRY_STATS.name):
                print(NOT_YET)
                return 0
            rows = inquiry_statistics(conn, schema, month_from=args.month_from, month_to=args.month_to)
        print_table(
            ("month", "category", "channel", "logged", "answered", "first contact", "transferred", "FCR"),
            (
                (
                    row.month,
                    row.category,
                    row.channel,
                    row.logged,
                    row.answered,
                    row.first_contact_resolved,
                    row.transferred,
                    "-"
                    if row.first_contact_resolution_rate is None
                    else f"{row.first_contact_resolution_rate:.1%}",
                )
                for row in rows
            ),
            right=("logged", "answered", "first contact", "transferred", "FCR"),
        )
        return 0
    finally:
        system.close()


def contact_history(args: argparse.Namespace) -> int:
    """`caseledger contacts CUSTOMER_ID`: the customer's contacts, newest first."""
    from cli.system import open_system
    from cli.tables import print_table
    from infra.settings import Settings
    from projections.contact_history import CONTACT_HISTORY
    from projections.contact_queries import contact_history as history_of
    from projections.schema import read_schema

    system = open_system(Settings())
    try:
        schema = read_schema(system.settings.db_schema)
        with system.database.connection() as conn:
            if not _exists(conn, schema, CONTACT_HISTORY.name):
                print(NOT_YET)
                return 0
            history = history_of(conn, schema, args.customer_id)
        if not history.contacts:
            print(f"no contacts of {args.customer_id}")
            return 0
        print_table(
            ("opened", "kind", "topic", "channel", "latest step", "at", "case"),
            (
                (
                    f"{c.opened_at:%Y-%m-%d %H:%M}",
                    c.contact_kind,
                    c.topic,
                    c.channel or "-",
                    c.last_step,
                    f"{c.last_step_at:%Y-%m-%d %H:%M}",
                    str(c.case_id),
                )
                for c in history.contacts
            ),
        )
        return 0
    finally:
        system.close()


def _exists(conn: Any, schema: str, table: str) -> bool:
    found = conn.execute("SELECT to_regclass(%s)", (f'"{schema}"."{table}"',)).fetchone()
    return found is not None and found[0] is not None
