"""The latency rows split a command's time at the relay's hand-off to Kafka: paired by case and version."""

from __future__ import annotations

from uuid import uuid4

import pytest

from cli.bench.pipeline import LatencyFigure, relay_shares


def test_each_command_is_paired_with_its_own_event_and_one_never_relayed_is_left_out() -> None:
    first, second = uuid4(), uuid4()
    applied = [(first, 1, 100.000), (first, 2, 100.010), (second, 1, 100.020)]
    handed_off = {(first, 1): 100.004, (first, 2): 100.030, (uuid4(), 1): 100.001}

    shares = relay_shares(applied, handed_off)

    assert shares == pytest.approx([0.004, 0.020])


def test_a_split_row_reports_the_relay_share_beside_the_whole_latency() -> None:
    figure = LatencyFigure(
        "latency", "commands at 200/s", 1, 10, 1.0, 200.0, 200.0,
        p50_ms=40.0, p95_ms=60.0, p99_ms=90.0, max_ms=120.0, relay_p50_ms=4.0, relay_p99_ms=13.0,
    )  # fmt: skip

    assert figure.latencies() == (
        "p50 40.0 / p95 60.0 / p99 90.0 ms (max 120.0); command → relay p50 4.0 / p99 13.0 ms"
    )


def test_a_row_not_split_says_nothing_of_the_relay() -> None:
    figure = LatencyFigure("latency", "commands at 200/s", 1, 10, 1.0, 200.0, 200.0, p99_ms=90.0)

    assert "relay" not in figure.latencies()
