"""What the scheduler counts after a pass: what each timer recorded, not what its row said it would."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

from consumers.scheduler import _recorded
from domain.timer import TimerAction
from tests.unit.test_timer_rules import DUE, SYSTEM, started


def test_a_timer_breached_by_the_batch_is_counted_as_a_breach_of_its_rule_from_its_deadline() -> None:
    timer = started()
    timer.breach(SYSTEM, at=DUE + timedelta(seconds=3))

    # Its row named the 80% warning: a late pass records the breach at once, and lateness runs from the end.
    assert _recorded(DUE - timedelta(days=6), TimerAction.WARNING.value, timer) == (
        TimerAction.BREACH,
        DUE,
        "IL23-DETERMINE-30D",
    )


def test_a_running_timer_whose_row_named_a_warning_is_counted_as_that_warning() -> None:
    timer = started()
    warn_at = timer.warning_at(0.5)
    assert warn_at is not None
    timer.raise_warning(SYSTEM, threshold=0.5, at=warn_at)

    assert _recorded(warn_at, TimerAction.WARNING.value, timer) == (TimerAction.WARNING, warn_at, None)


def test_a_running_timer_whose_row_named_a_warning_it_has_not_raised_is_not_counted() -> None:
    # Extended or resumed since its row was written: the warning moved, and the pass raised nothing.
    timer = started()
    warn_at = timer.warning_at(0.5)
    assert warn_at is not None

    assert _recorded(warn_at, TimerAction.WARNING.value, timer) is None


def test_a_timer_satisfied_after_its_row_named_a_breach_is_not_counted() -> None:
    timer = started()
    timer.satisfy(SYSTEM, at=DUE - timedelta(hours=1), by_event="ClaimDecided", cause_event_id=uuid4())

    assert _recorded(DUE, TimerAction.BREACH.value, timer) is None


def test_a_running_timer_whose_row_named_a_breach_that_moved_is_not_counted() -> None:
    # Extended since its row was written: the pass found its deadline still ahead and recorded nothing.
    assert _recorded(DUE, TimerAction.BREACH.value, started()) is None
