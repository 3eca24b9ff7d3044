"""The run directory: what a training run writes, and how an interrupted run resumes.

Layout::

    RUN_DIR/
      lggseg-run.json       written first: format version, the configuration asked for
      config.gin            gin's operative config
      classes.tsv           the model's output classes (palette format)
      normalizer.json       the fitted stain normaliser, reused by evaluate / predict
      state.json            progress: finished phases, last finished epoch, status
      checkpoint.keras      the model after the last finished (finite-loss) epoch
      checkpoint.state.npz  its optimizer and random-generator state (lggseg.training.checkpoint)
      history.csv           one row per epoch: phase, epoch, loss, class shares, val metrics
      phase_<K>.keras       the model after phase K (1-based)
      phase_<K>/            validation metrics.json, report.md, plots/ after phase K
      model.keras           the final model
      metrics.json, report.md, plots/   the final validation report
      test/                 with a test fold (train.test_fold): its metrics.json, report.md, plots/
"""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path
from typing import Any

from lggseg.atomic_write import atomic_write


MARKER = "lggseg-run.json"
FORMAT_VERSION = 1
# What a run writes at its top level (plus phase_<K>.keras and phase_<K>/): what --overwrite replaces.
RUN_FILES = (
    MARKER, "config.gin", "classes.tsv", "normalizer.json", "split.json", "state.json", "checkpoint.keras",
    "checkpoint.state.npz",
    "history.csv", "model.keras", "metrics.json", "report.md", "run.json", "decision_rule.json",
)


# Files that tools around a run keep inside its directory (the benchmark runner's log and
# outcome, written before it starts `lggseg train` there): they do not make a folder foreign.
COMPANION_FILES = ("benchmark.log", "benchmark.json")
# The held-out test fold's metrics.json, report.md and plots/ (a run with train.test_fold).
TEST_DIR = "test"


@dataclasses.dataclass
class RunState:
    """Progress of a run, rewritten atomically after every epoch."""

    phases_done: int = 0
    # Epochs finished in the phase after ``phases_done`` (the one in progress).
    epochs_done: int = 0
    status: str = "running"
    steps_done: int = 0
    train_seconds: float = 0.0
    # Early stopping within the phase in progress: best value of its metric, epochs since.
    early_stop_best: float | None = None
    early_stop_wait: int = 0

    @classmethod
    def load(cls, run_dir: Path) -> "RunState | None":
        path = run_dir / "state.json"
        if not path.is_file():
            return None
        try:
            raw = json.loads(path.read_text())
            return cls(**{f.name: raw[f.name] for f in dataclasses.fields(cls) if f.name in raw})
        except (json.JSONDecodeError, TypeError) as err:
            raise ValueError(
                f"{path} is not a valid run state ({err}); delete it to start the run afresh."
            ) from err

    def save(self, run_dir: Path) -> None:
        write_json_atomic(run_dir / "state.json", dataclasses.asdict(self))

    @property
    def has_progress(self) -> bool:
        """Whether any epoch was finished (and checkpointed)."""
        return bool(self.phases_done or self.epochs_done)


def read_marker(run_dir: Path) -> dict[str, Any] | None:
    """The run marker, ``None`` if there is none.

    Raises:
      ValueError: naming the file, when it is unreadable or from a newer lggseg.
    """
    path = run_dir / MARKER
    if not path.is_file():
        return None
    try:
        marker = json.loads(path.read_text())
        version = int(marker["format_version"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{path} is not a valid lggseg run marker ({err}); use another --run-dir.") from err
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{path}: run format {version} was written by a newer lggseg (this one reads up to "
            f"{FORMAT_VERSION}); upgrade lggseg or use another --run-dir."
        )
    return marker


def write_marker(run_dir: Path, *, requested_config: str) -> None:
    """Mark ``run_dir`` as an lggseg run, recording the configuration it was started with."""
    import datetime

    write_json_atomic(run_dir / MARKER, {
        "format_version": FORMAT_VERSION,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "requested_config": requested_config,
    })


def clear_run_files(run_dir: Path) -> None:
    """Remove what an lggseg run writes (for ``--overwrite``); other files stay."""
    import shutil

    for name in RUN_FILES:
        (run_dir / name).unlink(missing_ok=True)
    for path in [*run_dir.glob("phase_*.keras"), *run_dir.glob("*.tmp*")]:
        path.unlink()
    for path in run_dir.glob("phase_*"):
        if path.is_dir():
            shutil.rmtree(path)
    for name in ("plots", TEST_DIR):
        if (run_dir / name).is_dir():
            shutil.rmtree(run_dir / name)


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON atomically (see :mod:`lggseg.atomic_write`)."""
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, default=_json_default))


def _json_default(value):
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def save_model_atomic(model, path: Path) -> None:
    """``model.save`` atomically (a kill mid-save keeps the old file)."""
    with atomic_write(path) as tmp:
        model.save(tmp)


def append_history(run_dir: Path, row: dict[str, Any]) -> None:
    """Append one epoch's row to ``history.csv``, widening the header when needed."""
    path = run_dir / "history.csv"
    rows = read_history(run_dir)
    rows.append({k: v for k, v in row.items()})
    fields: list[str] = []
    for r in rows:
        fields.extend(k for k in r if k not in fields)
    with atomic_write(path) as tmp, tmp.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def update_last_history_row(run_dir: Path, values: dict[str, Any]) -> None:
    """Add ``values`` (e.g. a phase's validation metrics) to the last row of ``history.csv``."""
    rows = read_history(run_dir)
    if not rows:
        return
    rows[-1].update(values)
    path = run_dir / "history.csv"
    path.unlink()
    for r in rows:
        append_history(run_dir, r)


def read_history(run_dir: Path) -> list[dict[str, Any]]:
    path = Path(run_dir) / "history.csv"
    if not path.is_file():
        return []
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    out = []
    for r in rows:
        parsed: dict[str, Any] = {}
        for k, v in r.items():
            if v in ("", None):
                parsed[k] = None
                continue
            try:
                parsed[k] = int(v) if k in ("phase", "epoch") else float(v)
            except ValueError:
                parsed[k] = v
        out.append(parsed)
    return out


def truncate_history(run_dir: Path, *, phases_done: int, epochs_done: int) -> None:
    """Drop history rows past the resume point (an epoch that ran but was not checkpointed)."""
    rows = read_history(run_dir)
    keep = [
        r
        for r in rows
        if r["phase"] <= phases_done or (r["phase"] == phases_done + 1 and r["epoch"] <= epochs_done)
    ]
    if len(keep) != len(rows):
        path = run_dir / "history.csv"
        path.unlink()
        for r in keep:
            append_history(run_dir, r)
