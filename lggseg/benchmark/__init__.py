"""Benchmarks: a suite of gin experiments x backends x seeds, each run in its own process.

Light on purpose: importing it imports neither keras nor a backend (the benchmark process
only starts training processes and reads their results).
"""

from lggseg.benchmark.results import JobResult, aggregate, collect, mean_std, write_results
from lggseg.benchmark.runner import Outcome, job_command, run_job, run_jobs
from lggseg.benchmark.suite import Job, Suite, benchmark_suite, load_suite
from lggseg.registry import register

# Registration with gin, in one place for the package.
register("benchmark_suite", benchmark_suite, module="lggseg.benchmark")

__all__ = [
    "Job",
    "JobResult",
    "Outcome",
    "Suite",
    "aggregate",
    "benchmark_suite",
    "collect",
    "job_command",
    "load_suite",
    "mean_std",
    "run_job",
    "run_jobs",
    "write_results",
]
