"""The timers bench's watcher reads only above the ids it has seen without a hole below them."""

from cli.bench.timers import IdFloor


def test_the_floor_moves_over_ids_seen_in_order() -> None:
    floor = IdFloor(start=10)
    for notification_id in (11, 12, 13):
        floor.saw(notification_id)

    assert floor.advance(now=0.0) == 13


def test_the_floor_waits_below_an_id_committed_late_and_moves_over_it_once_it_comes() -> None:
    floor = IdFloor(start=10, gap_s=2.0)
    floor.saw(11)
    floor.saw(13)

    assert floor.advance(now=0.0) == 11
    assert floor.advance(now=1.5) == 11
    floor.saw(12)
    assert floor.advance(now=1.6) == 13


def test_an_id_missing_longer_than_the_gap_is_taken_for_one_never_committed_and_stepped_over() -> None:
    floor = IdFloor(start=10, gap_s=2.0)
    floor.saw(12)
    floor.saw(13)

    assert floor.advance(now=0.0) == 10
    assert floor.advance(now=1.9) == 10
    assert floor.advance(now=2.0) == 13


def test_an_id_at_or_below_the_floor_is_not_taken_for_one_above_a_hole() -> None:
    floor = IdFloor(start=10, gap_s=2.0)
    floor.saw(9)
    floor.saw(10)

    # Kept, they would stand above a hole at 11 and the floor would step over it once the gap passed.
    assert floor.advance(now=100.0) == 10
    assert floor.advance(now=103.0) == 10
