"""Inference-time ideas on finished cross-validation runs: TTA, the decision rule, the tissue mask.

Issue 14's ideas that need no training: averaging the 8 flips and 90-degree rotations of every
tile (TTA), and the rare-class decision rule each run fitted on its validation block
(``decision_rule.json``: per-class weights on the softmax). Besides them, the tissue and ink
mask that ``lggseg predict`` applies to every image it predicts (glass and marker ink become
Background; :class:`lggseg.evaluation.prediction_mask.PredictionMask`), which the benchmark's
own scores leave out. This script takes the finished runs of a benchmark folder (``lggseg
benchmark --out DIR``), rebuilds each run's own data from its recorded gin config and split
(``lggseg-run.json``, ``split.json``), and scores the same model six ways: plain argmax
(checked against the run's own ``test/metrics.json``), the rule, TTA, TTA with the rule, the
mask, and the mask with the rule; on the test fold and on the validation block. Whether TTA is kept is
decided on the validation blocks; the test folds only report. The rule was fitted on the
validation block, so its validation rows are in-sample (optimistic); its test rows are not.

    python benchmarks/ivygap_rescore.py --out runs/benchmark-ivygap-ladder [--entries a,b]

It prints per run and, per entry, the mean change each way brings (paired by run), and pooled
LE/IT F1 over the runs' test folds; ``--json`` keeps everything.
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import numpy as np

SCORES = ("macro_f1", "macro_f1_no_bg", "LE_f1", "IT_f1")
WAYS = ("plain", "rule", "tta", "tta+rule", "mask", "mask+rule")


class MaskedPredictor:
    """A predictor whose glass and ink pixels are certain Background, as ``lggseg predict`` outputs them."""

    def __init__(self, predictor, *, mask, background: int):
        self.predictor, self.mask, self.background = predictor, mask, background
        self.num_classes = predictor.num_classes

    def predict(self, image):
        probs = self.predictor.predict(image)
        return self.mask.apply_to_probabilities(probs, self.mask.excluded(image), background=self.background)


def rebuild(run_dir: Path):
    """The run's data source (from its recorded config), its test and validation subsets, and tile size."""
    import gin

    from lggseg.config import register_all

    register_all()
    gin.clear_config()
    gin.parse_config(json.loads((run_dir / "lggseg-run.json").read_text())["requested_config"])
    source = gin.query_parameter("train.data").scoped_configurable_fn()
    tile = gin.query_parameter("train.tile_size")
    tile = tile.scoped_configurable_fn() if hasattr(tile, "scoped_configurable_fn") else tile
    split = json.loads((run_dir / "split.json").read_text())
    index = {name: i for i, name in enumerate(source.names)}
    subsets = {part: source.subset(np.array([index[n] for n in split[key]]))
               for part, key in (("test", "test"), ("validation", "validation"))}
    return subsets, int(tile)


def score(run_dir: Path) -> dict:
    """Every way on the run's test fold and validation block: ``{part: {way: metrics}}``."""
    from lggseg.evaluation import DecisionRule, SlidingWindowPredictor, evaluate, load_trained_model
    from lggseg.evaluation.prediction_mask import PredictionMask

    subsets, tile = rebuild(run_dir)
    trained = load_trained_model(run_dir)
    rule_path = run_dir / "decision_rule.json"
    rules = [DecisionRule.load(rule_path)] if rule_path.is_file() else []
    out: dict = {}
    mask = PredictionMask()  # lggseg predict's defaults: the HSV tissue rule and the ink rule
    for part, source in subsets.items():
        for way in ("plain", "tta", "mask"):
            predictor = SlidingWindowPredictor(model=trained.model, tile_size=tile, batch_size=8,
                                               tta=way == "tta", normalizer=trained.normalizer)
            if way == "mask":
                predictor = MaskedPredictor(predictor, mask=mask, background=mask.background(trained.scheme))
            result = evaluate(predictor=predictor, source=source, model_scheme=trained.scheme,
                              decision_rules=rules, keep_examples=0)
            out.setdefault(part, {})[way] = _flat(result.metrics)
            if rules:
                out[part]["rule" if way == "plain" else f"{way}+rule"] = _flat(result.decisions[0].metrics)
    recorded = json.loads((run_dir / "test" / "metrics.json").read_text())
    out["check"] = abs(out["test"]["plain"]["macro_f1"] - recorded["macro_f1"])
    return out


def _flat(metrics: dict) -> dict:
    from lggseg.evaluation.metric_names import flat_metrics

    flat = flat_metrics(metrics, global_scores=("macro_f1", "macro_f1_no_bg"), per_class=("f1",))
    flat["confusion"] = metrics["confusion"]
    flat["classes"] = list(metrics.get("classes") or metrics["per_class"])
    return flat


def pooled_f1(confusions: list, classes: list[str], code: str) -> float | None:
    total = np.sum(np.asarray(confusions, np.float64), axis=0)
    c = classes.index(code)
    denominator = total[c].sum() + total[:, c].sum()
    return float(2 * total[c, c] / denominator) if denominator else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="the benchmark folder")
    parser.add_argument("--entries", default="", help="comma-separated entries (default: all finished)")
    parser.add_argument("--json", type=Path, help="also write every number here")
    args = parser.parse_args()

    from lggseg.benchmark.runner import is_finished, recorded_jobs
    from lggseg.benchmark.statistics import paired_difference

    wanted = {e for e in args.entries.split(",") if e}
    jobs = [j for j in recorded_jobs(args.out) if (not wanted or j.entry in wanted) and j.fold is not None
            and is_finished(args.out / j.run_dir)]
    results = {}
    for job in sorted(jobs, key=lambda j: (j.entry, j.backend, j.seed, j.fold)):
        key = (job.entry, job.backend, job.seed, job.fold)
        results[key] = score(args.out / job.run_dir)
        test = results[key]["test"]
        print(f"{job.entry} {job.backend} seed {job.seed} fold {job.fold} (plain = recorded to "
              f"{results[key]['check']:.1e}): " + "; ".join(
                  f"{way} LE {_fmt(test[way].get('LE_f1'))} IT {_fmt(test[way].get('IT_f1'))} "
                  f"macro {_fmt(test[way]['macro_f1'])}" for way in WAYS if way in test))

    print("\nper entry: mean change against the plain argmax, paired by run (n = runs with the class);"
          " the rule's validation rows are in-sample")
    print("| entry | way | part | " + " | ".join(SCORES) + " | pooled test LE F1 | pooled test IT F1 |")
    print("|---|---|---|" + "---:|" * (len(SCORES) + 2))
    summary: dict = {}
    for entry in sorted({k[0] for k in results}):
        mine = {k: v for k, v in results.items() if k[0] == entry}
        for way in WAYS[1:]:
            for part in ("validation", "test"):
                cells = []
                for name in SCORES:
                    diff = paired_difference(
                        {k: v[part].get(way, {}).get(name) for k, v in mine.items()},
                        {k: v[part]["plain"].get(name) for k, v in mine.items()},
                    )
                    summary.setdefault(entry, {}).setdefault(way, {}).setdefault(part, {})[name] = diff
                    cells.append("-" if diff["mean"] is None else f"{diff['mean']:+.3f} (n {diff['n']})")
                pooled = ["", ""]
                if part == "test" and all(way in v["test"] for v in mine.values()):
                    classes = next(iter(mine.values()))["test"]["plain"]["classes"]
                    pooled = [
                        f"{_fmt(pooled_f1([v['test']['plain']['confusion'] for v in mine.values()], classes, c))}"
                        f" -> {_fmt(pooled_f1([v['test'][way]['confusion'] for v in mine.values()], classes, c))}"
                        for c in ("LE", "IT")
                    ]
                print(f"| {entry} | {way} | {part} | " + " | ".join(cells) + f" | {pooled[0]} | {pooled[1]} |")
    print(f"\nmachine: {platform.platform()}")
    if args.json:
        args.json.write_text(json.dumps(
            {"runs": {"/".join(map(str, k)): v for k, v in results.items()}, "summary": summary}, indent=1,
            default=float,
        ))


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.3f}"


if __name__ == "__main__":
    main()
