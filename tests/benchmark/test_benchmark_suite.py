"""Suites: the shipped suites parse and expand to their matrix; invalid suites are refused."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from lggseg.benchmark import Job, benchmark_suite, job_command, load_suite

REPO = Path(__file__).resolve().parents[2]


def test_quick_suite_expands_to_backends_x_seeds_x_entries(monkeypatch, tmp_path):
    # From another directory: relative gin paths resolve against the repository root.
    monkeypatch.chdir(tmp_path)
    suite = load_suite(files=[REPO / "gin" / "benchmark_quick.gin"])
    jobs = suite.jobs()
    entries = ["transfer", "scratch_fc_densenet", "frozen_transfer"]
    # Entries vary fastest: a run stopped part way has every entry of what it finished.
    assert [(j.entry, j.backend, j.seed, j.fold) for j in jobs] == [
        (e, b, 0, f) for b in ("jax", "tensorflow") for f in (0, 1) for e in entries
    ]
    transfer = jobs[0]
    assert [Path(f) for f in transfer.gin_files] == [REPO / "gin" / "le_focus.gin", REPO / "gin" / "quick.gin"]
    for f in (f for j in jobs for f in j.gin_files):
        assert Path(f).is_file(), f
    # Every job: the same tile size, steps and split; the seeds last so nothing overrides them.
    for job in jobs:
        assert "TILE_SIZE = 64" in job.gin_params and "train.steps_per_epoch = 8" in job.gin_params
        assert job.gin_params[-6:-4] == (f"train.seed = {job.seed}", "train.split_seed = 0")
        assert job.gin_params[-2] == f"cv_fold.fold = {job.fold}"
    assert transfer.run_dir == Path("runs/transfer/jax/seed0/fold0")
    # Equal steps: the frozen baseline's one phase takes the four phases' epochs.
    frozen = next(j for j in jobs if j.entry == "frozen_transfer")
    assert frozen.gin_params[0] == "EPOCHS_PER_PHASE = 8"


def test_every_job_of_a_shipped_suite_is_a_valid_training_config(shipped_suite):
    # shipped_suite: every gin/*.gin binding benchmark_suite (tests/conftest.py). Parsing each
    # job's config is the check here; the configs themselves train in tests/training.
    from lggseg import config

    suite = load_suite(files=[shipped_suite]).replace(backends=["jax"], seeds=1)
    assert suite.jobs()
    for job in suite.jobs():
        for f in job.gin_files:
            assert Path(f).is_file(), f
        # What `lggseg train` parses in the job's process: files, then bindings.
        config.parse(files=job.gin_files, params=job.gin_params)


def test_seed_suite_is_the_ladder_at_equal_budget():
    suite = load_suite(files=[REPO / "gin" / "benchmark_seed.gin"])
    assert list(suite.entries) == [
        "frozen_baseline", "le_focus", "extreme_oversampling", "full_unfreeze", "scratch_fc_densenet", "scratch_unet",
    ]
    assert len(suite.jobs()) == 6 * 2 * 3
    assert suite.params["frozen_baseline"] == ("EPOCHS_PER_PHASE = 120",)
    assert suite.params["full_unfreeze"] == ("EPOCHS_PER_PHASE = 60",)


def test_overrides_only_and_command_line(tmp_path):
    suite = load_suite(
        files=[REPO / "gin" / "benchmark_quick.gin"], params=["benchmark_suite.split_seed = 7"]
    ).replace(backends=["tensorflow"], seeds=3)
    jobs = suite.jobs(only=["scratch_fc_densenet"])
    assert [(j.entry, j.backend, j.seed, j.fold) for j in jobs] == [
        ("scratch_fc_densenet", "tensorflow", s, f) for s in range(3) for f in range(2)
    ]
    # The training seed varies, the split seed does not.
    assert {p for j in jobs for p in j.gin_params if p.startswith("train.split_seed")} == {"train.split_seed = 7"}
    command = job_command(jobs[4], out_dir=tmp_path)
    assert command[:6] == [sys.executable, "-m", "lggseg_cli.main", "--backend", "tensorflow", "train"]
    assert command[-2:] == ["--run-dir", str(tmp_path / "runs" / "scratch_fc_densenet" / "tensorflow" / "seed2" / "fold0")]
    assert command.count("--gin") == 2  # scratch_fc_densenet.gin, then quick.gin
    assert "train.seed = 2" in command
    with pytest.raises(ValueError, match="scratch_fc_densenet"):
        suite.jobs(only=["scratch"])  # the error lists the valid entries
    assert suite.parallel == 2 and suite.replace(parallel=1).parallel == 1  # --jobs 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"entries": {}}, "empty"),
        ({"entries": {"a/b": ["x.gin"]}}, "folder name"),
        ({"entries": {"a": "x.gin"}}, "list its gin files"),
        ({"entries": {"a": ["x.gin"]}, "params": {"b": ["x = 1"]}}, "unknown entries 'b'"),
        ({"entries": {"a": ["x.gin"]}, "backends": ["torch"]}, "jax, tensorflow"),
        ({"entries": {"a": ["x.gin"]}, "parallel": 0}, "parallel must be at least 1"),
        ({"entries": {"a": ["x.gin"]}, "seeds": 0}, "at least 1"),
        ({"entries": {"a": ["x.gin"]}, "folds": 1}, "at least 2"),
        ({"entries": {"a": ["x.gin"]}, "common_params": "x = 1"}, "list of strings"),
    ],
)
def test_invalid_suites_are_refused_with_the_reason(kwargs, message):
    with pytest.raises(ValueError, match=message):
        benchmark_suite(**kwargs)


def test_suite_file_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.gin"):
        load_suite(files=[tmp_path / "nope.gin"])
    bad = tmp_path / "bad.gin"
    bad.write_text("benchmark_suite.entrys = {'a': ['x.gin']}\n")
    with pytest.raises(ValueError, match="bad.gin"):
        load_suite(files=[bad])
    missing = tmp_path / "missing.gin"
    missing.write_text("benchmark_suite.seeds = 2\n")
    with pytest.raises(ValueError, match="entries"):
        load_suite(files=[missing])


def test_job_run_dir_layout():
    job = Job(entry="e", backend="jax", seed=3, gin_files=("a.gin",), gin_params=())
    assert job.run_dir == Path("runs") / "e" / "jax" / "seed3"
    job = Job(entry="e", backend="jax", seed=3, gin_files=("a.gin",), gin_params=(), fold=2)
    assert job.run_dir == Path("runs") / "e" / "jax" / "seed3" / "fold2"


def test_a_cross_validation_suite_runs_every_entry_of_a_fold_before_the_next_fold():
    suite = benchmark_suite(
        entries={"a": ["a.gin"], "b": ["b.gin"]}, backends=["tensorflow"], seeds=2, folds=3, fold_seed=5,
    )
    jobs = suite.jobs()
    assert [(j.seed, j.fold, j.entry) for j in jobs] == [
        (s, f, e) for s in range(2) for f in range(3) for e in ("a", "b")
    ]
    # The fold is the job's test set; the fold seed is the same for every job.
    assert jobs[3].gin_params[-4:] == (
        "train.test_fold = @cv_fold", "cv_fold.folds = 3", "cv_fold.fold = 1", "cv_fold.seed = 5",
    )
    assert suite.replace(seeds=1).folds == 3


def test_the_ivygap_suite_is_block_level_cross_validation():
    suite = load_suite(files=[REPO / "gin" / "benchmark_ivygap.gin"])
    assert suite.folds == 4 and suite.seeds >= 2
    assert list(suite.entries) == ["transfer", "frozen_transfer", "scratch_fc_densenet", "scratch_unet"]
    assert len(suite.jobs()) == 2 * suite.seeds * 4 * 4
