"""A benchmark suite: gin experiments (entries) x backends x seeds x folds, expanded into jobs.

A suite is written in gin as bindings of :func:`benchmark_suite` (see ``gin/benchmark_*.gin``)
and read with :func:`load_suite`, which imports neither keras nor a backend: the jobs run in
their own processes, each with its backend.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

BACKENDS = ("jax", "tensorflow")
# Entry names become folder names under OUT/runs/.
_ENTRY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


@dataclasses.dataclass(frozen=True)
class Job:
    """One training run of a suite: an entry on one backend with one training seed (and test fold)."""

    entry: str
    backend: str
    seed: int
    gin_files: tuple[str, ...]
    gin_params: tuple[str, ...]
    fold: int | None = None

    @property
    def run_dir(self) -> Path:
        """The run directory relative to the benchmark's output folder."""
        seed_dir = Path("runs") / self.entry / self.backend / f"seed{self.seed}"
        return seed_dir if self.fold is None else seed_dir / f"fold{self.fold}"


@dataclasses.dataclass(frozen=True)
class Suite:
    """Entries (name -> gin files) run on every backend with every seed; see :func:`benchmark_suite`."""

    entries: Mapping[str, tuple[str, ...]]
    params: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    common_files: tuple[str, ...] = ()
    common_params: tuple[str, ...] = ()
    backends: tuple[str, ...] = BACKENDS
    seeds: int = 1
    split_seed: int = 0
    folds: int = 0
    fold_seed: int = 0
    reference: str | None = None
    parallel: int = 1

    def replace(
        self,
        *,
        backends: Sequence[str] | None = None,
        seeds: int | None = None,
        parallel: int | None = None,
    ) -> "Suite":
        """A copy with other backends, number of seeds or jobs side by side (the command line's overrides)."""
        return benchmark_suite(
            entries={k: list(v) for k, v in self.entries.items()},
            params={k: list(v) for k, v in self.params.items()},
            common_files=list(self.common_files),
            common_params=list(self.common_params),
            backends=list(backends) if backends is not None else list(self.backends),
            seeds=seeds if seeds is not None else self.seeds,
            split_seed=self.split_seed,
            folds=self.folds,
            fold_seed=self.fold_seed,
            reference=self.reference,
            parallel=parallel if parallel is not None else self.parallel,
        )

    def jobs(self, *, only: Sequence[str] = ()) -> list[Job]:
        """The matrix backend x seed x fold x entry, in that order.

        Entries vary fastest, so a run stopped part way has every entry of its finished
        folds: comparable results, paired by fold and seed, arrive first.

        Args:
          only: run only these entries (default all).

        The gin bindings of a job are, in order: the entry's ``params``, ``common_params``,
        then ``train.seed = S`` and ``train.split_seed = <split_seed>``, and with ``folds``
        the test fold: ``train.test_fold = @cv_fold``, ``cv_fold.folds``, ``cv_fold.fold``,
        ``cv_fold.seed = <fold_seed>``. The split and fold seeds are the same for every job,
        so every entry and seed of a fold trains, validates and is tested on the same
        images; only the training seed (sampling, augmentation, initialisation) varies.
        """
        unknown = [name for name in only if name not in self.entries]
        if unknown:
            raise ValueError(
                f"Unknown benchmark entries {', '.join(unknown)}; the suite has: {', '.join(self.entries)}."
            )
        chosen = [name for name in self.entries if not only or name in only]
        folds: list[int | None] = list(range(self.folds)) if self.folds else [None]
        out = []
        for backend in self.backends:
            for seed in range(self.seeds):
                for fold in folds:
                    for entry in chosen:
                        out.append(Job(
                            entry=entry, backend=backend, seed=seed, fold=fold,
                            gin_files=(*self.entries[entry], *self.common_files),
                            gin_params=(*self.params.get(entry, ()), *self.common_params,
                                        *self._seed_params(seed, fold)),
                        ))
        return out

    def _seed_params(self, seed: int, fold: int | None) -> tuple[str, ...]:
        params = (f"train.seed = {seed}", f"train.split_seed = {self.split_seed}")
        if fold is None:
            return params
        return (
            *params, "train.test_fold = @cv_fold", f"cv_fold.folds = {self.folds}", f"cv_fold.fold = {fold}",
            f"cv_fold.seed = {self.fold_seed}",
        )


def benchmark_suite(
    *,
    entries: dict[str, list[str]],
    params: dict[str, list[str]] | None = None,
    common_files: list[str] | None = None,
    common_params: list[str] | None = None,
    backends: list[str] | None = None,
    seeds: int = 1,
    split_seed: int = 0,
    folds: int = 0,
    fold_seed: int = 0,
    reference: str | None = None,
    parallel: int = 1,
) -> Suite:
    """Describe a benchmark: every entry is trained on every backend with every seed (and fold).

    Args:
      entries: entry name -> the gin files of its experiment, e.g.
        ``{'transfer': ['gin/le_focus.gin'], 'scratch': ['gin/scratch_fc_densenet.gin']}``.
        Names are folder names (letters, digits, ``_ . + -``).
      params: entry name -> extra gin bindings for that entry only (default none).
      common_files: gin files applied after each entry's files, e.g. ``['gin/quick.gin']``.
      common_params: bindings applied after every entry's own, to make entries comparable:
        tile size, steps per epoch, batch size, the data and its split.
      backends: Keras backends to run on (default both: ``['jax', 'tensorflow']``).
      seeds: training seeds per entry and backend: ``0 .. seeds - 1``.
      split_seed: the seed of the training/validation split, the same for every job.
      folds: cross-validation over this many folds of whole groups (the data source's
        ``group_pattern``, e.g. IvyGAP tissue blocks): every job is also run once per fold,
        with that fold as its test set (``lggseg.data.cv_fold``) and validation groups split
        from the rest. ``0``: no test fold; jobs are scored on their validation images.
      fold_seed: the seed of the fold assignment, the same for every job.
      reference: the entry every other entry is compared with, pair by pair (same seed and
        fold), in ``results.md``'s verdicts (default: the first entry).
      parallel: jobs run side by side, each with its share of the cores (``--jobs`` overrides); it
        changes how long the suite takes, not what it measures.

    Returns:
      the :class:`Suite`.

    Raises:
      ValueError: no entries, an entry name unfit for a folder, ``params`` naming an unknown
        entry, an unknown backend, ``seeds < 1`` or ``parallel < 1``.
    """
    if not entries:
        raise ValueError("benchmark_suite.entries is empty; name at least one entry, e.g. {'transfer': ['gin/le_focus.gin']}.")
    for name, files in entries.items():
        if not isinstance(name, str) or not _ENTRY_NAME.match(name):
            raise ValueError(
                f"Benchmark entry name {name!r} is not usable as a folder name; use letters, digits and _ . + -."
            )
        if isinstance(files, str) or not files:
            raise ValueError(f"Benchmark entry {name!r} must list its gin files, e.g. ['gin/le_focus.gin']; got {files!r}.")
    params = dict(params or {})
    unknown = [name for name in params if name not in entries]
    if unknown:
        raise ValueError(
            f"benchmark_suite.params names unknown entries {', '.join(map(repr, unknown))}; "
            f"the entries are: {', '.join(entries)}."
        )
    backends = list(backends) if backends is not None else list(BACKENDS)
    bad = [b for b in backends if b not in BACKENDS]
    if bad or not backends:
        raise ValueError(f"Unknown backends {bad or backends!r}; choose from: {', '.join(BACKENDS)}.")
    if int(seeds) < 1:
        raise ValueError(f"benchmark_suite.seeds must be at least 1, got {seeds}.")
    if int(parallel) < 1:
        raise ValueError(f"benchmark_suite.parallel must be at least 1 (jobs side by side), got {parallel}.")
    if reference is not None and reference not in entries:
        raise ValueError(
            f"benchmark_suite.reference {reference!r} is not an entry; the entries are: {', '.join(entries)}."
        )
    if int(folds) < 0 or int(folds) == 1:
        raise ValueError(f"benchmark_suite.folds must be 0 (no cross-validation) or at least 2, got {folds}.")
    for label, value in (("common_files", common_files), ("common_params", common_params)):
        if isinstance(value, str):
            raise ValueError(f"benchmark_suite.{label} must be a list of strings, got the string {value!r}.")
    for name, value in params.items():
        if isinstance(value, str):
            raise ValueError(f"benchmark_suite.params[{name!r}] must be a list of bindings, got the string {value!r}.")
    return Suite(
        entries={name: tuple(files) for name, files in entries.items()},
        params={name: tuple(value) for name, value in params.items()},
        common_files=tuple(common_files or ()),
        common_params=tuple(common_params or ()),
        backends=tuple(dict.fromkeys(backends)),
        seeds=int(seeds),
        split_seed=int(split_seed),
        folds=int(folds),
        fold_seed=int(fold_seed),
        reference=reference,
        parallel=int(parallel),
    )


def load_suite(*, files: Sequence[str | Path], params: Sequence[str] = ()) -> Suite:
    """Read a suite from gin files (bindings of ``benchmark_suite``) and single bindings.

    Relative gin paths inside the suite (entries, ``common_files``) are kept when they exist
    from the current directory, else resolved against the suite file's folder and its parent
    (the repository root for the shipped ``gin/benchmark_*.gin``); a path found nowhere is kept
    as written, so that its entry fails with the trainer's own error and the others still run.

    Raises:
      FileNotFoundError: naming a suite file that does not exist.
      ValueError: naming the files and bindings gin could not apply, or an invalid suite.
    """
    import gin

    import lggseg.benchmark  # noqa: F401  registers benchmark_suite

    if not files:
        raise ValueError("Name a benchmark suite, e.g. --gin gin/benchmark_quick.gin.")
    roots: list[Path] = [Path.cwd()]
    for f in files:
        path = Path(f)
        if not path.is_file():
            raise FileNotFoundError(
                f"benchmark suite {f} does not exist; the shipped suites are gin/benchmark_*.gin."
            )
        roots += [path.resolve().parent, path.resolve().parent.parent]
        gin.add_config_file_search_path(str(path.resolve().parent.parent))
    where = ", ".join([*(str(f) for f in files), *params])
    gin.clear_config()
    try:
        gin.parse_config_files_and_bindings([str(f) for f in files], list(params), finalize_config=False)
        suite = gin.get_configurable("lggseg.benchmark.benchmark_suite")()
    except (ValueError, KeyError, SyntaxError, ImportError, TypeError) as err:
        raise ValueError(f"Could not read the benchmark suite ({where}): {err}") from err
    finally:
        gin.clear_config()

    def resolve(name: str) -> str:
        if Path(name).is_absolute() or Path(name).is_file():
            return name
        for root in roots[1:]:
            if (root / name).is_file():
                return str(root / name)
        return name

    return dataclasses.replace(
        suite,
        entries={k: tuple(resolve(f) for f in v) for k, v in suite.entries.items()},
        common_files=tuple(resolve(f) for f in suite.common_files),
    )
