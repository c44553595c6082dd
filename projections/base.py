"""What a read model is here: tables, and pure folds from events to rows.

A projection is a named group of views applied together in one transaction. A view owns one table and
folds events into its rows: ``keys(event)`` names the rows an event touches, ``evolve(key, row, event)``
returns the new row (or ``None`` to delete it). Folds are pure, so the live consumer (one event at a time
against PostgreSQL) and a rebuild (every event folded in memory, then written in bulk) give the same rows.

A ``Rollup`` is a view of totals kept from another view's rows rather than from events: the key of a total
(a complaint's category and month, say) cannot be read from every event that changes it, but it can be read
from the row the event changed. When a source row changes, its old contribution is taken away and its new
one added; totals are sums, so the order in which different cases' events arrive does not matter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from domain.base import DomainEvent

Row = dict[str, Any]
Key = tuple[Any, ...]


@dataclass(frozen=True)
class Column:
    """One column: its name and PostgreSQL type (text, uuid, bigint, timestamptz, jsonb, ...)."""

    name: str
    sql_type: str
    nullable: bool = True


@dataclass(frozen=True)
class Table:
    """A read-model table: its columns, its key, and the indexes its queries need."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    indexes: tuple[tuple[str, ...], ...] = field(default=())

    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


class View(Protocol):
    """One table and the pure fold that keeps it."""

    @property
    def table(self) -> Table: ...

    def keys(self, event: DomainEvent) -> Sequence[Key]:
        """The keys of the rows ``event`` changes (empty when it changes none)."""
        ...

    def evolve(self, key: Key, row: Row | None, event: DomainEvent) -> Row | None:
        """The row after ``event`` (``None`` deletes it). Pure: no I/O, no clock."""
        ...


@dataclass(frozen=True)
class Projection:
    """A named read model: views that are applied together and rebuilt together."""

    name: str
    views: tuple[View, ...]

    def tables(self) -> tuple[Table, ...]:
        return tuple(v.table for v in self.views)


Contribution = Callable[[Row], Mapping[Key, Mapping[str, int]]]
"""What one source row adds to the totals: total key → counter column → amount."""


@dataclass(frozen=True)
class Rollup:
    """Totals (integer counters) kept from the rows of another view of the same projection.

    ``table`` holds the key columns followed by the counter columns; ``source`` names the table of the
    view whose rows are totalled. It satisfies ``View`` (events name no rows of it directly), so a
    projection lists it among its views after its source; ``fold`` and ``projections.store.apply`` keep it.
    """

    table: Table
    source: str
    contribute: Contribution

    def keys(self, event: DomainEvent) -> Sequence[Key]:
        """None: a rollup follows its source rows, not events."""
        return ()

    def evolve(self, key: Key, row: Row | None, event: DomainEvent) -> Row | None:
        """Unchanged: a rollup follows its source rows, not events."""
        return row

    def counters(self) -> tuple[str, ...]:
        """The counter columns: every column that is not part of the key."""
        return tuple(name for name in self.table.column_names() if name not in self.table.key)

    def changes(self, old: Row | None, new: Row | None) -> dict[Key, dict[str, int]]:
        """What a source row's change from ``old`` to ``new`` adds to each total (zero changes left out)."""
        changes: dict[Key, dict[str, int]] = {}
        for row, sign in ((old, -1), (new, 1)):
            if row is None:
                continue
            for key, amounts in self.contribute(row).items():
                change = changes.setdefault(key, dict.fromkeys(self.counters(), 0))
                for name, amount in amounts.items():
                    change[name] += sign * amount
        return {key: change for key, change in changes.items() if any(change.values())}

    def combine(self, key: Key, total: Row | None, change: Mapping[str, int]) -> Row | None:
        """The total after ``change``; ``None`` (delete) once every counter is back to zero."""
        counts = {
            name: (0 if total is None else total[name]) + change.get(name, 0) for name in self.counters()
        }
        if not any(counts.values()):
            return None
        return {**dict(zip(self.table.key, key, strict=True)), **counts}


def fold(
    views: Sequence[View],
    events: Iterable[DomainEvent],
    start: Mapping[str, Mapping[Key, Row]] | None = None,
) -> Mapping[str, dict[Key, Row]]:
    """Fold events, in order, into rows held in memory: table name → key → row (events are read once).

    From no rows (a rebuild), or from copies of ``start``'s (a consumer's batch, from the rows it read).
    """
    start = start or {}
    state: dict[str, dict[Key, Row]] = {v.table.name: dict(start.get(v.table.name, {})) for v in views}
    rollups = [v for v in views if isinstance(v, Rollup)]
    # Worked out once rather than per event: each view's rows and the totals kept from them.
    plan = [
        (
            view,
            state[view.table.name],
            [(r, state[r.table.name]) for r in rollups if r.source == view.table.name],
        )
        for view in views
    ]
    for event in events:
        for view, rows, totals in plan:
            for key in view.keys(event):
                old = rows.get(key)
                new = view.evolve(key, old, event)
                if new is None:
                    rows.pop(key, None)
                else:
                    rows[key] = new
                for rollup, kept in totals:
                    _apply_changes(rollup, kept, old, new)
    return state


def _apply_changes(rollup: Rollup, totals: dict[Key, Row], old: Row | None, new: Row | None) -> None:
    for key, change in rollup.changes(old, new).items():
        total = rollup.combine(key, totals.get(key), change)
        if total is None:
            totals.pop(key, None)
        else:
            totals[key] = total
