"""`caseledger privacy …`: a customer's retention holds, and the erasure of their personal data."""

from __future__ import annotations

import argparse
import getpass
from typing import Any
from uuid import uuid4

from domain.base import Actor, DomainError, Role
from domain.privacy import HoldGround
from infra.bootstrap import bootstrap
from infra.settings import Settings
from infra.store.eventstore import Caller


def add_privacy_commands(commands: Any) -> None:
    """Add ``privacy erase|holds|hold|release`` to the top-level subcommands."""
    privacy = commands.add_parser(
        "privacy", help="personal data: retention holds and erasure"
    ).add_subparsers(dest="privacy_command", required=True)
    erase = privacy.add_parser(
        "erase", help="destroy a customer's key (crypto-shredding) unless a retention hold applies"
    )
    erase.add_argument("customer_id")
    erase.add_argument("--reason", required=True)
    holds = privacy.add_parser(
        "holds", help="every retention clock of a customer and whether it applies today"
    )
    holds.add_argument("customer_id")
    hold = privacy.add_parser("hold", help="place a hold by hand (litigation, a regulator, a dispute)")
    hold.add_argument("customer_id")
    hold.add_argument("--id", dest="hold_id", required=True)
    hold.add_argument("--ground", choices=[g.value for g in HoldGround], required=True)
    hold.add_argument("--reason", required=True)
    release = privacy.add_parser("release", help="release a hold placed by hand")
    release.add_argument("customer_id")
    release.add_argument("--id", dest="hold_id", required=True)
    release.add_argument("--reason", required=True)
    for sub in (erase, hold, release):
        # Erasure and holds are a senior manager's decision; the OS user stands in when none is named.
        sub.add_argument("--actor", default=getpass.getuser(), help="who decides (default: the OS user)")
    for sub in (erase, holds, hold, release):
        sub.set_defaults(run=_privacy)


def _privacy(args: argparse.Namespace) -> int:
    system = bootstrap(Settings())
    try:
        if args.privacy_command == "holds":
            statuses = system.privacy.holds(args.customer_id)
            if not statuses:
                print(f"customer {args.customer_id}: no retention clock (no case, no hold)")
            for status in statuses:
                until = "open-ended" if status.hold.until is None else f"until {status.hold.until}"
                state = "APPLIES" if status.applies else "ran out"
                case = f" case {status.hold.case_id}" if status.hold.case_id else ""
                print(f"{state:<8} {status.hold.rule:<17} {until:<17}{case}  {status.hold.reason}")
            return 0
        caller = Caller(Actor(id=args.actor, role=Role.SENIOR_MANAGER), correlation_id=uuid4())
        try:
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
                system.privacy.release_hold(
                    caller, args.customer_id, hold_id=args.hold_id, reason=args.reason
                )
                print(f"customer {args.customer_id}: hold {args.hold_id} released")
        except DomainError as refused:
            print(f"refused ({refused.rule}): {refused.message}")
            return 1
        return 0
    finally:
        system.close()
