"""The timers bench's watcher reads only above the ids it has seen without a hole below them."""

from cli.bench.timers import IdFloor


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
