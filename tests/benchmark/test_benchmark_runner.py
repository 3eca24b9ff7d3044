"""Runner decisions that need no training process: a changed configuration, log tails."""

from __future__ import annotations

import json
from pathlib import Path

from lggseg.benchmark import Job, run_job
from lggseg.benchmark.runner import _headline, tail


def test_a_run_of_another_configuration_is_never_resumed(tmp_path):
    job = Job(entry="e", backend="jax", seed=0, gin_files=(), gin_params=("train.seed = 0",))
    run_dir = tmp_path / job.run_dir
    run_dir.mkdir(parents=True)
    (run_dir / "state.json").write_text(json.dumps({"status": "running", "epochs_done": 2}))
    recorded = {"gin_files": [], "gin_params": ["TILE_SIZE = 32", "train.seed = 0"], "status": "interrupted"}
    (run_dir / "benchmark.json").write_text(json.dumps(recorded))

    outcome = run_job(job, out_dir=tmp_path)

    assert outcome.status == "failed" and "different configuration" in outcome.error
    assert not (run_dir / "benchmark.log").exists()  # nothing was started
    assert json.loads((run_dir / "benchmark.json").read_text()) == recorded  # left as it was


def test_log_tail_drops_start_up_noise_and_finds_the_error(tmp_path):
    log = tmp_path / "benchmark.log"
    log.write_text(
        "=== 2026-01-01T00:00:00 python -m lggseg_cli.main train\n"
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
        "I0000 00:00:1796052175.051876   21135 port.cc:153] oneDNN custom operations are on.\n"
        "data: 6 training and 2 validation images\n"
        "Traceback (most recent call last):\n"
        '  File "x.py", line 1, in <module>\n'
        "ValueError: folder /nope does not exist\n"
        "  In call to configurable 'train'\n"
    )
    text = tail(log, lines=4)
    assert text.splitlines() == [
        "Traceback (most recent call last):",
        '  File "x.py", line 1, in <module>',
        "ValueError: folder /nope does not exist",
        "  In call to configurable 'train'",
    ]
    assert _headline(text) == "ValueError: folder /nope does not exist"
    assert _headline("╭─ Error ─╮\n│ Invalid value for '--gin': file 'x' does not exist. │\n╰──╯") == (
        "Invalid value for '--gin': file 'x' does not exist."
    )


def test_jobs_side_by_side_get_a_share_of_the_cores_unless_the_user_set_one(monkeypatch):
    import pytest

    from lggseg.benchmark import run_jobs
    from lggseg.benchmark.threads import shared_cores_env

    monkeypatch.setattr("os.cpu_count", lambda: 8)
    env = shared_cores_env(2, base={"PATH": "/bin", "XLA_FLAGS": "--xla_dump_to=/tmp/x"})
    assert env["PATH"] == "/bin"
    assert env["TF_NUM_INTRAOP_THREADS"] == env["OMP_NUM_THREADS"] == "4"
    assert env["XLA_FLAGS"].split() == [
        "--xla_dump_to=/tmp/x", "--xla_cpu_multi_thread_eigen=true", "intra_op_parallelism_threads=4",
    ]
    assert shared_cores_env(16, base={})["TF_NUM_INTEROP_THREADS"] == "1"  # never below one thread
    mine = {"OMP_NUM_THREADS": "3", "XLA_FLAGS": "intra_op_parallelism_threads=3"}
    kept = shared_cores_env(2, base=mine)
    assert kept["OMP_NUM_THREADS"] == "3" and kept["XLA_FLAGS"] == "intra_op_parallelism_threads=3"
    assert kept["TF_NUM_INTRAOP_THREADS"] == "4"
    with pytest.raises(ValueError, match="at least 1"):
        run_jobs([], out_dir=Path("unused"), parallel=0)


def test_the_next_job_side_by_side_is_of_another_entry_or_backend_when_there_is_one():
    from lggseg.benchmark.runner import _next_job

    def job(entry, backend="jax", fold=0):
        return Job(entry=entry, backend=backend, seed=0, fold=fold, gin_files=(), gin_params=())

    pending = [(2, job("transfer", fold=1)), (3, job("scratch")), (4, job("transfer", "tensorflow"))]
    # transfer/jax is compiling: its next fold waits for it (and then finds the JAX cache warm).
    assert _next_job(pending, active=[job("transfer")]) == 1
    assert _next_job(pending, active=[job("scratch")]) == 0
    assert _next_job(pending[:1], active=[job("transfer")]) == 0  # nothing else: side by side after all
