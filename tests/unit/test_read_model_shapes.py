"""A read model's shape fingerprint changes with any column, type, nullability, key or index it declares."""

from __future__ import annotations

from dataclasses import dataclass, replace

from projections.base import Column, Projection, Table
from projections.catalogue import ALL_PROJECTIONS
from projections.shapes import shape


@dataclass(frozen=True)
class _View:
    table: Table


BASE = Table("claims", (Column("claim_id", "uuid", nullable=False), Column("status", "text")), ("claim_id",))


def of(table: Table) -> str:
    return shape(Projection("claims", (_View(table),)))  # type: ignore[arg-type]


def test_the_same_declaration_has_the_same_shape() -> None:
    assert of(BASE) == of(replace(BASE))


def test_an_added_column_a_changed_type_or_nullability_a_key_or_an_index_change_the_shape() -> None:
    changed = [
        replace(BASE, columns=(*BASE.columns, Column("closed_at", "timestamptz"))),
        replace(BASE, columns=(BASE.columns[0], Column("status", "jsonb"))),
        replace(BASE, columns=(BASE.columns[0], Column("status", "text", nullable=False))),
        replace(BASE, key=("claim_id", "status")),
        replace(BASE, indexes=(("status",),)),
    ]

    assert len({of(BASE), *(of(table) for table in changed)}) == len(changed) + 1


def test_every_projection_of_the_catalogue_has_a_shape_of_its_own() -> None:
    assert len({shape(p) for p in ALL_PROJECTIONS}) == len(ALL_PROJECTIONS)
