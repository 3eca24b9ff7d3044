"""An interrupted and resumed run equals the uninterrupted one: the checkpoint keeps the optimizer's
and the dropout generators' state, the data pipeline restarts at the same batch."""

from __future__ import annotations

import csv
import json
import os
import signal

import keras
import numpy as np
import pytest

from lggseg.data.synthetic import SyntheticSource
from lggseg.models import fc_densenet, load_model
from lggseg.training import Phase, train
from lggseg.training.interrupt import TrainingInterrupted


class _CtrlCAfter:
    """An identity augmentation that presses Ctrl-C (SIGINT to this process) on its Nth call."""

    def __init__(self, n: int):
        self.calls, self.n = 0, n

    def __call__(self, image, mask, *, rng):
        self.calls += 1
        if self.calls == self.n:
            os.kill(os.getpid(), signal.SIGINT)
        return image, mask


def _run(run_dir, *, interrupt_at: int):
    return train(
        data=SyntheticSource(count=6, size=64, num_classes=4, seed=3),
        model=lambda: fc_densenet(num_classes=4, initial_filters=8, growth_rate=4, down_blocks=(1,),
                                  bottleneck_layers=1, up_blocks=(1,), dropout=0.2),
        run_dir=run_dir,
        phases=[Phase(layers_to_unfreeze="all", learning_rate=1e-2, epochs=3),
                Phase(layers_to_unfreeze="all", learning_rate=1e-3, epochs=2)],
        tile_size=32, batch_size=2, steps_per_epoch=2, progress=False, seed=5, decision_rule=False,
        augmentation=_CtrlCAfter(interrupt_at),
    )


def _losses(run_dir) -> list[float]:
    with (run_dir / "history.csv").open() as fh:
        return [float(r["loss"]) for r in csv.DictReader(fh)]


@pytest.fixture
def sigint_not_ignored():
    # A shell without job control starts background jobs with SIGINT ignored, and the trainer
    # keeps an ignored SIGINT ignored: this test presses Ctrl-C itself, so it needs Python's own.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.slow
def test_interrupted_and_resumed_run_equals_the_uninterrupted_one(tmp_path, sigint_not_ignored):
    straight = _run(tmp_path / "straight", interrupt_at=-1)
    # 4 tiles an epoch: call 11 falls in epoch 3 of phase 1, after two finished epochs.
    with pytest.raises(TrainingInterrupted):
        _run(tmp_path / "resumed", interrupt_at=11)
    state = json.loads((tmp_path / "resumed" / "state.json").read_text())
    assert state["phases_done"] == 0 and state["epochs_done"] >= 1  # resumes inside phase 1
    resumed = _run(tmp_path / "resumed", interrupt_at=-1)

    assert _losses(resumed) == pytest.approx(_losses(straight), abs=1e-6)
    a, b = load_model(straight / "model.keras"), load_model(resumed / "model.keras")
    worst = max(float(np.max(np.abs(np.asarray(x) - np.asarray(y)))) for x, y in zip(a.get_weights(), b.get_weights()))
    assert worst <= 1e-6, f"weights differ by {worst} ({keras.backend.backend()})"
    assert not (resumed / "checkpoint.state.npz").exists()  # a finished run keeps no checkpoint
