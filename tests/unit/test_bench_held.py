"""The held-load section's verdicts, in memory: which offered rate a run held."""

from __future__ import annotations

from cli.bench.held import QUICK, SECTION, HeldStep, held_rate, is_held


def step(
    offered: float, achieved: float, p99_ms: float = 100.0, errors: int = 0, unapplied: int = 0
) -> HeldStep:
    return HeldStep(
        SECTION,
        f"offered {offered:g}/s",
        64,
        int(achieved * 8),
        8.0,
        achieved,
        offered_per_second=offered,
        sent=int(offered * 8),
        errors=errors,
        p99_ms=p99_ms,
        unapplied=unapplied,
    )


def test_a_step_holds_when_it_achieves_95_percent_of_the_offered_rate_under_1_s_p99_without_errors() -> None:
    assert is_held(step(100, 95.0, p99_ms=999.0))


def test_a_step_is_not_held_when_it_achieves_less_than_95_percent_of_the_offered_rate() -> None:
    assert not is_held(step(100, 94.9))


def test_a_step_is_not_held_when_its_p99_reaches_1_s() -> None:
    assert not is_held(step(100, 100.0, p99_ms=1000.0))


def test_a_step_is_not_held_when_one_request_failed() -> None:
    assert not is_held(step(100, 100.0, errors=1))


def test_a_step_is_not_held_when_an_accepted_command_never_reached_the_read_model() -> None:
    assert not is_held(step(100, 100.0, unapplied=1))


def test_the_held_rate_is_the_highest_offered_rate_that_held_even_after_a_lower_one_did_not() -> None:
    steps = [step(50, 50.0), step(100, 80.0), step(200, 199.0), step(400, 300.0)]

    assert held_rate(steps) == 200


def test_no_step_held_gives_a_held_rate_of_zero() -> None:
    assert held_rate([step(50, 10.0)]) == 0.0


def test_the_quick_ladder_plans_at_most_five_minutes_of_load_and_drain() -> None:
    # The ladder's worst case: every step offered, each waiting out its answer timeout and drain time.
    assert QUICK.planned_seconds() <= 300
