"""Runs a suite's jobs, each in its own process, with skip, resume and failure isolation.

Every job trains with ``python -m lggseg_cli.main --backend B train ... --run-dir D`` (the
backend is fixed per process) and writes into ``OUT/runs/<entry>/<backend>/seed<S>``
(``.../seed<S>/fold<F>`` in a cross-validation):

* ``benchmark.log``: the process's stdout and stderr (appended to on a rerun);
* ``benchmark.json``: the job's outcome: ``status`` (``finished``, ``failed``,
  ``interrupted``), ``returncode``, ``wall_seconds``, ``error`` (the last lines of the log),
  ``command``, ``gin_files``, ``gin_params``;
* everything the trainer writes (``state.json``, ``metrics.json``, ``run.json``, ...).

A job whose run directory holds a finished run (``state.json`` status ``finished`` and a
``metrics.json``) is skipped; any other existing run directory is passed again as
``--run-dir`` and the trainer resumes it from its last finished epoch.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

from lggseg.atomic_write import atomic_write
from lggseg.benchmark.suite import Job
from lggseg.benchmark.threads import shared_cores_env

# Kept inside each job's run directory; lggseg.training.run_dir.COMPANION_FILES names them too.
LOG_NAME = "benchmark.log"
OUTCOME_NAME = "benchmark.json"
# Lines of a failed job's log kept as its error.
ERROR_LINES = 15


@dataclasses.dataclass
class Outcome:
    """What became of one job; ``skipped`` when a finished run was found and not rerun."""

    job: Job
    status: str
    returncode: int | None = None
    wall_seconds: float | None = None
    error: str | None = None
    skipped: bool = False


def job_command(job: Job, *, out_dir: Path, python: str = sys.executable) -> list[str]:
    """The command line that trains ``job`` into its run directory under ``out_dir``."""
    command = [python, "-m", "lggseg_cli.main", "--backend", job.backend, "train"]
    for f in job.gin_files:
        command += ["--gin", str(f)]
    for p in job.gin_params:
        command += ["--gin-param", p]
    return command + ["--run-dir", str(Path(out_dir) / job.run_dir)]


def is_finished(run_dir: Path) -> bool:
    """``True`` when ``run_dir`` holds a finished training run with its metrics."""
    state = run_dir / "state.json"
    if not state.is_file() or not (run_dir / "metrics.json").is_file():
        return False
    try:
        return json.loads(state.read_text()).get("status") == "finished"
    except json.JSONDecodeError:
        return False


def recorded_jobs(out_dir: Path) -> list[Job]:
    """The jobs an earlier invocation ran into ``out_dir`` (read from their ``benchmark.json``).

    So that results cover every invocation into one folder, e.g. TensorFlow with two seeds,
    then JAX with one seed of two entries.
    """
    jobs = []
    for path in sorted(Path(out_dir).glob(f"runs/*/*/seed*/**/{OUTCOME_NAME}")):
        data = read_outcome(path.parent)
        if not data or not {"entry", "backend", "seed"} <= set(data):
            continue
        job = Job(
            entry=data["entry"], backend=data["backend"], seed=int(data["seed"]), fold=data.get("fold"),
            gin_files=tuple(data.get("gin_files", ())), gin_params=tuple(data.get("gin_params", ())),
        )
        if Path(out_dir) / job.run_dir == path.parent:  # a copied or moved folder is not this job
            jobs.append(job)
    return jobs


def read_outcome(run_dir: Path) -> dict | None:
    """The ``benchmark.json`` of a run directory, or ``None``."""
    path = run_dir / OUTCOME_NAME
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        return None


class RunningJobs:
    """The training processes of jobs running side by side, so that an interrupt reaches each one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._processes: set[subprocess.Popen] = set()
        self.interrupted = threading.Event()

    def add(self, process: subprocess.Popen) -> None:
        with self._lock:
            self._processes.add(process)

    def discard(self, process: subprocess.Popen) -> None:
        with self._lock:
            self._processes.discard(process)

    def interrupt(self) -> None:
        """Stop every running job as Ctrl-C stops one: each trainer saves, then exits."""
        self.interrupted.set()
        with self._lock:
            processes = list(self._processes)
        _interrupt(*processes)


def run_job(job: Job, *, out_dir: Path, env: dict[str, str] | None = None,
            running: RunningJobs | None = None) -> Outcome:
    """Train one job in a child process (or skip it when its run is finished).

    Args:
      job: the job.
      out_dir: the benchmark's output folder; the run directory is ``out_dir / job.run_dir``.
      env: the child's environment (default: this process's, e.g. with ``LGGSEG_CACHE``).
      running: where a job run beside others registers its process (``run_jobs`` with
        ``parallel > 1``); its outcome is ``interrupted`` when ``running.interrupt()`` stopped it.

    Returns:
      the :class:`Outcome`; also written to ``benchmark.json`` in the run directory.

    Raises:
      KeyboardInterrupt: after the child has been interrupted too (its finished epochs are
        saved and the job resumes on the next run); its outcome is recorded as ``interrupted``.
    """
    out_dir = Path(out_dir)
    run_dir = out_dir / job.run_dir
    command = job_command(job, out_dir=out_dir)
    previous = read_outcome(run_dir)
    changed = previous is not None and (
        _same_files(previous.get("gin_files", [])) != _same_files(job.gin_files)
        or list(previous.get("gin_params", [])) != list(job.gin_params)
    )
    if changed and not (run_dir / "state.json").is_file():
        # A failed attempt of another configuration that never trained an epoch: nothing
        # to resume, and its split or normaliser files would clash with the new one.
        shutil.rmtree(run_dir)
        previous, changed = None, False
    if changed:
        # Resuming or reusing a run of another configuration would mix two experiments.
        return _record(
            run_dir,
            job,
            command,
            Outcome(
                job=job,
                status="failed",
                error=(
                    f"{run_dir} holds a run of a different configuration (its {OUTCOME_NAME} lists other "
                    f"gin files or bindings); use another --out, or delete {run_dir} to rerun it."
                ),
            ),
            keep_previous=True,
        )
    if is_finished(run_dir):
        wall = previous.get("wall_seconds") if previous else None
        return Outcome(job=job, status="finished", returncode=0, wall_seconds=wall, skipped=True)

    run_dir.mkdir(parents=True, exist_ok=True)
    log_path = run_dir / LOG_NAME
    child_env = _child_env(job, env)
    start = time.perf_counter()
    with log_path.open("a") as log:
        stamp = datetime.datetime.now().isoformat(timespec="seconds")
        log.write(f"=== {stamp} {shlex.join(command)}\n")
        log.flush()
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=child_env)
        if running is not None:
            running.add(process)
        try:
            returncode = process.wait()
        except KeyboardInterrupt:
            _interrupt(process)
            _record(run_dir, job, command, _interrupted(job, process, start))
            raise
        finally:
            if running is not None:
                running.discard(process)
    wall = time.perf_counter() - start
    if returncode == 0 and is_finished(run_dir):
        outcome = Outcome(job=job, status="finished", returncode=0, wall_seconds=wall)
    elif running is not None and running.interrupted.is_set():
        outcome = _interrupted(job, process, start)
    else:
        outcome = _failed(job, returncode=returncode, wall=wall, log_path=log_path)
    return _record(run_dir, job, command, outcome)


def _interrupted(job: Job, process: subprocess.Popen, start: float) -> Outcome:
    return Outcome(
        job=job,
        status="interrupted",
        returncode=process.returncode,
        wall_seconds=time.perf_counter() - start,
        error="interrupted; rerun the benchmark with the same --out to resume this run",
    )


def _child_env(job: Job, env: dict[str, str] | None) -> dict[str, str]:
    """The training process's environment: ``env`` (or this process's) set up for a log file."""
    child_env = dict(os.environ if env is None else env)
    # The child's own progress display goes to a file; keep its TF start-up notices out.
    child_env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    child_env.setdefault("SM_FRAMEWORK", "tf.keras")
    # Rich wraps at $COLUMNS (80 when unset) when writing to a file; keep messages on one line.
    child_env["COLUMNS"] = "200"
    # Plain Python tracebacks in the log (Typer's boxed ones are hard to read in a file).
    child_env["_TYPER_STANDARD_TRACEBACK"] = "1"
    child_env["KERAS_BACKEND"] = job.backend
    return child_env


def _failed(job: Job, *, returncode: int, wall: float, log_path: Path) -> Outcome:
    """The outcome of a child that did not finish its run, with the log line that says why."""
    why = (
        f"exit code {returncode}"
        if returncode != 0
        else "exit code 0 but no finished run (state.json status 'finished' and metrics.json)"
    )
    last = tail(log_path, lines=ERROR_LINES)
    return Outcome(
        job=job,
        status="failed",
        returncode=returncode,
        wall_seconds=wall,
        error=f"{why}: {_headline(last)}\nlast lines of {log_path}:\n{last}",
    )


def run_jobs(
    jobs: Sequence[Job],
    *,
    out_dir: Path,
    env: dict[str, str] | None = None,
    parallel: int = 1,
    on_start: Callable[[int, int, Job], None] | None = None,
    on_done: Callable[[int, int, Outcome], None] | None = None,
) -> list[Outcome]:
    """Run ``jobs``, ``parallel`` at a time; a failed job is recorded and the next one runs.

    Args:
      jobs: from :meth:`Suite.jobs`.
      out_dir: the benchmark's output folder.
      env: the children's environment (default this process's).
      parallel: jobs run side by side, each limited to its share of the cores
        (:func:`lggseg.benchmark.threads.shared_cores_env`). Worth it for the CPU suites, whose
        jobs spend much of their time starting up and tracing on one core; the results do not
        depend on it beyond floating-point rounding (threads change the order of sums). Jobs
        start in order, except that a job of an entry and backend already running waits for
        one of another, when there is one (see :func:`_next_job`).
      on_start, on_done: progress callbacks ``(index, total, job)`` / ``(index, total, outcome)``,
        index 1-based, called from the thread that runs the job when ``parallel > 1``.

    Returns:
      the outcomes, in the order of ``jobs``.

    Raises:
      ValueError: when ``parallel`` is below 1.
      KeyboardInterrupt: when interrupted; every running job is stopped as one job is (it saves
        its finished epochs) and the jobs done so far are recorded on disk.
    """
    if parallel < 1:
        raise ValueError(f"parallel must be at least 1 (jobs side by side), got {parallel}")
    if parallel == 1:
        return [_run_one(index, job, total=len(jobs), out_dir=out_dir, env=env, on_start=on_start, on_done=on_done)
                for index, job in enumerate(jobs, start=1)]
    child_env = shared_cores_env(parallel, base=os.environ if env is None else env)
    running = RunningJobs()
    pending = list(enumerate(jobs, start=1))
    active: dict[Future, tuple[int, Job]] = {}
    outcomes: dict[int, Outcome] = {}
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        try:
            while pending or active:
                while pending and len(active) < parallel:
                    index, job = pending.pop(_next_job(pending, active=[job for _, job in active.values()]))
                    future = pool.submit(_run_one, index, job, total=len(jobs), out_dir=out_dir, env=child_env,
                                         running=running, on_start=on_start, on_done=on_done)
                    active[future] = (index, job)
                # A timeout keeps the main thread responsive to Ctrl-C.
                done, _ = wait(list(active), timeout=1.0, return_when=FIRST_COMPLETED)
                for future in done:
                    index, _ = active.pop(future)
                    outcomes[index] = future.result()
        except KeyboardInterrupt:
            running.interrupt()
            raise
    return [outcomes[index] for index in sorted(outcomes)]


def _next_job(pending: list[tuple[int, Job]], *, active: Sequence[Job]) -> int:
    """The position in ``pending`` of the next job to start: the first of an entry and backend not running.

    Two jobs of one entry and backend side by side would compile the same programs at the same
    time; one after the other, the second finds them in JAX's persistent compilation cache.
    When every pending job shares an entry and backend with a running one, the first pending.
    """
    busy = {(job.entry, job.backend) for job in active}
    return next((k for k, (_, job) in enumerate(pending) if (job.entry, job.backend) not in busy), 0)


def _run_one(index: int, job: Job, *, total: int, out_dir: Path, env: dict[str, str] | None,
             running: RunningJobs | None = None, on_start=None, on_done=None) -> Outcome:
    if on_start is not None:
        on_start(index, total, job)
    outcome = run_job(job, out_dir=out_dir, env=env, running=running)
    if on_done is not None:
        on_done(index, total, outcome)
    return outcome


def tail(path: Path, *, lines: int) -> str:
    """The last ``lines`` informative lines of a job's log.

    Left out: empty lines, the runner's own ``===`` command lines, and the C++ start-up
    notices of TensorFlow / XLA (absl log lines such as ``I0000 00:00:...``).
    """
    if not path.is_file():
        return ""
    text = path.read_text(errors="replace")
    rows = [row.rsplit("\r", 1)[-1].rstrip() for row in text.splitlines()]
    kept = [row for row in rows if row.strip() and not row.startswith("=== ") and not _NOISE.match(row)]
    return "\n".join(kept[-lines:])


# absl / glog lines ("I0000 00:00:1796052175.051876   21135 port.cc:153] ...") and their preamble.
_NOISE = re.compile(r"^([IWEF]\d{4} \d\d:\d\d:\S+\s+\d+ \S+:\d+\]|WARNING: All log messages before absl|To enable the following instructions)")


def _headline(text: str) -> str:
    """The line of a log tail that says what went wrong: the last error line, else the last line."""
    # Typer draws usage errors in a box: read the text inside it.
    rows = [row.strip(" │╭╮╰╯─\t") for row in text.splitlines()]
    rows = [row for row in rows if row]
    for row in reversed(rows):
        if re.match(r"^(error:|Error:|Invalid value|\w+(Error|Exception|Diverged)\b)", row):
            return row
    return rows[-1] if rows else "(empty log)"


def _interrupt(*processes: subprocess.Popen) -> None:
    # Ctrl-C in a terminal reaches the children too (same process group); otherwise forward it,
    # so each trainer stops after saving, as an interrupted `lggseg train` does. All of them at
    # once: one job's 60 s of saving must not delay the next one's signal.
    _wait_all(processes, timeout=2)
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    _wait_all(processes, timeout=60)
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()


def _wait_all(processes: Sequence[subprocess.Popen], *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for process in processes:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass


def _record(run_dir: Path, job: Job, command: list[str], outcome: Outcome, *, keep_previous: bool = False) -> Outcome:
    if keep_previous:
        # The run directory belongs to another configuration: leave its files untouched.
        return outcome
    run_dir.mkdir(parents=True, exist_ok=True)
    data = {
        "entry": job.entry,
        "backend": job.backend,
        "seed": job.seed,
        "fold": job.fold,
        "status": outcome.status,
        "returncode": outcome.returncode,
        "wall_seconds": outcome.wall_seconds,
        "error": outcome.error,
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "command": command,
        "gin_files": list(job.gin_files),
        "gin_params": list(job.gin_params),
    }
    with atomic_write(run_dir / OUTCOME_NAME) as tmp:
        tmp.write_text(json.dumps(data, indent=2))
    return outcome


def _same_files(files: Sequence[str]) -> list[str]:
    # 'gin/x.gin' from the repository and '/abs/repo/gin/x.gin' from elsewhere are one file.
    return [str(Path(f).resolve()) if Path(f).is_file() else str(f) for f in files]
