"""``lggseg benchmark``: run a suite of experiments x backends x seeds and tabulate the results."""

from __future__ import annotations

import functools
import shlex
from pathlib import Path
from typing import Annotated

import typer

from lggseg_cli.errors import cli_errors

SuiteFiles = Annotated[
    list[Path],
    typer.Option(
        "--gin",
        help="benchmark suite gin file (bindings of benchmark_suite); repeatable. Default: gin/benchmark_quick.gin.",
        exists=True,
        dir_okay=False,
        readable=True,
    ),
]

SuiteParams = Annotated[
    list[str],
    typer.Option(
        "--gin-param",
        help="A suite binding such as \"benchmark_suite.common_params = ['train.steps_per_epoch = 4']\"; "
        "repeatable, applied after the files.",
    ),
]


Backends = Annotated[
    str | None,
    typer.Option("--backends", help="Comma-separated backends, overriding the suite's, e.g. jax,tensorflow."),
]
Seeds = Annotated[
    int | None, typer.Option("--seeds", min=1, help="Training seeds per entry and backend, overriding the suite's.")
]
Out = Annotated[
    Path | None,
    typer.Option(
        "--out",
        file_okay=False,
        help="Output folder; rerun with the same --out to skip finished jobs and resume interrupted ones. "
        "Default: runs/benchmark-<suite>.",
    ),
]
Only = Annotated[
    str | None, typer.Option("--only", help="Comma-separated entries to run (the others are still reported).")
]
Jobs = Annotated[
    int | None,
    typer.Option(
        "--jobs",
        min=1,
        help="Jobs run side by side, each with its share of the CPU cores (default: the suite's "
        "benchmark_suite.parallel). The CPU suites' small jobs spend much of their time starting up on one core.",
    ),
]
ResultsOnly = Annotated[
    bool,
    typer.Option(
        "--results-only",
        help="Train nothing: rewrite results.* from the jobs already in --out (e.g. while a long run goes on).",
    ),
]


@cli_errors()
def benchmark(
    gin_files: SuiteFiles = None,
    gin_params: SuiteParams = None,
    backends: Backends = None,
    seeds: Seeds = None,
    out: Out = None,
    only: Only = None,
    jobs: Jobs = None,
    results_only: ResultsOnly = False,
) -> None:
    """Run a benchmark suite, each entry x backend x seed in its own training process, e.g.
    [bold]lggseg benchmark --gin gin/benchmark_quick.gin[/bold].

    Writes results.csv, results.json, results.md and f1_per_class.png into --out and prints the
    results table. A failed job is reported with its error and does not stop the others; the
    exit code is 1 when a job failed, 130 when interrupted.
    """
    from lggseg.benchmark import collect, load_suite, run_jobs, write_results
    from lggseg.benchmark.results import aggregate, classes_of
    from lggseg.benchmark.runner import recorded_jobs
    from lggseg.benchmark.tables import summary_tables

    files = gin_files or [Path("gin/benchmark_quick.gin")]
    suite = load_suite(files=files, params=gin_params or [])
    suite = suite.replace(
        backends=_split_list(backends) if backends is not None else None,
        seeds=seeds,
        parallel=jobs,
    )
    selected = suite.jobs(only=_split_list(only) if only else ())
    out_dir = out or Path("runs") / ("benchmark-" + "+".join(Path(f).stem.removeprefix("benchmark_") for f in files))
    every = suite.jobs()
    command = _command(files, gin_params=gin_params, backends=",".join(suite.backends) if backends is not None else None,
                       seeds=seeds, out_dir=out_dir, only=only, jobs=jobs)
    outcomes = []
    interrupted = False
    if not results_only:
        typer.echo(f"benchmark: {len(selected)} job(s) of {len(every)} into {out_dir}"
                   + (f", {suite.parallel} side by side" if suite.parallel > 1 else ""), err=True)
        try:
            side_by_side = suite.parallel > 1
            run_jobs(selected, out_dir=out_dir, parallel=suite.parallel,
                     on_start=functools.partial(_on_start, side_by_side=side_by_side),
                     on_done=lambda i, n, o: _on_done(o, outcomes, index=i, total=n, side_by_side=side_by_side))
        except KeyboardInterrupt:
            interrupted = True
            typer.secho("\ninterrupted; rerun the same command to resume.", fg="yellow", err=True)
    # Results cover this suite's jobs and whatever earlier invocations ran into --out.
    known = {job.run_dir for job in every}
    every += [job for job in recorded_jobs(out_dir) if job.run_dir not in known and job.entry in suite.entries]
    results = collect(every, out_dir=out_dir, outcomes=outcomes)
    paths = write_results(results, out_dir=out_dir, command=command, suite=suite)
    typer.echo(summary_tables(aggregate(results), classes=classes_of(results)))
    typer.echo(f"results: {paths['md']}, {paths['csv']}, {paths['json']}, {paths['png']}", err=True)
    if interrupted:
        raise typer.Exit(code=130)
    failed = [o for o in outcomes if o.status != "finished"]
    if failed:
        typer.secho(
            f"{len(failed)} job(s) failed: "
            + ", ".join(str(o.job.run_dir.relative_to("runs")) for o in failed)
            + " (see results.md and their benchmark.log)",
            fg="red",
            err=True,
        )
        raise typer.Exit(code=1)


def _command(files, *, gin_params, backends: str | None, seeds: int | None, out_dir: Path, only: str | None,
             jobs: int | None) -> str:
    """The command that reproduces this run (sys.argv is not it under a test runner)."""
    argv = ["lggseg", "benchmark", *[a for f in files for a in ("--gin", str(f))]]
    argv += [a for p in gin_params or [] for a in ("--gin-param", p)]
    argv += ["--backends", backends] if backends is not None else []
    argv += ["--seeds", str(seeds)] if seeds is not None else []
    argv += ["--out", str(out_dir)] + (["--only", only] if only else [])
    argv += ["--jobs", str(jobs)] if jobs is not None else []
    return shlex.join(argv)


def _describe(job) -> str:
    fold = "" if job.fold is None else f" / fold {job.fold}"
    return f"{job.entry} / {job.backend} / seed {job.seed}{fold}"


def _on_start(index: int, total: int, job, *, side_by_side: bool) -> None:
    # One job at a time: its outcome ends the line; side by side, each event has its own line.
    if side_by_side:
        typer.echo(f"[{index}/{total}] {_describe(job)} started", err=True)
    else:
        typer.echo(f"[{index}/{total}] {_describe(job)} ... ", err=True, nl=False)


def _on_done(outcome, outcomes: list, *, index: int, total: int, side_by_side: bool) -> None:
    outcomes.append(outcome)  # kept here too, so an interrupt loses none of them
    if side_by_side:
        typer.echo(f"[{index}/{total}] {_describe(outcome.job)}: ", err=True, nl=False)
    if outcome.skipped:
        typer.secho("finished before, skipped", fg="cyan", err=True)
    elif outcome.status == "finished":
        typer.secho(f"finished in {outcome.wall_seconds:.0f} s", fg="green", err=True)
    else:
        headline = (outcome.error or "").partition("\n")[0]
        typer.secho(f"{outcome.status}: {headline}", fg="red", err=True)


def _split_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]
