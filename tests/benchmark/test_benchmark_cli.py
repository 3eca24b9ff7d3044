"""`lggseg benchmark` end to end on the current backend: a tiny entry and a failing one.

Each job is a real training process (imports, compile), so the suite is as small as it gets:
a 1-level FC-DenseNet with a transfer head on 8 synthetic 64 px images, 2 steps of 4 tiles per epoch.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lggseg_cli.main import app

TINY_ENTRY = """
train.data = @synthetic_source()
synthetic_source.count = 8
synthetic_source.size = 64
synthetic_source.num_classes = 4
# A randomly initialised 8-class FC-DenseNet with the 4-class transfer head.
train.model = @gbm_transfer
gbm_transfer.source = @fc_densenet()
gbm_transfer.num_classes = 4
gbm_transfer.head_filters = 4
fc_densenet.num_classes = 8
fc_densenet.initial_filters = 8
fc_densenet.growth_rate = 4
fc_densenet.down_blocks = (1,)
fc_densenet.bottleneck_layers = 1
fc_densenet.up_blocks = (1,)
fc_densenet.dropout = 0.0
train.loss = @cross_entropy()
train.phases = [@phase(), @phase()]
phase.layers_to_unfreeze = 'all'
# Enough epochs, each with a validation pass, that the interrupt lands mid-run even when the
# machine is busy and the signal is slow to arrive.
phase.epochs = 10
train.validate_every_epoch = True
train.tile_size = 32
train.batch_size = 4
train.steps_per_epoch = 2
train.progress = False
"""


@pytest.fixture
def suite(tmp_path, keras_backend, monkeypatch) -> Path:
    monkeypatch.setenv("LGGSEG_CACHE", str(tmp_path / "cache"))  # passed through to the jobs
    entry = tmp_path / "tiny.gin"
    entry.write_text(TINY_ENTRY)
    path = tmp_path / "suite.gin"
    path.write_text(
        f"benchmark_suite.entries = {{'tiny': ['{entry}'], 'broken': ['{entry}']}}\n"
        "benchmark_suite.params = {'broken': ['train.data = @folder_source()', "
        f"\"folder_source.directory = '{tmp_path / 'no_such_folder'}'\"]}}\n"
        f"benchmark_suite.backends = ['{keras_backend}']\n"
    )
    return path


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _wait_for_an_epoch(state: Path, process: subprocess.Popen, timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if json.loads(state.read_text()).get("epochs_done", 0) >= 1:
                return
        except (FileNotFoundError, json.JSONDecodeError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"no finished epoch in {state} (benchmark exit code {process.poll()})")


@pytest.mark.slow
def test_interrupt_resume_failure_and_skip(suite, tmp_path, keras_backend):
    out = tmp_path / "out"
    tiny = out / "runs" / "tiny" / keras_backend / "seed0"
    command = [sys.executable, "-m", "lggseg_cli.main", "benchmark", "--gin", str(suite), "--out", str(out)]

    # 1. Ctrl-C during the first epochs of 'tiny' (the whole process group, as a terminal does).
    first = subprocess.Popen(
        command, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        # A shell without job control starts background jobs with SIGINT ignored, and a Python
        # started so never raises KeyboardInterrupt: give it the default, as a terminal does.
        preexec_fn=_default_sigint,
    )
    _wait_for_an_epoch(tiny / "state.json", first)
    os.killpg(first.pid, signal.SIGINT)
    output = first.communicate(timeout=120)[0].decode()
    assert first.returncode == 130, output
    assert json.loads((tiny / "state.json").read_text())["status"] == "running"
    assert json.loads((tiny / "benchmark.json").read_text())["status"] == "interrupted"
    assert not (out / "runs" / "broken").exists()  # never reached

    # 2. The same command resumes 'tiny'; 'broken' fails without stopping anything.
    runner = CliRunner()
    result = runner.invoke(app, command[3:])
    assert result.exit_code == 1, result.output
    assert "resuming" in (tiny / "benchmark.log").read_text()
    with (tiny / "history.csv").open() as fh:
        epochs = [(int(r["phase"]), int(r["epoch"])) for r in csv.DictReader(fh)]
    assert epochs == [(p, e) for p in (1, 2) for e in range(1, 11)]  # each epoch once

    with (out / "results.csv").open() as fh:
        rows = {r["entry"]: r for r in csv.DictReader(fh)}
    for column in ("entry", "backend", "seed", "status", "accuracy", "macro_f1", "LE_recall", "IT_f1",
                   "train_seconds", "tiles_per_second", "peak_rss_mb"):
        assert column in rows["tiny"], column
    assert rows["tiny"]["status"] == "finished" and rows["broken"]["status"] == "failed"
    assert 0.0 <= float(rows["tiny"]["accuracy"]) <= 1.0 and float(rows["tiny"]["peak_rss_mb"]) > 0
    document = json.loads((out / "results.json").read_text())
    assert document["results"]["tiny"][keras_backend]["n"] == 1
    assert document["results"]["tiny"][keras_backend]["versions"]["keras"]
    error = document["results"]["broken"][keras_backend]["errors"][0]["error"]
    assert "no_such_folder" in error and "exit code" in error
    text = (out / "results.md").read_text()
    assert f"## {keras_backend}" in text and "| tiny | 1 |" in text and "no_such_folder" in text
    assert (out / "f1_per_class.png").stat().st_size > 0

    # 3. Once more: the finished entry is skipped, not retrained.
    log = tiny / "benchmark.log"
    before = (log.stat().st_mtime_ns, log.stat().st_size, (tiny / "model.keras").stat().st_mtime_ns)
    result = runner.invoke(app, command[3:])
    assert result.exit_code == 1, result.output
    assert "finished before, skipped" in result.output
    assert (log.stat().st_mtime_ns, log.stat().st_size, (tiny / "model.keras").stat().st_mtime_ns) == before
    with (out / "results.csv").open() as fh:
        assert [r["status"] for r in csv.DictReader(fh)] == ["finished", "failed"]


def test_bad_suite_options_are_clean_cli_errors(suite, tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["benchmark", "--gin", str(suite), "--only", "nope", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "tiny" in result.output
    result = runner.invoke(app, ["benchmark", "--gin", str(suite), "--backends", "torch", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "jax, tensorflow" in result.output
    assert not (tmp_path / "o").exists()


def _finished_run(run_dir: Path, *, entry: str, seed: int, fold: int, le_tp: int) -> None:
    """A finished cross-validation job's files, as the trainer and the runner write them."""
    import numpy as np

    from lggseg.evaluation.metrics import scores_from_confusion

    confusion = np.diag([50, 50, le_tp, 10]) + np.array([[0, 0, 0, 0], [0, 0, 0, 0], [0, 100 - le_tp, 0, 0], [0, 5, 0, 0]])
    metrics = {"classes": ["BG", "CT", "LE", "IT"], **scores_from_confusion(confusion, class_names=["BG", "CT", "LE", "IT"])}
    (run_dir / "test").mkdir(parents=True)
    (run_dir / "test" / "metrics.json").write_text(json.dumps(metrics))
    (run_dir / "metrics.json").write_text(json.dumps(metrics))
    (run_dir / "state.json").write_text(json.dumps({"status": "finished"}))
    (run_dir / "split.json").write_text(json.dumps({
        "train": ["a"], "validation": ["b"], "test": [f"t{fold}"],
        "cross_validation": {"fold": fold, "folds": 4, "seed": 0, "assignment": {"A": 0, "B": 1, "C": 2, "D": 3}},
    }))
    (run_dir / "benchmark.json").write_text(json.dumps({
        "entry": entry, "backend": "tensorflow", "seed": seed, "fold": fold, "status": "finished",
        "gin_files": [], "gin_params": [],
    }))


def test_results_only_reports_what_is_on_disk_with_paired_verdicts(tmp_path):
    suite = tmp_path / "suite.gin"
    suite.write_text(
        "benchmark_suite.entries = {'transfer': ['x.gin'], 'scratch': ['x.gin']}\n"
        "benchmark_suite.backends = ['tensorflow']\nbenchmark_suite.seeds = 2\nbenchmark_suite.folds = 4\n"
    )
    out = tmp_path / "out"
    for seed in range(2):
        for fold in range(4):
            for entry, le_tp in (("transfer", 80 + fold), ("scratch", 60 + fold + seed)):
                _finished_run(out / "runs" / entry / "tensorflow" / f"seed{seed}" / f"fold{fold}",
                              entry=entry, seed=seed, fold=fold, le_tp=le_tp)
    # x.gin does not exist: nothing may be trained.
    result = CliRunner().invoke(app, ["benchmark", "--gin", str(suite), "--out", str(out), "--results-only"])
    assert result.exit_code == 0, result.output
    text = (out / "results.md").read_text()
    assert "## Paired against transfer" in text and "## Per fold" in text
    document = json.loads((out / "results.json").read_text())
    le = document["comparisons"]["tensorflow"]["scratch"]["LE_f1"]
    assert le["n"] == 8 and le["verdict"] == "worse"
    assert document["results"]["scratch"]["tensorflow"]["n"] == 8
    assert document["folds"]["agree"] is True
    assert not list(out.glob("runs/*/*/*/*/benchmark.log"))


@pytest.mark.slow
def test_jobs_side_by_side_share_the_cores_and_are_all_recorded(suite, tmp_path, keras_backend):
    import datetime

    out = tmp_path / "out"
    short = ["--gin-param", "benchmark_suite.common_params = ['phase.epochs = 1', 'train.validate_every_epoch = False']"]
    result = CliRunner().invoke(app, ["benchmark", "--gin", str(suite), *short, "--out", str(out), "--jobs", "2"])
    assert result.exit_code == 1, result.output  # 'broken' fails, 'tiny' finishes
    assert "2 side by side" in result.output
    runs = out / "runs"
    tiny, broken = (json.loads((runs / name / keras_backend / "seed0" / "benchmark.json").read_text())
                    for name in ("tiny", "broken"))
    assert (tiny["status"], broken["status"]) == ("finished", "failed")
    # Side by side: 'broken' (second in order) started before 'tiny' (first) had finished.
    first_line = (runs / "broken" / keras_backend / "seed0" / "benchmark.log").read_text().splitlines()[0]
    broken_start = datetime.datetime.fromisoformat(first_line.split()[1])
    assert broken_start < datetime.datetime.fromisoformat(tiny["date"])
    assert "--jobs 2" in json.loads((out / "results.json").read_text())["command"]
