"""Ctrl-C on a real `lggseg train` process: the first press stops after the current step and saves
what is finished, the second stops at once; both leave a run that resumes."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import pytest

import lggseg.models  # noqa: F401  (registers the custom layers a checkpoint holds)



def _default_sigint() -> None:
    # A shell without job control starts background jobs with SIGINT ignored: give the child the
    # default, as a terminal does.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(gin_file: Path, run_dir: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "lggseg_cli.main", "--backend", keras.backend.backend(), "train",
               "--gin", str(gin_file), "--run-dir", str(run_dir)]
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, preexec_fn=_default_sigint,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )


def _wait_for_epochs(run_dir: Path, process: subprocess.Popen, *, epochs: int, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if json.loads((run_dir / "state.json").read_text()).get("epochs_done", 0) >= epochs:
                return
        except (FileNotFoundError, json.JSONDecodeError):
            pass
        time.sleep(0.05)
    output = process.communicate()[0].decode() if process.poll() is not None else ""
    raise AssertionError(f"no {epochs} finished epochs in {run_dir} (exit code {process.poll()}): {output}")


def _epochs(run_dir: Path) -> list[int]:
    with (run_dir / "history.csv").open() as fh:
        return [int(r["epoch"]) for r in csv.DictReader(fh)]


@pytest.mark.slow
def test_first_ctrl_c_stops_after_the_current_step_and_the_run_resumes(tiny_experiment, tmp_path):
    experiment = tiny_experiment
    run_dir = tmp_path / "run"
    process = _start(experiment, run_dir)
    _wait_for_epochs(run_dir, process, epochs=2)
    process.send_signal(signal.SIGINT)
    output = process.communicate(timeout=120)[0].decode()
    assert process.returncode == 130, output
    assert "Resume with" in output and str(run_dir) in output
    state = json.loads((run_dir / "state.json").read_text())
    assert state["status"] == "running" and 2 <= state["epochs_done"] < 60
    # Only finished epochs were recorded, each once, and the checkpoint is the last of them.
    assert _epochs(run_dir) == list(range(1, state["epochs_done"] + 1))
    keras.saving.load_model(run_dir / "checkpoint.keras", compile=False)
    assert not list(run_dir.glob("*.tmp*"))

    resumed = _start(experiment, run_dir)
    output = resumed.communicate(timeout=600)[0].decode()
    assert resumed.returncode == 0, output
    assert "resuming" in output
    assert _epochs(run_dir) == list(range(1, 61))
    assert json.loads((run_dir / "state.json").read_text())["status"] == "finished"


@pytest.mark.slow
def test_second_ctrl_c_stops_at_once_without_corrupting_the_checkpoint(tiny_experiment, tmp_path):
    experiment = tiny_experiment
    run_dir = tmp_path / "run"
    process = _start(experiment, run_dir)
    _wait_for_epochs(run_dir, process, epochs=1)
    process.send_signal(signal.SIGINT)
    time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    output = process.communicate(timeout=120)[0].decode()
    # 130 when the second press stops training; when the first press had already stopped it
    # (a fast step), the second ends the exiting process by the signal itself.
    assert process.returncode in (130, -signal.SIGINT), output
    state = json.loads((run_dir / "state.json").read_text())
    assert state["status"] == "running" and state["epochs_done"] >= 1
    keras.saving.load_model(run_dir / "checkpoint.keras", compile=False)
