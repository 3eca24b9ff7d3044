"""What training says to the person running it: one line on stderr, and the same in the log."""

from __future__ import annotations

import logging

log = logging.getLogger("lggseg.train")


def say(message: str) -> None:
    """Print ``message`` on stderr (rich, no highlighting) and log it at INFO."""
    from rich.console import Console

    Console(stderr=True).print(message, highlight=False)
    log.info(message)
