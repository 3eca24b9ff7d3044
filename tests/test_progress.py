"""progress_bar: lggseg's one set of progress columns, drawn on a given console."""

import io

from rich.console import Console
from rich.progress import TimeElapsedColumn, TimeRemainingColumn

from lggseg.progress import progress_bar


def test_columns_label_count_fields_and_time():
    plain = progress_bar()
    assert [type(c).__name__ for c in plain.columns] == [
        "TextColumn", "BarColumn", "MofNCompleteColumn", "TimeRemainingColumn",
    ]
    trainer = progress_bar(label="phase {task.fields[phase]}", fields=("loss {task.fields[loss]}",), elapsed=True)
    kinds = [type(c) for c in trainer.columns]
    assert kinds.index(TimeElapsedColumn) == 4 and kinds[-1] is TimeRemainingColumn
    assert len(kinds) == 7


def test_draws_on_the_given_console():
    out = io.StringIO()
    console = Console(file=out, width=100, force_terminal=False)
    with progress_bar(label="phase {task.fields[phase]}", fields=("loss {task.fields[loss]}",),
                      console=console) as bar:
        task = bar.add_task("train", total=10, phase="1/2", loss="0.4321")
        bar.update(task, completed=3)
    text = out.getvalue()
    assert "phase 1/2" in text and "3/10" in text and "loss 0.4321" in text
