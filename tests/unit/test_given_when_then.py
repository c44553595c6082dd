"""The Given / When / Then harness itself: ``Then.events`` fails, naming what differs, whenever the
recorded events are not the expected ones, in type, number, order or any named field's value."""

from __future__ import annotations

import re
from datetime import timedelta
from enum import StrEnum
from uuid import uuid4

import pytest

from domain.base import Actor, CaseAggregate, CaseCreated, Context, DomainError, DomainEvent, Role
from tests.gwt import T0, Expected, Then, ctx, expect, given, payload_fields

# ------------------------------------------------------------------- a small aggregate, for the harness only


class Basis(StrEnum):
    """Why an amount was booked."""

    INDEMNITY = "indemnity"
    ADVANCE = "advance"


class LedgerClosedError(DomainError):
    """A closed ledger books nothing."""

    rule = "test-ledger-closed"


class LedgerOpened(CaseCreated):
    """A ledger was opened for its owner."""

    owner: str

    def apply(self, ledger: Ledger) -> None:
        ledger.owner = self.owner


class AmountBooked(DomainEvent):
    """An amount was booked, on a basis, with a reason."""

    amount_fen: int
    basis: Basis
    reason: str

    def apply(self, ledger: Ledger) -> None:
        ledger.total_fen += self.amount_fen


class LedgerClosed(DomainEvent):
    """The ledger was closed: it records nothing but the envelope."""

    def apply(self, ledger: Ledger) -> None:
        ledger.closed = True


class Ledger(CaseAggregate):
    """Books amounts until it is closed."""

    owner: str

    def __init__(self) -> None:
        self.total_fen = 0
        self.closed = False

    @classmethod
    def open(cls, context: Context, *, owner: str) -> Ledger:
        """Open a ledger."""
        return cls._open(LedgerOpened, uuid4(), context, owner=owner)

    def book(
        self, context: Context, *, amount_fen: int, basis: Basis, reason: str, close: bool = False
    ) -> None:
        """Book an amount; with ``close`` the ledger is closed straight after."""
        if self.closed:
            raise LedgerClosedError("the ledger is closed")
        self._record(AmountBooked, context, amount_fen=amount_fen, basis=basis, reason=reason)
        if close:
            self._record(LedgerClosed, context)


BOOKER = ctx(Role.CLAIMS_HANDLER, "wang.fang")


def a_ledger() -> Ledger:
    return Ledger.open(ctx(Role.SYSTEM), owner="cust-1")


def booked(amount_fen: int = 200, *, close: bool = False) -> Then[Ledger]:
    """Given an open ledger, when 200 fen (by default) is booked as an indemnity."""
    return given(a_ledger()).when(
        lambda ledger: ledger.book(
            BOOKER, amount_fen=amount_fen, basis=Basis.INDEMNITY, reason="hail", close=close
        )
    )


def failure(then: Then[Ledger], *expected: Expected | type[DomainEvent]) -> str:
    """The message ``then.events(*expected)`` fails with."""
    with pytest.raises(AssertionError) as failed:
        then.events(*expected)
    return str(failed.value)


# ---------------------------------------------------------------------------------------------- passing


def test_then_passes_when_the_type_and_every_named_field_match() -> None:
    events = booked().events(expect(AmountBooked, amount_fen=200, basis=Basis.INDEMNITY, reason="hail"))

    assert [type(e) for e in events] == [AmountBooked]


def test_then_passes_when_only_some_fields_are_named() -> None:
    booked().events(expect(AmountBooked, amount_fen=200))


def test_then_compares_envelope_fields_when_a_rule_is_about_them() -> None:
    then = booked()

    then.events(
        expect(AmountBooked, actor=BOOKER.actor, recorded_at=T0, correlation_id=BOOKER.correlation_id)
    )
    message = failure(then, expect(AmountBooked, actor=Actor(id="li.na", role=Role.CLAIMS_HANDLER)))
    assert "AmountBooked.actor" in message
    assert "li.na" in message
    assert "wang.fang" in message


def test_then_passes_when_several_events_match_in_order() -> None:
    booked(close=True).events(expect(AmountBooked, amount_fen=200), LedgerClosed)


# ---------------------------------------------------------------------------------------------- failing


def test_then_fails_naming_the_field_expected_and_actual_when_a_payload_value_differs() -> None:
    message = failure(booked(), expect(AmountBooked, amount_fen=300, reason="hail"))

    assert "event 0: AmountBooked.amount_fen: expected 300 (int), got 200 (int)" in message
    assert "reason" not in message.split("\n", 1)[1]  # a matching field is not reported


def test_then_reports_every_differing_field_when_several_differ() -> None:
    message = failure(booked(), expect(AmountBooked, amount_fen=300, basis=Basis.ADVANCE, reason="flood"))

    assert "AmountBooked.amount_fen: expected 300" in message
    assert "AmountBooked.basis: expected <Basis.ADVANCE: 'advance'>" in message
    assert "AmountBooked.reason: expected 'flood' (str), got 'hail' (str)" in message


def test_then_fails_when_a_value_is_equal_but_of_another_type() -> None:
    # "indemnity" == Basis.INDEMNITY for a StrEnum, but a plain string is not the recorded fact.
    message = failure(booked(), expect(AmountBooked, basis="indemnity"))

    assert (
        "AmountBooked.basis: expected 'indemnity' (str), got <Basis.INDEMNITY: 'indemnity'> (Basis)"
        in message
    )


def test_then_fails_naming_both_types_when_the_event_type_differs() -> None:
    message = failure(booked(), expect(LedgerOpened, owner="cust-1"))

    assert "event 0: expected LedgerOpened, recorded AmountBooked" in message


def test_then_fails_naming_the_missing_event_when_fewer_events_are_recorded() -> None:
    message = failure(booked(), expect(AmountBooked, amount_fen=200), LedgerClosed)

    assert "event 1: expected LedgerClosed(), nothing was recorded" in message


def test_then_fails_naming_the_extra_event_when_more_events_are_recorded() -> None:
    message = failure(booked(close=True), expect(AmountBooked, amount_fen=200))

    assert "event 1: unexpected LedgerClosed was recorded" in message
    assert "recorded [AmountBooked, LedgerClosed]" in message


def test_then_fails_when_nothing_is_expected_but_an_event_is_recorded() -> None:
    message = failure(booked())

    assert "event 0: unexpected AmountBooked was recorded" in message


def test_then_fails_naming_the_refusal_when_the_command_was_refused() -> None:
    ledger = a_ledger()
    ledger.book(BOOKER, amount_fen=1, basis=Basis.INDEMNITY, reason="x", close=True)

    then = given(ledger).when(
        lambda led: led.book(BOOKER, amount_fen=200, basis=Basis.INDEMNITY, reason="hail")
    )

    message = failure(then, expect(AmountBooked, amount_fen=200))
    assert "expected events [AmountBooked(amount_fen=200)]" in message
    assert "got refusal LedgerClosedError: the ledger is closed" in message


def test_then_fails_on_a_datetime_field_when_it_is_a_different_instant() -> None:
    message = failure(booked(), expect(AmountBooked, recorded_at=T0 + timedelta(days=1)))

    assert re.search(r"AmountBooked\.recorded_at: expected datetime\.datetime\(2026, 3, 3", message)


# ---------------------------------------------------------------------------------------------- misuse


def test_expect_is_refused_when_a_field_name_is_not_a_field_of_the_event() -> None:
    with pytest.raises(TypeError, match="AmountBooked has no field amount, reasons"):
        expect(AmountBooked, amount=200, reasons=("hail",))


def test_then_is_refused_a_bare_type_when_the_event_records_a_payload() -> None:
    with pytest.raises(TypeError, match=r"AmountBooked records a payload \(amount_fen, basis, reason\)"):
        booked().events(AmountBooked)


def test_then_is_refused_an_expectation_without_fields_when_the_event_records_a_payload() -> None:
    with pytest.raises(TypeError, match="AmountBooked records a payload"):
        booked().events(expect(AmountBooked))


def test_then_accepts_a_bare_type_when_the_event_records_nothing_but_the_envelope() -> None:
    booked(close=True).events(expect(AmountBooked, amount_fen=200), LedgerClosed)


def test_payload_fields_leave_out_the_envelope_when_the_event_opens_a_case() -> None:
    assert payload_fields(LedgerOpened) == {"owner"}
    assert payload_fields(LedgerClosed) == set()
