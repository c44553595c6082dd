"""What a read model is here: tables, and pure folds from events to rows.

A projection is a named group of views applied together in one transaction. A view owns one table and
folds events into its rows: ``keys(event)`` names the rows an event touches, ``evolve(key, row, event)``
returns the new row (or ``None`` to delete it). Folds are pure, so the live consumer (one event at a time
against PostgreSQL) and a rebuild (every event folded in memory, then written in bulk) give the same rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


def fold(views: Sequence[View], events: Sequence[DomainEvent]) -> Mapping[str, dict[Key, Row]]:
    """Fold events, in order, into rows held in memory: table name → key → row."""
    state: dict[str, dict[Key, Row]] = {v.table.name: {} for v in views}
    for event in events:
        for view in views:
            rows = state[view.table.name]
            for key in view.keys(event):
                new = view.evolve(key, rows.get(key), event)
                if new is None:
                    rows.pop(key, None)
                else:
                    rows[key] = new
    return state
