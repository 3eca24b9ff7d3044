"""How every command reports an expected failure: one red ``error: ...`` line and an exit code.

The library raises ``ValueError`` / ``FileNotFoundError`` with a message that names the
file, the value and the valid choices (STYLE.md); a traceback would only bury that
line. Wrap a command (or the part of it that calls the library) in :func:`cli_errors`::

    @cli_errors()
    def predict(...): ...

    with cli_errors(exit_codes={TrainingDiverged: 3}, interrupt_hint=f"resume with --run-dir {run_dir}"):
        train_fn(run_dir=run_dir)

A check of one option's value made in the command itself, before the library runs, raises
``typer.BadParameter`` instead: Typer then prints the usage and names the option. Both exit
with code 2. A full disk, a read-only folder or a permission error (see
:mod:`lggseg.atomic_write`) is one line with what to do, exit code 74. Anything else (a bug)
still shows its traceback.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping

import typer

__all__ = ["INTERRUPTED", "USAGE_ERROR", "WRITE_ERROR", "cli_errors"]

# click's code for usage errors, so a bad file or value exits as a bad option does.
USAGE_ERROR = 2
# The shell's code for a process ended by SIGINT (128 + 2).
INTERRUPTED = 130
# sysexits.h EX_IOERR: a full disk, a read-only folder, a permission error.
WRITE_ERROR = 74


@contextlib.contextmanager
def cli_errors(
    *,
    exit_codes: Mapping[type[BaseException], int] | None = None,
    interrupt_hint: str | None = None,
) -> Iterator[None]:
    """Turn expected exceptions into ``error: <message>`` in red on stderr and an exit code.

    Usable as a decorator (``@cli_errors()``) or a ``with`` block.

    Args:
      exit_codes: more exception types and their exit codes, checked in order before
        ``ValueError`` / ``FileNotFoundError`` (code 2); e.g. ``{TrainingDiverged: 3}``.
      interrupt_hint: when given, Ctrl-C prints ``interrupted; <hint>`` in yellow and exits
        with 130 (e.g. how to resume); when None, ``KeyboardInterrupt`` propagates.

    Raises:
      typer.Exit: with the mapped code.
    """
    codes = dict(exit_codes or {})
    for kind, code in codes.items():
        if not (isinstance(kind, type) and issubclass(kind, BaseException)) or not isinstance(code, int):
            raise ValueError(f"exit_codes must map exception types to int exit codes, got {kind!r}: {code!r}.")
    try:
        yield
    except KeyboardInterrupt:
        if interrupt_hint is None:
            raise
        typer.secho(f"\ninterrupted; {interrupt_hint}", fg="yellow", err=True)
        raise typer.Exit(code=INTERRUPTED) from None
    except (typer.Exit, typer.Abort):
        raise
    except Exception as err:
        from lggseg.atomic_write import explain_write_error

        code = next((c for kind, c in codes.items() if isinstance(err, kind)), None)
        if code is None and isinstance(err, (ValueError, FileNotFoundError)):
            code = USAGE_ERROR
        disk = explain_write_error(err) if code is None else None
        if disk is not None:
            # A full disk or a read-only folder: what to do, not a traceback.
            typer.secho(f"error: {disk}", fg="red", err=True)
            raise typer.Exit(code=WRITE_ERROR) from None
        if code is None:
            raise
        # One line: the library's messages are single sentences; keep a multi-line one whole.
        typer.secho(f"error: {err}", fg="red", err=True)
        raise typer.Exit(code=code) from None
