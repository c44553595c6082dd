"""What the operations page needs from the consumer groups, as a port the command line fills in.

The API sits beside ``consumers/`` in the layers, so it cannot reach the dead-letter queue, the groups or
the projections verifier itself: ``caseledger up`` and ``caseledger api`` hand the app an ``Operations``
built from them (``cli/operations.py``). An API built without one shows the page's other sections (relay
lag, timer backlog, which it reads itself) and says where the rest is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID


@dataclass(frozen=True)
class GroupLag:
    """How far one consumer group is behind the store in one bounded context, in events."""

    group: str
    context: str
    stored: int
    applied: int

    @property
    def behind(self) -> int:
        return max(0, self.stored - self.applied)


@dataclass(frozen=True)
class DeadLetterRow:
    """A parked or held message (or a resolved one, with who and why)."""

    id: int
    group: str
    context: str | None
    case_id: UUID | None
    version: int | None
    wire_name: str | None
    error: str | None
    attempts: int
    status: str
    parked_at: datetime
    resolved_by: str | None
    resolution_reason: str | None


@dataclass(frozen=True)
class Resolution:
    """What a retry or skip achieved."""

    resolved: tuple[int, ...]
    still_parked: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.still_parked is None and self.error is None


@dataclass(frozen=True)
class ProjectionsCheck:
    """``projections verify``: every read model rebuilt in shadow and compared with the live tables."""

    consistent: bool
    events: int
    seconds: float
    differences: tuple[str, ...]


class Operations(Protocol):
    """The consumer-side operations the console's operations page shows and runs."""

    def group_lag(self) -> list[GroupLag]:
        """Each group's lag per context it reads (events stored against versions it applied)."""
        ...

    def dead_letters(self, include_resolved: bool) -> list[DeadLetterRow]:
        """The dead letters, oldest first: the open ones, or all."""
        ...

    def retry(self, dead_letter_id: int, by: str) -> Resolution:
        """Re-apply a parked event (and the case's held ones), recording who asked."""
        ...

    def skip(self, dead_letter_id: int, by: str, reason: str) -> Resolution:
        """Pass over a parked event, recording who and why, then release the held ones."""
        ...

    def verify_projections(self) -> ProjectionsCheck:
        """Rebuild every read model in shadow and compare it with the live one (the live one is untouched)."""
        ...
