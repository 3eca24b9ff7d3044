"""Results: mean ± std over seeds, and the schema of results.csv / .json / .md / .png."""

from __future__ import annotations

import csv
import json
import math

import pytest

from lggseg.benchmark import JobResult, aggregate, mean_std, write_results
from lggseg.benchmark.results import metric_columns

CLASSES = ("BG", "CT", "LE", "IT")


def _result(entry: str, backend: str, seed: int, le_recall: float, *, status: str = "finished") -> JobResult:
    if status != "finished":
        return JobResult(entry=entry, backend=backend, seed=seed, status=status, error="exit code 2; last lines:\nboom")
    values = {name: 0.5 for name in metric_columns(CLASSES)}
    values.update({"LE_recall": le_recall, "accuracy": 0.9 - le_recall / 10, "IT_precision": None})
    return JobResult(
        entry=entry, backend=backend, seed=seed, status="finished", values=values, classes=CLASSES,
        versions={"keras": "3.x"}, machine={"cpus": 2},
    )


def test_mean_std_is_the_sample_std_of_the_present_values():
    assert mean_std([0.2, 0.4, None, 0.6]) == pytest.approx({"mean": 0.4, "std": 0.2, "n": 3})
    assert mean_std([0.3]) == {"mean": 0.3, "std": None, "n": 1}
    assert mean_std([None, float("nan")]) == {"mean": None, "std": None, "n": 0}


def test_aggregate_groups_by_entry_and_backend():
    results = [
        _result("transfer", "jax", 0, 0.2),
        _result("transfer", "jax", 1, 0.6),
        _result("transfer", "tensorflow", 0, 0.4),
        _result("scratch", "jax", 0, 0.1),
        _result("scratch", "jax", 1, 0.0, status="failed"),
    ]
    summary = aggregate(results)
    assert list(summary) == ["transfer", "scratch"]
    le = summary["transfer"]["jax"]["metrics"]["LE_recall"]
    assert le["mean"] == pytest.approx(0.4) and le["std"] == pytest.approx(math.sqrt(0.08)) and le["n"] == 2
    assert summary["transfer"]["jax"]["metrics"]["IT_precision"] == {"mean": None, "std": None, "n": 0}
    assert summary["transfer"]["tensorflow"]["n"] == 1
    scratch = summary["scratch"]["jax"]
    assert scratch["n"] == 1 and scratch["metrics"]["LE_recall"]["mean"] == pytest.approx(0.1)
    assert scratch["errors"] == [{"seed": 1, "fold": None, "status": "failed", "error": "exit code 2; last lines:\nboom"}]
    assert [row["status"] for row in scratch["rows"]] == ["finished", "failed"]


def test_written_results_have_the_schema(tmp_path):
    results = [
        _result("transfer", "jax", 0, 0.2),
        _result("transfer", "jax", 1, 0.6),
        _result("scratch", "jax", 0, 0.1),
        _result("broken", "jax", 0, 0.0, status="failed"),
    ]
    paths = write_results(results, out_dir=tmp_path, command="lggseg benchmark --seeds 2")

    with paths["csv"].open() as fh:
        rows = list(csv.DictReader(fh))
    header = list(rows[0])
    assert header[:9] == ["entry", "backend", "seed", "fold", "status", "accuracy", "macro_f1", "macro_f1_no_bg", "miou"]
    for column in ("LE_recall", "IT_f1", "BG_iou", "CT_precision", "train_seconds", "tiles_per_second", "peak_rss_mb"):
        assert column in header
    assert [(r["entry"], r["seed"], r["status"]) for r in rows] == [
        ("transfer", "0", "finished"), ("transfer", "1", "finished"), ("scratch", "0", "finished"),
        ("broken", "0", "failed"),
    ]
    assert float(rows[1]["LE_recall"]) == pytest.approx(0.6)
    assert rows[0]["IT_precision"] == "" and rows[3]["macro_f1"] == ""

    document = json.loads(paths["json"].read_text())
    assert document["classes"] == list(CLASSES)
    transfer = document["results"]["transfer"]["jax"]
    assert transfer["metrics"]["LE_recall"]["mean"] == pytest.approx(0.4)
    assert transfer["versions"] == {"keras": "3.x"} and transfer["machine"] == {"cpus": 2}
    assert document["results"]["broken"]["jax"]["errors"][0]["status"] == "failed"

    text = paths["md"].read_text()
    assert "## jax" in text and "lggseg benchmark --seeds 2" in text
    assert "| transfer | 2 |" in text
    assert "0.400 ± 0.283" in text  # LE recall of transfer, mean ± sample std
    assert "**broken** / jax / seed 0: failed" in text and "boom" in text
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
