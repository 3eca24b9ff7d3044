"""Ctrl-C while training: the first press stops after the current step, the second at once.

Python turns SIGINT into a ``KeyboardInterrupt`` raised wherever the main thread happens to
be. Inside ``model.fit`` that can be the middle of Keras' own bookkeeping, where it was seen
to be swallowed on the JAX backend (the run trained on) or to leave a half-assigned variable
behind. So while phases train, SIGINT only sets a flag: the trainer's epoch callback stops
``fit`` after the step that is running, an epoch cut short is not recorded (the run resumes
from the last finished one), and the trainer raises :class:`TrainingInterrupted`. A second
press raises ``KeyboardInterrupt`` at once; every file of the run is written atomically, so
that loses the current epoch and nothing else.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator

__all__ = ["StopRequest", "TrainingInterrupted"]


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped on Ctrl-C after a finished step; rerun with the same run directory to resume."""


class StopRequest:
    """Turns the first SIGINT into a request to stop after the current step.

    Attributes:
      requested: set by the first Ctrl-C.
    """

    def __init__(self) -> None:
        self.requested = False

    @contextlib.contextmanager
    def handling_sigint(self) -> Iterator["StopRequest"]:
        """Install the handler for the duration of the block (main thread only)."""
        previous = signal.getsignal(signal.SIGINT)
        # Elsewhere than the main thread signals cannot be handled; a process started with
        # SIGINT ignored (a background job) keeps ignoring it.
        if threading.current_thread() is not threading.main_thread() or previous is signal.SIG_IGN:
            yield self
            return
        signal.signal(signal.SIGINT, self._handle)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, previous)

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        # os.write, not print: a signal handler may run while the main thread is printing.
        os.write(2, b"\nCtrl-C: stopping after the current step; finished epochs are kept "
                    b"(press Ctrl-C again to stop at once).\n")
