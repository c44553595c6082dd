"""The per-case hash chain, and the offline verifier of an audit export. Python standard library only.

An auditor can copy this one file and run ``python audit_verify.py EXPORT.jsonl --key KEY``: it needs
nothing but the export and the key, neither caseledger nor a database. ``python audit_verify.py --compare
OLDER NEWER --key KEY`` checks that a later export extends an earlier one: the chain has no key, so only an
earlier export shows a case recomputed or cut short in the database.

The chain: each stored event carries ``chain_hash = sha256(previous || encoding)``, where ``previous`` is the
chain hash of the same case's event at the version before (32 zero bytes before version 1) and ``encoding``
is ``uuid (16 bytes) || version (8 bytes, big-endian, signed) || len(topic) (4 bytes, big-endian) || topic
(UTF-8) || state``. Every part but the last has a fixed or a stated length, so two different events never
encode alike. PostgreSQL computes the same bytes in a trigger (``infra/audit_chain.py``); this module
recomputes them, so a verification never trusts the database's own arithmetic.

An export is JSON Lines: a header, one line per event (the stored bytes base64, the stored chain hash), one
head line per case (its last version and chain hash), then a signature line: HMAC-SHA256 with the audit key
over every byte before that line.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import hmac
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID

GENESIS = bytes(32)
"""The "previous hash" of a case's first event."""

EXPORT_FORMAT = "caseledger-audit-export"
EXPORT_VERSION = 1
CHAIN_ALGORITHM = "sha256-chain-v1"
SIGNATURE_ALGORITHM = "hmac-sha256"


def chain_hash(previous: bytes, case_id: UUID, version: int, topic: str, state: bytes) -> bytes:
    """The chain hash of one stored event, given the chain hash of the case's event before it."""
    topic_bytes = topic.encode("utf-8")
    return hashlib.sha256(
        b"".join(
            (
                previous,
                case_id.bytes,
                version.to_bytes(8, "big", signed=True),
                len(topic_bytes).to_bytes(4, "big"),
                topic_bytes,
                state,
            )
        )
    ).digest()


def sign(key: bytes, content: bytes) -> str:
    """The export's signature (hex) over ``content`` with the audit key."""
    return hmac.new(key, content, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class BrokenLink:
    """The first place a case's chain does not hold, and why."""

    context: str
    case_id: UUID
    version: int
    problem: str

    def __str__(self) -> str:
        return f"{self.context} {self.case_id}: {self.problem} at version {self.version}"


@dataclass
class _Case:
    version: int = 0
    hash: bytes = GENESIS
    broken: BrokenLink | None = None


@dataclass
class ChainCheck:
    """Recomputes the chains from events fed in per-case version order; keeps the first break per case.

    Events of different cases may interleave; a case's events must come oldest first (a gap in the versions
    is a missing event, not a reordering).
    """

    events: int = 0
    watch: dict[tuple[str, UUID], int] = field(default_factory=dict)
    """Versions whose recomputed chain hash to keep in ``watched`` (an older export's heads)."""
    watched: dict[tuple[str, UUID], bytes] = field(default_factory=dict)
    _cases: dict[tuple[str, UUID], _Case] = field(default_factory=dict)

    def feed(
        self, context: str, case_id: UUID, version: int, topic: str, state: bytes, stored: bytes | None
    ) -> None:
        """Check one stored event against the chain so far."""
        self.events += 1
        case = self._cases.setdefault((context, case_id), _Case())
        if case.broken is not None:
            return
        expected = case.version + 1
        if version != expected:
            problem = "missing event" if version > expected else "version out of order"
            case.broken = BrokenLink(context, case_id, expected if version > expected else version, problem)
            return
        computed = chain_hash(case.hash, case_id, version, topic, state)
        if stored is None:
            case.broken = BrokenLink(context, case_id, version, "no chain hash stored")
        elif not hmac.compare_digest(computed, stored):
            case.broken = BrokenLink(context, case_id, version, "chain hash mismatch")
        case.version, case.hash = version, computed
        if self.watch.get((context, case_id)) == version:
            self.watched[(context, case_id)] = computed

    def heads(self) -> dict[tuple[str, UUID], tuple[int, bytes]]:
        """Each case's last version and recomputed chain hash."""
        return {key: (case.version, case.hash) for key, case in self._cases.items()}

    def broken(self) -> list[BrokenLink]:
        """The first broken link of every case whose chain does not hold."""
        return [case.broken for case in self._cases.values() if case.broken is not None]

    def broken_cases(self) -> set[tuple[str, UUID]]:
        """The cases whose chain does not hold."""
        return {key for key, case in self._cases.items() if case.broken is not None}

    @property
    def cases(self) -> int:
        return len(self._cases)


@dataclass(frozen=True)
class ExportVerdict:
    """What the offline verifier found: counts, and every reason not to trust the file."""

    events: int
    cases: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_export(path: Path, key: bytes) -> ExportVerdict:
    """Check an export's signature, every case's chain and every head; the file and the key suffice."""
    return _verify(path, key, ChainCheck())


def _verify(path: Path, key: bytes, check: ChainCheck) -> ExportVerdict:
    """``verify_export``, leaving the recomputed heads and watched hashes in ``check``.

    The file is read line by line (an export of every case can be larger than memory); each line enters
    the signature once the next one shows it was not the last.
    """
    mac = hmac.new(key, digestmod=hashlib.sha256)
    problems: list[str] = []
    heads: dict[tuple[str, UUID], tuple[int, bytes]] = {}
    header: dict[str, object] | None = None
    held: bytes | None = None
    number = 0
    with path.open("rb") as file:
        for raw in file:
            if held is not None:
                mac.update(held)
                if number == 1:
                    header = _json_object(held)
                else:
                    _check_line(number, held, check, heads, problems)
            held, number = raw, number + 1
    if held is None or header is None:
        return ExportVerdict(0, 0, ("not an audit export: fewer than two lines",))
    signature = _json_object(held)
    if signature.get("type") != "signature" or signature.get("algorithm") != SIGNATURE_ALGORITHM:
        return ExportVerdict(0, 0, ("the last line is not an hmac-sha256 signature",))
    if not hmac.compare_digest(mac.hexdigest(), str(signature.get("mac", ""))):
        problems.insert(0, "signature does not match: the file was changed or the key is not the exporter's")
    if header.get("type") != "header" or header.get("format") != EXPORT_FORMAT:
        problems.append("the first line is not a caseledger audit export header")
    elif header.get("chain") != CHAIN_ALGORITHM:
        problems.append(f"unknown chain algorithm {header.get('chain')!r}")
    broken = check.broken()
    problems += [str(link) for link in broken]
    # A broken case is reported once, at its first bad link: its head cannot match beyond that.
    skip = check.broken_cases()
    problems += _compare_heads(
        {k: v for k, v in check.heads().items() if k not in skip},
        {k: v for k, v in heads.items() if k not in skip},
    )
    if signature.get("events") != check.events or signature.get("cases") != len(heads):
        problems.append(
            f"the signature line counts {signature.get('events')} events and {signature.get('cases')} cases, "
            f"the file holds {check.events} and {len(heads)}"
        )
    return ExportVerdict(check.events, check.cases, tuple(problems))


def _json_object(line: bytes) -> dict[str, object]:
    try:
        value = json.loads(line)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _check_line(
    number: int,
    line: bytes,
    check: ChainCheck,
    heads: dict[tuple[str, UUID], tuple[int, bytes]],
    problems: list[str],
) -> None:
    try:
        _read_line(json.loads(line), check, heads)
    except (ValueError, KeyError, TypeError, binascii.Error) as error:
        problems.append(f"line {number} is not a valid export line: {error}")


def _read_line(
    line: dict[str, object], check: ChainCheck, heads: dict[tuple[str, UUID], tuple[int, bytes]]
) -> None:
    kind = line["type"]
    context, case_id = str(line["context"]), UUID(str(line["case_id"]))
    version = line["version"]
    if not isinstance(version, int):
        raise TypeError("version is not an integer")
    if kind == "event":
        stored = bytes.fromhex(str(line["chain_hash"]))
        state = base64.b64decode(str(line["state"]), validate=True)
        check.feed(context, case_id, version, str(line["topic"]), state, stored)
    elif kind == "head":
        heads[(context, case_id)] = (version, bytes.fromhex(str(line["chain_hash"])))
    else:
        raise ValueError(f"unexpected line type {kind!r}")


def _compare_heads(
    computed: dict[tuple[str, UUID], tuple[int, bytes]], declared: dict[tuple[str, UUID], tuple[int, bytes]]
) -> list[str]:
    problems = []
    for key in sorted(computed.keys() | declared.keys(), key=lambda k: (k[0], str(k[1]))):
        context, case_id = key
        if key not in declared:
            problems.append(f"{context} {case_id}: events without a head line")
        elif key not in computed:
            problems.append(f"{context} {case_id}: a head line without events (every event is missing)")
        elif computed[key][0] != declared[key][0]:
            problems.append(
                f"{context} {case_id}: head names version {declared[key][0]}, "
                f"the events end at {computed[key][0]}"
            )
        elif not hmac.compare_digest(computed[key][1], declared[key][1]):
            problems.append(f"{context} {case_id}: head chain hash does not match the events")
    return problems


@dataclass(frozen=True)
class CaseChange:
    """A case of the older export that the newer one does not extend."""

    context: str
    case_id: UUID
    version: int
    """The older export's head version of the case."""
    problem: str

    def __str__(self) -> str:
        return f"{self.context} {self.case_id}: {self.problem}"


@dataclass(frozen=True)
class Comparison:
    """Both exports' own verdicts, then every case the newer export shortened or rewrote."""

    older: ExportVerdict
    newer: ExportVerdict
    changes: tuple[CaseChange, ...]

    @property
    def ok(self) -> bool:
        return self.older.ok and self.newer.ok and not self.changes


def compare_exports(older: Path, newer: Path, key: bytes) -> Comparison:
    """Check that ``newer`` extends ``older``: every case of ``older`` is in ``newer``, at least as long,
    and with the same chain hash at ``older``'s head version.

    Each file must verify on its own first; otherwise neither its heads nor its chain can be trusted and
    no case is compared. Cases only in ``newer`` are new cases. Only ``older``'s heads are held in memory.
    """
    first = ChainCheck()
    older_verdict = _verify(older, key, first)
    old_heads = first.heads()
    second = ChainCheck(watch={case: version for case, (version, _) in old_heads.items()})
    newer_verdict = _verify(newer, key, second)
    if not (older_verdict.ok and newer_verdict.ok):
        return Comparison(older_verdict, newer_verdict, ())
    new_heads = second.heads()
    changes = []
    for case in sorted(old_heads, key=lambda k: (k[0], str(k[1]))):
        version, old_hash = old_heads[case]
        if case not in new_heads:
            problem = f"shortened: missing from the newer export (the older holds version {version})"
        elif new_heads[case][0] < version:
            problem = (
                f"shortened: the newer export ends at version {new_heads[case][0]}, "
                f"the older holds version {version}"
            )
        elif not hmac.compare_digest(second.watched[case], old_hash):
            problem = f"rewritten: chain hash at version {version} differs from the older export's head"
        else:
            continue
        changes.append(CaseChange(case[0], case[1], version, problem))
    return Comparison(older_verdict, newer_verdict, tuple(changes))


def describe_comparison(comparison: Comparison) -> Iterable[str]:
    """The comparison's report, line by line."""
    for name, verdict in (("older", comparison.older), ("newer", comparison.newer)):
        if not verdict.ok:
            yield f"{name} export NOT VERIFIED: {len(verdict.problems)} problems"
            yield from (f"  {problem}" for problem in verdict.problems)
    if not (comparison.older.ok and comparison.newer.ok):
        yield "NOT COMPARED: each export must verify on its own first"
        return
    yield (
        f"older: {comparison.older.events} events in {comparison.older.cases} cases; "
        f"newer: {comparison.newer.events} events in {comparison.newer.cases} cases"
    )
    if not comparison.changes:
        yield "EXTENDS: the newer export holds every case of the older one, unchanged up to its head"
        return
    yield f"DOES NOT EXTEND: {len(comparison.changes)} cases shortened or rewritten"
    yield from (f"  {change}" for change in comparison.changes)


def describe(verdict: ExportVerdict) -> Iterable[str]:
    """The verifier's report, line by line."""
    yield f"{verdict.events} events in {verdict.cases} cases"
    if verdict.ok:
        yield "VERIFIED: signature valid, every chain and head holds"
        return
    yield f"NOT VERIFIED: {len(verdict.problems)} problems"
    yield from (f"  {problem}" for problem in verdict.problems)


def main(argv: list[str] | None = None) -> int:
    """``python audit_verify.py EXPORT --key KEY`` or ``--compare OLDER NEWER --key KEY``: exit 0 when the
    export verifies (or the newer export extends the older), 1 when it does not."""
    parser = argparse.ArgumentParser(description="Verify a caseledger audit export offline.")
    parser.add_argument("export", type=Path, nargs="?")
    parser.add_argument(
        "--compare", type=Path, nargs=2, metavar=("OLDER", "NEWER"), help="check that NEWER extends OLDER"
    )
    parser.add_argument("--key", required=True, help="the audit key the exports were signed with")
    args = parser.parse_args(argv)
    if (args.export is None) == (args.compare is None):
        parser.error("give either EXPORT or --compare OLDER NEWER")
    key = args.key.encode("utf-8")
    if args.compare is not None:
        comparison = compare_exports(args.compare[0], args.compare[1], key)
        for line in describe_comparison(comparison):
            _say(line)
        return 0 if comparison.ok else 1
    verdict = verify_export(args.export, key)
    for line in describe(verdict):
        _say(line)
    return 0 if verdict.ok else 1


def _say(line: object) -> None:
    print(line)  # noqa: T201 - a command line prints its report


if __name__ == "__main__":
    sys.exit(main())
