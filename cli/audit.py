"""`caseledger audit …`: a case's history and past state, chain verification, signed export and its check."""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from domain.base import SHANGHAI
from infra.audit.history import AuditTrail, CaseAsOf, CaseHistory, VersionNotRecordedError
from infra.audit.verify import compare_exports, describe, describe_comparison, verify_export
from infra.bootstrap import bootstrap
from infra.settings import Settings
from infra.store.eventstore import CaseNotFoundError


def add_audit_commands(commands: Any) -> None:
    """Add ``audit history | verify | export | verify-export | compare-exports`` to the subcommands."""
    audit = commands.add_parser("audit", help="history, tamper evidence and signed exports").add_subparsers(
        dest="audit_command", required=True
    )
    history = audit.add_parser("history", help="every event of a case; or the case as of a version or time")
    history.add_argument("case_id", type=UUID)
    when = history.add_mutually_exclusive_group()
    when.add_argument("--as-of", type=_aware, metavar="ISO-TIME", help="the case and its timers at this time")
    when.add_argument("--version", type=int, help="the case at this version")
    history.add_argument("--json", action="store_true", help="print JSON instead of text")
    history.set_defaults(run=_history)

    verify = audit.add_parser(
        "verify", help="recompute every case's hash chain and name the first broken link"
    )
    verify.add_argument("--case", type=UUID, help="one case only")
    verify.set_defaults(run=_verify)

    export = audit.add_parser("export", help="write a signed JSON Lines export for auditors")
    scope = export.add_mutually_exclusive_group(required=True)
    scope.add_argument("--case", type=UUID)
    scope.add_argument("--all", action="store_true")
    export.add_argument("--out", type=Path, required=True)
    export.add_argument("--key", help="HMAC key (default: CASELEDGER_AUDIT_KEY)")
    export.set_defaults(run=_export)

    offline = audit.add_parser(
        "verify-export", help="check an export with nothing but the file and the key (no database)"
    )
    offline.add_argument("file", type=Path)
    offline.add_argument("--key", required=True)
    offline.set_defaults(run=_verify_export)

    compare = audit.add_parser(
        "compare-exports", help="check that a later export extends an earlier one (no case cut or rewritten)"
    )
    compare.add_argument("older", type=Path)
    compare.add_argument("newer", type=Path)
    compare.add_argument("--key", required=True)
    compare.set_defaults(run=_compare_exports)


def _aware(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("give a time zone, e.g. 2026-03-02T09:00+08:00")
    return moment


def _history(args: argparse.Namespace) -> int:
    system = bootstrap(Settings())
    trail = AuditTrail(system)
    try:
        if args.as_of is None and args.version is None:
            history = trail.history(args.case_id)
            _say(history.model_dump_json(indent=2) if args.json else _history_text(history))
        else:
            state = trail.as_of(args.case_id, at=args.as_of, version=args.version)
            _say(state.model_dump_json(indent=2) if args.json else _state_text(state))
        return 0
    except (CaseNotFoundError, VersionNotRecordedError) as error:
        _say(error)
        return 1
    finally:
        system.close()


def _local(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def _history_text(history: CaseHistory) -> str:
    lines = [f"{history.context} {history.case_id}: {history.version} events (times in Asia/Shanghai)"]
    for e in history.events:
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


def _verify(args: argparse.Namespace) -> int:
    system = bootstrap(Settings())
    try:
        started = time.perf_counter()
        report = AuditTrail(system).verify(args.case)
        seconds = time.perf_counter() - started
    except CaseNotFoundError as error:
        _say(error)
        return 1
    finally:
        system.close()
    _say(f"{report.events} events in {report.cases} cases checked in {seconds:.1f} s")
    for link in report.broken:
        _say(f"BROKEN {link}")
    _say("every chain holds" if report.ok else f"{len(report.broken)} cases with a broken chain")
    return 0 if report.ok else 1


def _key(given: str | None, settings: Settings) -> bytes:
    if given:
        return given.encode("utf-8")
    if settings.audit_key is None:
        raise SystemExit("give --key or set CASELEDGER_AUDIT_KEY")
    return settings.audit_key.get_secret_value().encode("utf-8")


def _export(args: argparse.Namespace) -> int:
    settings = Settings()
    key = _key(args.key, settings)
    system = bootstrap(settings)
    try:
        report = AuditTrail(system).export(args.out, key, None if args.all else args.case)
    except CaseNotFoundError as error:
        _say(error)
        return 1
    finally:
        system.close()
    _say(f"{report.events} events of {report.cases} cases written to {report.path}, signed (HMAC-SHA256)")
    return 0


def _verify_export(args: argparse.Namespace) -> int:
    verdict = verify_export(args.file, args.key.encode("utf-8"))
    for line in describe(verdict):
        _say(line)
    return 0 if verdict.ok else 1


def _compare_exports(args: argparse.Namespace) -> int:
    comparison = compare_exports(args.older, args.newer, args.key.encode("utf-8"))
    for line in describe_comparison(comparison):
        _say(line)
    return 0 if comparison.ok else 1


def _say(line: object) -> None:
    print(line)
