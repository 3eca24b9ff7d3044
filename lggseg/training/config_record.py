"""How a run records its configuration: what was asked for, and what was used.

The run marker keeps the configuration a run was *asked* for (every binding, used or not),
so that a resumed run can be compared with it; ``config.gin`` keeps what was *used* (gin's
operative config). An experiment run through gin uses :class:`GinConfig`; a stage that
lggseg runs itself (the GBM source pretraining) describes its own settings the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

__all__ = ["ConfigRecord", "GinConfig"]


class ConfigRecord(Protocol):
    def requested(self) -> str:
        """The configuration asked for, as text (compared when a run resumes)."""

    def write(self, run_dir: Path) -> None:
        """Write ``run_dir/config.gin``."""


class GinConfig:
    """gin's view: the parsed bindings, and the operative config as ``config.gin``."""

    def requested(self) -> str:
        from lggseg import config

        return config.requested_config()

    def write(self, run_dir: Path) -> None:
        from lggseg import config

        config.write_operative_config(run_dir)
