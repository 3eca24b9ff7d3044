"""Atomic writes: a file is replaced whole or not at all, and a failed write leaves nothing behind.

Every file of a run directory is written through :func:`atomic_write`: the content goes to
a temporary file beside the target, which ``os.replace`` (atomic on POSIX) then moves over
it. A kill, a full disk or a read-only folder therefore never leaves half a file, and the
temporary file is removed when the write fails. A full disk, a read-only file system or a
missing permission surfaces as :class:`WriteError`, one line naming the path and what to do.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from pathlib import Path

__all__ = ["WriteError", "atomic_write", "explain_write_error"]

_ADVICE = {
    errno.ENOSPC: "the disk is full: free space there, then rerun the same command (finished work is kept)",
    errno.EDQUOT: "the disk quota is exhausted: free space there, then rerun the same command (finished work is kept)",
    errno.EROFS: "the file system is read-only: choose a writable folder (e.g. another --run-dir or --out)",
    errno.EACCES: "permission denied: choose a folder you can write to (e.g. another --run-dir or --out)",
    errno.EPERM: "permission denied: choose a folder you can write to (e.g. another --run-dir or --out)",
}


class WriteError(OSError):
    """A write failed for a reason the user can fix (full disk, read-only folder, permissions)."""

    def __str__(self) -> str:
        return str(self.strerror)


@contextlib.contextmanager
def atomic_write(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write ``path``'s new content to; it replaces ``path`` on success.

    Raises:
      WriteError: on a full disk, a read-only file system or a permission error, naming ``path``.
    """
    path = Path(path)
    # Keep the suffix last (model.keras -> model.tmp.keras): Keras picks the format by it.
    tmp = path.with_name(f"{path.stem}.tmp{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as err:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        if err.errno in _ADVICE and not isinstance(err, WriteError):
            raise WriteError(err.errno, f"cannot write {path}: {_ADVICE[err.errno]}", str(path)) from err
        raise
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise


def explain_write_error(err: BaseException) -> str | None:
    """One line for a full disk, read-only folder or permission error in ``err`` or what it wraps; else None."""
    seen = 0
    while err is not None and seen < 20:
        if isinstance(err, WriteError):
            return str(err)
        if isinstance(err, OSError) and err.errno in _ADVICE:
            return f"cannot write {err.filename or 'a file'}: {_ADVICE[err.errno]}"
        err, seen = err.__cause__ or err.__context__, seen + 1
    return None
