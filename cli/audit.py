"""`caseledger audit …`: a case's history and past state, chain verification, signed export and its check."""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from cli.errors import CliError

# The parser is built on every `caseledger` call: the handlers import the store and the domain themselves.
if TYPE_CHECKING:
    from infra.audit.history import CaseAsOf, CaseHistory
    from infra.settings import Settings


def add_audit_commands(commands: Any) -> None:
    """Add ``audit history | verify | export | verify-export | compare-exports`` to the subcommands."""
    audit = commands.add_parser("audit", help="history, tamper evidence and signed exports").add_subparsers(
        dest="audit_command", required=True
    )
    history = audit.add_parser("history", help="every event of a case; or the case as of a version or time")
    history.add_argument("case_id", type=UUID, help="the case (policy, claim or complaint) id")
    when = history.add_mutually_exclusive_group()
    when.add_argument("--as-of", type=_aware, metavar="ISO-TIME", help="the case and its timers at this time")
    when.add_argument("--version", type=int, help="the case at this version")
    history.add_argument("--json", action="store_true", help="print JSON instead of text")
    history.set_defaults(run="cli.audit:history")

    verify = audit.add_parser(
        "verify", help="recompute every case's hash chain and name the first broken link"
    )
    verify.add_argument("--case", type=UUID, help="one case only")
    verify.set_defaults(run="cli.audit:verify")

    export = audit.add_parser("export", help="write a signed JSON Lines export for auditors")
    scope = export.add_mutually_exclusive_group(required=True)
    scope.add_argument("--case", type=UUID, help="one case only")
    scope.add_argument("--all", action="store_true", help="every case of every context")
    export.add_argument("--out", type=Path, required=True, help="the JSON Lines file to write")
    export.add_argument("--key", help="HMAC key (default: CASELEDGER_AUDIT_KEY)")
    export.set_defaults(run="cli.audit:export")

    offline = audit.add_parser(
        "verify-export", help="check an export with nothing but the file and the key (no database)"
    )
    offline.add_argument("file", type=Path, help="the export (JSON Lines) to check")
    offline.add_argument("--key", required=True, help="the HMAC key it was signed with")
    offline.set_defaults(run="cli.audit:verify_export_file")

    compare = audit.add_parser(
        "compare-exports", help="check that a later export extends an earlier one (no case cut or rewritten)"
    )
    compare.add_argument("older", type=Path, help="the earlier export")
    compare.add_argument("newer", type=Path, help="the later export, which must extend the earlier one")
    compare.add_argument("--key", required=True, help="the HMAC key both were signed with")
    compare.set_defaults(run="cli.audit:compare_export_files")

    access = audit.add_parser(
        "access-log",
        help="every full reveal and export of personal data: who, when, whose, which field, why "
        "(a data subject's history with --subject, PIPL Art. 45)",
    )
    access.add_argument("--subject", help="one data subject (customer id)")
    access.add_argument("--actor", help="one actor")
    access.add_argument("--case", type=UUID, help="one case")
    access.add_argument("--since", type=_aware, metavar="ISO-TIME", help="recorded at or after this time")
    access.add_argument("--limit", type=int, default=1000, help="at most this many rows (default 1000)")
    access.add_argument("--json", action="store_true", help="print JSON Lines instead of text")
    access.add_argument(
        "--verify", action="store_true", help="recompute the log's hash chain; exit 1 if broken"
    )
    access.set_defaults(run="cli.audit:access_log")


def _aware(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("give a time zone, e.g. 2026-03-02T09:00+08:00")
    return moment


def history(args: argparse.Namespace) -> int:
    """`caseledger audit history CASE_ID [--as-of | --version]`; an unknown case or version is one line."""
    from cli.system import open_system
    from infra.audit.history import AuditTrail
    from infra.settings import Settings
    from projections.masking import mask_fields

    system = open_system(Settings())
    trail = AuditTrail(system)
    try:
        # Personal fields print masked, as every read shows them (a full value: the API's logged reveal).
        if args.as_of is None and args.version is None:
            events = trail.history(args.case_id)
            events = events.model_copy(
                update={
                    "events": [
                        e.model_copy(update={"payload": mask_fields(e.payload)}) for e in events.events
                    ]
                }
            )
            _say(events.model_dump_json(indent=2) if args.json else _history_text(events))
        else:
            state = trail.as_of(args.case_id, at=args.as_of, version=args.version)
            state = state.model_copy(update={"state": mask_fields(state.state)})
            _say(state.model_dump_json(indent=2) if args.json else _state_text(state))
        return 0
    finally:
        system.close()


def _local(moment: datetime | None) -> str:
    from domain.base import SHANGHAI

    return "-" if moment is None else moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def _history_text(events: CaseHistory) -> str:
    lines = [f"{events.context} {events.case_id}: {events.version} events (times in Asia/Shanghai)"]
    for e in events.events:
        occurred = f" occurred {_local(e.occurred_at)}" if e.occurred_at else ""
        lines += [
            f"v{e.version:<3} {_local(e.recorded_at)}{occurred}  {e.wire_name}"
            f"  by {e.actor_id} ({e.actor_role.value})",
            f"     basis: {e.legal_basis or 'not mapped'}",
            f"     correlation {e.correlation_id}  causation {e.causation_id or '-'}",
            f"     chain {e.chain_hash or '-'}",
        ]
    return "\n".join(lines)


def _state_text(state: CaseAsOf) -> str:
    lines = [
        f"{state.context} {state.case_id} at version {state.version} "
        f"(recorded {_local(state.recorded_at)}; as of {_local(state.as_of)})",
        json.dumps(state.state, indent=2, ensure_ascii=False),
    ]
    for t in state.timers:
        lines.append(
            f"timer {t.rule_id} cycle {t.cycle} v{t.version}: {t.state}, due {_local(t.due_at)}, "
            f"warned {t.warned}, {t.pauses} pauses  [{t.legal_basis}]"
        )
    if not state.timers:
        lines.append("no SLA timer had started by then")
    return "\n".join(lines)


def verify(args: argparse.Namespace) -> int:
    """`caseledger audit verify [--case]`: recompute the hash chains; exit 1 when one is broken."""
    from cli.system import open_system
    from infra.audit.access_log import AccessLog
    from infra.audit.history import AuditTrail
    from infra.settings import Settings

    settings = Settings()
    system = open_system(settings)
    try:
        started = time.perf_counter()
        report = AuditTrail(system).verify(args.case)
        seconds = time.perf_counter() - started
        # The personal-data access log has a chain of its own; a whole-store check covers it too.
        access = None if args.case else AccessLog(system.database, settings.db_schema).verify()
    finally:
        system.close()
    _say(f"{report.events} events in {report.cases} cases checked in {seconds:.1f} s")
    for link in report.broken:
        _say(f"BROKEN {link}")
    _say("every chain holds" if report.ok else f"{len(report.broken)} cases with a broken chain")
    access_ok = access is None or access[1] is None
    if access is not None:
        rows, broken = access
        _say(
            f"access log: {rows} rows, "
            + ("its chain holds" if broken is None else f"BROKEN at row {broken}")
        )
    return 0 if report.ok and access_ok else 1


def _key(given: str | None, settings: Settings) -> bytes:
    if given:
        return given.encode("utf-8")
    if settings.audit_key is None:
        raise CliError("give --key or set CASELEDGER_AUDIT_KEY")
    return settings.audit_key.get_secret_value().encode("utf-8")


def export(args: argparse.Namespace) -> int:
    """`caseledger audit export`: a signed JSON Lines export of one case or all."""
    from cli.system import open_system
    from infra.audit.history import AuditTrail
    from infra.settings import Settings

    settings = Settings()
    key = _key(args.key, settings)
    system = open_system(settings)
    try:
        report = AuditTrail(system).export(args.out, key, None if args.all else args.case)
    finally:
        system.close()
    _say(f"{report.events} events of {report.cases} cases written to {report.path}, signed (HMAC-SHA256)")
    return 0


def verify_export_file(args: argparse.Namespace) -> int:
    """`caseledger audit verify-export FILE --key`: exit 1 unless the export verifies."""
    from infra.audit.verify import describe, verify_export

    verdict = verify_export(args.file, args.key.encode("utf-8"))
    for line in describe(verdict):
        _say(line)
    return 0 if verdict.ok else 1


def compare_export_files(args: argparse.Namespace) -> int:
    """`caseledger audit compare-exports OLDER NEWER --key`: exit 1 unless NEWER extends OLDER."""
    from infra.audit.verify import compare_exports, describe_comparison

    comparison = compare_exports(args.older, args.newer, args.key.encode("utf-8"))
    for line in describe_comparison(comparison):
        _say(line)
    return 0 if comparison.ok else 1


def access_log(args: argparse.Namespace) -> int:
    """`caseledger audit access-log [--subject | --actor | --case | --since] [--verify]`."""
    from cli.system import open_system
    from infra.audit.access_log import AccessLog
    from infra.settings import Settings

    settings = Settings()
    system = open_system(settings)
    try:
        log = AccessLog(system.database, settings.db_schema)
        if args.verify:
            rows, broken = log.verify()
            _say(
                f"{rows} access-log rows checked: "
                + ("the chain holds" if broken is None else f"BROKEN at {broken}")
            )
            return 0 if broken is None else 1
        entries = log.entries(
            subject=args.subject, actor=args.actor, case_id=args.case, since=args.since, limit=args.limit
        )
    finally:
        system.close()
    for entry in entries:
        if args.json:
            _say(entry.model_dump_json())
        else:
            _say(
                f"{_local(entry.at)}  {entry.kind:<6} {entry.actor_id} ({entry.role})"
                f"  subject {entry.subject_id}"
                f"  case {entry.case_id or '-'}  field {entry.field}  purpose {entry.purpose!r}"
                f"  request {entry.request_id}"
            )
    if not args.json:
        _say(f"{len(entries)} accesses")
    return 0


def _say(line: object) -> None:
    print(line)
