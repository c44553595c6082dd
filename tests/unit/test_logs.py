"""Log lines: one JSON object each off a terminal, readable on one, the same for every library's logger."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from cli.logs import LogFormat, configure_logging
from cli.tables import _periodic_lines
from consumers.handling import HANDLING, Handling

ESC = "\x1b"


@pytest.fixture
def out() -> Iterator[io.StringIO]:
    stream = io.StringIO()  # not a terminal
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    yield stream
    root.handlers[:] = before[0]
    root.setLevel(before[1])
    structlog.reset_defaults()


def lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def test_off_a_terminal_every_library_logs_one_json_object_a_line_without_colour(out: io.StringIO) -> None:
    configure_logging("INFO", LogFormat.AUTO, out)

    logging.getLogger("uvicorn.error").info("Uvicorn running on %s", "http://127.0.0.1:8000")
    logging.getLogger("faststream").warning("a warning\nspanning two lines")
    structlog.get_logger("caseledger.relay").info("published", events=3)

    records = [json.loads(line) for line in lines(out)]
    assert [r["event"] for r in records] == [
        "Uvicorn running on http://127.0.0.1:8000",
        "a warning\nspanning two lines",
        "published",
    ]
    assert [r["level"] for r in records] == ["info", "warning", "info"]
    assert records[0]["logger"] == "uvicorn.error"
    assert records[2]["events"] == 3
    assert all(r["timestamp"].endswith("Z") for r in records)
    assert ESC not in out.getvalue()


def test_an_exception_is_a_field_of_its_json_line(out: io.StringIO) -> None:
    configure_logging("INFO", LogFormat.JSON, out)

    try:
        raise RuntimeError("the broker went away")
    except RuntimeError:
        logging.getLogger("caseledger.relay").exception("publishing failed")

    (record,) = [json.loads(line) for line in lines(out)]
    assert "RuntimeError: the broker went away" in record["exception"]


def test_the_console_format_is_plain_text_without_colour_when_not_on_a_terminal(out: io.StringIO) -> None:
    configure_logging("INFO", LogFormat.CONSOLE, out)

    logging.getLogger("caseledger.relay").info("published %d events", 3)

    assert "published 3 events" in out.getvalue()
    assert ESC not in out.getvalue()
    with pytest.raises(json.JSONDecodeError):
        json.loads(lines(out)[0])


def test_below_the_level_nothing_is_written_and_chatty_libraries_start_at_warning(out: io.StringIO) -> None:
    configure_logging("INFO", LogFormat.JSON, out)

    logging.getLogger("caseledger.relay").debug("hidden")
    logging.getLogger("aiokafka.consumer.group_coordinator").info("Joined group")
    logging.getLogger("aiokafka.consumer.group_coordinator").warning("Heartbeat failed")

    assert [json.loads(line)["event"] for line in lines(out)] == ["Heartbeat failed"]


def test_values_bound_to_the_context_are_on_every_line_logged_meanwhile(out: io.StringIO) -> None:
    configure_logging("INFO", LogFormat.JSON, out)

    with structlog.contextvars.bound_contextvars(correlation_id="c-1", case_id="case-9"):
        logging.getLogger("eventsourcing").info("inside")
    logging.getLogger("eventsourcing").info("after")

    inside, after = (json.loads(line) for line in lines(out))
    assert (inside["correlation_id"], inside["case_id"]) == ("c-1", "case-9")
    assert "correlation_id" not in after


def test_the_event_a_consumer_is_handling_is_on_its_log_lines(out: io.StringIO) -> None:
    configure_logging("INFO", LogFormat.JSON, out)

    token = HANDLING.set(Handling("caseledger.projections", "case-7", 4, "claim.surveyed.v1"))
    try:
        logging.getLogger("consumers.processing").info("retrying")
    finally:
        HANDLING.reset(token)

    (record,) = [json.loads(line) for line in lines(out)]
    assert record["group"] == "caseledger.projections"
    assert (record["case_id"], record["version"], record["event_type"]) == ("case-7", 4, "claim.surveyed.v1")


def test_a_group_members_partition_assignment_is_one_short_line(out: io.StringIO) -> None:
    configure_logging("INFO", LogFormat.JSON, out)
    partitions = ", ".join(
        f"TopicPartition(topic='caseledger.{topic}', partition={p})"
        for topic in ("claim", "policy", "complaint")
        for p in range(6)
    )

    logging.getLogger("faststream.access.kafka").info(f"Consumer m-1 assigned to partitions: ({partitions})")

    (record,) = [json.loads(line) for line in lines(out)]
    assert record["event"] == (
        "consumer m-1 assigned 18 partitions of caseledger.claim, caseledger.complaint, caseledger.policy"
    )


def test_progress_off_a_terminal_is_a_plain_line_now_and_then_and_one_at_the_end(
    out: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="caseledger.progress")
    update = _periodic_lines("rebuild", "events", every_s=3600)

    for done in range(1, 100):
        update(done, 100)
    update(100, 100)

    assert [r.getMessage() for r in caplog.records] == ["rebuild: 100/100 events (100%)"]
    assert all("\r" not in r.getMessage() for r in caplog.records)


def test_progress_off_a_terminal_logs_again_once_its_interval_has_passed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="caseledger.progress")
    update = _periodic_lines("verify", "events", every_s=0.0)

    update(10, 40)
    update(20, 40)

    assert [r.getMessage() for r in caplog.records] == [
        "verify: 10/40 events (25%)",
        "verify: 20/40 events (50%)",
    ]


def test_a_line_logged_inside_a_span_names_its_trace(out: io.StringIO) -> None:
    from opentelemetry.sdk.trace import TracerProvider

    configure_logging("INFO", LogFormat.JSON, out)

    with TracerProvider().get_tracer("test").start_as_current_span("command") as span:
        logging.getLogger("api.gateway").info("inside")
    logging.getLogger("api.gateway").info("after")

    inside, after = (json.loads(line) for line in lines(out))
    assert inside["trace_id"] == f"{span.get_span_context().trace_id:032x}"
    assert "trace_id" not in after
