"""gin plumbing shared by the command line and by users' own scripts.

Every component is a plain keyword-only function or class; the subpackages register them
with gin on import. :func:`parse` imports them all, then applies the gin files in order
(later files override earlier ones) and then the single bindings.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path

import gin

from lggseg.atomic_write import atomic_write

# The subpackages that register configurables. Importing them imports keras, so the
# backend must be chosen (KERAS_BACKEND) before parse() is called.
CONFIGURABLE_PACKAGES = (
    "lggseg",
    "lggseg.stain",
    "lggseg.augment",
    "lggseg.models",
    "lggseg.data",
    "lggseg.training",
    "lggseg.losses",
    "lggseg.evaluation",
    "lggseg.benchmark",
    "lggseg.slides",
)


def register_all() -> None:
    """Import every subpackage so that all its configurables are known to gin."""
    for name in CONFIGURABLE_PACKAGES:
        importlib.import_module(name)


def parse(
    *,
    files: Sequence[str | Path] = (),
    params: Sequence[str] = (),
    finalize: bool = True,
) -> None:
    """Clear gin, then parse ``files`` (in order) and ``params`` (``'name.arg = value'``).

    Raises:
      FileNotFoundError: naming a gin file that does not exist.
      ValueError: naming the file or binding gin could not apply, e.g. a misspelled
        argument (configurables have explicit keyword-only arguments, so gin rejects it).
    """
    register_all()
    gin.clear_config()
    for f in files:
        if not Path(f).is_file():
            raise FileNotFoundError(f"gin file {f} does not exist; the files in gin/ are the shipped configs.")
        # Shipped files include each other as 'gin/NAME.gin': resolve that from any directory.
        gin.add_config_file_search_path(str(Path(f).resolve().parent.parent))
    try:
        gin.parse_config_files_and_bindings(
            [str(f) for f in files], list(params), finalize_config=finalize
        )
    except (ValueError, KeyError, SyntaxError, ImportError) as err:
        where = ", ".join([*(str(f) for f in files), *params]) or "<no config>"
        raise ValueError(f"Could not apply gin config ({where}): {err}") from err


def write_operative_config(run_dir: str | Path) -> Path:
    """Write gin's operative config (what was actually used) to ``run_dir/config.gin``."""
    path = Path(run_dir) / "config.gin"
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as tmp:
        tmp.write_text(gin.operative_config_str())
    return path


# Bindings that change how a run is shown or fed, not what it computes: a resumed run may
# differ in them (the new values are recorded in its config.gin).
HARMLESS_BINDINGS = (
    "train.progress",
    "train.workers",
    "tile_dataset.use_multiprocessing",
    "tile_dataset.max_queue_size",
)


def requested_config() -> str:
    """Every binding parsed so far (gin's config string), whether or not it has been used yet."""
    return gin.config_str()


def config_changes(before: str, after: str, *, harmless: Sequence[str] = HARMLESS_BINDINGS) -> list[str]:
    """The ``-``/``+`` lines of a diff between two configs; comments, blank lines and ``harmless`` bindings left out."""
    import difflib

    def lines(text: str) -> list[str]:
        kept = []
        for line in text.splitlines():
            line = line.strip()
            if line and not line.startswith("#") and not any(line.startswith(f"{h} ") for h in harmless):
                kept.append(line)
        return kept

    diff = difflib.unified_diff(lines(before), lines(after), lineterm="", n=0)
    return [d for d in diff if d[:1] in "-+" and not d.startswith(("---", "+++"))]
