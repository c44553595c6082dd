"""The timers bench's watcher reads only above the ids it has seen without a hole below them; a burst's CPU
floor is what its CPU takes on the machine's cores."""

import pytest

from cli.bench.timers import BurstCpu, IdFloor, _burst_cpu_line, _cpu_between


def test_the_floor_moves_over_ids_seen_in_order() -> None:
    floor = IdFloor(start=10)
    for notification_id in (11, 12, 13):
        floor.saw(notification_id, now=0.0)

    assert floor.advance(now=0.0) == 13


def test_the_floor_waits_below_an_id_committed_late_and_moves_over_it_once_it_comes() -> None:
    floor = IdFloor(start=10, gap_s=2.0)
    floor.saw(11, now=0.0)
    floor.saw(13, now=0.0)

    assert floor.advance(now=0.0) == 11
    assert floor.advance(now=1.5) == 11
    floor.saw(12, now=1.6)
    assert floor.advance(now=1.6) == 13


def test_a_hole_below_an_id_seen_longer_ago_than_the_gap_is_stepped_over_whole() -> None:
    floor = IdFloor(start=10, gap_s=2.0)
    # A rolled-back batch of 200 events took ids 11 to 210; the next batch committed 211 and 212.
    floor.saw(211, now=0.0)
    floor.saw(212, now=0.5)

    assert floor.advance(now=1.9) == 10
    assert floor.advance(now=2.0) == 212


def test_the_gap_runs_from_when_the_id_above_the_hole_was_first_seen() -> None:
    floor = IdFloor(start=10, gap_s=2.0)
    floor.saw(12, now=0.0)
    floor.saw(12, now=1.5)

    assert floor.advance(now=2.0) == 12


def test_a_bursts_cpu_floor_is_its_cpu_spread_over_every_core() -> None:
    cpu = BurstCpu(scheduler_s=0.4, database_s=0.34, cores=2)

    assert cpu.floor_s == pytest.approx(0.37)
    assert _burst_cpu_line(cpu, p99_ms=740.0) == (
        "  burst CPU: scheduler 0.40 s + PostgreSQL 0.34 s on 2 core(s): 370 ms with every core busy "
        "throughout (p99 = 2.0x that)"
    )
    assert _burst_cpu_line(cpu, p99_ms=None, firing="bare loop") == (
        "  burst CPU: bare loop 0.40 s + PostgreSQL 0.34 s on 2 core(s): 370 ms with every core busy "
        "throughout"
    )


def test_a_database_out_of_sight_gives_no_floor_and_says_so() -> None:
    cpu = BurstCpu(scheduler_s=0.4, database_s=None, cores=2)

    assert cpu.floor_s is None
    assert _burst_cpu_line(cpu, p99_ms=740.0) == (
        "  burst CPU: scheduler 0.40 s, PostgreSQL not on this machine (not measured)"
    )


def test_a_process_that_ended_between_the_samples_counts_nothing_rather_than_less_than_nothing() -> None:
    before = {1: 10.0, 2: 5.0, 3: 7.0}
    after = {1: 10.5, 3: 7.25, 4: 1.0}

    assert _cpu_between(before, after) == 0.75
