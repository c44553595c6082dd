"""`caseledger privacy …`: a customer's retention holds, and the erasure of their personal data."""

from __future__ import annotations

import argparse
import getpass
from typing import Any

HOLD_GROUNDS = ("legal", "dispute")
"""The values of ``domain.privacy.HoldGround``, spelled here so that building the parser loads no domain."""


def add_privacy_commands(commands: Any) -> None:
    """Add ``privacy erase|holds|hold|release`` to the top-level subcommands."""
    privacy = commands.add_parser(
        "privacy", help="personal data: retention holds and erasure"
    ).add_subparsers(dest="privacy_command", required=True, metavar="ACTION")
    erase = privacy.add_parser(
        "erase", help="destroy a customer's key (crypto-shredding) unless a retention hold applies"
    )
    erase.add_argument("customer_id", help="the customer whose personal data is erased")
    erase.add_argument("--reason", required=True, help="why (the data subject's request, ...), kept")
    holds = privacy.add_parser(
        "holds", help="every retention clock of a customer and whether it applies today"
    )
    holds.add_argument("customer_id", help="the customer")
    hold = privacy.add_parser("hold", help="place a hold by hand (litigation, a regulator, a dispute)")
    hold.add_argument("customer_id", help="the customer whose data the hold keeps")
    hold.add_argument("--id", dest="hold_id", required=True, help="a name for the hold, to release it by")
    hold.add_argument(
        "--ground",
        choices=HOLD_GROUNDS,
        required=True,
        help="legal: kept until released; dispute: sales records kept 2 years after release",
    )
    hold.add_argument("--reason", required=True, help="why the hold is placed, kept with it")
    release = privacy.add_parser("release", help="release a hold placed by hand")
    release.add_argument("customer_id", help="the customer")
    release.add_argument("--id", dest="hold_id", required=True, help="the hold's name")
    release.add_argument("--reason", required=True, help="why the hold is released, kept with it")
    for sub in (erase, hold, release):
        # Erasure and holds are a senior manager's decision; the OS user stands in when none is named.
        sub.add_argument("--actor", default=getpass.getuser(), help="who decides (default: the OS user)")
    for sub in (erase, holds, hold, release):
        sub.set_defaults(run="cli.privacy:privacy")


def privacy(args: argparse.Namespace) -> int:
    """`caseledger privacy …`; a refusal (a hold applies, ...) is one line naming the rule (cli.errors)."""
    from uuid import uuid4

    from cli.system import open_system
    from cli.tables import print_table
    from domain.base import Actor, Role
    from domain.privacy import HoldGround
    from infra.settings import Settings
    from infra.store.eventstore import Caller

    system = open_system(Settings())
    try:
        if args.privacy_command == "holds":
            statuses = system.privacy.holds(args.customer_id)
            if not statuses:
                print(f"customer {args.customer_id}: no retention clock (no case, no hold)")
                return 0
            print_table(
                ("state", "rule", "until", "case", "reason"),
                (
                    (
                        "APPLIES" if status.applies else "ran out",
                        status.hold.rule,
                        "open-ended" if status.hold.until is None else str(status.hold.until),
                        status.hold.case_id or "",
                        status.hold.reason,
                    )
                    for status in statuses
                ),
            )
            return 0
        caller = Caller(Actor(id=args.actor, role=Role.SENIOR_MANAGER), correlation_id=uuid4())
        if args.privacy_command == "erase":
            result = system.privacy.erase(caller, args.customer_id, reason=args.reason)
            print(
                f"customer {args.customer_id}: personal data erased (key destroyed); "
                f"recorded as data subject {result.case_id} version {result.version}"
            )
        elif args.privacy_command == "hold":
            system.privacy.place_hold(
                caller,
                args.customer_id,
                hold_id=args.hold_id,
                ground=HoldGround(args.ground),
                reason=args.reason,
            )
            print(f"customer {args.customer_id}: hold {args.hold_id} placed")
        else:
            system.privacy.release_hold(caller, args.customer_id, hold_id=args.hold_id, reason=args.reason)
            print(f"customer {args.customer_id}: hold {args.hold_id} released")
        return 0
    finally:
        system.close()
