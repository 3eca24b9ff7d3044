"""What lggseg shows on the terminal: its progress bars, and the console messages go to.

Progress bars have one look: label, bar, done/total, [fields], time left. Both the library
(the trainer's per-phase bar) and the command line (images, tiles, slides) build their bars
here, so they look alike and the CLI needs no import the library lacks. Messages go to
:func:`stderr_console`, which wraps lines only on a terminal. rich is imported when a bar or
console is made, keeping ``import lggseg`` light.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.progress import Progress

__all__ = ["progress_bar", "stderr_console"]


def stderr_console() -> Any:
    """A ``rich.console.Console`` on stderr that wraps long lines on a terminal only.

    Written to a file or a pipe (a log, ``| tee``, a batch job), rich would wrap at ``$COLUMNS``
    or 80 characters and split file paths across lines; there each message stays one line.
    """
    from rich.console import Console

    console = Console(stderr=True)
    if not console.is_terminal:
        console.soft_wrap = True
    return console


def progress_bar(
    *,
    label: str = "{task.description}",
    fields: Sequence[str] = (),
    elapsed: bool = False,
    console: Any = None,
    transient: bool = False,
) -> Progress:
    """A ``rich.progress.Progress`` with lggseg's columns.

    Args:
      label: the first column, a rich format string of the task (``{task.description}``,
        ``{task.fields[name]}``).
      fields: more text columns after the ``done/total`` count, e.g. ``"loss {task.fields[loss]}"``.
      elapsed: show the elapsed time before the time remaining (``0:01:02 ETA 0:03:00``),
        for long runs where both matter.
      console: the ``rich.console.Console`` to draw on (default: rich's, on stdout).
      transient: remove the bar when it stops.

    Returns:
      The (not yet started) ``Progress``; use it as a context manager or call ``start()``.
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns: list[Any] = [TextColumn(label), BarColumn(), MofNCompleteColumn()]
    columns += [TextColumn(field) for field in fields]
    if elapsed:
        columns += [TimeElapsedColumn(), TextColumn("ETA")]
    columns.append(TimeRemainingColumn())
    return Progress(*columns, console=console, transient=transient)
