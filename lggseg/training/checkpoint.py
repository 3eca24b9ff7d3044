"""The checkpoint of a run in progress, complete enough that a resumed run equals an uninterrupted one.

``checkpoint.keras`` holds the model after the last finished epoch. It does not hold what
training state lives outside the weights, and loading it restarts that state:

* the optimizer's variables (Adam's moments, the step count), since a run resumes by
  loading the model uncompiled and compiling the phase's optimizer afresh;
* the random generators of the layers (``SeedGenerator`` states: dropout masks), which
  ``keras.saving.load_model`` re-creates from the global seed instead of restoring.

So every epoch also writes ``checkpoint.state.npz``: those variables, stamped with the phase
and epoch they belong to. It is written before the model and ``state.json``; a resume uses
it only when its stamp matches the state, so a kill between the writes costs exactness
(said aloud) and never loads a mismatched state. The data pipeline needs nothing saved:
every batch is a function of (seed, epoch, index) (see :mod:`lggseg.training.pipeline`).
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from lggseg.atomic_write import atomic_write
from lggseg.training.console import say

__all__ = ["TRAINING_STATE", "restore_training_state", "save_training_state"]

TRAINING_STATE = "checkpoint.state.npz"


def _seed_states(net: keras.Model) -> list:
    return [v for v in net.non_trainable_variables if "seed_generator_state" in v.path]


def _variables(net: keras.Model) -> dict[str, keras.Variable]:
    """The optimizer's and the seed generators' variables, keyed by position.

    By position, as Keras' own ``load_own_variables`` does: optimizer variable names are
    derived from the model's variable paths and need not be unique or stable across a load.
    """
    found = {f"optimizer_{i:05d}": v for i, v in enumerate(net.optimizer.variables)}
    found.update({f"seed_{i:05d}": v for i, v in enumerate(_seed_states(net))})
    return found


def save_training_state(net: keras.Model, run_dir: Path, *, phase: int, epoch: int) -> None:
    """Write the optimizer's and the seed generators' variables, stamped ``(phase, epoch)``, atomically."""
    arrays = {key: np.asarray(v.numpy()) for key, v in _variables(net).items()}
    with atomic_write(run_dir / TRAINING_STATE) as tmp, tmp.open("wb") as fh:
        np.savez(fh, stamp=np.array([phase, epoch]), **arrays)


def restore_training_state(net: keras.Model, run_dir: Path, *, phase: int, epoch: int) -> bool:
    """Load the state saved after ``epoch`` of ``phase`` into the compiled ``net``; ``False`` if unusable."""
    path = run_dir / TRAINING_STATE
    if not path.is_file():
        say(f"no {path.name} in {run_dir}: resuming with a fresh optimizer (not bit-exact).")
        return False
    with np.load(path) as saved:
        arrays = dict(saved)
    stamp = tuple(int(x) for x in arrays.pop("stamp"))
    net.optimizer.build(net.trainable_variables)
    targets = _variables(net)
    usable = stamp == (phase, epoch) and set(arrays) == set(targets) and all(
        tuple(targets[k].shape) == arrays[k].shape for k in arrays
    )
    if not usable:
        say(f"{path} does not belong to phase {phase}, epoch {epoch} of this checkpoint: resuming with a "
            "fresh optimizer (not bit-exact).")
        return False
    for key, value in arrays.items():
        targets[key].assign(value)
    return True
