"""How every caseledger process logs: JSON lines for files and collectors, readable lines on a terminal.

One configuration for caseledger's own loggers and every library's (uvicorn, FastStream, aiokafka,
eventsourcing): they all end in the root logger, whose one handler renders through structlog. On a terminal
a line is for a person (colours only there); anywhere else it is one JSON object, with no ANSI codes, so a
log collector reads fields, not prose. Values bound with ``structlog.contextvars.bind_contextvars`` (the
API binds the request and correlation id, the consumers the case id and event) appear on every line logged
while they are bound, whichever library logs it; so does the trace id of the current span, when the process
traces (infra/tracing.py).
"""

from __future__ import annotations

import logging
import re
import sys
from enum import StrEnum
from typing import Any, TextIO

import structlog

from consumers.handling import add_handled_event
from infra.tracing import add_trace_id

ASSIGNED = re.compile(r"^Consumer (?P<member>\S+) assigned to partitions: \((?P<partitions>.*)\)$", re.DOTALL)
PARTITION = re.compile(r"TopicPartition\(topic='(?P<topic>[^']+)', partition=\d+\)")
QUIET_LIBRARIES = {
    # aiokafka narrates every coordinator step and fetch at INFO: a rebalance would be dozens of lines.
    "aiokafka": logging.WARNING,
    "kafka": logging.WARNING,
    # Each pooled connection's checkouts and returns.
    "psycopg.pool": logging.WARNING,
}


ADOPTED_PREFIXES = ("uvicorn", "faststream")


class _CurrentStderr:
    """Whatever ``sys.stderr`` is when a line is written, not what it was when logging was configured (a
    test runner swaps it, and closes the one it swapped in)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


class LogFormat(StrEnum):
    AUTO = "auto"
    JSON = "json"
    CONSOLE = "console"


class PartitionSummary(logging.Filter):
    """FastStream logs a group member's assignment as every partition's repr (~2,000 characters with six
    topics of six partitions): keep one line saying how many partitions of which topics."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not isinstance(record.msg, str) or "assigned to partitions" not in record.msg:
            return True
        found = ASSIGNED.match(record.getMessage())
        if found is None:
            return True
        partitions = PARTITION.findall(found["partitions"])
        topics = sorted(set(partitions))
        record.msg = "consumer %s assigned %d partitions of %s"
        record.args = (found["member"], len(partitions), ", ".join(topics) or "no topic")
        return True


def configure_logging(
    level: str = "INFO", log_format: LogFormat = LogFormat.AUTO, stream: TextIO | None = None
) -> None:
    """Route every logger through one structlog-rendered handler on ``stream`` (stderr by default)."""
    out = stream or _CurrentStderr()
    console = log_format == LogFormat.CONSOLE or (log_format == LogFormat.AUTO and out.isatty())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        add_handled_event,
        add_trace_id,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=out.isatty())
        if console
        else structlog.processors.JSONRenderer(sort_keys=False)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        # The console renderer prints a traceback itself, nicely; JSON needs it as a string field.
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *([] if console else [structlog.processors.format_exc_info]),
            renderer,
        ],
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    handler.addFilter(PartitionSummary())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name, quiet in QUIET_LIBRARIES.items():
        logging.getLogger(name).setLevel(max(quiet, root.level))
    # uvicorn (unless told not to: api/serve.py passes log_config=None) and FastStream (when it is imported)
    # give their loggers colourful handlers of their own that do not propagate: take them over, so their
    # lines are rendered like everyone's. FastStream's per-broker access logger is created when a broker
    # starts, later: consumers/app.py hands its broker a logger of ours instead.
    adopted = [name for name in logging.root.manager.loggerDict if name.startswith(ADOPTED_PREFIXES)]
    for name in adopted:
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
