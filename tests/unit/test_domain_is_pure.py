"""The domain is pure: no infrastructure import, no clock, no random value, no file I/O.

Each ``domain`` source file is parsed with ``ast`` and never imported, so a forbidden import is found even
when it sits in a function body that no test happens to run. A scan reports ``file:line`` for every
finding. The scanners are tried on small sources first, so that a scan which silently finds nothing
cannot pass for a clean domain.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

import pytest

DOMAIN_DIR = Path(__file__).resolve().parents[2] / "domain"

# The modules of the write-model foundation: the scan must see at least these.
KNOWN_MODULES = frozenset(
    {
        "__init__.py",
        "base.py",
        "calendar.py",
        "callback.py",
        "claim.py",
        "complaint.py",
        "cover.py",
        "holidays_cn.py",
        "policy.py",
        "sla.py",
        "timer.py",
    }
)

# Matched as module prefixes: "os" forbids "os.path" but not "ossaudiodev". ``eventsourcing.domain`` and
# ``eventsourcing.utils`` stay allowed because only the listed ``eventsourcing`` subpackages are forbidden.
FORBIDDEN_IMPORTS = (
    "psycopg",
    "psycopg_pool",
    "faststream",
    "fastapi",
    "starlette",
    "kafka",
    "aiokafka",
    "requests",
    "httpx",
    "sqlite3",
    "socket",
    "subprocess",
    "os",
    "eventsourcing.persistence",
    "eventsourcing.application",
    "eventsourcing.postgres",
    "eventsourcing.system",
    "infra",
    "api",
    "consumers",
    "projections",
)

# Fully qualified names that read the clock. A reference counts, not only a call:
# ``Field(default_factory=datetime.now)`` reads the clock as surely as ``datetime.now()``.
CLOCK_READS = frozenset(
    {
        "datetime.datetime.now",
        "datetime.datetime.utcnow",
        "datetime.datetime.today",
        "datetime.date.today",
        "time.time",
        "time.time_ns",
        "time.monotonic",
        "time.monotonic_ns",
        "time.perf_counter",
        "time.perf_counter_ns",
    }
)
# Whatever the receiver (an injected clock, ``self.clock``), these method names read a clock: business
# times arrive as arguments.
CLOCK_METHODS = frozenset({"now", "utcnow", "today"})

# uuid5 (and uuid3) are deterministic and allowed; these draw random or host-and-time values.
RANDOM_MODULES = ("random", "secrets")
RANDOM_NAMES = frozenset({"uuid.uuid1", "uuid.uuid4"})

IO_MODULES = ("io", "pathlib", "shutil", "tempfile", "glob", "fileinput", "importlib.resources")
IO_CALLS = frozenset({"open", "io.open", "os.open", "pkgutil.get_data"})
IO_METHODS = frozenset({"read_text", "read_bytes", "write_text", "write_bytes"})
# The brief lets the calendar read packaged data through importlib.resources. Today neither module reads
# anything (the holidays are Python literals), so the allowance covers that one import only, never open().
PACKAGED_DATA_READERS = frozenset({"calendar.py", "holidays_cn.py"})
PACKAGED_DATA_MODULE = "importlib.resources"


@dataclass
class Findings:
    """What one scan found, each as ``file:line: what``."""

    imports: list[str] = field(default_factory=list)
    clock: list[str] = field(default_factory=list)
    randomness: list[str] = field(default_factory=list)
    io: list[str] = field(default_factory=list)


def _matches(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes)


def _dotted(node: ast.expr) -> str | None:
    """``a.b.c`` for a chain of names and attributes, else None (a call result, a subscript)."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _absolute(node: ast.ImportFrom, package: str) -> str:
    """The module an ``import from`` names, relative imports resolved against the file's package."""
    if node.level == 0:
        return node.module or ""
    parts = package.split(".")
    base = parts[: len(parts) - (node.level - 1)] if node.level - 1 < len(parts) else []
    return ".".join([*base, *([node.module] if node.module else [])])


def _imported(tree: ast.Module, package: str) -> list[tuple[int, str]]:
    """Every module or module member an import statement brings in, as fully qualified names."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(node, package)
            for alias in node.names:
                # "from eventsourcing import persistence" brings in eventsourcing.persistence.
                found.append((node.lineno, f"{module}.{alias.name}" if module else alias.name))
                if module:
                    found.append((node.lineno, module))
    return found


def _aliases(tree: ast.Module, package: str) -> dict[str, str]:
    """Local name → fully qualified name, for every name an import binds."""
    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    bound[alias.asname] = alias.name
                else:
                    head = alias.name.split(".")[0]
                    bound[head] = head
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(node, package)
            for alias in node.names:
                bound[alias.asname or alias.name] = f"{module}.{alias.name}"
    return bound


def _qualified(dotted: str, aliases: dict[str, str]) -> str:
    head, _, rest = dotted.partition(".")
    resolved = aliases.get(head, head)
    return f"{resolved}.{rest}" if rest else resolved


def scan(source: str, filename: str, package: str = "domain") -> Findings:
    """Scan one module's source for infrastructure imports, clock reads, random values and file I/O."""
    tree = ast.parse(source, filename=filename)
    aliases = _aliases(tree, package)
    findings = Findings()

    def at(node: ast.AST, what: str) -> str:
        return f"{filename}:{getattr(node, 'lineno', '?')}: {what}"

    for line, name in _imported(tree, package):
        where = f"{filename}:{line}"
        if _matches(name, FORBIDDEN_IMPORTS):
            findings.imports.append(f"{where}: imports {name}")
        if name in CLOCK_READS:
            findings.clock.append(f"{where}: imports the clock read {name}")
        if _matches(name, RANDOM_MODULES) or name in RANDOM_NAMES:
            findings.randomness.append(f"{where}: imports {name}")
        packaged = name == PACKAGED_DATA_MODULE or name.startswith(PACKAGED_DATA_MODULE + ".")
        if _matches(name, IO_MODULES) and not (packaged and Path(filename).name in PACKAGED_DATA_READERS):
            findings.io.append(f"{where}: imports {name}")

    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            callee = _dotted(node.func)
            if callee in ("__import__", "importlib.import_module") or (
                callee is not None and _qualified(callee, aliases) == "importlib.import_module"
            ):
                findings.imports.append(at(node, f"imports dynamically with {callee}()"))
            # A qualified clock read (datetime.now) is reported below, as a reference; this catches the rest.
            if (
                isinstance(node.func, ast.Attribute)
                and node.func.attr in CLOCK_METHODS
                and (callee is None or _qualified(callee, aliases) not in CLOCK_READS)
            ):
                findings.clock.append(at(node, f"calls .{node.func.attr}()"))
            if isinstance(node.func, ast.Attribute) and node.func.attr in IO_METHODS:
                findings.io.append(at(node, f"calls .{node.func.attr}()"))
            if callee is not None and (callee in IO_CALLS or _qualified(callee, aliases) in IO_CALLS):
                findings.io.append(at(node, f"calls {callee}()"))
        # Every chain is checked, inner ones too: for ``dt.datetime.now`` only the whole chain matches.
        if isinstance(node, ast.Name | ast.Attribute) and isinstance(node.ctx, ast.Load):
            dotted = _dotted(node)
            # Only names bound by an import: a local variable called ``random`` is not the module.
            if dotted is None or dotted.split(".")[0] not in aliases:
                continue
            qualified = _qualified(dotted, aliases)
            if qualified in CLOCK_READS:
                findings.clock.append(at(node, f"reads the clock with {dotted} ({qualified})"))
            if qualified in RANDOM_NAMES or _matches(qualified, RANDOM_MODULES):
                findings.randomness.append(at(node, f"uses {dotted} ({qualified})"))
    return Findings(
        imports=_once_per_line(findings.imports),
        clock=_once_per_line(findings.clock),
        randomness=_once_per_line(findings.randomness),
        io=_once_per_line(findings.io),
    )


def _once_per_line(findings: list[str]) -> list[str]:
    """The first finding of each ``file:line``: ``random.choice`` need not be reported twice."""
    seen: dict[str, str] = {}
    for finding in findings:
        seen.setdefault(finding.split(": ", 1)[0], finding)
    return list(seen.values())


def _domain_files() -> list[Path]:
    return sorted(DOMAIN_DIR.rglob("*.py"))


def _package_of(path: Path) -> str:
    return ".".join(["domain", *path.relative_to(DOMAIN_DIR).parent.parts])


def _scan_domain() -> Findings:
    total = Findings()
    for path in _domain_files():
        found = scan(
            path.read_text(encoding="utf-8"), str(path.relative_to(DOMAIN_DIR.parent)), _package_of(path)
        )
        total.imports += found.imports
        total.clock += found.clock
        total.randomness += found.randomness
        total.io += found.io
    return total


def _report(findings: list[str]) -> str:
    return "\n" + "\n".join(findings)


# ---------------------------------------------------------------------------------------------- the domain


def test_scan_covers_every_domain_module_when_the_domain_is_listed() -> None:
    names = {path.name for path in _domain_files()}
    assert names >= KNOWN_MODULES, f"the scan does not see {sorted(KNOWN_MODULES - names)} in {DOMAIN_DIR}"


def test_domain_imports_no_infrastructure_when_its_sources_are_parsed() -> None:
    findings = _scan_domain().imports
    assert not findings, _report(findings)


def test_domain_reads_no_clock_when_its_sources_are_parsed() -> None:
    findings = _scan_domain().clock
    assert not findings, _report(findings)


def test_domain_draws_no_random_value_when_its_sources_are_parsed() -> None:
    findings = _scan_domain().randomness
    assert not findings, _report(findings)


def test_domain_does_no_file_io_when_its_sources_are_parsed() -> None:
    findings = _scan_domain().io
    assert not findings, _report(findings)


# ---------------------------------------------------------------------------------------------- the scanners


@pytest.mark.parametrize(
    "source",
    [
        "import psycopg",
        "import psycopg_pool.pool",
        "from faststream.kafka import KafkaBroker",
        "import os.path",
        "from os import environ",
        "from eventsourcing.application import Application",
        "from eventsourcing import persistence",
        "from eventsourcing.postgres import PostgresDatastore",
        "from infra.clock import SystemClock",
        "from ..infra import bootstrap",
        "from .. import projections",
        "def load():\n    import sqlite3",
        "import importlib\nimportlib.import_module('psycopg')",
        "__import__('socket')",
    ],
)
def test_import_scan_flags_infrastructure_when_a_source_imports_it(source: str) -> None:
    assert scan(source, "domain/example.py").imports, source


@pytest.mark.parametrize(
    "source",
    [
        "from eventsourcing.domain import Aggregate",
        "from eventsourcing.utils import register_topic",
        "import eventsourcing.domain",
        "from .base import DomainEvent",
        # domain.consumers (consumer-protection rules, say) is not the top-level consumers package.
        "from .consumers import ConsumerRight",
        "from domain.base import DomainEvent",
        "import ossaudiodev",
        "from apis_of_the_law import article",
    ],
)
def test_import_scan_lets_a_source_through_when_it_imports_only_allowed_modules(source: str) -> None:
    assert not scan(source, "domain/example.py").imports, source


@pytest.mark.parametrize(
    "source",
    [
        "from datetime import datetime\ndatetime.now()",
        "from datetime import datetime\ndatetime.now(tz=UTC)",
        "import datetime as dt\ndt.datetime.now()",
        "import datetime\ndatetime.datetime.utcnow()",
        "from datetime import date\ndate.today()",
        "from datetime import datetime as D\nD.today()",
        "from time import time\ntime()",
        "from time import monotonic as tick\ntick()",
        "import time\ntime.perf_counter()",
        "from datetime import datetime\nField(default_factory=datetime.now)",
        "self.clock.now()",
    ],
)
def test_clock_scan_flags_a_clock_read_when_a_source_spells_it(source: str) -> None:
    assert scan(source, "domain/example.py").clock, source


@pytest.mark.parametrize(
    "source",
    [
        "from datetime import time\ntime(9, 0)",
        "from datetime import datetime, timedelta\ndatetime.combine(day, time(0)) + timedelta(days=1)",
        "def _today(ctx):\n    return ctx.recorded_at.date()\n_today(ctx)",
    ],
)
def test_clock_scan_lets_a_source_through_when_times_arrive_as_arguments(source: str) -> None:
    assert not scan(source, "domain/example.py").clock, source


@pytest.mark.parametrize(
    "source",
    [
        "import random",
        "from random import choice",
        "import secrets",
        "from uuid import uuid4\nuuid4()",
        "import uuid\nuuid.uuid1()",
        "import uuid as u\nField(default_factory=u.uuid4)",
    ],
)
def test_randomness_scan_flags_a_random_value_when_a_source_draws_one(source: str) -> None:
    assert scan(source, "domain/example.py").randomness, source


def test_randomness_scan_lets_uuid5_through_when_ids_are_derived() -> None:
    assert not scan("from uuid import UUID, uuid5\nuuid5(UUID(int=0), 'x')", "domain/example.py").randomness


@pytest.mark.parametrize(
    "source",
    [
        "open('holidays.json')",
        "with open(path, 'rb') as f:\n    pass",
        "import io\nio.open('x')",
        "from pathlib import Path",
        "path.read_text(encoding='utf-8')",
        "path.write_bytes(b'')",
        "import pkgutil\npkgutil.get_data('domain', 'x.json')",
    ],
)
def test_io_scan_flags_file_io_when_a_source_reads_or_writes_a_file(source: str) -> None:
    assert scan(source, "domain/example.py").io, source


def test_io_scan_flags_packaged_data_reads_when_outside_the_calendar_modules() -> None:
    assert scan("from importlib import resources", "domain/claim.py").io


def test_io_scan_lets_packaged_data_through_when_the_calendar_reads_it() -> None:
    source = "from importlib import resources\nresources.files('domain')"
    assert not scan(source, "domain/calendar.py").io


def test_io_scan_flags_open_when_even_the_calendar_calls_it() -> None:
    assert scan("open('holidays.json')", "domain/holidays_cn.py").io
