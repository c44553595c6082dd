"""Tables and progress bars of the command line, drawn by rich (imported when a command prints one).

Into a pipe or a file a table keeps each row on one line, however wide: scripts and tests grep the rows.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

PIPE_WIDTH = 1_000
"""Columns of a console that is not a terminal: wide enough that no row is wrapped."""


def console(*, stderr: bool = False) -> Console:
    """A console on stdout (or stderr): the terminal's width, or one that never wraps into a pipe."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else PIPE_WIDTH
    return Console(file=stream, width=width, highlight=False, soft_wrap=False)


def print_table(
    columns: Sequence[str], rows: Iterable[Sequence[object]], *, right: Sequence[str] = ()
) -> None:
    """Print ``rows`` under ``columns`` on stdout; the columns named in ``right`` align right (numbers)."""
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE, show_edge=False, pad_edge=False)
    for column in columns:
        table.add_column(column, justify="right" if column in right else "left", no_wrap=True)
    for row in rows:
        table.add_row(*(str(cell) for cell in row))
    console().print(table)


@contextmanager
def progress_bar(description: str, unit: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr; the block gets ``update(done, total)`` to call as the work advances."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TaskProgressColumn(),
        TimeRemainingColumn(),
    )
    if not sys.stderr.isatty():
        # Into a log or a pipe a bar is noise (and its carriage returns garble the file): a plain line now
        # and then says the work is alive.
        yield _periodic_lines(description, unit)
        return
    with Progress(*columns, console=console(stderr=True)) as progress:
        task = progress.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update


PLAIN_PROGRESS_EVERY_S = 10.0


def _periodic_lines(
    description: str, unit: str, every_s: float = PLAIN_PROGRESS_EVERY_S
) -> Callable[[int, int], None]:
    """``update(done, total)`` that logs one line at most every ``every_s`` seconds, and at the end."""
    log = logging.getLogger("caseledger.progress")
    last = time.monotonic()

    def update(done: int, total: int) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last < every_s and done < total:
            return
        last = now
        share = f" ({done / total:.0%})" if total else ""
        log.info("%s: %d/%d %s%s", description, done, total, unit, share)

    return update
